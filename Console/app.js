// ImageGate console: start-up, the page shell (header, navigation, sign-in), and the client-side router.
import { api, currentSession, signIn, signOut, setUnauthorizedHandler } from "./api.js";
import { h, clear, field, setError, announce, clearAnnouncement } from "./dom.js";
import { t } from "./i18n.js";
import { renderImages } from "./images.js";
import { renderRecycleBin } from "./recycle.js";
import { renderImport } from "./importwizard.js";
import { renderDownload } from "./download.js";
import { renderCreateVM } from "./createvm.js";
import { renderGuide } from "./guide.js";
import { renderAudit } from "./audit.js";
import { renderUploads } from "./uploads.js";
import { renderLinks } from "./links.js";
import { renderWebhooks } from "./webhooks.js";

export const BASE = "/console/";
/** The signed-in session: {principal, console: {vm_create_url, recycle_retention_seconds}, …}. */
export const state = { session: null };

/** What the signed-in principal may do; buttons for anything else are not shown at all. */
export const can = {
  manage: () => { const p = state.session.principal; return p.kind !== "sub_account" || p.permission === "manage"; },
  destroy: () => state.session.principal.kind !== "sub_account",
  admin: () => state.session.principal.kind === "platform_admin",
};

export function navigate(path, { replace = false } = {}) {
  const url = path.startsWith("/") ? path : BASE + path;
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
  clearAnnouncement();
  route();
}

/** A link inside the console, handled by the router (keyboard and middle-click still work). */
export function link(path, text, attrs = {}) {
  const href = BASE + path;
  return h("a", { href, ...attrs, onclick: (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    navigate(href);
  } }, text);
}

function roleName(p) {
  if (p.kind === "sub_account") return p.permission === "manage" ? t("role.sub_account.manage") : t("role.sub_account.view");
  return p.kind === "platform_admin" ? t("role.platform_admin") : t("role.tenant_owner");
}

function renderHeader() {
  const top = document.getElementById("top");
  document.getElementById("skip-link").textContent = t("app.skip");
  if (!state.session) { clear(top, h("p", { class: "brand" }, t("app.title"))); return; }
  const p = state.session.principal;
  const here = location.pathname;
  const item = (path, label) => h("li", {}, link(path, label,
    { "aria-current": (BASE + path === here || (path === "" && here.startsWith(BASE + "images"))) ? "page" : null }));
  clear(top,
    h("p", { class: "brand" }, t("app.title")),
    h("nav", { "aria-label": t("nav.label") }, h("ul", {},
      item("", t("nav.images")), item("links", t("nav.links")), item("recycle-bin", t("nav.recycle")),
      can.destroy() ? item("audit", t("nav.audit")) : null, can.admin() ? item("webhooks", t("nav.webhooks")) : null,
      item("guide", t("nav.guide")))),
    h("div", { class: "who" },
      h("span", {}, t("nav.signedInAs", { name: p.name, role: roleName(p) })),
      h("button", { id: "sign-out", onclick: async () => {
        await signOut();
        state.session = null;
        renderSignIn(t("signin.signedOut"));
      } }, t("nav.signout"))));
}

function renderSignIn(message) {
  state.session = null;
  renderHeader();
  document.title = `${t("signin.title")} · ${t("app.title")}`;
  const main = document.getElementById("main");
  const key = field(t("signin.key"),
    h("input", { type: "password", id: "api-key", name: "api_key", autocomplete: "off", required: true, spellcheck: "false" }),
    t("signin.keyHelp"));
  const msg = h("p", { class: message ? "notice" : "", role: "alert" }, message || "");
  const form = h("form", { class: "card narrow", id: "sign-in", onsubmit: async (e) => {
    e.preventDefault();
    const value = key.input.value.trim();
    if (!value) { setError(key, t("signin.required")); key.input.focus(); return; }
    setError(key, "");
    try {
      state.session = await signIn(value);
      key.input.value = "";
      route();
    } catch (err) {
      setError(key, err.status === 401 ? t("signin.failed") : t("error.generic", { reason: err.message }));
      key.input.focus();
    }
  } }, h("h1", {}, t("signin.title")), h("p", {}, t("signin.intro")), msg, key.wrap,
    h("button", { type: "submit", class: "primary" }, t("signin.submit")));
  clear(main, form);
  key.input.focus();
}

/** Renders the page the URL names. */
export async function route() {
  if (!state.session) { renderSignIn(); return; }
  renderHeader();
  renderUploads();
  const main = document.getElementById("main");
  const rest = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length).replace(/\/$/, "") : "";
  const parts = rest.split("/");
  let title;
  try {
    if (rest === "" || rest === "images") title = await renderImages(main);
    else if (rest === "recycle-bin") title = await renderRecycleBin(main);
    else if (rest === "import") title = await renderImport(main);
    else if (rest === "guide") title = await renderGuide(main);
    else if (rest === "links") title = await renderLinks(main);
    else if (rest === "audit") title = await renderAudit(main);
    else if (rest === "webhooks" && can.admin()) title = await renderWebhooks(main);
    else if (parts[0] === "images" && parts.length === 3 && parts[2] === "download") title = await renderDownload(main, parts[1]);
    else if (parts[0] === "images" && parts.length === 3 && parts[2] === "create-vm") title = await renderCreateVM(main, parts[1]);
    else { clear(main, h("h1", {}, t("notFound"))); title = t("notFound"); }
  } catch (e) {
    if (e.status === 401) return;
    clear(main, h("p", { role: "alert", class: "notice error" }, t("error.generic", { reason: e.message })));
  }
  document.title = `${title || ""} · ${t("app.title")}`;
  const heading = main.querySelector("h1");
  if (heading && document.activeElement === document.body) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
}

/** Shows an API error to the user (forbidden, conflict, …). */
export function showError(e) {
  const reason = e.message || String(e);
  announce(e.status === 403 ? t("error.forbidden", { reason }) : e.status === 0 ? t("error.network")
    : t("error.generic", { reason }), "error");
}

async function start() {
  document.documentElement.lang = (await import("./i18n.js")).language;
  setUnauthorizedHandler(() => { if (state.session) renderSignIn(t("signin.expired")); });
  window.addEventListener("popstate", () => { clearAnnouncement(); route(); });
  try { state.session = await currentSession(); } catch { state.session = null; }
  await route();
}

start();
export { api };
