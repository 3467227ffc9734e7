// A style model's price: the owner sets the credits an image costs others and the share that goes
// to the artists whose works trained it; everyone else reads the price on the model's public page.

import { api, ApiError } from "../api.js";
import { clearFieldErrors, el, showError, showFieldErrors } from "../ui.js";
import { credits } from "./credits.js";

const NO_PRICE = { price_per_image: 0, contributors_share: 0 };

async function currentPrice(modelId) {
  try { return await api.get(`/v1/models/${modelId}/pricing`); } catch (err) {
    if (err instanceof ApiError && err.status === 404) return NO_PRICE;  // free
    throw err;
  }
}

function describe(p) {
  if (!p.price_per_image) return "Free: generating from this model costs others nothing.";
  return `Others pay ${credits(p.price_per_image)} per image; ${p.contributors_share}% of it goes to the artists whose works trained it, the rest to you.`;
}

export function pricingForm(model) {
  const status = el("div", { class: "form-error", role: "status", "aria-live": "polite", id: "pricing-status" });
  const summary = el("p", { class: "muted", id: "pricing-summary" }, "Loading the price…");
  const price = el("input", { name: "price_per_image", type: "number", min: 0, step: 1, value: 0, inputmode: "numeric" });
  const share = el("input", { name: "contributors_share", type: "number", min: 0, max: 100, step: 1, value: 0, inputmode: "numeric" });
  const privateNote = el("p", { class: "muted", id: "pricing-private", hidden: model.visibility === "public" },
    "Only a public model can be priced: make it public under Sharing first.");
  const form = el("form", { class: "card stack", id: "pricing-form", novalidate: true, "aria-labelledby": "pricing-title" },
    el("h2", { id: "pricing-title" }, "Price"), summary,
    el("div", { class: "row" }, el("label", {}, "Credits per image (0: free)", price),
      el("label", {}, "Contributors' share (%)", share)),
    privateNote, status, el("div", { class: "row" }, el("button", { type: "submit" }, "Save price")));
  currentPrice(model.id).then((p) => {
    price.value = String(p.price_per_image);
    share.value = String(p.contributors_share);
    summary.textContent = describe(p);
  }).catch((err) => showError(err, summary));
  const whole = (input) => (/^\d+$/.test(input.value.trim()) ? Number(input.value.trim()) : input.value);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    status.replaceChildren();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const saved = await api.put(`/v1/models/${model.id}/pricing`, { price_per_image: whole(price), contributors_share: whole(share) });
      summary.textContent = describe(saved);
      status.replaceChildren(el("p", { class: "ok-text" }, "Price saved."));
    } catch (err) { showFieldErrors(form, err, status); } finally { button.disabled = false; }
  });
  // The sharing form above may make the model public or private while the page is open.
  form.update = (changed) => { privateNote.hidden = changed.visibility === "public"; };
  return form;
}

// One line for another artist's model page.
export function priceLine(modelId) {
  const line = el("p", { id: "model-price" }, "");
  currentPrice(modelId).then((p) => {
    line.textContent = p.price_per_image ? `Generating costs ${credits(p.price_per_image)} per image (see your credits).`
      : "Generating from it is free.";
  }).catch(() => line.remove());
  return line;
}
