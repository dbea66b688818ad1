// ImageGate console: the download wizard: mint a link, show each protocol's address with a copy button, the
// expiry time (with its time zone) and a live countdown, the link's real lifetime (tokens.default_ttl before
// one is minted), and ready commands (wget, curl, lftp, sftp) that resume.
import { api } from "./api.js";
import { link, state } from "./app.js";
import { h, clear, announce, uid, field } from "./dom.js";
import { revokeAllButton } from "./links.js";
import { t, tn, clock, dateTime, duration } from "./i18n.js";

/** A link's lifetime as people say it: "24 hours" (up to two days of whole hours), else "7 days", "30 minutes". */
const lifetime = (s) => (s % 3600 === 0 && s <= 48 * 3600 ? tn("time.h", s / 3600) : duration(s));

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const ta = h("textarea", { class: "sr-only" }, text);
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
  button.textContent = t("op.copied");
  announce(t("op.copied"));
  setTimeout(() => { button.textContent = t("op.copy"); }, 2000);
}

function copyRow(label, value, cls) {
  const id = uid("addr");
  const out = h("input", { id, readOnly: true, value, class: "mono " + cls, spellcheck: "false" });
  const button = h("button", { type: "button", "aria-label": t("download.copyOf", { what: label }), onclick: () => copy(value, button) }, t("op.copy"));
  return h("div", { class: "copy-row" }, h("label", { for: id }, label), h("div", { class: "copy-box" }, out, button));
}

/** The commands for one link, each resuming a broken transfer. */
function commands(l) {
  // The server's own commands: with its self-signed certificate each first fetches /ca.crt and checks it.
  // The API's command keys (https_wget, ftp_lftp_parallel, openssh) are names for programs, not for people.
  const out = [];
  const tool = (key) => {
    const s = t(`download.cmd.${key}`);
    return s === `download.cmd.${key}` ? key : s;
  };
  const label = (k, protocol) => t("download.command", { tool: tool(k), protocol });
  for (const [k, v] of Object.entries(l.commands || {})) {
    const https = k.startsWith("https_");
    const name = https ? k.slice("https_".length) : k.replace(/^ftp_/, "");
    out.push([label(name, t(https ? "download.protocol.https" : "download.protocol.ftps")), v]);
  }
  for (const [k, v] of Object.entries(l.sftp_commands || {})) out.push([label(k, t("download.protocol.sftp")), v]);
  return out;
}

/** Lifetimes the mint dialog offers: the server's default, common choices, and tokens.max_ttl, none above it. */
function lifetimeChoices() {
  const c = state.session.console;
  const max = c.link_max_ttl_seconds || c.link_ttl_seconds;
  const set = new Set([3600, 6 * 3600, 24 * 3600, 3 * 86400, 7 * 86400, 30 * 86400, c.link_ttl_seconds, max]);
  return [...set].filter((s) => s > 0 && s <= max).sort((a, b) => a - b);
}

/** The mint options (Docs/links.md): lifetime, protocols, client addresses, max_downloads, label. */
function mintOptions() {
  const c = state.session.console;
  const ttl = h("select", { id: "mint-ttl" }, lifetimeChoices().map((s) =>
    h("option", { value: String(s), selected: s === c.link_ttl_seconds }, lifetime(s))));
  const protocols = ["https", "http", "ftps", "ftp", "sftp"].map((p) => {
    const box = h("input", { type: "checkbox", id: "mint-proto-" + p, value: p });
    return { p, box, label: h("label", { class: "check" }, box, " ", t("download.protocol." + p)) };
  });
  const ips = field(t("mint.allowedIPs"), h("input", { id: "mint-allowed-ips", spellcheck: "false" }), t("mint.allowedIPsHelp"));
  const max = field(t("mint.maxDownloads"), h("input", { id: "mint-max-downloads", type: "number", min: "1", step: "1" }), t("mint.maxDownloadsHelp"));
  const label = field(t("mint.label"), h("input", { id: "mint-label", maxlength: "200" }));
  const form = h("details", { class: "mint-options", id: "mint-options" }, h("summary", {}, t("mint.options")),
    field(t("mint.lifetime"), ttl).wrap,
    h("fieldset", {}, h("legend", {}, t("mint.protocols")), protocols.map((x) => x.label), h("p", { class: "help" }, t("mint.protocolsHelp"))),
    ips.wrap, max.wrap, label.wrap);
  return {
    form, ttl,
    body() {
      const b = { ttl: ttl.value };
      const chosen = protocols.filter((x) => x.box.checked).map((x) => x.p);
      if (chosen.length) b.protocols = chosen;
      const list = ips.input.value.split(/[\s,]+/).filter(Boolean);
      if (list.length) b.allowed_ips = list;
      if (max.input.value) b.max_downloads = Number(max.input.value);
      if (label.input.value.trim()) b.label = label.input.value.trim();
      return b;
    },
  };
}

let timer = null;

export async function renderDownload(main, id) {
  clearInterval(timer);
  const img = await api("GET", `/api/v1/images/${encodeURIComponent(id)}`);
  const result = h("div", { id: "download-result" });
  const opts = mintOptions();
  const generate = h("button", { class: "primary", id: "generate-link", disabled: img.status !== "available", onclick: async () => {
    generate.disabled = true;
    try {
      const l = await api("POST", `/api/v1/images/${img.id}/links`, opts.body());
      show(l);
    } catch (e) {
      clear(result, h("p", { role: "alert", class: "notice error" }, t("error.generic", { reason: e.message })));
    }
    generate.disabled = false;
  } }, t("download.generate"));

  const note = h("p", { class: "notice", id: "validity-note" },
    t("download.validity", { lifetime: lifetime(state.session.console.link_ttl_seconds) }));
  // The note states the lifetime chosen before a link is minted, too.
  opts.ttl.addEventListener("change", () => {
    note.textContent = t("download.validity", { lifetime: lifetime(Number(opts.ttl.value)) });
  });

  function show(l) {
    clearInterval(timer);
    const expires = new Date(l.expires_at).getTime();
    const countdown = h("p", { role: "timer", id: "countdown", class: "countdown" });
    const tick = () => {
      const left = (expires - Date.now()) / 1000;
      if (left <= 0) { clearInterval(timer); countdown.textContent = t("download.expired"); countdown.classList.add("expired"); return; }
      countdown.textContent = t("download.countdown", { left: clock(left) });
    };
    tick();
    timer = setInterval(() => { if (!document.body.contains(countdown)) clearInterval(timer); else tick(); }, 1000);
    const protos = ["https", "http", "ftp", "sftp"].filter((p) => l[p]);
    const seconds = (new Date(l.expires_at).getTime() - new Date(l.issued_at).getTime()) / 1000;
    note.textContent = t("download.validityMinted", { lifetime: lifetime(seconds), time: dateTime(l.expires_at) });
    clear(result,
      h("h2", { tabindex: "-1", id: "addresses-heading" }, t("download.addresses")),
      h("p", { id: "expires-at" }, t("download.expires", { time: dateTime(l.expires_at) })), countdown,
      protos.map((p) => copyRow(t("download.protocol." + p), l[p], "url-" + p)),
      l.ca_certificate ? h("p", { id: "ca-certificate" }, t("download.caCertificate"), " ",
        h("a", { href: "/ca.crt", download: "imagegate-ca.crt" }, "/ca.crt"), " (SHA-256 ",
        h("code", {}, l.ca_sha256), ")") : null,
      h("h2", {}, t("download.commands")),
      commands(l).map(([label, cmd]) => copyRow(label, cmd, "cmd")));
    result.querySelector("h2").focus();
  }

  clear(main, h("section", { class: "card wizard" },
    h("h1", {}, t("download.title")),
    h("p", {}, t("download.intro", { name: img.name })),
    img.status !== "available" ? h("p", { class: "notice error" }, t("download.notAvailable")) : null,
    note,
    img.status === "available" ? opts.form : null,
    h("div", { class: "buttons" }, generate, link("links?image=" + encodeURIComponent(img.id), t("links.ofImage"), { class: "button" }),
      revokeAllButton(img), link("", t("op.back"), { class: "button" })),
    result));
  return t("download.title");
}
