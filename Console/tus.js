// ImageGate console: a tus 1.0.0 client (core protocol) for local-file imports. Uploads go up in chunks; a
// failed chunk is retried after asking the server (HEAD) where it stands, so a dropped connection costs at
// most one chunk. The upload URL and the file's identity are kept in localStorage, so after a reload the user
// selects the same file again and the upload continues from the server's offset.
import { csrfToken } from "./api.js";

const STORE = "imagegate.uploads";
/** Chunk size; `localStorage["imagegate.upload.chunkBytes"]` overrides it (slow links, tests). */
export function chunkBytes() {
  const n = Number(localStorage.getItem("imagegate.upload.chunkBytes"));
  return n >= 65536 ? n : 8 * 1024 * 1024;
}

export function pendingUploads() {
  try { return JSON.parse(localStorage.getItem(STORE) || "{}"); } catch { return {}; }
}
export function rememberUpload(imageID, entry) {
  const all = pendingUploads();
  all[imageID] = entry;
  localStorage.setItem(STORE, JSON.stringify(all));
}
export function forgetUpload(imageID) {
  const all = pendingUploads();
  delete all[imageID];
  localStorage.setItem(STORE, JSON.stringify(all));
}
/** Whether `file` is the one an entry describes (name, size and modification time). */
export function sameFile(entry, file) {
  return entry.name === file.name && entry.size === file.size && entry.lastModified === file.lastModified;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One upload. Callbacks: onProgress({offset, size, rate, eta}), onRetry(seconds), onDone(), onError(message).
 */
export class Upload {
  constructor(imageID, url, file, callbacks) {
    Object.assign(this, { imageID, url, file, cb: callbacks, stopped: false, controller: null });
    this.samples = [];
  }

  headers(extra = {}) {
    const h = { "Tus-Resumable": "1.0.0", ...extra };
    const c = csrfToken();
    if (c) h["X-CSRF-Token"] = c;
    return h;
  }

  async offset() {
    const r = await fetch(this.url, { method: "HEAD", headers: this.headers(), cache: "no-store" });
    if (r.status === 404 || r.status === 410) throw Object.assign(new Error("gone"), { fatal: true, gone: true });
    if (!r.ok) throw Object.assign(new Error(`HEAD ${r.status}`), { fatal: r.status < 500 });
    return Number(r.headers.get("Upload-Offset"));
  }

  progress(offset) {
    const now = performance.now();
    this.samples.push([now, offset]);
    // The rate over the last 10 s of confirmed chunks (as the server computes its own).
    while (this.samples.length > 2 && now - this.samples[0][0] > 10000) this.samples.shift();
    const [t0, o0] = this.samples[0];
    const rate = now > t0 ? ((offset - o0) * 1000) / (now - t0) : 0;
    const size = this.file.size;
    this.cb.onProgress?.({ offset, size, rate, eta: rate > 0 ? (size - offset) / rate : null });
  }

  stop() { this.stopped = true; this.controller?.abort(); }

  async run() {
    let delay = 1;
    let offset = null;
    while (!this.stopped) {
      try {
        if (offset === null) offset = await this.offset();
        this.progress(offset);
        if (offset >= this.file.size) { forgetUpload(this.imageID); this.cb.onDone?.(); return; }
        const end = Math.min(this.file.size, offset + chunkBytes());
        this.controller = new AbortController();
        const r = await fetch(this.url, {
          method: "PATCH", signal: this.controller.signal, cache: "no-store",
          headers: this.headers({ "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" }),
          body: this.file.slice(offset, end),
        });
        if (r.status === 204) { offset = Number(r.headers.get("Upload-Offset")); delay = 1; continue; }
        if (r.status === 409) { offset = null; continue; }  // the server has a different offset: ask it
        if (r.status === 404 || r.status === 410) throw Object.assign(new Error("gone"), { fatal: true, gone: true });
        const text = (await r.text()).trim();
        throw Object.assign(new Error(text || `HTTP ${r.status}`), { fatal: r.status >= 400 && r.status < 500 });
      } catch (e) {
        if (this.stopped) return;
        if (e.fatal) {
          forgetUpload(this.imageID);
          this.cb.onError?.(e.gone ? null : e.message);
          return;
        }
        // A dropped connection or a server restart: wait, then ask for the offset again.
        this.cb.onRetry?.(delay);
        await sleep(delay * 1000);
        delay = Math.min(delay * 2, 16);
        offset = null;
      }
    }
  }
}
