// ImageGate console: webhooks (platform administrators): add an endpoint for some events (the secret is shown
// once), remove one, and read its delivery log (Docs/webhooks.md).
import { api, query } from "./api.js";
import { showError } from "./app.js";
import { h, clear, announce, field, setError, confirmDialog } from "./dom.js";
import { t, dateTime } from "./i18n.js";

const EVENTS = ["image.available", "image.failed", "image.deleted", "link.minted", "link.first_use",
  "download.completed", "link.revoked", "link.exhausted"];

export async function renderWebhooks(main) {
  const list = h("div", { class: "table-wrap", id: "webhook-table" });
  const log = h("section", { id: "delivery-log", "aria-live": "polite" });
  const secretBox = h("div", { id: "webhook-secret-box" });

  async function reload() {
    const hooks = (await api("GET", "/api/v1/webhooks")).items;
    const cols = ["webhooks.col.url", "webhooks.col.events", "webhooks.col.created", "col.operations"];
    const rows = hooks.map((w) => h("tr", { "data-id": w.id },
      h("th", { scope: "row", "data-label": t("webhooks.col.url") }, h("div", { class: "name-cell" },
        h("span", { class: "image-name" }, w.url), h("span", { class: "resource-id" }, w.id))),
      h("td", { "data-label": t("webhooks.col.events") }, w.events.join(", ")),
      h("td", { "data-label": t("webhooks.col.created") }, dateTime(w.created_at)),
      h("td", { "data-label": t("col.operations") }, h("div", { class: "ops" },
        h("button", { class: "op-log", onclick: () => showLog(w) }, t("webhooks.log")),
        h("button", { class: "danger op-remove", onclick: () => remove(w) }, t("webhooks.remove"))))));
    clear(list, h("table", {}, h("caption", {}, t("webhooks.caption")),
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: cols.length }, t("webhooks.empty"))))));
  }

  async function showLog(w) {
    const items = (await api("GET", `/api/v1/webhooks/${w.id}/deliveries` + query({ limit: 100 }))).items;
    const cols = ["webhooks.col.type", "webhooks.col.time", "webhooks.col.image", "webhooks.col.state",
      "webhooks.col.attempts", "webhooks.col.status", "webhooks.col.error"];
    const cell = (c, v) => h("td", { "data-label": t(c) }, v == null || v === "" ? "–" : String(v));
    const rows = items.map((d) => h("tr", { "data-event": d.event_id, "data-state": d.state },
      cell(cols[0], d.type), cell(cols[1], dateTime(d.time)), cell(cols[2], d.image_id),
      cell(cols[3], t("webhooks.state." + d.state)), cell(cols[4], d.attempts), cell(cols[5], d.last_status),
      cell(cols[6], d.last_error)));
    clear(log, h("h2", {}, t("webhooks.logTitle", { url: w.url })), h("div", { class: "table-wrap", id: "delivery-table" },
      h("table", {}, h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, t(c))))),
        h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: cols.length }, t("webhooks.logEmpty")))))));
  }

  async function remove(w) {
    if (!(await confirmDialog(t("webhooks.removeTitle"), t("webhooks.removeConfirm", { url: w.url }), t("webhooks.remove"), t("op.cancel")))) return;
    try {
      await api("DELETE", `/api/v1/webhooks/${w.id}`);
      announce(t("webhooks.removed", { url: w.url }));
      clear(log);
    } catch (e) { showError(e); }
    await reload();
  }

  const url = field(t("webhooks.url"), h("input", { type: "url", id: "webhook-url", required: true, spellcheck: "false" }),
    t("webhooks.urlHelp"));
  const boxes = EVENTS.map((e) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "event", value: e }), " ", e));
  const form = h("form", { class: "card", id: "webhook-form", onsubmit: async (ev) => {
    ev.preventDefault();
    const events = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    if (!url.input.value.trim()) { setError(url, t("webhooks.urlRequired")); url.input.focus(); return; }
    if (!events.length) { setError(url, t("webhooks.eventsRequired")); return; }
    setError(url, "");
    try {
      const w = await api("POST", "/api/v1/webhooks", { url: url.input.value.trim(), events });
      clear(secretBox, h("div", { class: "notice", role: "alert" }, h("p", {}, t("webhooks.secretOnce")),
        h("code", { id: "webhook-secret" }, w.secret)));
      url.input.value = "";
      boxes.forEach((b) => { b.querySelector("input").checked = false; });
      await reload();
    } catch (e) { setError(url, e.message); }
  } }, h("h2", {}, t("webhooks.add")), url.wrap,
    h("fieldset", {}, h("legend", {}, t("webhooks.events")), boxes),
    h("button", { type: "submit", class: "primary" }, t("webhooks.addSubmit")));

  clear(main, h("h1", {}, t("webhooks.title")), h("p", {}, t("webhooks.intro")), secretBox, form, list, log);
  await reload();
  return t("webhooks.title");
}
