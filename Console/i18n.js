// ImageGate console: looks strings up by key. Add a language by adding a strings.<lang>.js with the same keys
// and listing it in `tables`; the browser's preferred language picks it.
import en from "./strings.en.js";

const tables = { en };
const lang = (navigator.languages || [navigator.language || "en"])
  .map((l) => l.toLowerCase().split("-")[0]).find((l) => tables[l]) || "en";
const table = tables[lang];
export const language = lang;

/** The string for `key` with `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const s = table[key] ?? en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

const plurals = new Intl.PluralRules(lang);
/** The plural form of `key` for `count` ("key.one", "key.other", … as the language's rules choose), with
 *  `{count}` filled in: "1 image", "2 images". */
export function tn(key, count, params = {}) {
  const form = `${key}.${plurals.select(count)}`;
  return t((table[form] ?? en[form]) ? form : `${key}.other`, { count, ...params });
}

export function bytes(n) {
  if (n == null) return t("none");
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${t("unit." + units[i])}`;
}

export function duration(seconds) {
  let s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const parts = [];
  if (d) parts.push(tn("time.d", d));
  if (h) parts.push(tn("time.h", h));
  if (m && !d) parts.push(tn("time.m", m));
  if (!d && !h && (s || !m)) parts.push(tn("time.s", s));
  return parts.join(" ");
}

/** A ticking countdown: "23:59:58" (hours may exceed 24). */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n) => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

/** Date and time in the browser's time zone, which is named ("… GMT+8", "… UTC"): a bare time is ambiguous. */
export function dateTime(iso) {
  if (!iso) return t("none");
  return new Date(iso).toLocaleString(lang, { dateStyle: "medium", timeStyle: "long" });
}

/** Time of day with its time zone ("14:03:07 UTC"), for today's events. */
export function timeOfDay(iso) {
  return new Date(iso).toLocaleTimeString(lang, { timeStyle: "long" });
}
