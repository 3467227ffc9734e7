// Generate from a style model with a seed and a mode. Each run is added above the previous ones
// (they accumulate, newest first); images arrive live; from one output you can vary it, morph it
// into another, reuse its seed or download it. A generation's page shows its model, mode and
// settings and can put them back into the form ("reuse settings").

import { api, ApiError, isMissing } from "../api.js";
import { clearFieldErrors, el, showError, showFieldErrors, unavailable } from "../ui.js";
import { loadGallery } from "./gallery.js";
import { describeSettings, reuseQuery } from "./generation-settings.js";
import { showGeneration } from "./outputs.js";

const LOADING_WAIT_MS = 30_000;
const MAX_RUNS = 6;  // runs kept on the page; older ones are in the gallery
// Which inputs each mode uses (the API refuses the others).
const MODE_FIELDS = {
  sample: ["seed", "truncation"],
  variations: ["base_seed", "seed", "strength"],
  interpolate: ["base_seed", "target_seed"],
  edit: ["seed", "truncation", "direction", "amount"],
};
const HELP = {
  sample: "Independent images from seeded random latents: the same seed always gives the same images.",
  variations: "Images close to the one the base seed gives; the seed picks the directions, strength how far they wander.",
  interpolate: "A morph strip: a path from the base seed's image to the target seed's.",
  edit: "The seeds' own images moved along one direction the model learned: amount 0 is the image itself, ± pushes it either way.",
};
const FIELDS = ["seed", "base_seed", "target_seed", "strength", "truncation", "direction", "amount"];

const numberField = (label, name, attrs = {}) =>
  el("label", { "data-field": name }, label, el("input", { name, type: "number", ...attrs }));

export async function render(view, modelId, params = new URLSearchParams()) {
  const error = el("div", { class: "form-error", role: "alert" });
  const models = el("select", { name: "model_id", required: true, "aria-label": "Style model" });
  const versions = el("select", { name: "version", "aria-label": "Version" });
  const mode = el("select", { name: "mode", "aria-label": "Mode" }, Object.keys(MODE_FIELDS).map((m) => el("option", { value: m }, m)));
  const help = el("p", { class: "muted", id: "mode-help" });
  const directions = el("select", { name: "direction" }, el("option", { value: "" }, "choose a version first"));
  const submit = el("button", { type: "submit" }, "Generate");
  const form = el("form", { class: "card stack", id: "generate-form", novalidate: true },
    el("div", { class: "row" }, el("label", {}, "Style model", models), el("label", {}, "Version", versions),
      el("label", {}, "Mode", mode), numberField("Count", "count", { min: 1, max: 16, value: 8 })),
    el("div", { class: "row" },
      numberField("Seed", "seed", { min: 0, placeholder: "random" }),
      numberField("Base seed", "base_seed", { min: 0, placeholder: "random" }),
      numberField("Target seed", "target_seed", { min: 0, value: 7 }),
      numberField("Strength", "strength", { min: 0, max: 1, step: 0.05, value: 0.3 }),
      numberField("Truncation", "truncation", { min: 0.1, max: 2, step: 0.1, placeholder: "off" }),
      el("label", { "data-field": "direction" }, "Direction", directions),
      numberField("Amount", "amount", { min: -5, max: 5, step: 0.5, value: 2 })),
    help, error, el("div", { class: "row" }, submit));
  const runs = el("div", { id: "runs", "aria-live": "polite" });
  const recent = el("div", { class: "recent", id: "recent" });
  view.replaceChildren(el("h1", {}, "Generate"), form, runs,
    el("h2", {}, "Recent generations ", el("a", { href: "#/generations", class: "small-link" }, "see all")), recent);

  const showMode = () => {
    const used = MODE_FIELDS[mode.value];
    for (const name of FIELDS) form.querySelector(`[data-field=${name}]`).hidden = !used.includes(name);
    help.textContent = HELP[mode.value];
  };
  mode.addEventListener("change", showMode);

  let ready = [];
  const showVersions = (chosen) => {
    const model = ready.find((m) => m.id === models.value);
    // A version whose training consent was withdrawn stays listed, greyed out: it cannot be generated from.
    const listed = [...(model?.versions || [])].reverse();
    versions.replaceChildren(el("option", { value: "" }, "latest"),
      ...listed.map((v) => v.status === "consent_withdrawn"
        ? el("option", { value: v.version, disabled: true }, `v${v.version} (consent withdrawn)`)
        : el("option", { value: v.version, selected: String(v.version) === chosen }, `v${v.version}`)));
  };
  // Mode edit moves along the chosen version's learned directions (your model's or a public one's).
  let directionsFor = null;
  let directionsLoad = Promise.resolve();
  const loadDirections = () => {
    const model = ready.find((m) => m.id === models.value);
    const version = versions.value || model?.latest_version;
    const key = `${models.value}/${version}`;
    if (!model || !version || key === directionsFor) return directionsLoad;
    directionsFor = key;
    directionsLoad = fetchDirections(model, version);
    return directionsLoad;
  };
  const fetchDirections = async (model, version) => {
    try {
      const found = await api.get(`/v1/models/${model.id}/versions/${version}/directions`);
      directions.replaceChildren(...(found.directions.length ? found.directions.map((d) => el("option", { value: d.id },
        `${d.label} (${Math.round(d.variance_share * 100)}% of the variation)`)) : [el("option", { value: "" }, "this version has no directions")]));
    } catch {
      directions.replaceChildren(el("option", { value: "" }, "this version's directions cannot be read"));
    }
  };
  models.addEventListener("change", () => { showVersions(); loadDirections(); });
  versions.addEventListener("change", loadDirections);
  try {
    const page = await api.get("/v1/models?limit=100");
    ready = page.items.filter((m) => (m.versions || []).length);
    if (modelId && !ready.some((m) => m.id === modelId)) {
      // Someone else's public model: it is not in your list, but you may generate from it.
      try {
        const other = await api.get(`/v1/models/${modelId}`);
        const usable = (other.versions || []).filter((v) => v.status !== "consent_withdrawn");
        if (usable.length) {
          ready.unshift({ ...other, shared: true, versions: usable.map((v) => ({ version: v.version })),
            latest_version: usable.at(-1).version });
        }
      } catch { /* a private or missing model: the list below says what can be used */ }
    }
    models.replaceChildren(...ready.map((m) => el("option", { value: m.id, selected: m.id === modelId },
      `${m.name || m.id} (${m.architecture}, ${m.image_size} px${m.shared ? ", shared by its artist" : ""})`)));
    showVersions(params.get("version"));
    loadDirections();
    if (!ready.length) {
      submit.disabled = true;
      error.replaceChildren(el("p", { class: "muted" }, "No trained style model yet: ", el("a", { href: "#/models/new" }, "train one"), "."));
    }
  } catch (err) {
    if (modelId) models.replaceChildren(el("option", { value: modelId }, modelId));
    else view.append(isMissing(err) ? unavailable("Style models") : el("p", { class: "error" }, err.message));
  }

  // Settings handed over in the URL (reuse settings, or an action on a generation's page).
  const fill = (values) => {
    if (values.mode) mode.value = values.mode;
    for (const name of ["count", ...FIELDS]) {
      if (values[name] !== undefined && values[name] !== null && values[name] !== "") form.elements[name].value = values[name];
    }
    if (values.version !== undefined) versions.value = String(values.version);
    showMode();
    loadDirections().then(() => { if (values.direction != null && values.direction !== "") directions.value = String(values.direction); });
  };
  fill(Object.fromEntries(params));
  loadGallery(recent, 8);

  const stops = [];
  const start = async (body) => {
    submit.disabled = true;
    error.replaceChildren();
    clearFieldErrors(form);
    const box = el("section", { class: "run", "aria-label": "generation run" }, el("p", { class: "muted" }, "Starting…"));
    runs.prepend(box);
    try {
      const gen = await createGeneration(body, error);
      error.replaceChildren();
      // Only the newest run carries the ids the page (and its tests) look for.
      runs.querySelectorAll("#generation").forEach((node) => node.removeAttribute("id"));
      runs.querySelectorAll("#generation-status").forEach((node) => node.removeAttribute("id"));
      box.id = "generation";
      stops.push(showGeneration(box, gen.id, { onDone: () => loadGallery(recent, 8), act }));
      while (runs.children.length > MAX_RUNS) runs.lastElementChild.remove();
      loadGallery(recent, 8);
    } catch (err) {
      box.remove();
      if (isMissing(err)) error.replaceChildren(unavailable("Generation"));
      else showFieldErrors(form, err, error);
    } finally { submit.disabled = false; }
  };
  // From one output: fill the form with its settings; start at once unless only filling was asked.
  function act(body, { fillOnly = false, focus = "seed" } = {}) {
    if (body.model_id && [...models.options].some((o) => o.value === body.model_id)) { models.value = body.model_id; showVersions(); }
    fill({ ...body, version: body.version ?? "" });
    if (fillOnly) { form.scrollIntoView({ block: "start" }); form.elements[focus].focus(); return; }
    start(requestBody());
    window.scrollTo({ top: runs.offsetTop - 80 });
  }
  const requestBody = () => {
    const v = new FormData(form);
    const body = { model_id: v.get("model_id"), mode: v.get("mode"), count: Number(v.get("count")) };
    if (v.get("version")) body.version = Number(v.get("version"));
    for (const name of MODE_FIELDS[body.mode]) if (v.get(name) !== "" && v.get(name) !== null) body[name] = Number(v.get(name));
    // Pick the seed here when none is given: the server's random seeds exceed what JavaScript numbers
    // hold exactly, and a seed shown to the user must reproduce the image.
    const randomSeed = () => Math.floor(Math.random() * 2 ** 31);
    if (body.mode !== "interpolate" && body.seed === undefined) body.seed = randomSeed();
    if (["variations", "interpolate"].includes(body.mode) && body.base_seed === undefined) body.base_seed = randomSeed();
    return body;
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); start(requestBody()); });
  if (params.get("run") === "1" && ready.length) start(requestBody());
  return () => stops.forEach((stop) => stop());
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

// A generation's own page: what made it (model, version, mode, settings), its outputs, and
// "reuse settings" to make it again or change one thing.
export async function detail(view, id) {
  let gen;
  try { gen = await api.get(`/v1/generations/${id}`); } catch (err) { showError(err, view); return; }
  const modelName = el("span", {}, gen.model_id);
  api.get(`/v1/models/${gen.model_id}`).then((m) => {
    modelName.replaceChildren(el("a", { href: `#/models/${m.id}` }, m.name || m.id), ` (${m.architecture}, ${m.image_size} px)`);
  }).catch(() => {});
  const reuse = `#/generate/${gen.model_id}?${reuseQuery(gen)}`;
  const p = gen.params || {};
  const rows = [["Style model", modelName], ["Version", `v${gen.version}`], ["Mode", gen.mode], ["Images", String(gen.count)],
    ["Settings", describeSettings(gen)], ...(p.strength != null ? [["Strength", String(p.strength)]] : []),
    ["Made", new Date(gen.created_at).toLocaleString()]];
  const box = el("div", { id: "generation" });
  // An action on one output opens the generate page with that request filled in (and run).
  const act = (body, { fillOnly = false } = {}) => {
    const q = new URLSearchParams(Object.entries(body).filter(([k, v]) => k !== "model_id" && v != null).map(([k, v]) => [k, String(v)]));
    if (!fillOnly) q.set("run", "1");
    location.hash = `#/generate/${body.model_id}?${q}`;
  };
  view.replaceChildren(el("h1", {}, "Generation"),
    el("dl", { class: "settings", id: "generation-settings" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    el("div", { class: "row" }, el("a", { href: reuse, class: "button", id: "reuse-settings" }, "Reuse settings"),
      el("a", { href: "#/generations" }, "All generations")), box);
  return showGeneration(box, id, { act });
}
