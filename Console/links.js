// ImageGate console: "Download links": the link inventory (state filter; tenant filter for platform
// administrators; image filter from ?image=), each link's options and usage, and per-link revoke (the links one
// minted, or every link with the manage permission). The server decides what each account sees (Docs/links.md).
import { api, query } from "./api.js";
import { state, can, showError, link as pageLink } from "./app.js";
import { h, clear, announce, confirmDialog, field } from "./dom.js";
import { t, bytes, dateTime } from "./i18n.js";

const STATES = ["active", "expired", "revoked", "exhausted"];

export async function renderLinks(main) {
  const params = new URLSearchParams(location.search);
  const stateSelect = h("select", { id: "link-state" },
    h("option", { value: "" }, t("links.state.all")),
    STATES.map((s) => h("option", { value: s, selected: params.get("state") === s }, t("links.state." + s))));
  const filters = [field(t("links.filter.state"), stateSelect).wrap];
  let tenantSelect = null;
  if (can.admin()) {
    const tenants = await api("GET", "/api/v1/tenants");
    tenantSelect = h("select", { id: "link-tenant" }, h("option", { value: "" }, t("links.tenant.all")),
      (tenants.items || []).map((x) => h("option", { value: x.id, selected: params.get("tenant") === x.id }, x.name)));
    filters.push(field(t("links.filter.tenant"), tenantSelect).wrap);
  }
  const box = h("div", { class: "table-wrap", id: "links-table" });
  const me = state.session.principal.account_id;

  async function reload() {
    const q = { state: stateSelect.value, tenant: tenantSelect ? tenantSelect.value : "", image: params.get("image") || "", limit: 200 };
    const page = await api("GET", "/api/v1/links" + query(q));
    const cols = ["links.col.serial", "links.col.image", "links.col.state", "links.col.options", "links.col.usage",
      "links.col.lastUse", "links.col.minted", "links.col.expires", "col.operations"];
    const rows = page.items.map((l) => {
      const ops = [];
      const live = l.state === "active" || l.state === "exhausted";
      if (live && (can.manage() || l.minted_by === me)) {
        ops.push(h("button", { class: "danger op-revoke", onclick: () => revoke(l) }, t("links.revoke")));
      }
      const options = [l.protocols.join(", "), l.allowed_ips.length ? t("links.from", { ips: l.allowed_ips.join(", ") }) : null,
        l.max_downloads != null ? t("links.max", { n: l.max_downloads }) : null].filter(Boolean).join(" · ");
      return h("tr", { "data-serial": l.serial },
        h("th", { scope: "row", "data-label": t("links.col.serial") }, h("span", { class: "mono" }, l.serial),
          l.label ? h("span", { class: "remarks" }, l.label) : null),
        h("td", { "data-label": t("links.col.image") }, h("span", { class: "resource-id" }, l.image_id)),
        h("td", { "data-label": t("links.col.state"), class: "link-state" }, t("links.state." + l.state)),
        h("td", { "data-label": t("links.col.options") }, options),
        h("td", { "data-label": t("links.col.usage") }, t("links.usage", { sessions: l.sessions, bytes: bytes(l.bytes_served), done: l.completed_downloads })),
        h("td", { "data-label": t("links.col.lastUse") }, l.last_used_at ? `${dateTime(l.last_used_at)} (${l.last_client})` : "–"),
        h("td", { "data-label": t("links.col.minted") }, `${dateTime(l.minted_at)} (${l.minted_by})`),
        h("td", { "data-label": t("links.col.expires") }, dateTime(l.expires_at)),
        h("td", { "data-label": t("col.operations") }, h("div", { class: "ops" }, ops)));
    });
    clear(box, h("table", {}, h("caption", {}, t("links.caption", { n: page.items.length })),
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: cols.length }, t("links.empty"))))));
  }

  async function revoke(l) {
    if (!(await confirmDialog(t("links.revokeTitle"), t("links.revokeConfirm", { serial: l.serial }), t("links.revoke"), t("op.cancel")))) return;
    try {
      await api("DELETE", `/api/v1/links/${l.serial}`);
      announce(t("links.revoked", { serial: l.serial }));
    } catch (e) { showError(e); }
    await reload();
  }

  stateSelect.addEventListener("change", reload);
  if (tenantSelect) tenantSelect.addEventListener("change", reload);
  clear(main, h("h1", {}, t("links.title")), h("p", {}, t("links.intro")),
    params.get("image") ? h("p", {}, t("links.forImage", { id: params.get("image") }), " ", pageLink("links", t("links.allImages"))) : null,
    h("div", { class: "filters" }, filters), box);
  await reload();
  return t("links.title");
}

/** "Revoke all links of this image" (manage permission), for the image's download page. */
export function revokeAllButton(img) {
  if (!can.manage()) return null;
  return h("button", { class: "danger", id: "revoke-all-links", type: "button", onclick: async () => {
    if (!(await confirmDialog(t("links.revokeAllTitle"), t("links.revokeAllConfirm", { name: img.name }), t("links.revokeAll"), t("op.cancel")))) return;
    try {
      const r = await api("DELETE", `/api/v1/images/${img.id}/links`);
      announce(t("links.revokedAll", { n: r.revoked.length, name: img.name }));
    } catch (e) { showError(e); }
  } }, t("links.revokeAll"));
}
