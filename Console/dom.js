// ImageGate console: building DOM nodes without innerHTML (every value is text, never markup).

/** h("button", {class: "x", onclick: f, "aria-label": "…"}, "text", child…) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let pending = null;
/** Says `message` to screen readers (and shows it in the status line) until the next page. */
export function announce(message, kind = "info") {
  const el = document.getElementById("status-line");
  if (!el) return;
  clearTimeout(pending);
  el.dataset.kind = kind;
  el.textContent = "";
  pending = setTimeout(() => { el.textContent = message; }, 30);
}

/** Empties the status line (on navigation: a result belongs to the page it happened on). */
export function clearAnnouncement() {
  clearTimeout(pending);
  const el = document.getElementById("status-line");
  if (el) el.textContent = "";
}

let nextID = 0;
export function uid(prefix = "f") { return `${prefix}-${++nextID}`; }

/** A labelled form field: returns {wrap, input, error}. */
export function field(label, input, help) {
  const id = input.id || (input.id = uid());
  const err = h("p", { class: "field-error", id: id + "-err", hidden: true });
  const helpEl = help ? h("p", { class: "help", id: id + "-help" }, help) : null;
  input.setAttribute("aria-describedby", [helpEl && helpEl.id, err.id].filter(Boolean).join(" "));
  const wrap = h("div", { class: "field" }, h("label", { for: id }, label), input, helpEl, err);
  return { wrap, input, error: err };
}

export function setError(f, message) {
  f.error.hidden = !message;
  f.error.textContent = message || "";
  if (message) f.input.setAttribute("aria-invalid", "true");
  else f.input.removeAttribute("aria-invalid");
}

/** A modal <dialog>; resolves true when confirmed. Focus returns to the opener. */
export function confirmDialog(title, body, confirmLabel, cancelLabel, danger = true) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleID = uid("dlg");
    const dlg = h("dialog", { "aria-labelledby": titleID, class: "dialog" },
      h("h2", { id: titleID }, title),
      ...(Array.isArray(body) ? body : [h("p", {}, body)]),
      h("div", { class: "dialog-buttons" },
        confirmLabel ? h("button", { class: danger ? "danger" : "primary", value: "ok", onclick: () => done(true) }, confirmLabel) : null,
        h("button", { value: "cancel", onclick: () => done(false) }, cancelLabel)));
    function done(v) { dlg.close(); dlg.remove(); if (opener && opener.focus) opener.focus(); resolve(v); }
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
    document.body.append(dlg);
    dlg.showModal();
  });
}
