// ImageGate console: a small Markdown renderer for the custom image guide (headings, paragraphs, lists,
// fenced code, block quotes, tables, `code`, **bold**, *italic*, [links](…)). It builds DOM nodes, never HTML text.
import { h } from "./dom.js";

function inline(text) {
  const out = [];
  const re = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*]+\*)|(\[[^\]]+\]\([^)\s]+\))/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const s = m[0];
    if (m[1]) out.push(h("code", {}, s.slice(1, -1)));
    else if (m[2]) out.push(h("strong", {}, inline(s.slice(2, -2))));
    else if (m[3]) out.push(h("em", {}, inline(s.slice(1, -1))));
    else {
      const [, label, href] = s.match(/^\[([^\]]+)\]\(([^)\s]+)\)$/);
      const safe = /^(https?:|#|\/)/.test(href) ? href : "#";
      out.push(h("a", { href: safe, rel: "noopener noreferrer" }, inline(label)));
    }
    last = m.index + s.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function slug(text) { return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, ""); }

/** Renders `source` into a DocumentFragment. Headings get ids so the table of contents can link to them. */
export function render(source) {
  const frag = document.createDocumentFragment();
  const lines = source.split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^```/.test(line)) {
      const lang = line.slice(3).trim();
      const body = [];
      for (i++; i < lines.length && !/^```/.test(lines[i]); i++) body.push(lines[i]);
      i++;
      frag.append(h("pre", { tabindex: "0", "aria-label": lang || null }, h("code", {}, body.join("\n"))));
      continue;
    }
    let m = line.match(/^(#{1,4})\s+(.*)$/);
    if (m) {
      const level = Math.max(2, m[1].length);  // the page's own h1 is the title
      frag.append(h("h" + level, { id: slug(m[2]) }, inline(m[2])));
      i++;
      continue;
    }
    if (/^\s*([-*]|\d+\.)\s+/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const list = h(ordered ? "ol" : "ul");
      while (i < lines.length && /^\s*([-*]|\d+\.)\s+/.test(lines[i])) {
        let item = lines[i].replace(/^\s*([-*]|\d+\.)\s+/, "");
        for (i++; i < lines.length && /^\s{2,}\S/.test(lines[i]) && !/^\s*([-*]|\d+\.)\s+/.test(lines[i]); i++) {
          item += " " + lines[i].trim();
        }
        list.append(h("li", {}, inline(item)));
      }
      frag.append(list);
      continue;
    }
    if (/^>\s?/.test(line)) {
      const body = [];
      for (; i < lines.length && /^>\s?/.test(lines[i]); i++) body.push(lines[i].replace(/^>\s?/, ""));
      frag.append(h("blockquote", {}, h("p", {}, inline(body.join(" ")))));
      continue;
    }
    if (/^\|/.test(line)) {
      const rows = [];
      for (; i < lines.length && /^\|/.test(lines[i]); i++) {
        if (/^\|[\s:|-]+\|$/.test(lines[i])) continue;
        rows.push(lines[i].replace(/^\||\|$/g, "").split("|").map((c) => c.trim()));
      }
      const [head, ...body] = rows;
      frag.append(h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, inline(c))))),
        h("tbody", {}, body.map((r) => h("tr", {}, r.map((c) => h("td", {}, inline(c)))))))));
      continue;
    }
    if (!line.trim()) { i++; continue; }
    const para = [];
    for (; i < lines.length && lines[i].trim() && !/^(#|```|>|\||\s*([-*]|\d+\.)\s)/.test(lines[i]); i++) para.push(lines[i]);
    frag.append(h("p", {}, inline(para.join(" "))));
  }
  return frag;
}
