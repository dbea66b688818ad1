// ImageGate console: the image list (self-made and ISO tabs): columns of the user guide, search, filters,
// sorting and paging kept in the URL, inline edit, delete and batch delete, cancel upload, export.
import { api, query } from "./api.js";
import { state, can, link, navigate, showError, BASE } from "./app.js";
import { h, clear, announce, confirmDialog, uid } from "./dom.js";
import { t, tn, bytes, duration, timeOfDay } from "./i18n.js";
import { onUploadChange, stopUpload, renderUploads, isUploading } from "./uploads.js";
import { pendingUploads } from "./tus.js";
import { editForm } from "./editimage.js";

const STATUSES = ["making", "uploading", "available", "failed", "deleting"];
const SORTS = ["created_at", "updated_at", "name", "size", "status"];
const PAGE_SIZES = [10, 20, 50, 100];
let refreshTimer = null;
let unlisten = null;

/** The list's state as the URL holds it (so a reload or a shared link shows the same list). */
function params() {
  const u = new URLSearchParams(location.search);
  return {
    tab: u.get("tab") === "iso" ? "iso" : "self_made", q: u.get("q") || "", status: u.get("status") || "",
    system_type: u.get("system_type") || "", architecture: u.get("architecture") || "", tag: u.get("tag") || "",
    tenant: u.get("tenant") || "", sort: SORTS.includes(u.get("sort")) ? u.get("sort") : "created_at",
    order: u.get("order") === "asc" ? "asc" : "desc", page: Math.max(1, Number(u.get("page")) || 1),
    size: PAGE_SIZES.includes(Number(u.get("size"))) ? Number(u.get("size")) : 20,
  };
}

function setParams(p, { push = true } = {}) {
  const defaults = { tab: "self_made", sort: "created_at", order: "desc", page: 1, size: 20 };
  const out = {};
  for (const [k, v] of Object.entries(p)) if (v !== "" && v != null && defaults[k] !== v) out[k] = v;
  navigate(BASE + query(out), { replace: !push });
}

function apiQuery(p) {
  return { kind: p.tab, q: p.q, status: p.status, system_type: p.system_type, architecture: p.architecture,
    tag: p.tag, tenant: p.tenant, sort: p.sort, order: p.order, offset: (p.page - 1) * p.size, limit: p.size };
}

export async function renderImages(main) {
  clearTimeout(refreshTimer);
  unlisten?.();
  const p = params();
  const selected = new Set();
  const tenants = can.admin() ? (await api("GET", "/api/v1/tenants")).items || [] : [];
  const tenantName = new Map(tenants.map((x) => [x.id, x.name]));
  const tableBox = h("div", { class: "table-wrap", id: "image-table", tabindex: "0", role: "region", "aria-label": t("images.title") }, h("p", {}, t("images.loading")));
  const pager = h("nav", { class: "pager", "aria-label": t("images.pageInfo", { page: p.page, pages: "…" }) });
  const batchButton = h("button", { id: "batch-delete", class: "danger", disabled: true,
    onclick: () => batchDelete(selected, lastItems, reload) }, t("images.deleteSelected", { count: 0 }));
  let lastItems = [];
  let editing = false;

  const updateBatch = () => {
    batchButton.disabled = selected.size === 0;
    batchButton.textContent = t("images.deleteSelected", { count: selected.size });
  };

  async function reload() {
    clearTimeout(refreshTimer);
    if (!document.body.contains(tableBox)) return;
    let page;
    try { page = await api("GET", "/api/v1/images" + query(apiQuery(p))); } catch (e) { if (e.status !== 401) showError(e); return; }
    lastItems = page.items;
    for (const id of [...selected]) if (!page.items.some((i) => i.id === id)) selected.delete(id);
    updateBatch();
    if (!editing) drawTable(page);
    drawPager(page);
    const busy = page.items.some((i) => ["uploading", "making", "deleting"].includes(i.status));
    if (busy) refreshTimer = setTimeout(reload, 2000);
  }

  function drawTable(page) {
    const admin = can.admin();
    const manage = can.manage();
    const cols = [manage ? "" : null, "col.name", admin ? "col.tenant" : null, "col.status", "col.encrypted",
      "col.features", "col.systemType", "col.os", "col.projectGroup", "col.tags", "col.operations"].filter((c) => c !== null);
    const all = manage ? h("input", { type: "checkbox", id: "select-all", "aria-label": t("images.selectAll"),
      checked: page.items.length > 0 && page.items.every((i) => selected.has(i.id)),
      onchange: (e) => {
        for (const i of page.items) if (e.target.checked) selected.add(i.id); else selected.delete(i.id);
        for (const cb of tableBox.querySelectorAll("input.row-select")) cb.checked = e.target.checked;
        updateBatch();
      } }) : null;
    const head = h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c === "" ? all : t(c))));
    const rows = page.items.map((img) => row(img, cols));
    clear(tableBox, h("table", { class: "images" },
      h("caption", {}, tn("images.caption", page.total)),
      h("thead", {}, head),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: cols.length }, t("images.empty"))))));
  }

  function row(img, cols) {
    const cells = {
      "": () => h("input", { type: "checkbox", class: "row-select", value: img.id, checked: selected.has(img.id),
        "aria-label": t("images.select", { name: img.name }),
        onchange: (e) => { if (e.target.checked) selected.add(img.id); else selected.delete(img.id); updateBatch(); } }),
      "col.name": () => nameCell(img),
      "col.tenant": () => tenantName.get(img.tenant) || img.tenant,
      "col.status": () => statusCell(img),
      "col.encrypted": () => (img.encrypted ? t("yes") : t("no")),
      "col.features": () => (img.features.length ? img.features.join(", ") : t("none")),
      "col.systemType": () => img.system_type || t("none"),
      "col.os": () => img.os_release || t("none"),
      "col.projectGroup": () => img.project_group || t("none"),
      "col.tags": () => (img.tags.length ? h("ul", { class: "tags" }, img.tags.map((x) => h("li", {}, x))) : t("none")),
      "col.operations": () => operations(img),
    };
    return h("tr", { "data-id": img.id, "data-status": img.status },
      cols.map((c) => h(c === "col.name" ? "th" : "td", { scope: c === "col.name" ? "row" : null, "data-label": c ? t(c) : null,
        class: c === "" ? "select" : c.replace("col.", "c-") }, cells[c]())));
  }

  function nameCell(img) {
    const box = h("div", { class: "name-cell" });
    const show = () => clear(box,
      h("span", { class: "image-name" }, img.name),
      h("span", { class: "resource-id" }, img.id),
      img.remarks ? h("span", { class: "remarks" }, img.remarks) : null);
    show();
    box.show = show;
    return box;
  }

  function startEdit(img, tr) {
    editing = true;
    editForm(img, tr.querySelector(".name-cell"), () => { editing = false; reload(); });
  }

  function operations(img) {
    const manage = can.manage();
    const ops = [];
    const avail = img.status === "available";
    if (avail && manage) ops.push(link(`images/${img.id}/create-vm`, t("op.createVM"), { class: "button op-create-vm" }));
    if (avail) ops.push(link(`images/${img.id}/download`, t("op.download"), { class: "button op-download" }));
    // "Resume" only for an upload this browser knows but is not sending (after a reload): a running one needs nothing.
    if (manage && img.status === "uploading" && pendingUploads()[img.id] && !isUploading(img.id)) {
      ops.push(h("button", { class: "op-resume", onclick: () => document.querySelector(`#uploads input[data-image="${img.id}"]`)?.focus() }, t("op.resume")));
    }
    if (manage && img.status === "uploading") ops.push(h("button", { class: "op-cancel", onclick: () => cancelUpload(img) }, t("op.cancelUpload")));
    if (manage) ops.push(h("button", { class: "op-edit", onclick: (e) => startEdit(img, e.target.closest("tr")) }, t("op.edit")));
    // Only available and failed images can be deleted (the server refuses the rest): no button that can only fail.
    if (manage && (avail || img.status === "failed")) ops.push(h("button", { class: "danger op-delete", onclick: () => deleteOne(img) }, t("op.delete")));
    return h("div", { class: "ops", role: "group", "aria-label": t("op.operationsFor", { name: img.name }) }, ops);
  }

  async function cancelUpload(img) {
    if (!(await confirmDialog(t("cancel.title"), t("cancel.confirm", { name: img.name }), t("op.cancelUpload"), t("op.close")))) return;
    try {
      stopUpload(img.id);
      await api("POST", `/api/v1/images/${img.id}/cancel`);
      announce(t("cancel.done", { name: img.name }));
    } catch (e) { showError(e); }
    reload();
  }

  async function deleteOne(img) {
    const retention = duration(state.session.console.recycle_retention_seconds);
    if (!(await confirmDialog(t("delete.title"), t("delete.confirm", { name: img.name, retention }), t("op.delete"), t("op.cancel")))) return;
    try {
      await api("DELETE", `/api/v1/images/${img.id}`);
      announce(t("delete.done", { name: img.name }));
    } catch (e) {
      await confirmDialog(t("delete.title"), [h("p", { role: "alert", class: "refusal" }, t("delete.refused", { name: img.name, reason: e.message })),
        h("p", {}, t("delete.rules"))], null, t("op.close"));
    }
    reload();
  }

  // Filters, search, sort and paging: every change goes to the URL.
  const form = filters(p, tenants);
  const manage = can.manage();
  const toolbar = h("div", { class: "toolbar" },
    manage ? link("import" + (p.tab === "iso" ? "?kind=iso" : ""), t("images.import"), { class: "button primary", id: "import-image" }) : null,
    h("button", { id: "export", onclick: () => exportList(p) }, t("images.export")),
    manage ? batchButton : null,
    link("guide", t("images.guideLink"), { class: "guide-link" }));
  const tab = (kind, label) => h("li", {}, h("a", { href: BASE + (kind === "iso" ? "?tab=iso" : ""), "aria-current": p.tab === kind ? "page" : null,
    onclick: (e) => { e.preventDefault(); setParams({ ...p, tab: kind, page: 1, status: "" }); } }, label));

  function drawPager(page) {
    const pages = Math.max(1, Math.ceil(page.total / p.size));
    pager.setAttribute("aria-label", t("images.pageInfo", { page: p.page, pages }));
    const sizeID = uid("size");
    clear(pager,
      h("button", { disabled: p.page <= 1, onclick: () => setParams({ ...p, page: p.page - 1 }) }, t("images.prev")),
      h("span", { class: "page-info" }, t("images.pageInfo", { page: p.page, pages })),
      h("button", { disabled: p.page >= pages, onclick: () => setParams({ ...p, page: p.page + 1 }) }, t("images.next")),
      h("label", { for: sizeID }, t("images.pageSize")),
      h("select", { id: sizeID, onchange: (e) => setParams({ ...p, size: Number(e.target.value), page: 1 }) },
        PAGE_SIZES.map((n) => h("option", { value: n, selected: n === p.size }, String(n)))));
  }

  clear(main, h("h1", {}, t("images.title")),
    h("nav", { class: "tabs", "aria-label": t("images.tabs") }, h("ul", {}, tab("self_made", t("images.tab.self")), tab("iso", t("images.tab.iso")))),
    toolbar, form, tableBox, pager);
  unlisten = onUploadChange(() => reload());
  renderUploads();
  await reload();
  return p.tab === "iso" ? t("images.tab.iso") : t("images.tab.self");
}

function filters(p, tenants) {
  const select = (name, label, options, value) => {
    const id = uid(name);
    return h("div", { class: "field" }, h("label", { for: id }, label),
      h("select", { id, name }, options.map(([v, l]) => h("option", { value: v, selected: v === value }, l))));
  };
  const input = (name, label, value, type = "search") => {
    const id = uid(name);
    return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, name, type, value, maxlength: 256 }));
  };
  const any = ["", t("images.filter.any")];
  const form = h("form", { class: "filters", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const d = Object.fromEntries(new FormData(form).entries());
    setParams({ ...p, ...d, page: 1 });
  } },
    input("q", t("images.search"), p.q),
    select("status", t("images.filter.status"), [any, ...STATUSES.map((s) => [s, t("status." + s)])], p.status),
    select("system_type", t("images.filter.systemType"), [any, ["Linux", "Linux"], ["Windows", "Windows"]], p.system_type),
    select("architecture", t("images.filter.architecture"), [any, ["x86_64", "x86_64"], ["aarch64", "aarch64"]], p.architecture),
    input("tag", t("images.filter.tag"), p.tag, "text"),
    tenants.length ? select("tenant", t("images.filter.tenant"), [any, ...tenants.map((x) => [x.id, x.name])], p.tenant) : null,
    select("sort", t("images.sort"), SORTS.map((s) => [s, t("images.sort." + s)]), p.sort),
    select("order", t("images.order"), [["desc", t("images.order.desc")], ["asc", t("images.order.asc")]], p.order),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary", id: "apply-filters" }, t("images.searchButton")),
      h("button", { type: "button", onclick: () => setParams({ tab: p.tab, size: p.size }) }, t("images.filter.clear"))));
  return form;
}

function statusCell(img) {
  const label = t("status." + img.status);
  if (img.status === "failed") {
    const reason = img.failure_reason || "";
    return h("span", { class: "badge failed has-tip", tabindex: "0", title: reason, "data-tip": t("status.failedReason", { reason }) },
      label, h("span", { class: "sr-only" }, " " + t("status.failedReason", { reason })));
  }
  if (img.progress && (img.status === "uploading" || img.status === "making")) {
    const pr = img.progress;
    // A stalled transfer has no rate or ETA (the server withdraws them); say since when nothing arrived.
    const stalled = pr.stalled_since ? t("status.stalled", { time: timeOfDay(pr.stalled_since),
      for: duration((Date.now() - new Date(pr.stalled_since).getTime()) / 1000) }) : null;
    const parts = [pr.total ? t("status.progress", { done: bytes(pr.bytes), total: bytes(pr.total) }) : bytes(pr.bytes),
      !stalled && pr.rate ? t("status.rate", { rate: bytes(pr.rate) }) : null,
      !stalled && pr.eta_seconds != null ? t("status.eta", { eta: duration(pr.eta_seconds) }) : null, stalled].filter(Boolean);
    return h("div", { class: "progress-cell" + (stalled ? " stalled" : "") }, h("span", { class: "badge " + img.status }, label),
      h("progress", { max: pr.total || 1, value: pr.total ? pr.bytes : 0, "aria-label": label }),
      h("span", { class: "progress-text" }, parts.join(" · ")));
  }
  return h("span", { class: "badge " + img.status }, label);
}

async function batchDelete(selected, items, reload) {
  const chosen = items.filter((i) => selected.has(i.id));
  if (!chosen.length) return;
  const ok = await confirmDialog(tn("delete.batchTitle", chosen.length),
    [h("p", {}, t("delete.batchConfirm")), h("ul", {}, chosen.map((i) => h("li", {}, i.name)))], t("op.delete"), t("op.cancel"));
  if (!ok) return;
  let answer;
  try { answer = await api("POST", "/api/v1/images/batch-delete", { ids: chosen.map((i) => i.id) }); } catch (e) { showError(e); return; }
  const names = new Map(chosen.map((i) => [i.id, i.name]));
  selected.clear();
  await confirmDialog(t("delete.results"), [h("ul", { class: "results", id: "batch-results" }, answer.results.map((r) =>
    h("li", { "data-ok": String(r.ok) }, h("strong", {}, names.get(r.id) || r.id), ": ",
      r.ok ? t("delete.ok") : r.error.message)))], null, t("op.close"));
  reload();
}

async function exportList(p) {
  try {
    const q = apiQuery(p);
    delete q.offset; delete q.limit;
    const r = await api("GET", "/api/v1/export.xlsx" + query(q), undefined, { raw: true });
    const blob = await r.blob();
    const name = (r.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/)?.[1] || "images.xlsx";
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    announce(t("images.exportDone", { file: name }));
  } catch (e) { showError(e); }
}
