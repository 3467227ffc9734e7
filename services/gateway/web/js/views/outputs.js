// One generation's outputs: the image, its rating, publishing, and what to do next from it
// (vary this, interpolate to another output, use this seed, download the signed file).

import { api, isMissing } from "../api.js";
import { assetImage, download, el, showError, toast, unavailable } from "../ui.js";
import { onEvent, subject } from "../live.js";

const DONE = ["succeeded", "failed", "canceled"];
const ACTIVE = ["queued", "running"];
const POLL_MS = 2000;  // a fallback: completion normally arrives on the WebSocket

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

function publishForm(base, output, suggestedTitle) {
  const title = el("input", { name: "title", required: true, maxlength: 200, value: suggestedTitle,
    "aria-label": `title for output ${output.index}` });
  const error = el("div", { class: "form-error", role: "alert" });
  const form = el("form", { class: "publish stack" }, title, error,
    el("button", { type: "submit", class: "secondary" }, "Publish"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.replaceChildren();
    try {
      const work = await api.post(`${base}/publish`, { title: title.value, visibility: "public", tags: ["ai"] });
      form.replaceChildren(el("a", { href: `#/works/${work.id}`, class: "published" }, "Published ✓ view the work"));
    } catch (err) { showError(err, error); }
  });
  return form;
}

// What tells the outputs apart: their seeds when sampled, their place along the path otherwise.
export function outputLabel(gen, output) {
  if (gen.mode === "interpolate") return `step ${output.index + 1} of ${gen.count}`;
  if (gen.mode === "variations") return `variation ${output.index + 1} of seed ${gen.params?.base_seed ?? gen.seed}`;
  if (gen.mode === "edit") {
    const amount = Number(gen.params?.amount);
    return `seed ${output.seed} moved ${amount > 0 ? "+" : ""}${amount} along direction ${gen.params?.direction}`;
  }
  return `seed ${output.seed}`;
}

// A sampled output is one seed's image: only then can it be varied, morphed or sampled again.
const seedOf = (gen, output) => (gen.mode === "sample" && Number.isSafeInteger(output.seed) ? output.seed : null);

function actionsFor(gen, output, siblings, act) {
  const seed = seedOf(gen, output);
  const base = { model_id: gen.model_id, version: gen.version };
  const row = el("div", { class: "row actions" });
  if (seed !== null) {
    row.append(
      el("button", { type: "button", class: "secondary small", "aria-label": `Vary this: output ${output.index}, seed ${seed}`,
        onclick: () => act({ ...base, mode: "variations", base_seed: seed, count: gen.count }) }, "Vary this"),
      el("button", { type: "button", class: "secondary small", "aria-label": `Use this seed: ${seed}`,
        onclick: () => act({ ...base, mode: "sample", seed, count: gen.count }, { fillOnly: true }) }, "Use this seed"),
      el("button", { type: "button", class: "secondary small", "aria-label": `Edit this: output ${output.index}, seed ${seed}`,
        title: "move this image along a direction the model learned",
        onclick: () => act({ ...base, mode: "edit", seed, count: 1 }, { fillOnly: true, focus: "direction" }) }, "Edit this"));
    const targets = siblings.filter((o) => o.index !== output.index && seedOf(gen, o) !== null);
    if (targets.length) {
      const pick = el("select", { "aria-label": `Interpolate output ${output.index} to` },
        targets.map((o) => el("option", { value: o.seed }, `#${o.index} · seed ${o.seed}`)));
      row.append(el("span", { class: "interp" }, pick, el("button", { type: "button", class: "secondary small",
        onclick: () => act({ ...base, mode: "interpolate", base_seed: seed, target_seed: Number(pick.value), count: 8 }) },
      "Interpolate to")));
    }
  }
  row.append(el("button", { type: "button", class: "secondary small", "aria-label": `Download output ${output.index} (signed PNG)`, title: "the signed file, with its C2PA manifest",
    onclick: () => download(output.asset_id, `atelier-${gen.id.slice(-6)}-${output.index}`).catch((err) => showError(err)) }, "Download"));
  return row;
}

function outputCard(gen, output, act) {
  const base = `/v1/generations/${gen.id}/outputs/${output.index}`;
  const label = outputLabel(gen, output);
  const img = assetImage(output.asset_id, "content", label);
  img.classList.add("output");
  const title = label[0].toUpperCase() + label.slice(1);
  return el("div", { class: "tile output-card", "data-index": output.index, "data-seed": output.seed }, img,
    el("div", { class: "meta stack" }, el("b", {}, `#${output.index} · ${label}`), stars(base, output),
      actionsFor(gen, output, gen.outputs, act), publishForm(base, output, title)));
}

// Where a generation stands: its place in the queue and the time left while it waits or runs;
// how far a canceled one got.
export function queueText(gen) {
  const eta = gen.eta_s != null ? ` · about ${formatSeconds(gen.eta_s)} left` : "";
  if (gen.status === "queued") {
    const place = gen.queue_position === 1 ? "next in line" : gen.queue_position ? `${ordinal(gen.queue_position)} in line` : "in line";
    return `Queued: ${place}${eta}`;
  }
  if (gen.status === "running") return `Making image ${Math.min(gen.outputs.length + 1, gen.count)} of ${gen.count}${eta}`;
  if (gen.status === "canceled") return `Canceled: ${gen.outputs.length} of ${gen.count} images made`;
  return "";
}

function formatSeconds(s) {
  const n = Math.max(1, Math.round(Number(s)));
  return n < 90 ? `${n} s` : `${Math.round(n / 60)} min`;
}

function ordinal(n) {
  const tail = n % 100 >= 11 && n % 100 <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" })[n % 10] || "th";
  return `${n}${tail}`;
}

// Shows one generation in `box` and keeps it current until it is done; returns a stop function.
// `act(body, options)` receives a follow-up generation asked for from one output.
export function showGeneration(box, id, { onDone = () => {}, act = () => {}, heading = "h2", latest = true } = {}) {
  const status = el("span", { class: "badge gen-status", id: latest ? "generation-status" : null, role: "status" }, "queued");
  const outputs = el("div", { class: "grid outputs" });
  const queue = el("p", { class: "muted queue-info", id: latest ? "queue-info" : null });
  const cancel = el("button", { type: "button", class: "secondary small", id: latest ? "cancel-generation" : null, hidden: true,
    "aria-label": `Cancel generation ${id.slice(-6)}` }, "Cancel");
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      const result = await api.post(`/v1/generations/${id}/cancel`, {}, { idempotent: false });
      toast(`Canceled: ${result.outputs_made === 1 ? "1 image was" : `${result.outputs_made} images were`} made before`);
    } catch (err) { showError(err); }
    cancel.disabled = false;
    refresh();
  });
  box.dataset.id = id;
  box.classList.add("run");
  box.replaceChildren(el(heading, {}, "Generation ", el("a", { href: `#/generations/${id}` }, id.slice(-6)), " ", status, " ", cancel),
    queue, outputs);
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
    status.className = `badge gen-status status-${gen.status}`;
    cancel.hidden = !ACTIVE.includes(gen.status);
    queue.textContent = queueText(gen);
    if (gen.status === "failed") outputs.replaceChildren(el("p", { class: "error" }, gen.error || "the generation failed"));
    else if ((gen.outputs || []).length !== shown || (DONE.includes(gen.status) && !finished && shown)) {
      // Images arrive one by one: add the new ones, keep the cards already shown (and their forms).
      const have = new Set([...outputs.querySelectorAll(".output-card")].map((c) => c.dataset.index));
      if (!shown) outputs.replaceChildren();
      for (const o of gen.outputs) if (!have.has(String(o.index))) outputs.append(outputCard(gen, o, act));
      if (DONE.includes(gen.status) && gen.mode === "sample") {
        // The "interpolate to" choices need every sibling: rebuild once when the run is complete.
        outputs.replaceChildren(...gen.outputs.map((o) => outputCard(gen, o, act)));
      }
      shown = gen.outputs.length;
    } else if (!shown) {
      outputs.replaceChildren(el("p", { class: "muted" }, gen.status === "canceled" ? "Canceled before any image was made."
        : gen.status === "queued" ? `Waiting to make ${gen.count} images…` : `Generating ${gen.count} images…`));
    }
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
