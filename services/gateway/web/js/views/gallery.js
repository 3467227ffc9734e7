// Your generations as a gallery: one thumbnail strip per run, with its model, mode and settings.

import { api, isMissing } from "../api.js";
import { assetImage, el, showError, unavailable } from "../ui.js";
import { describeSettings } from "./generation-settings.js";

export function generationCard(gen) {
  const thumbs = (gen.outputs || []).slice(0, 4).map((o) => assetImage(o.asset_id, "thumbnail", `output ${o.index}`));
  return el("a", { class: "tile gen-tile", href: `#/generations/${gen.id}`, "data-generation-id": gen.id },
    el("div", { class: "gen-thumbs" }, thumbs.length ? thumbs : el("div", { class: "thumb" })),
    el("div", { class: "meta" }, el("b", {}, `${gen.mode} · ${gen.count} images`),
      el("span", { class: "muted" }, `${describeSettings(gen)} · ${gen.status}`)));
}

export async function loadGallery(box, limit = 12) {
  try {
    const page = await api.get(`/v1/generations?limit=${limit}`);
    box.replaceChildren(page.items.length ? el("div", { class: "grid gallery" }, page.items.map(generationCard))
      : el("p", { class: "muted" }, "None yet."));
    return page;
  } catch (err) {
    if (isMissing(err)) box.replaceChildren(unavailable("Generation"));
    else showError(err, box);
    return null;
  }
}

export async function render(view) {
  const box = el("div", { id: "gallery" });
  const more = el("button", { class: "secondary", hidden: true }, "Load more");
  view.replaceChildren(el("h1", {}, "Your generations"), el("p", {}, el("a", { href: "#/generate" }, "Generate more →")), box, more);
  let cursor = null;
  const items = [];
  async function load() {
    try {
      const page = await api.get(`/v1/generations?limit=24${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      items.push(...page.items);
      cursor = page.next_cursor;
      box.replaceChildren(items.length ? el("div", { class: "grid gallery" }, items.map(generationCard))
        : el("p", { class: "muted" }, "None yet: ", el("a", { href: "#/generate" }, "generate some images"), "."));
      more.hidden = !cursor;
    } catch (err) { if (isMissing(err)) box.replaceChildren(unavailable("Generation")); else showError(err, box); }
  }
  more.addEventListener("click", load);
  await load();
}
