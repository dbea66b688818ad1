// ImageGate console: the recycle bin: deleted images with the time they are destroyed automatically;
// edit (name, remarks, project group, tags: any status), restore (manage) and destroy (tenant owners and
// platform administrators).
import { api, query } from "./api.js";
import { state, can, showError } from "./app.js";
import { h, clear, announce, confirmDialog } from "./dom.js";
import { t, tn, bytes, duration, dateTime } from "./i18n.js";
import { editForm } from "./editimage.js";

export async function renderRecycleBin(main) {
  const retention = state.session.console.recycle_retention_seconds;
  const box = h("div", { class: "table-wrap", id: "recycle-table" });
  let editing = false;
  async function reload() {
    if (editing) return;
    const page = await api("GET", "/api/v1/recycle-bin" + query({ limit: 200 }));
    const cols = ["col.name", "col.size", "col.deletedAt", "col.purgeAt", "col.operations"];
    const rows = page.items.map((img) => {
      const purge = img.deleted_at ? new Date(new Date(img.deleted_at).getTime() + retention * 1000).toISOString() : null;
      const ops = [];
      const nameCell = h("div", { class: "name-cell" }, h("span", { class: "image-name" }, img.name),
        h("span", { class: "resource-id" }, img.id), img.remarks ? h("span", { class: "remarks" }, img.remarks) : null);
      if (can.manage()) ops.push(h("button", { class: "op-edit", onclick: () => {
        editing = true;
        editForm(img, nameCell, () => { editing = false; reload(); });
      } }, t("op.edit")));
      if (can.manage()) ops.push(h("button", { class: "op-restore", onclick: () => act(img, "restore") }, t("op.restore")));
      if (can.destroy()) ops.push(h("button", { class: "danger op-destroy", onclick: () => act(img, "destroy") }, t("op.destroy")));
      return h("tr", { "data-id": img.id },
        h("th", { scope: "row", "data-label": t("col.name") }, nameCell),
        h("td", { "data-label": t("col.size") }, bytes(img.size)),
        h("td", { "data-label": t("col.deletedAt") }, dateTime(img.deleted_at)),
        h("td", { "data-label": t("col.purgeAt") }, dateTime(purge)),
        h("td", { "data-label": t("col.operations") }, h("div", { class: "ops", role: "group", "aria-label": t("op.operationsFor", { name: img.name }) }, ops)));
    });
    clear(box, h("table", {}, h("caption", {}, tn("images.caption", page.total)),
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: cols.length }, t("recycle.empty"))))));
  }
  async function act(img, what) {
    if (what === "destroy" && !(await confirmDialog(t("recycle.destroyTitle"), t("recycle.destroyConfirm", { name: img.name }), t("op.destroy"), t("op.cancel")))) return;
    try {
      await api("POST", `/api/v1/images/${img.id}/${what}`);
      announce(t(what === "restore" ? "recycle.restored" : "recycle.destroyed", { name: img.name }));
    } catch (e) { showError(e); }
    await reload();
  }
  clear(main, h("h1", {}, t("recycle.title")), h("p", {}, t("recycle.intro", { retention: duration(retention) })), box);
  await reload();
  return t("recycle.title");
}
