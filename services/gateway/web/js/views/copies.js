// Possible copies: other people's uploads that nearly match one of your shown works, each pair side
// by side (your original, and the copy where a public work shows it) with how near they are.

import { api } from "../api.js";
import { assetImage, el, showError } from "../ui.js";
import { marketTabs } from "./credits.js";

// Hamming distance of two 64-bit perceptual hashes, in words (the number stays beside it).
function nearness(d) {
  if (d === 0) return "the same picture";
  if (d <= 4) return "nearly identical";
  if (d <= 8) return "very similar";
  return "similar";
}

function side(label, image, caption) {
  return el("figure", { class: "copy-side" }, image, el("figcaption", {}, el("b", {}, label), el("br"), caption));
}

function theCopy(item) {
  const box = el("div", { class: "copy-shown" });
  if (!item.published_in.length) {
    box.append(side("The copy", el("div", { class: "thumb" }),
      el("span", { class: "muted" }, "not shown publicly (private or unlisted uses are not revealed)")));
    return box;
  }
  const workId = item.published_in[0];
  const slot = side("The copy", el("div", { class: "thumb" }), el("a", { href: `#/works/${workId}` }, "its public work"));
  box.append(slot);
  api.get(`/v1/works/${workId}`).then((w) => {
    const cover = w.asset_ids?.[0];
    slot.replaceWith(side("The copy", cover ? assetImage(cover, "thumbnail", `the copy, in “${w.title}”`) : el("div", { class: "thumb" }),
      el("span", {}, el("a", { href: `#/works/${workId}` }, `“${w.title}”`), w.author ? ` by @${w.author.username}` : "",
        item.published_in.length > 1 ? ` and ${item.published_in.length - 1} more public work(s)` : "")));
  }).catch(() => {});
  return box;
}

function copyItem(item) {
  const original = side("Your work", assetImage(item.original_asset_id, "thumbnail", "your original"),
    el("a", { href: `#/works/${item.original_work_id}` }, "open your work"));
  return el("li", { class: "card copy-pair", "data-copy-id": item.id, "data-distance": item.distance },
    el("div", { class: "pair" }, original, theCopy(item)),
    el("p", {}, el("b", { class: "distance" }, `${nearness(item.distance)} (distance ${item.distance} of 64)`),
      el("span", { class: "muted" }, ` · uploaded ${new Date(item.detected_at).toLocaleString()}`,
        item.published_in.length ? "" : ` by a user (id …${item.uploader_id.slice(-6)})`)));
}

export async function render(view) {
  const list = el("ul", { class: "copies", id: "possible-copies" });
  const status = el("div", { role: "status", "aria-live": "polite" });
  const more = el("button", { type: "button", class: "secondary", hidden: true, id: "more-copies" }, "More");
  view.replaceChildren(el("h1", {}, "Possible copies"), marketTabs("#/copies"),
    el("p", { class: "muted" }, "Uploads by other people whose picture nearly matches one of your shown works, newest first. ",
      "Distance counts the differing bits of the two images' 64-bit perceptual fingerprints: 0 is the same picture, ",
      "a few bits is a resized or re-saved copy. Anyone publishing such an upload as their own human work had to say it resembles yours."),
    list, status, more);
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api.get(`/v1/me/possible-copies?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      list.append(...page.items.map(copyItem));
      status.replaceChildren(list.children.length ? "" : el("p", { class: "muted" }, "No possible copies of your works were found."));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) { showError(err, status); } finally { more.disabled = false; }
  };
  more.addEventListener("click", load);
  await load();
}
