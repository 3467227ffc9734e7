// Style models: pick works, start training, watch progress and sample grids arrive live.

import { api, isMissing, session } from "../api.js";
import { assetImage, el, grid, showError, unavailable, workTile } from "../ui.js";
import { onEvent, subject } from "../live.js";

export async function list(view) {
  view.replaceChildren(el("h1", {}, "Style models"), el("p", {}, el("a", { href: "#/models/new" }, "+ Train a new style model")));
  try {
    const page = await api.get("/v1/models?limit=50");
    view.append(page.items.length ? el("ul", {}, page.items.map((m) => el("li", {},
      el("a", { href: `#/models/${m.id}` }, m.name || m.id), el("span", { class: "muted" }, ` · ${m.architecture || ""} · ${m.status}`))))
      : el("p", { class: "muted" }, "No style models yet."));
  } catch (err) {
    view.append(isMissing(err) ? unavailable("Training style models") : el("p", { class: "error" }, err.message));
  }
}

export async function create(view) {
  const chosen = new Set();
  const error = el("div");
  const works = el("div", {}, el("p", { class: "muted" }, "Loading your works…"));
  const form = el("form", { class: "card stack" },
    el("label", {}, "Name", el("input", { name: "name", required: true, maxlength: 100, value: "My style" })),
    el("div", { class: "row" },
      el("label", {}, "Architecture", el("select", { name: "architecture" }, el("option", {}, "dcgan"), el("option", {}, "vae"))),
      el("label", {}, "Image size", el("select", { name: "image_size" }, el("option", {}, "32"), el("option", { selected: true }, "64"))),
      el("label", {}, "Steps", el("input", { name: "steps", type: "number", min: 10, max: 100000, value: 300 }))),
    error, el("button", { type: "submit" }, "Start training"));
  view.replaceChildren(el("h1", {}, "New style model"),
    el("p", { class: "muted" }, "Select works you made and allowed for training."), works, form);
  try {
    const page = await api.get(`/v1/works?author=${encodeURIComponent(session.user.username)}&limit=100`);
    works.replaceChildren(page.items.length ? grid(page.items, (w) => workTile(w, {
      onSelect: (work, on) => (on ? chosen.add(work.id) : chosen.delete(work.id)) })) :
      el("p", {}, "You have no works yet: ", el("a", { href: "#/upload" }, "upload some first"), "."));
  } catch (err) { showError(err, works); }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = new FormData(form);
    try {
      const model = await api.post("/v1/models", { name: values.get("name"), architecture: values.get("architecture"),
        image_size: Number(values.get("image_size")), steps: Number(values.get("steps")), work_ids: [...chosen] });
      location.hash = `#/models/${model.id}`;
    } catch (err) {
      if (isMissing(err)) error.replaceChildren(unavailable("Training style models"));
      else showError(err, error);
    }
  });
}

export async function detail(view, id) {
  let model;
  try { model = await api.get(`/v1/models/${id}`); } catch (err) {
    view.replaceChildren(isMissing(err) ? unavailable("Training style models") : el("p", { class: "error" }, err.message));
    return;
  }
  const status = el("b", { id: "model-status" }, model.status);
  const bar = el("div", { style: "width: 0%" });
  const info = el("span", { class: "muted" });
  const samples = el("div", { class: "grid" });
  const versions = el("ul");
  const show = (p) => {
    if (!p) return;
    const pct = p.total_steps ? Math.round((100 * p.step) / p.total_steps) : 0;
    bar.style.width = `${pct}%`;
    const losses = Object.entries(p.losses || {}).map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(", ");
    info.textContent = `step ${p.step}/${p.total_steps} · ${pct}%${p.eta_s != null ? ` · ~${Math.round(p.eta_s)} s left` : ""}${losses ? ` · ${losses}` : ""}`;
  };
  const addSample = (assetId) => samples.prepend(assetImage(assetId, "content", "sample grid"));
  const showVersions = () => versions.replaceChildren(...(model.versions || []).map((v) => el("li", {},
    `v${v.version} · ${new Date(v.created_at).toLocaleString()} · `, el("code", {}, JSON.stringify(v.metrics || {})), " ",
    el("a", { href: `#/generate/${id}` }, "generate"))));
  show(model.progress);
  (model.samples || []).forEach(addSample);
  showVersions();
  view.replaceChildren(el("h1", {}, model.name || "Style model"), el("p", {}, "Status: ", status),
    el("div", { class: "progress", role: "progressbar" }, bar), info,
    el("div", { class: "row" }, el("button", { class: "secondary", onclick: async () => {
      try { await api.post(`/v1/models/${id}/cancel`, {}); } catch (err) { showError(err); }
    } }, "Cancel"), el("a", { href: `#/generate/${id}` }, "Generate with this model →")),
    el("h2", {}, "Samples"), samples, el("h2", {}, "Versions"), versions);
  return onEvent(async (event) => {
    if (event.data?.model_id !== id) return;
    const kind = subject(event);
    if (kind === "trainer.training.progress") {
      status.textContent = "running";
      show(event.data);
      if (event.data.sample_asset_id) addSample(event.data.sample_asset_id);
    } else if (kind.startsWith("trainer.")) {
      model = await api.get(`/v1/models/${id}`);
      status.textContent = model.status;
      if (kind === "trainer.model.trained") bar.style.width = "100%";
      showVersions();
    }
  });
}
