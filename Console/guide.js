// ImageGate console: the custom image guide (Docs/custom-image-guide.md, served as /console/custom-image-guide.md).
import { h, clear } from "./dom.js";
import { t } from "./i18n.js";
import { render } from "./markdown.js";

export async function renderGuide(main) {
  clear(main, h("p", {}, t("guide.loading")));
  const r = await fetch("/console/custom-image-guide.md", { cache: "no-cache" });
  const text = await r.text();
  const body = text.replace(/^# .*\n/, "");  // the page heading comes from the strings table
  clear(main, h("article", { class: "card guide" }, h("h1", {}, t("guide.title")), render(body)));
  return t("guide.title");
}
