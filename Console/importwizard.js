// ImageGate console: the import wizard. Fields of the user guide, checked in the page (the server checks
// them again); the version list offers only what GET /api/v1/os-matrix allows for platform and architecture.
import { api } from "./api.js";
import { navigate, link, can, BASE } from "./app.js";
import { h, clear, field, setError, announce, uid } from "./dom.js";
import { t } from "./i18n.js";
import { startUpload } from "./uploads.js";
import { TAG, parseTags } from "./editimage.js";

function radios(name, legend, options, value, onchange) {
  return h("fieldset", { class: "radios" }, h("legend", {}, legend), options.map(([v, label]) => {
    const id = uid(name);
    return h("span", { class: "radio" }, h("input", { type: "radio", id, name, value: v, checked: v === value, onchange }),
      h("label", { for: id }, label));
  }));
}

function options(select, values, keep = true) {
  const old = select.value;
  clear(select, h("option", { value: "" }, t("import.choose")), values.map((v) => h("option", { value: v }, v)));
  if (keep && values.includes(old)) select.value = old;
}

export async function renderImport(main) {
  if (!can.manage()) {
    // A view-only account may not import: say so instead of a form the server would refuse.
    clear(main, h("section", { class: "card wizard" }, h("h1", {}, t("import.title")),
      h("p", { class: "notice", id: "import-view-only" }, t("import.viewOnly")),
      h("div", { class: "buttons" }, link("", t("op.back"), { class: "button" }))));
    return t("import.title");
  }
  const matrix = (await api("GET", "/api/v1/os-matrix")).entries;
  const uniq = (xs) => [...new Set(xs)];
  let kind = new URLSearchParams(location.search).get("kind") === "iso" ? "iso" : "self_made";
  let method = "file";

  const f = {
    name: field(t("import.name"), h("input", { id: "imp-name", name: "name", maxlength: 255, required: true })),
    description: field(t("import.description"), h("textarea", { id: "imp-description", name: "description", rows: 2, maxlength: 1024 })),
    file: field(t("import.file"), h("input", { id: "imp-file", name: "file", type: "file" }), t("import.fileHelp")),
    url: field(t("import.url"), h("input", { id: "imp-url", name: "url", type: "url", maxlength: 4096, spellcheck: "false" }), t("import.urlHelp")),
    format: field(t("import.format"), h("select", { id: "imp-format", name: "format" },
      h("option", { value: "qcow2" }, "QCOW2"), h("option", { value: "raw" }, "RAW"))),
    systemType: field(t("import.systemType"), h("select", { id: "imp-system-type", name: "system_type", required: true })),
    architecture: field(t("import.architecture"), h("select", { id: "imp-architecture", name: "architecture", required: true })),
    bootMode: field(t("import.bootMode"), h("select", { id: "imp-boot-mode", name: "boot_mode", required: true })),
    platform: field(t("import.platform"), h("select", { id: "imp-platform", name: "platform", required: true })),
    version: field(t("import.version"), h("select", { id: "imp-version", name: "os_version", required: true }), t("import.versionHelp")),
    tags: field(t("import.tags"), h("input", { id: "imp-tags", name: "tags" }), t("import.tagsHelp")),
  };
  options(f.systemType.input, uniq(matrix.map((e) => e.system_type)));
  options(f.architecture.input, uniq(matrix.map((e) => e.architecture)));
  options(f.bootMode.input, ["BIOS", "UEFI"]);
  const features = h("fieldset", { class: "checks", id: "imp-features" }, h("legend", {}, t("import.features")),
    ["cloud-init", "qemu-ga"].map((v) => {
      const id = uid("feat");
      return h("span", {}, h("input", { type: "checkbox", id, name: "features", value: v }), h("label", { for: id }, v));
    }));
  // Declaring encryption is what lets a LUKS-encrypted QCOW2 through the server's checks.
  const encrypted = h("input", { type: "checkbox", id: "imp-encrypted", name: "encrypted", "aria-describedby": "imp-encrypted-help" });
  const encryptedWrap = h("div", { class: "check-field" }, h("span", {}, encrypted, h("label", { for: "imp-encrypted" }, t("import.encrypted"))),
    h("p", { class: "help", id: "imp-encrypted-help" }, t("import.encryptedHelp")));

  const refine = () => {
    const st = f.systemType.input.value;
    const arch = f.architecture.input.value;
    options(f.platform.input, uniq(matrix.filter((e) => !st || e.system_type === st).map((e) => e.platform)));
    const pl = f.platform.input.value;
    const entry = matrix.find((e) => e.system_type === st && e.platform === pl && e.architecture === arch);
    options(f.version.input, entry ? entry.versions : []);
    f.version.input.disabled = !entry;
  };
  for (const k of ["systemType", "architecture", "platform"]) f[k].input.addEventListener("change", refine);
  refine();

  f.file.input.addEventListener("change", () => {
    const file = f.file.input.files[0];
    if (file && kind === "self_made") f.format.input.value = /\.(qcow2?|img\.qcow2)$/i.test(file.name) ? "qcow2" : "raw";
  });

  const summary = h("div", { role: "alert", class: "notice error", hidden: true, id: "import-errors" });
  /** The summary stays only while some field is still marked. */
  const refreshSummary = () => {
    if (!Object.values(f).some((fld) => fld.input.getAttribute("aria-invalid") === "true")) summary.hidden = true;
  };
  const showFor = () => {
    f.file.wrap.hidden = method !== "file";
    f.url.wrap.hidden = method !== "url";
    f.format.wrap.hidden = kind !== "self_made";
    features.hidden = kind !== "self_made";
    encryptedWrap.hidden = kind !== "self_made";
    // A field that no longer applies keeps no error.
    for (const fld of [f.file, f.url, f.format]) if (fld.wrap.hidden) setError(fld, "");
    refreshSummary();
  };
  // A message goes as soon as its field is changed: it is checked again on submit.
  for (const fld of Object.values(f)) {
    const clearIt = () => { if (fld.input.getAttribute("aria-invalid") === "true") { setError(fld, ""); refreshSummary(); } };
    fld.input.addEventListener("input", clearIt);
    fld.input.addEventListener("change", clearIt);
  }

  function validate() {
    const errors = [];
    const bad = (fld, msg) => { setError(fld, msg); errors.push(fld); };
    for (const fld of Object.values(f)) setError(fld, "");
    const name = f.name.input.value.trim();
    // eslint-disable-next-line no-control-regex
    if (!name || name.length > 255 || /[\u0000-\u001f\u007f\u2028\u2029]/.test(name)) bad(f.name, t("import.err.name"));
    if (method === "file") {
      const file = f.file.input.files[0];
      if (!file) bad(f.file, t("import.err.file"));
      else if ((kind === "iso") !== /\.iso$/i.test(file.name)) bad(f.file, t("import.err.kindFile"));
    } else if (!/^(https?|ftp):\/\/[^\s/]+/i.test(f.url.input.value.trim())) bad(f.url, t("import.err.url"));
    for (const k of ["systemType", "architecture", "bootMode", "platform", "version"]) if (!f[k].input.value) bad(f[k], t("import.err.required"));
    const tags = parseTags(f.tags.input.value);
    if (tags.length > 20 || !tags.every((x) => TAG.test(x))) bad(f.tags, t("import.err.tags"));
    summary.hidden = errors.length === 0;
    summary.textContent = errors.length ? t("import.errors") : "";
    if (errors.length) errors[0].input.focus();
    return errors.length === 0 ? tags : null;
  }

  const submit = h("button", { type: "submit", class: "primary", id: "import-submit" }, t("import.submit"));
  const form = h("form", { class: "card wizard", id: "import-form", novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const tags = validate();
    if (!tags) return;
    const file = f.file.input.files[0];
    const body = {
      name: f.name.input.value.trim(), description: f.description.input.value, kind,
      format: kind === "iso" ? "iso" : f.format.input.value, system_type: f.systemType.input.value,
      architecture: f.architecture.input.value, boot_mode: f.bootMode.input.value, platform: f.platform.input.value,
      os_version: f.version.input.value, tags,
      features: kind === "self_made" ? [...features.querySelectorAll("input:checked")].map((x) => x.value) : [],
      encrypted: kind === "self_made" && encrypted.checked,
      source: method === "file" ? { upload: { size: file.size } } : { url: f.url.input.value.trim() },
    };
    submit.disabled = true;
    try {
      const img = await api("POST", "/api/v1/imports", body);
      if (method === "file") startUpload(img, file);
      navigate(BASE + (kind === "iso" ? "?tab=iso" : ""));
      announce(t("import.started", { name: img.name }));
    } catch (x) {
      submit.disabled = false;
      summary.hidden = false;
      summary.textContent = t("import.err.server", { reason: x.message });
      summary.focus?.();
    }
  } },
    h("h1", {}, t("import.title")), h("p", {}, t("import.intro")), summary,
    f.name.wrap, f.description.wrap,
    radios("kind", t("import.kind"), [["self_made", t("import.kind.self_made")], ["iso", t("import.kind.iso")]], kind,
      (e) => { kind = e.target.value; showFor(); }),
    radios("method", t("import.method"), [["file", t("import.method.file")], ["url", t("import.method.url")]], method,
      (e) => { method = e.target.value; showFor(); }),
    f.file.wrap, f.url.wrap, f.format.wrap,
    f.systemType.wrap, f.architecture.wrap, f.bootMode.wrap, f.platform.wrap, f.version.wrap,
    features, encryptedWrap, f.tags.wrap,
    h("div", { class: "buttons" }, submit, h("a", { href: BASE, class: "button", onclick: (e) => { e.preventDefault(); history.back(); } }, t("op.cancel"))));
  summary.tabIndex = -1;
  showFor();
  clear(main, form);
  return t("import.title");
}
