// Generate from a style model with a seed and mode; images arrive live; rate and publish them.

import { api, isMissing } from "../api.js";
import { assetImage, el, showError, toast, unavailable } from "../ui.js";
import { onEvent, subject } from "../live.js";

export async function render(view, modelId) {
  const error = el("div");
  const models = el("select", { name: "model_id", required: true });
  const form = el("form", { class: "card stack" },
    el("label", {}, "Style model", models),
    el("div", { class: "row" },
      el("label", {}, "Mode", el("select", { name: "mode" }, ["sample", "variations", "interpolate"].map((m) => el("option", {}, m)))),
      el("label", {}, "Count", el("input", { name: "count", type: "number", min: 1, max: 16, value: 8 })),
      el("label", {}, "Seed", el("input", { name: "seed", type: "number", min: 0, placeholder: "random" })),
      el("label", {}, "Target seed (interpolate)", el("input", { name: "target_seed", type: "number", min: 0 })),
      el("label", {}, "Strength (variations)", el("input", { name: "strength", type: "number", min: 0, max: 1, step: 0.05 }))),
    error, el("button", { type: "submit" }, "Generate"));
  view.replaceChildren(el("h1", {}, "Generate"), form);
  try {
    const page = await api.get("/v1/models?limit=100");
    const ready = page.items.filter((m) => m.status === "succeeded" || (m.versions || []).length);
    models.replaceChildren(...ready.map((m) => el("option", { value: m.id, selected: m.id === modelId }, m.name || m.id)));
    if (!ready.length) error.replaceChildren(el("p", { class: "muted" }, "No trained style model yet: ", el("a", { href: "#/models/new" }, "train one"), "."));
  } catch (err) {
    if (modelId) models.replaceChildren(el("option", { value: modelId }, modelId));
    else { view.append(isMissing(err) ? unavailable("Style models") : el("p", { class: "error" }, err.message)); }
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = new FormData(form);
    const body = { model_id: v.get("model_id"), mode: v.get("mode"), count: Number(v.get("count")) };
    for (const key of ["seed", "target_seed"]) if (v.get(key)) body[key] = Number(v.get(key));
    if (v.get("strength")) body.strength = Number(v.get("strength"));
    if (body.mode !== "sample" && body.seed !== undefined) { body.base_seed = body.seed; delete body.seed; }
    try {
      const gen = await api.post("/v1/generations", body);
      location.hash = `#/generations/${gen.id}`;
    } catch (err) {
      if (isMissing(err)) error.replaceChildren(unavailable("Generation"));
      else showError(err, error);
    }
  });
}

function outputCard(gen, output) {
  const base = `/v1/generations/${gen.id}/outputs/${output.index}`;
  const stars = el("div", { class: "stars", "aria-label": "rate" }, [1, 2, 3, 4, 5].map((score) =>
    el("button", { type: "button", title: `${score} stars`, onclick: async () => {
      try { await api.put(`${base}/rating`, { score }); toast(`Rated ${score}/5`); } catch (err) { showError(err); }
    } }, "★")));
  const publish = el("button", { class: "secondary", onclick: async () => {
    const title = prompt("Title of the work", `Seed ${output.seed}`);
    if (!title) return;
    try {
      const work = await api.post(`${base}/publish`, { title, visibility: "public" });
      location.hash = `#/works/${work.id}`;
    } catch (err) { showError(err); }
  } }, "Publish");
  return el("div", { class: "tile" }, assetImage(output.asset_id, "content", `seed ${output.seed}`),
    el("div", { class: "meta" }, el("b", {}, `seed ${output.seed}`), stars, publish));
}

export async function detail(view, id) {
  const status = el("b", {});
  const outputs = el("div", { class: "grid" });
  view.replaceChildren(el("h1", {}, "Generation"), el("p", {}, "Status: ", status), outputs);
  let timer = null;
  async function refresh() {
    let gen;
    try { gen = await api.get(`/v1/generations/${id}`); } catch (err) {
      view.replaceChildren(isMissing(err) ? unavailable("Generation") : el("p", { class: "error" }, err.message));
      return true;
    }
    status.textContent = gen.status;
    outputs.replaceChildren(...(gen.outputs || []).map((o) => outputCard(gen, o)));
    if (gen.status === "failed") outputs.replaceChildren(el("p", { class: "error" }, gen.error || "the generation failed"));
    return ["succeeded", "completed", "failed"].includes(gen.status);
  }
  if (!(await refresh())) timer = setInterval(async () => { if (await refresh()) clearInterval(timer); }, 3000);
  const stop = onEvent(async (event) => {
    if (event.data?.generation_id === id && subject(event).startsWith("inference.generation.")) {
      if (await refresh()) clearInterval(timer);
    }
  });
  return () => { clearInterval(timer); stop(); };
}
