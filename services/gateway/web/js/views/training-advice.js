// "Check the training set" on the owner's model page: which works would blur the style (far from
// the rest), which add nothing (near copies of each other) and which of the artist's other works
// would widen it (GET /v1/models/{id}/training-set/advice), each with its images and how sure it is.

import { api } from "../api.js";
import { assetImage, el, showError } from "../ui.js";

const HEADINGS = {
  outlier: "Far from the rest: may blur the style",
  near_duplicate: "Near copies: one of each pair adds nothing",
  coverage: "Your other works that would widen the set",
};

function item(advice) {
  const images = advice.images.map((image) => el("a", { href: `#/works/${image.work_id}`, class: "advice-image" },
    assetImage(image.asset_id, "thumbnail", `work ${image.work_id}`)));
  const sure = `${Math.round(advice.confidence * 100)}% sure`;
  return el("li", { class: "advice", "data-kind": advice.kind },
    el("div", { class: "row" }, ...images),
    el("p", {}, el("b", {}, advice.title), ` · ${sure}`),
    el("p", { class: "muted" }, advice.explanation));
}

function render(box, advice) {
  const groups = Object.keys(HEADINGS).map((kind) => [kind, advice.items.filter((i) => i.kind === kind)])
    .filter(([, items]) => items.length);
  const counted = `${advice.analysed} of ${advice.images} images looked at` +
    (advice.candidates ? `, and ${advice.candidates} of your other works` : "");
  if (!groups.length) {
    box.replaceChildren(el("p", { id: "advice-none" }, `Nothing stands out: the set hangs together (${counted}).`));
    return;
  }
  box.replaceChildren(el("p", { class: "muted" }, counted),
    ...groups.flatMap(([kind, items]) => [el("h3", {}, HEADINGS[kind]),
      el("ul", { class: "advice-list", "data-kind": kind }, ...items.map(item))]));
}

export function trainingAdvice(model) {
  const box = el("div", { id: "advice", "aria-live": "polite" });
  const check = el("button", { type: "button", class: "secondary", id: "check-training-set" }, "Check the training set");
  check.addEventListener("click", async () => {
    check.disabled = true;
    box.replaceChildren(el("p", { class: "muted" }, "Looking at the images…"));
    try {
      render(box, await api.get(`/v1/models/${model.id}/training-set/advice`));
    } catch (err) {
      box.replaceChildren();
      showError(err, box);
    } finally {
      check.disabled = false;
    }
  });
  return el("section", { class: "card stack", id: "training-advice", "aria-labelledby": "advice-title" },
    el("h2", { id: "advice-title" }, "Training set"),
    el("p", { class: "muted" }, "Works far from the rest blur a style; near copies add nothing. This looks at the images of this model's works."),
    check, box);
}
