// Style models: pick consented works, start training, watch progress and sample grids arrive live.

import { api, ApiError, isMissing, session } from "../api.js";
import { assetImage, el, grid, showError, toast, unavailable, workTile } from "../ui.js";
import { onEvent, subject } from "../live.js";
import { publicPage, sharingForm, trainingRecord, withdrawalNotice } from "./model-sharing.js";
import { pricingForm } from "./pricing.js";
import { trainingAdvice } from "./training-advice.js";

const ACTIVE = ["queued", "running"];
const POLL_MS = 3000;  // a fallback: progress normally arrives on the WebSocket

export async function list(view) {
  // Filled when the list arrives: a page left meanwhile keeps it off the next page.
  const box = el("div", { id: "own-models" });
  view.replaceChildren(el("h1", {}, "Style models"), el("p", { class: "row" }, el("a", { href: "#/models/new", class: "button" }, "+ Train a new style model"),
    el("a", { href: "#/models/public", id: "public-models-link" }, "Public models"),
    el("a", { href: "#/training-uses", id: "training-uses-link" }, "Where my works were used")), box);
  try {
    const page = await api.get("/v1/models?limit=50");
    box.append(page.items.length ? el("div", { class: "grid models" }, page.items.map((m) => el("a", {
      class: "tile model-tile", href: `#/models/${m.id}`, "data-model-id": m.id },
    m.samples?.[0] ? assetImage(m.samples[0], "thumbnail", `latest sample of ${m.name}`) : el("div", { class: "thumb" }),
    el("div", { class: "meta" }, el("b", {}, m.name || m.id),
      el("span", { class: "muted" }, `${m.architecture} · ${m.image_size} px${m.latest_version ? ` · v${m.latest_version}` : ""} `),
      el("span", { class: `badge status-${m.status}` }, m.status)))))
      : el("p", { class: "muted" }, "No style models yet."));
  } catch (err) {
    box.append(isMissing(err) ? unavailable("Training style models") : el("p", { class: "error" }, err.message));
  }
}

// The account-wide consent: without it none of your works may be trained on, whatever their own flag says.
async function consentNotice() {
  const box = el("div", { id: "consent" });
  let me;
  try { me = await api.get("/v1/me"); } catch (err) { showError(err, box); return box; }
  if (me.allow_training) return box;
  const button = el("button", { type: "button", id: "allow-training" }, "Allow training on my works");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api.patch("/v1/me", { allow_training: true });
      box.replaceChildren(el("div", { class: "notice ok" }, "Training on your consented works is now allowed."));
    } catch (err) { button.disabled = false; showError(err); }
  });
  box.replaceChildren(el("div", { class: "notice" },
    el("p", {}, "Your account does not allow style models to be trained on your works. ",
      "Switching it on lets only you train on the works you mark as trainable; you can switch it off again."),
    button));
  return box;
}

const field = (label, input) => el("label", {}, label, input);
const option = (value, text, selected = false) => el("option", { value, selected }, text ?? value);

export async function create(view) {
  const chosen = new Set();
  const tiles = [];
  const error = el("div");
  const picked = el("span", { class: "muted", id: "picked" }, "No works selected");
  const works = el("div", {}, el("p", { class: "muted" }, "Loading your works…"));
  const selectAll = el("button", { type: "button", class: "secondary", id: "select-all" }, "Select all trainable");
  selectAll.addEventListener("click", () => tiles.forEach((t) => t.setSelected(true)));
  const submit = el("button", { type: "submit" }, "Start training");
  const form = el("form", { class: "card stack", id: "train-form" },
    field("Name", el("input", { name: "name", required: true, maxlength: 100, value: "My style" })),
    el("div", { class: "row" },
      field("Architecture", el("select", { name: "architecture" }, option("dcgan", "DCGAN (sharper)"),
        option("collage", "Collage (flat-colour shapes)"), option("vae", "VAE (smoother, faster)"))),
      field("Image size", el("select", { name: "image_size" }, option("32", "32 px", true), option("64", "64 px"))),
      field("Steps", el("input", { name: "steps", type: "number", min: 1, max: 20000, value: 300 })),
      field("Batch size", el("input", { name: "batch_size", type: "number", min: 1, max: 256, value: 16 })),
      field("Model width", el("select", { name: "width" }, option("16", "16 (fastest)"), option("32", "32", true),
        option("64", "64 (best)")))),
    el("label", { class: "inline" }, el("input", { type: "checkbox", name: "augment", checked: true }),
      "Augment (flips, small crops, colour jitter) — helps with few works"),
    error, el("div", { class: "row" }, submit, picked));
  view.replaceChildren(el("h1", {}, "New style model"), await consentNotice(),
    el("p", { class: "muted" }, "Select works you made and marked as trainable."),
    el("div", { class: "row" }, selectAll), works, form);

  const onSelect = (work, on) => {
    if (on) chosen.add(work.id); else chosen.delete(work.id);
    picked.textContent = chosen.size ? `${chosen.size} work${chosen.size > 1 ? "s" : ""} selected` : "No works selected";
  };
  try {
    const page = await api.get(`/v1/works?author=${encodeURIComponent(session.user.username)}&limit=100`);
    const own = page.items.filter((w) => w.origin !== "ai");
    works.replaceChildren(own.length ? grid(own, (w) => {
      const tile = workTile(w, { onSelect, disabled: w.allow_training ? null : "not marked as trainable" });
      if (w.allow_training) tiles.push(tile);
      return tile;
    }) : el("p", {}, "You have no works yet: ", el("a", { href: "#/upload" }, "upload some first"), "."));
  } catch (err) { showError(err, works); }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen.size) { error.replaceChildren(el("p", { class: "error" }, "Select at least one work.")); return; }
    const v = new FormData(form);
    const body = { name: v.get("name"), architecture: v.get("architecture"), work_ids: [...chosen],
      image_size: Number(v.get("image_size")), steps: Number(v.get("steps")), batch_size: Number(v.get("batch_size")),
      width: Number(v.get("width")), augment: v.get("augment") === "on" };
    submit.disabled = true;
    error.replaceChildren();
    try {
      const model = await api.post("/v1/models", body);
      location.hash = `#/models/${model.id}`;
    } catch (err) {
      if (isMissing(err)) error.replaceChildren(unavailable("Training style models"));
      else showError(err, error);
    } finally { submit.disabled = false; }
  });
}

function rawMetrics(metrics) {
  const m = metrics || {};
  const parts = [];
  if (m.swd != null) parts.push(`SWD ${Number(m.swd).toFixed(1)}${m.swd_untrained != null ? ` (untrained ${Number(m.swd_untrained).toFixed(1)})` : ""}`);
  if (m.recon_error != null) parts.push(`reconstruction ${Number(m.recon_error).toFixed(4)}${m.recon_error_untrained != null ? ` (untrained ${Number(m.recon_error_untrained).toFixed(4)})` : ""}`);
  return parts.join(" · ") || "no metrics";
}

// The sliced Wasserstein distance to your works, before and after training, as a person reads it.
export function qualityText(metrics) {
  const m = metrics || {};
  if (m.swd == null || !m.swd_untrained) return "quality not measured";
  const closer = Math.round(100 * (1 - Number(m.swd) / Number(m.swd_untrained)));
  if (closer <= 0) return "not yet closer to your works than before training";
  return `${closer}% closer to your works than before training`;
}

function quality(metrics) {
  const raw = rawMetrics(metrics);
  return el("span", { class: "quality" }, el("span", { class: "quality-figure", title: raw }, qualityText(metrics)), " ",
    el("details", { class: "raw-metrics" }, el("summary", {}, "raw metrics"),
      el("span", { class: "muted" }, `${raw} — sliced Wasserstein distance on image patches, lower is closer`)));
}

// Sample grids carry their step: the live event says it; the API's list does not (only ids), so
// the step of each grid seen live is remembered in this browser, and a version's final grid is known.
const STEPS_KEY = "atelier.sample-steps";
function rememberStep(assetId, label) {
  try {
    const known = JSON.parse(localStorage.getItem(STEPS_KEY) || "{}");
    known[assetId] = label;
    const keys = Object.keys(known);
    for (const key of keys.slice(0, Math.max(0, keys.length - 500))) delete known[key];
    localStorage.setItem(STEPS_KEY, JSON.stringify(known));
  } catch { /* storage full or off: the label is only lost after a reload */ }
}
function knownStep(assetId) {
  try { return JSON.parse(localStorage.getItem(STEPS_KEY) || "{}")[assetId] || null; } catch { return null; }
}

function notYours(view) {
  view.replaceChildren(el("h1", {}, "This style model is private"),
    el("div", { class: "notice" }, el("p", {}, "Style models are private to the artist who trained them, so this page only opens for its owner. ",
      "AI works made with it credit the model and its artist on their own pages."),
    el("p", {}, el("a", { href: "#/feed/trending" }, "Browse trending works"), " · ", el("a", { href: "#/models" }, "Your style models"))));
}

export async function detail(view, id) {
  let model;
  try { model = await api.get(`/v1/models/${id}`); } catch (err) {
    if (err instanceof ApiError && err.status === 404 && !/not reachable|unavailable/i.test(err.message)) notYours(view);
    else view.replaceChildren(isMissing(err) ? unavailable("Training style models") : el("p", { class: "error" }, err.message));
    return;
  }
  if (model.owner_id !== session.user?.id) { publicPage(view, model); return; }
  const status = el("span", { id: "model-status", class: "badge" });
  const consentBox = el("div");
  const pricing = pricingForm(model);
  const sharing = sharingForm(model, (saved) => { model = { ...model, ...saved }; pricing.update(model); render(); });
  const bar = el("div", { style: "width: 0%" });
  const progress = el("div", { class: "progress", role: "progressbar", id: "train-progress", "aria-valuemin": 0,
    "aria-valuemax": 100, "aria-valuenow": 0, "aria-label": "training progress" }, bar);
  const info = el("p", { class: "muted", id: "train-info" });
  const trainError = el("p", { class: "error", id: "train-error", role: "alert" });
  const samples = el("div", { class: "grid samples", id: "samples" });
  const noSamples = el("p", { class: "muted", id: "no-samples" }, "Sample grids appear here while the model trains.");
  const versions = el("ul", { id: "versions" });
  const shown = new Set();
  const cancel = el("button", { class: "secondary", id: "cancel" }, "Cancel training");
  const generate = el("a", { href: `#/generate/${id}`, class: "button", id: "generate-link" }, "Generate with this model →");
  const refineSteps = el("input", { type: "number", min: 1, max: 20000, value: 100, name: "steps", "aria-label": "refine steps" });
  const refine = el("form", { class: "row" }, el("span", {}, "Refine on your top-rated generations:"), refineSteps,
    el("button", { type: "submit", class: "secondary" }, "Refine"));

  let shownStep = { version: null, step: -1 };
  const showProgress = (p) => {
    if (!p || !p.total_steps) return;
    // A poll answered late must not move the bar back behind a newer live event of the same job.
    if (p.version === shownStep.version && p.step < shownStep.step) return;
    shownStep = { version: p.version ?? shownStep.version, step: p.step };
    const pct = Math.min(100, Math.round((100 * p.step) / p.total_steps));
    bar.style.width = `${pct}%`;
    progress.setAttribute("aria-valuenow", String(pct));
    const losses = Object.entries(p.losses || {}).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(", ");
    // Time left only while the job runs: a canceled or failed one has none.
    const eta = ACTIVE.includes(model.status) && p.eta_s != null && pct < 100 ? ` · ~${Math.round(p.eta_s)} s left` : "";
    const ended = ["canceled", "failed"].includes(model.status) ? `${model.status} at ` : "";
    info.textContent = `${ended}step ${p.step}/${p.total_steps} · ${pct}%${eta}${losses ? ` · ${losses}` : ""}`;
  };
  const finalSteps = () => new Map((model.versions || []).filter((v) => v.sample_asset_id)
    .map((v) => [v.sample_asset_id, `v${v.version} · final, step ${v.steps}`]));
  const addSample = (assetId, newest = true, label = null) => {
    if (!assetId) return;
    const caption = label || finalSteps().get(assetId) || knownStep(assetId) || "earlier sample";
    if (label) rememberStep(assetId, label);
    if (shown.has(assetId)) {
      const existing = samples.querySelector(`figure[data-asset-id="${assetId}"] figcaption`);
      if (existing && caption !== "earlier sample") existing.textContent = caption;
      return;
    }
    shown.add(assetId);
    noSamples.hidden = true;
    const img = assetImage(assetId, "content", `sample grid, ${caption}`);
    img.classList.add("sample");
    const figure = el("figure", { class: "sample-figure", "data-asset-id": assetId }, img, el("figcaption", {}, caption));
    if (newest) samples.prepend(figure); else samples.append(figure);
  };
  const render = () => {
    status.textContent = model.status;
    status.className = `badge status-${model.status}`;
    if (model.status === "succeeded") { bar.style.width = "100%"; progress.setAttribute("aria-valuenow", "100"); }
    cancel.hidden = !ACTIVE.includes(model.status);
    generate.hidden = !(model.versions || []).some((v) => v.status !== "consent_withdrawn");
    refine.hidden = !model.versions?.length || ACTIVE.includes(model.status) || model.versions.at(-1).status === "consent_withdrawn";
    (model.samples || []).forEach((a) => addSample(a, false));
    // The API lists grids newest first: keep that order whichever way each one arrived.
    for (const assetId of [...(model.samples || [])].reverse()) {
      const figure = samples.querySelector(`figure[data-asset-id="${assetId}"]`);
      if (figure) samples.prepend(figure);
    }
    versions.replaceChildren(...[...(model.versions || [])].reverse().map((v) => el("li", { "data-version": v.version },
      el("b", {}, `v${v.version}`), ` · ${v.steps ?? ""} steps · ${new Date(v.created_at).toLocaleString()} · `, quality(v.metrics), " ",
      v.status === "consent_withdrawn" ? el("span", { class: "badge warn" }, "consent withdrawn")
        : el("a", { href: `#/generate/${id}?version=${v.version}`, class: "button small" }, `Generate with v${v.version}`),
      trainingRecord(v))));
    consentBox.replaceChildren(withdrawalNotice(model, () => refresh(), { busy: ACTIVE.includes(model.status) }));
    if (!model.versions?.length) versions.replaceChildren(el("li", { class: "muted" }, "No version yet."));
    trainError.textContent = model.error && model.status === "failed" ? `Training failed: ${model.error}` : "";
  };
  showProgress(model.progress);
  render();
  cancel.addEventListener("click", async () => {
    try { await api.post(`/v1/models/${id}/cancel`, {}); toast("Canceling…"); } catch (err) { showError(err); }
  });
  refine.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.post(`/v1/models/${id}/refine`, { steps: Number(refineSteps.value) });
      await refresh();
    } catch (err) { showError(err); }
  });
  view.replaceChildren(el("h1", {}, model.name || "Style model"),
    el("p", {}, status, el("span", { class: "muted" }, ` ${model.architecture} · ${model.image_size} px · ${model.work_ids.length} works`)),
    consentBox, progress, info, trainError, el("div", { class: "row" }, cancel, generate), refine,
    el("h2", {}, "Samples"), noSamples, samples, el("h2", {}, "Versions"), versions, trainingAdvice(model), sharing, pricing);

  async function refresh() {
    try { model = await api.get(`/v1/models/${id}`); } catch { return; }
    showProgress(model.progress);
    render();
  }
  const timer = setInterval(() => { if (ACTIVE.includes(model.status)) refresh(); }, POLL_MS);
  const stop = onEvent(async (event) => {
    if (event.data?.model_id !== id) return;
    const kind = subject(event);
    if (kind === "trainer.training.progress") {
      model.status = "running";
      status.textContent = "running";
      status.className = "badge status-running";
      showProgress(event.data);
      if (event.data.sample_asset_id) {
        addSample(event.data.sample_asset_id, true, `${event.data.version != null ? `v${event.data.version} · ` : ""}step ${event.data.step} of ${event.data.total_steps}`);
      }
    } else if (kind.startsWith("trainer.")) {
      await refresh();
    }
  });
  return () => { clearInterval(timer); stop(); };
}
