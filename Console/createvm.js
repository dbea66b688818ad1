// ImageGate console: "create VM from image" hands off to the platform's VM creation page
// (console.vm_create_url, with {image_id}, {image_name} and {tenant} filled in); ImageGate creates no VMs.
import { api } from "./api.js";
import { state, link } from "./app.js";
import { h, clear } from "./dom.js";
import { t } from "./i18n.js";

export function vmURL(template, img) {
  if (!template) return null;
  return template.replace(/\{(image_id|image_name|tenant)\}/g, (_, k) =>
    encodeURIComponent(k === "image_id" ? img.id : k === "image_name" ? img.name : img.tenant));
}

export async function renderCreateVM(main, id) {
  const img = await api("GET", `/api/v1/images/${encodeURIComponent(id)}`);
  const url = vmURL(state.session.console.vm_create_url, img);
  const ok = img.status === "available";
  clear(main, h("section", { class: "card wizard" },
    h("h1", {}, t("vm.title")),
    h("p", {}, t("vm.intro", { name: img.name })),
    h("p", { class: "notice" }, t("vm.password")),
    img.encrypted ? h("p", { class: "notice" }, t("vm.encrypted")) : null,
    !ok ? h("p", { class: "notice error" }, t("vm.notAvailable")) : null,
    url && ok ? null : (!url ? h("p", { class: "notice error", id: "vm-not-configured" }, t("vm.notConfigured")) : null),
    h("div", { class: "buttons" },
      url && ok ? h("a", { class: "button primary", id: "vm-go", href: url, rel: "noopener noreferrer" }, t("vm.go")) : null,
      link("", t("op.back"), { class: "button" }))));
  return t("vm.title");
}
