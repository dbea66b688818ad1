// ImageGate console: the uploads tray: running local-file uploads (progress, rate, time left, retries) and
// unfinished ones remembered from before a reload, each waiting for the user to select the same file again.
// While an upload runs, leaving the page asks first (beforeunload): the browser would drop the upload.
import { h, clear, announce, uid } from "./dom.js";
import { t, bytes, duration, timeOfDay } from "./i18n.js";
import { Upload, pendingUploads, rememberUpload, forgetUpload, sameFile, chunkBytes } from "./tus.js";

const chunkSize = (size, offset) => Math.min(chunkBytes(), size - offset);

const active = new Map();  // image id → {upload, name, view}
const listeners = new Set();

/** Called (with the image id) whenever an upload finishes or fails, so the list can refresh. */
export function onUploadChange(f) { listeners.add(f); return () => listeners.delete(f); }
export function isUploading(imageID) { return active.has(imageID); }

window.addEventListener("beforeunload", (e) => {
  if (active.size === 0) return;
  e.preventDefault();
  e.returnValue = "";  // older browsers need a value to ask
});

/** No confirmed bytes for this long (and for three chunks' time at the recent rate): the upload is stalled.
 *  The page learns of bytes only when a whole chunk is confirmed, so a slow link's long chunks are allowed for. */
const STALL_MS = 10000;
let ticker = null;
function tick() {
  const now = Date.now();
  for (const a of active.values()) a.view.refresh(now);
  if (active.size === 0) { clearInterval(ticker); ticker = null; }
}

function progressView(name) {
  const bar = h("progress", { max: 100, value: 0, "aria-label": t("upload.progress", { name }) });
  const text = h("span", { class: "upload-text" });
  const el = h("li", { class: "upload" }, h("strong", {}, name), bar, text);
  return { el, bar, text };
}

function begin(imageID, url, file, name) {
  const view = progressView(name);
  let last = null;  // the latest progress: {offset, size, rate, eta, at: when the offset last moved}
  view.refresh = (now) => {
    if (!last || view.el.dataset.state === "retrying") return;
    const { offset, size, rate, eta, at } = last;
    const limit = Math.max(STALL_MS, rate > 0 ? (3 * chunkSize(size, offset) * 1000) / rate : 0);
    const stalled = offset < size && now - at >= limit;
    view.el.dataset.state = stalled ? "stalled" : "running";
    view.text.textContent = [t("status.progress", { done: bytes(offset), total: bytes(size) }),
      !stalled && rate > 0 ? t("status.rate", { rate: bytes(rate) }) : null,
      !stalled && eta != null ? t("status.eta", { eta: duration(eta) }) : null,
      stalled ? t("upload.stalled", { name, time: timeOfDay(new Date(at).toISOString()), for: duration((now - at) / 1000) }) : null,
    ].filter(Boolean).join(" · ");
  };
  const upload = new Upload(imageID, url, file, {
    onProgress: ({ offset, size, rate, eta }) => {
      view.bar.max = size;
      view.bar.value = offset;
      view.el.dataset.offset = String(offset);
      view.el.dataset.state = "running";
      if (!last || offset !== last.offset) last = { offset, size, rate, eta, at: Date.now() };
      else Object.assign(last, { rate, eta });
      view.refresh(Date.now());
    },
    onRetry: (seconds) => {
      view.el.dataset.state = "retrying";
      view.text.textContent = t("upload.retrying", { name, wait: duration(seconds) });
    },
    onDone: () => { finish(imageID); announce(t("upload.done", { name })); },
    onError: (reason) => {
      finish(imageID);
      announce(reason ? t("upload.failed", { name, reason }) : t("upload.gone", { name }), "error");
    },
  });
  active.set(imageID, { upload, name, view });
  renderUploads();
  ticker ??= setInterval(tick, 1000);
  upload.run();
}

function finish(imageID) {
  active.delete(imageID);
  renderUploads();
  for (const f of listeners) f(imageID);
}

/** Starts uploading `file` to a new import's tus URL. */
export function startUpload(image, file) {
  rememberUpload(image.id, { url: image.upload_url, name: file.name, size: file.size,
    lastModified: file.lastModified, imageName: image.name });
  begin(image.id, image.upload_url, file, image.name);
}

/** Stops sending (cancel upload: the server discards the bytes). */
export function stopUpload(imageID) {
  active.get(imageID)?.upload.stop();
  active.delete(imageID);
  forgetUpload(imageID);
  renderUploads();
}

function pendingView(imageID, entry) {
  const inputID = uid("resume");
  const err = h("p", { class: "field-error", hidden: true, id: inputID + "-err" });
  const input = h("input", { type: "file", id: inputID, "data-image": imageID, "aria-describedby": inputID + "-err",
    onchange: () => {
      const file = input.files[0];
      if (!file) return;
      if (!sameFile(entry, file)) {
        err.hidden = false;
        err.textContent = t("upload.wrongFile", { name: entry.name });
        input.value = "";
        return;
      }
      begin(imageID, entry.url, file, entry.imageName);
    } });
  return h("li", { class: "upload pending", "data-image": imageID },
    h("p", {}, t("upload.pending", { name: entry.imageName, total: bytes(entry.size) })),
    h("label", { for: inputID }, t("upload.pendingFile", { name: entry.name })), input, err,
    h("button", { class: "link", onclick: () => { forgetUpload(imageID); renderUploads(); } }, t("upload.forget")));
}

/** Draws the tray (hidden when there is nothing to show). Running uploads keep their live elements. */
export function renderUploads() {
  const tray = document.getElementById("uploads");
  if (!tray) return;
  const pending = Object.entries(pendingUploads()).filter(([id]) => !active.has(id));
  const items = [...[...active.values()].map((a) => a.view.el), ...pending.map(([id, e]) => pendingView(id, e))];
  tray.hidden = items.length === 0;
  clear(tray, h("h2", {}, t("upload.title")), h("ul", {}, items));
}
