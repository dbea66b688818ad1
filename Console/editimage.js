// ImageGate console: inline editing of an image's name, remarks, project group and tags, in any status (the
// user guide: names and remarks can be changed in any state), from the image list and from the recycle bin.
import { api } from "./api.js";
import { h, clear, announce, uid } from "./dom.js";
import { t } from "./i18n.js";

/** A tag the server accepts: letters, digits, spaces and . _ : -, at most 64 characters. */
export const TAG = /^[\p{L}\p{N} ._:-]{1,64}$/u;
export const parseTags = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

/** Replaces `box`'s content with the edit form; `done()` runs after saving or cancelling. Only changed fields
 *  are sent, so a rename in the recycle bin does not touch the tags. */
export function editForm(img, box, done) {
  const input = (id, label, el, help) => {
    const helpEl = help ? h("p", { class: "help", id: id + "-help" }, help) : null;
    if (helpEl) el.setAttribute("aria-describedby", helpEl.id);
    return [h("label", { for: id }, label), el, helpEl];
  };
  const ids = { name: uid("name"), remarks: uid("remarks"), group: uid("group"), tags: uid("tags") };
  const name = h("input", { id: ids.name, class: "edit-name", value: img.name, required: true, maxlength: 255 });
  const remarks = h("textarea", { id: ids.remarks, class: "edit-remarks", rows: 2, maxlength: 1024 }, img.remarks || "");
  const group = h("input", { id: ids.group, class: "edit-group", value: img.project_group || "", maxlength: 128 });
  const tags = h("input", { id: ids.tags, class: "edit-tags", value: (img.tags || []).join(", ") });
  const err = h("p", { class: "field-error", role: "alert" });
  const form = h("form", { class: "inline-edit", "aria-label": t("edit.title", { name: img.name }), onsubmit: async (e) => {
    e.preventDefault();
    const list = parseTags(tags.value);
    if (list.length > 20 || !list.every((x) => TAG.test(x))) {
      err.textContent = t("import.err.tags");
      tags.setAttribute("aria-invalid", "true");
      tags.focus();
      return;
    }
    const body = {};
    if (name.value.trim() !== img.name) body.name = name.value.trim();
    if (remarks.value !== (img.remarks || "")) body.remarks = remarks.value;
    if (group.value.trim() !== (img.project_group || "")) body.project_group = group.value.trim();
    if (JSON.stringify(list) !== JSON.stringify(img.tags || [])) body.tags = list;
    if (Object.keys(body).length === 0) { done(); return; }
    try {
      const r = await api("PATCH", `/api/v1/images/${img.id}`, body);
      announce(t("edit.saved", { name: r.name }));
      done();
    } catch (x) { err.textContent = x.message; name.focus(); }
  } },
    input(ids.name, t("edit.name"), name), input(ids.remarks, t("edit.remarks"), remarks),
    input(ids.group, t("edit.projectGroup"), group), input(ids.tags, t("edit.tags"), tags, t("edit.tagsHelp")), err,
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, t("op.save")),
      h("button", { type: "button", onclick: done }, t("op.cancel"))));
  form.addEventListener("keydown", (e) => { if (e.key === "Escape") done(); });
  clear(box, form);
  name.focus();
  name.select();
}
