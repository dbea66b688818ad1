// ImageGate console: the audit log (tenant owners: their tenant's; platform administrators: all, with a tenant
// filter): filter by action, image, link serial, account and time; newest first, 50 a page; CSV export of the
// same filter. Details come from the API already readable (RFC 3339 times, protocol names).
import { api, query } from "./api.js";
import { BASE, can, navigate } from "./app.js";
import { h, clear, uid } from "./dom.js";
import { t, dateTime } from "./i18n.js";

const PAGE = 50;
const FILTERS = ["action", "image", "serial", "account", "since", "until", "tenant"];
/** Suggestions for the action field; any exact action name works. */
const ACTIONS = ["download.refused", "download.session", "link.mint", "link.revoke", "image.delete", "image.import",
  "auth.failure", "console.sign_in"];

/** The filters as the URL holds them (a reload or a shared link shows the same page), and the page's start. */
function params() {
  const u = new URLSearchParams(location.search);
  const p = {};
  for (const k of FILTERS) p[k] = u.get(k) || "";
  p.before = u.get("before") || "";
  return p;
}

function setParams(p) {
  const out = {};
  for (const [k, v] of Object.entries(p)) if (v) out[k] = v;
  navigate(BASE + "audit" + query(out));
}

export async function renderAudit(main) {
  const p = params();
  const tenants = can.admin() ? (await api("GET", "/api/v1/tenants")).items || [] : [];
  const filter = {};
  for (const k of FILTERS) filter[k] = p[k];
  const page = await api("GET", "/api/v1/audit" + query({ ...filter, order: "desc", limit: PAGE, before: p.before }));
  const items = page.items;

  const input = (name, label, type = "text", list = null) => {
    const id = uid(name);
    return h("div", { class: "field" }, h("label", { for: id }, label),
      h("input", { id, name, type, value: p[name], maxlength: 256, list }));
  };
  const actionsID = uid("actions");
  const form = h("form", { class: "filters", role: "search", id: "audit-filters", onsubmit: (e) => {
    e.preventDefault();
    setParams(Object.fromEntries(new FormData(form).entries()));
  } },
    input("action", t("audit.filter.action"), "text", actionsID),
    h("datalist", { id: actionsID }, ACTIONS.map((a) => h("option", { value: a }))),
    input("image", t("audit.filter.image")),
    input("serial", t("audit.filter.serial")),
    input("account", t("audit.filter.account")),
    input("since", t("audit.filter.since"), "date"),
    input("until", t("audit.filter.until"), "date"),
    tenants.length ? (() => {
      const id = uid("tenant");
      return h("div", { class: "field" }, h("label", { for: id }, t("audit.filter.tenant")),
        h("select", { id, name: "tenant" }, [["", t("images.filter.any")], ...tenants.map((x) => [x.id, x.name])]
          .map(([v, l]) => h("option", { value: v, selected: v === p.tenant }, l))));
    })() : null,
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary", id: "apply-audit-filters" }, t("audit.apply")),
      h("button", { type: "button", onclick: () => setParams({}) }, t("images.filter.clear"))));

  // The export is a plain GET with the session cookie: the browser saves the server's audit.csv.
  const exportLink = h("a", { class: "button", id: "export-audit", download: "audit.csv",
    href: "/api/v1/audit/export.csv" + query({ ...filter, order: "desc" }) }, t("audit.export"));

  const cols = ["audit.col.time", "audit.col.action", "audit.col.account", "audit.col.target", "audit.col.source",
    "audit.col.outcome", "audit.col.details"];
  const rows = items.map((e) => h("tr", { "data-seq": String(e.seq) },
    h("td", { "data-label": t(cols[0]) }, h("time", { datetime: e.time }, dateTime(e.time))),
    h("th", { scope: "row", "data-label": t(cols[1]) }, e.action),
    h("td", { "data-label": t(cols[2]) }, e.actor),
    h("td", { "data-label": t(cols[3]) }, h("span", { class: "resource-id" }, e.target)),
    h("td", { "data-label": t(cols[4]) }, e.source),
    h("td", { "data-label": t(cols[5]) }, t("audit.outcome." + e.outcome)),
    h("td", { "data-label": t(cols[6]) }, details(e.detail))));
  const table = h("div", { class: "table-wrap", id: "audit-table" }, h("table", {},
    h("caption", {}, t("audit.caption")),
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: cols.length }, t("audit.empty"))))));
  const last = items.length ? items[items.length - 1].seq : null;
  const pager = h("div", { class: "pager" },
    h("button", { id: "audit-newest", disabled: !p.before, onclick: () => setParams({ ...filter }) }, t("audit.newest")),
    h("button", { id: "audit-older", disabled: items.length < PAGE,
      onclick: () => setParams({ ...filter, before: String(last) }) }, t("audit.older")));

  clear(main, h("h1", {}, t("audit.title")), h("p", {}, t("audit.intro")),
    h("div", { class: "toolbar" }, exportLink), form, table, pager);
  return t("audit.title");
}

/** `key: value` per detail, in key order, as text. */
function details(detail) {
  const keys = Object.keys(detail || {}).sort();
  if (!keys.length) return "";
  return h("dl", { class: "audit-detail" }, keys.flatMap((k) => [h("dt", {}, k), h("dd", {}, detail[k])]));
}
