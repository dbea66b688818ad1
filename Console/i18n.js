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
  if (d) parts.push(t("time.d", { n: d }));
  if (h) parts.push(t("time.h", { n: h }));
  if (m && !d) parts.push(t("time.m", { n: m }));
  if (!d && !h) parts.push(t("time.s", { n: s }));
  return parts.join(" ");
}

/** A ticking countdown: "23:59:58" (hours may exceed 24). */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n) => String(n).padStart(2, "0");
  return `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

export function dateTime(iso) {
  if (!iso) return t("none");
  return new Date(iso).toLocaleString(lang);
}
