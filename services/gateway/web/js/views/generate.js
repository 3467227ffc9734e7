// Generate from a style model with a seed and a mode; images arrive live; rate and publish them.

import { api, ApiError, isMissing } from "../api.js";
import { assetImage, el, showError, toast, unavailable } from "../ui.js";
import { onEvent, subject } from "../live.js";

const DONE = ["succeeded", "failed"];
const POLL_MS = 2000;
const LOADING_WAIT_MS = 30_000;  // a fallback: completion normally arrives on the WebSocket
// Which inputs each mode uses (the API refuses the others).
const MODE_FIELDS = {
  sample: ["seed", "truncation"],
  variations: ["base_seed", "seed", "strength"],
  interpolate: ["base_seed", "target_seed"],
};
const HELP = {
  sample: "Independent images from seeded random latents: the same seed always gives the same images.",
  variations: "Images close to the one the base seed gives; the seed picks the directions, strength how far they wander.",
  interpolate: "A morph strip: a path from the base seed's image to the target seed's.",
};

const numberField = (label, name, attrs = {}) =>
  el("label", { "data-field": name }, label, el("input", { name, type: "number", ...attrs }));

export async function render(view, modelId) {
  const error = el("div");
  const models = el("select", { name: "model_id", required: true, "aria-label": "Style model" });
  const versions = el("select", { name: "version", "aria-label": "Version" });
  const mode = el("select", { name: "mode", "aria-label": "Mode" }, Object.keys(MODE_FIELDS).map((m) => el("option", { value: m }, m)));
  const help = el("p", { class: "muted" });
  const submit = el("button", { type: "submit" }, "Generate");
  const form = el("form", { class: "card stack", id: "generate-form" },
    el("div", { class: "row" }, el("label", {}, "Style model", models), el("label", {}, "Version", versions),
      el("label", {}, "Mode", mode), numberField("Count", "count", { min: 1, max: 16, value: 8 })),
    el("div", { class: "row" },
      numberField("Seed", "seed", { min: 0, placeholder: "random" }),
      numberField("Base seed", "base_seed", { min: 0, placeholder: "random" }),
      numberField("Target seed", "target_seed", { min: 0, value: 7 }),
      numberField("Strength", "strength", { min: 0, max: 1, step: 0.05, value: 0.3 }),
      numberField("Truncation", "truncation", { min: 0.1, max: 2, step: 0.1, placeholder: "off" })),
    help, error, el("div", { class: "row" }, submit));
  const results = el("div", { id: "generation" });
  const recent = el("ul", { class: "recent" });
  view.replaceChildren(el("h1", {}, "Generate"), form, results, el("h2", {}, "Recent generations"), recent);

  const showMode = () => {
    const used = MODE_FIELDS[mode.value];
    for (const name of ["seed", "base_seed", "target_seed", "strength", "truncation"]) {
      form.querySelector(`[data-field=${name}]`).hidden = !used.includes(name);
    }
    help.textContent = HELP[mode.value];
  };
  mode.addEventListener("change", showMode);
  showMode();

  let ready = [];
  const showVersions = () => {
    const model = ready.find((m) => m.id === models.value);
    const numbers = (model?.versions || []).map((v) => v.version).reverse();
    versions.replaceChildren(el("option", { value: "" }, "latest"), ...numbers.map((n) => el("option", { value: n }, `v${n}`)));
  };
  models.addEventListener("change", showVersions);
  try {
    const page = await api.get("/v1/models?limit=100");
    ready = page.items.filter((m) => (m.versions || []).length);
    models.replaceChildren(...ready.map((m) => el("option", { value: m.id, selected: m.id === modelId },
      `${m.name || m.id} (${m.architecture}, ${m.image_size} px)`)));
    showVersions();
    if (!ready.length) {
      submit.disabled = true;
      error.replaceChildren(el("p", { class: "muted" }, "No trained style model yet: ", el("a", { href: "#/models/new" }, "train one"), "."));
    }
  } catch (err) {
    if (modelId) models.replaceChildren(el("option", { value: modelId }, modelId));
    else view.append(isMissing(err) ? unavailable("Style models") : el("p", { class: "error" }, err.message));
  }
  loadRecent(recent);

  let stopShowing = null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const v = new FormData(form);
    const body = { model_id: v.get("model_id"), mode: v.get("mode"), count: Number(v.get("count")) };
    if (v.get("version")) body.version = Number(v.get("version"));
    for (const name of MODE_FIELDS[body.mode]) if (v.get(name) !== "" && v.get(name) !== null) body[name] = Number(v.get(name));
    // Pick the seed here when none is given: the server's random seeds exceed what JavaScript numbers
    // hold exactly, and a seed shown to the user must reproduce the image.
    const randomSeed = () => Math.floor(Math.random() * 2 ** 31);
    if (body.mode !== "interpolate" && body.seed === undefined) body.seed = randomSeed();
    if (body.mode !== "sample" && body.base_seed === undefined) body.base_seed = randomSeed();
    submit.disabled = true;
    error.replaceChildren();
    if (stopShowing) { stopShowing(); stopShowing = null; }
    results.replaceChildren(el("p", { class: "muted" }, "Starting…"));
    try {
      const gen = await createGeneration(body, error);
      error.replaceChildren();
      loadRecent(recent);
      stopShowing = showGeneration(results, gen.id, () => loadRecent(recent));
    } catch (err) {
      results.replaceChildren();
      if (isMissing(err)) error.replaceChildren(unavailable("Generation"));
      else showError(err, error);
    } finally { submit.disabled = false; }
  });
  return () => { if (stopShowing) stopShowing(); };
}

// A model that just finished training reaches the inference service a moment later (it learns of
// new versions from events): until then creating a generation answers 409, so wait and retry.
async function createGeneration(body, notice) {
  const deadline = Date.now() + LOADING_WAIT_MS;
  for (;;) {
    try {
      return await api.post("/v1/generations", body);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409 && Date.now() < deadline)) throw err;
      notice.replaceChildren(el("p", { class: "muted" }, "The model is being loaded for generation…"));
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }
}

function describeSeeds(gen) {
  const p = gen.params || {};
  if (gen.mode === "interpolate") return `seeds ${p.base_seed ?? gen.seed} → ${p.target_seed}`;
  if (gen.mode === "variations") return `around seed ${p.base_seed ?? gen.seed}, strength ${p.strength ?? "default"}`;
  return `seed ${gen.seed}`;
}

async function loadRecent(list) {
  try {
    const page = await api.get("/v1/generations?limit=10");
    list.replaceChildren(...page.items.map((g) => el("li", {}, el("a", { href: `#/generations/${g.id}` },
      `${g.mode} · ${g.count} images · ${describeSeeds(g)}`), el("span", { class: "muted" }, ` · ${g.status} · ${new Date(g.created_at).toLocaleString()}`))));
    if (!page.items.length) list.replaceChildren(el("li", { class: "muted" }, "None yet."));
  } catch { list.replaceChildren(); }
}

function stars(base, output) {
  const box = el("div", { class: "stars", role: "group", "aria-label": `rate output ${output.index}` });
  const paint = (score) => box.querySelectorAll("button").forEach((b, i) => {
    b.classList.toggle("on", i < score);
    b.setAttribute("aria-pressed", String(i + 1 === score));
  });
  box.append(...[1, 2, 3, 4, 5].map((score) => el("button", { type: "button", title: `${score} star${score > 1 ? "s" : ""}`,
    "aria-label": `${score} star${score > 1 ? "s" : ""}`, onclick: async () => {
      try { await api.put(`${base}/rating`, { score }); paint(score); box.dataset.score = score; toast(`Rated ${score}/5`); } catch (err) { showError(err); }
    } }, "★")));
  if (output.score) { paint(output.score); box.dataset.score = output.score; }
  return box;
}

function publishForm(base, suggestedTitle) {
  const title = el("input", { name: "title", required: true, maxlength: 200, value: suggestedTitle, "aria-label": "title" });
  const form = el("form", { class: "publish row" }, title, el("button", { type: "submit", class: "secondary" }, "Publish"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const work = await api.post(`${base}/publish`, { title: title.value, visibility: "public", tags: ["ai"] });
      form.replaceChildren(el("a", { href: `#/works/${work.id}`, class: "published" }, "Published ✓ view the work"));
    } catch (err) { showError(err); }
  });
  return form;
}

// What tells the outputs apart: their seeds when sampled, their place along the path otherwise.
function outputLabel(gen, output) {
  if (gen.mode === "interpolate") return `step ${output.index + 1} of ${gen.count}`;
  if (gen.mode === "variations") return `variation ${output.index + 1} of seed ${gen.params?.base_seed ?? gen.seed}`;
  return `seed ${output.seed}`;
}

function outputCard(gen, output) {
  const base = `/v1/generations/${gen.id}/outputs/${output.index}`;
  const label = outputLabel(gen, output);
  const img = assetImage(output.asset_id, "content", label);
  img.classList.add("output");
  return el("div", { class: "tile output-card", "data-index": output.index }, img,
    el("div", { class: "meta stack" }, el("b", {}, `#${output.index} · ${label}`), stars(base, output),
      publishForm(base, label[0].toUpperCase() + label.slice(1))));
}

// Shows one generation in `box` and keeps it current until it is done; returns a stop function.
export function showGeneration(box, id, onDone = () => {}) {
  const status = el("span", { class: "badge", id: "generation-status" }, "queued");
  const outputs = el("div", { class: "grid outputs" });
  box.dataset.id = id;
  box.replaceChildren(el("h2", {}, "Generation ", el("a", { href: `#/generations/${id}` }, id.slice(-6)), " ", status), outputs);
  let finished = false;
  let shown = 0;
  async function refresh() {
    let gen;
    try { gen = await api.get(`/v1/generations/${id}`); } catch (err) {
      box.replaceChildren(isMissing(err) ? unavailable("Generation") : el("p", { class: "error" }, err.message));
      finished = true;
      return;
    }
    status.textContent = gen.status;
    status.className = `badge status-${gen.status}`;
    if (gen.status === "failed") outputs.replaceChildren(el("p", { class: "error" }, gen.error || "the generation failed"));
    else if ((gen.outputs || []).length !== shown) {
      shown = gen.outputs.length;
      outputs.replaceChildren(...gen.outputs.map((o) => outputCard(gen, o)));
    } else if (!shown) outputs.replaceChildren(el("p", { class: "muted" }, `Generating ${gen.count} images…`));
    if (!finished && DONE.includes(gen.status)) onDone(gen);
    finished = DONE.includes(gen.status);
  }
  refresh();
  const timer = setInterval(() => { if (finished) clearInterval(timer); else refresh(); }, POLL_MS);
  const stop = onEvent((event) => {
    if (event.data?.generation_id === id && subject(event).startsWith("inference.generation.")) refresh();
  });
  return () => { clearInterval(timer); stop(); };
}

export async function detail(view, id) {
  const box = el("div");
  view.replaceChildren(el("h1", {}, "Generation"), el("p", {}, el("a", { href: "#/generate" }, "← Generate more")), box);
  return showGeneration(box, id);
}
