// What a style model owes to the works it learned from, and how it is shared: each version's training
// record, a notice when consent for some of those works was withdrawn (with "retrain without them"),
// the owner's visibility and licence settings, the public models list and a public model's page.

import { api, request } from "../api.js";
import { el, plural, showError, showFieldErrors, clearFieldErrors, toast } from "../ui.js";
import { priceLine } from "./pricing.js";

// SPDX identifiers, as the API answers them (shared/contracts/licences.py).
export const LICENCES = [["LicenseRef-All-Rights-Reserved", "All rights reserved"],
  ["CC-BY-4.0", "CC BY 4.0 (credit the artist)"], ["CC-BY-SA-4.0", "CC BY-SA 4.0 (share alike)"],
  ["CC-BY-NC-4.0", "CC BY-NC 4.0 (credit, non-commercial)"], ["CC-BY-NC-SA-4.0", "CC BY-NC-SA 4.0"],
  ["CC-BY-ND-4.0", "CC BY-ND 4.0 (no changes)"], ["CC-BY-NC-ND-4.0", "CC BY-NC-ND 4.0"],
  ["CC0-1.0", "CC0 1.0 (no conditions)"], ["MIT", "MIT"]];
const MINING = [["notAllowed", "Not allowed"], ["constrained", "Allowed with conditions"], ["allowed", "Allowed"]];
export const licenceName = (value) => (LICENCES.find(([v]) => v === value) || [value, value])[1];

// Work ids → { title, author } once per page; a deleted or hidden work reads as such.
const works = new Map();
export function workInfo(id) {
  if (!works.has(id)) {
    works.set(id, api.get(`/v1/works/${id}`).then((w) => ({ title: w.title, author: w.author?.username || "", found: true }))
      .catch(() => ({ title: "a deleted or private work", author: "", found: false })));
  }
  return works.get(id);
}

function workLink(id, extra = "") {
  const link = el("span", { class: "work-ref", "data-work-id": id }, id.slice(-6));
  workInfo(id).then((w) => {
    link.replaceChildren(w.found ? el("a", { href: `#/works/${id}` }, `“${w.title}”`) : el("span", { class: "muted" }, w.title),
      w.author ? ` by @${w.author}` : "", extra);
  });
  return link;
}

const percent = (share) => `${Math.round(Number(share) * 1000) / 10}%`;

// One version's training record: which works, of which artists, what share of the images.
export function trainingRecord(version) {
  const items = version.training_works || [];
  const summary = el("summary", {}, version.training_record === "unavailable" ? "Training record: not available"
    : `Trained on ${plural(items.length, "work")}`);
  let body;
  if (version.training_record === "unavailable") {
    body = el("p", { class: "muted" }, "This version was trained before training records were kept, so which works it learned from is not known.");
  } else if (!items.length) {
    body = el("p", { class: "muted" }, "No works are recorded for this version.");
  } else {
    const withdrawn = new Set(version.withdrawn_work_ids || []);
    body = el("ul", { class: "record" }, items.map((w) => el("li", { "data-work-id": w.work_id },
      workLink(w.work_id), ` — ${plural(w.images, "image")}, ${percent(w.share)} of the training set`,
      withdrawn.has(w.work_id) ? el("span", { class: "badge warn" }, "consent withdrawn") : null)));
  }
  return el("details", { class: "training-record", "data-version": version.version }, summary, body);
}

// Versions that lost consent for some of their works: they no longer generate; retrain without those works.
// The form shows while the latest version is the withdrawn one and no job runs (a retrained model has nothing left to drop).
export function withdrawalNotice(model, onRetrained, { busy = false } = {}) {
  const lost = (model.versions || []).filter((v) => v.status === "consent_withdrawn");
  const box = el("div", { id: "consent-withdrawn" });
  if (!lost.length) return box;
  const latest = (model.versions || []).at(-1);
  const ids = [...new Set(lost.flatMap((v) => v.withdrawn_work_ids || []))];
  const status = el("div", { class: "form-error", role: "status", "aria-live": "polite" });
  const steps = el("input", { type: "number", name: "steps", min: 1, max: 20000, placeholder: "as before", "aria-describedby": "retrain-hint" });
  const button = el("button", { type: "submit", id: "retrain" }, "Retrain without these works");
  const form = el("form", { class: "row", id: "retrain-form", novalidate: true }, el("label", {}, "Steps", steps), button,
    el("span", { class: "muted hint", id: "retrain-hint" }, "A new version, trained from scratch on the remaining works."));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    button.disabled = true;
    try {
      const body = steps.value ? { steps: Number(steps.value) } : {};
      const accepted = await api.post(`/v1/models/${model.id}/retrain`, body);
      status.replaceChildren(el("p", { class: "ok-text" }, `Retraining as v${accepted.version}…`));
      toast(`Retraining as v${accepted.version}`);
      onRetrained(accepted);
    } catch (err) { showFieldErrors(form, err, status); button.disabled = false; }
  });
  box.append(el("div", { class: "notice warn-notice", role: "region", "aria-label": "consent withdrawn" },
    el("p", {}, el("b", {}, `${lost.map((v) => `v${v.version}`).join(", ")} no longer ${lost.length > 1 ? "generate" : "generates"}: `),
      `the artists of ${plural(ids.length, "work")} it was trained on withdrew their consent. `,
      "Images made earlier stay as they are."),
    el("ul", { class: "record" }, ids.map((id) => el("li", {}, workLink(id)))),
    busy ? el("p", { class: "muted", id: "retraining" }, "Retraining without them…")
      : latest?.status === "consent_withdrawn" ? form
        : el("p", { class: "ok-text", id: "retrained" }, `v${latest.version} was trained without them and generates.`),
    status));
  return box;
}

// The owner's sharing settings: who sees the model, the licence of its images, what their manifests say about AI training.
export function sharingForm(model, onSaved) {
  const status = el("div", { class: "form-error", role: "status", "aria-live": "polite", id: "sharing-status" });
  const select = (name, options, value) => el("select", { name }, options.map(([v, t]) => el("option", { value: v, selected: v === value }, t)));
  const form = el("form", { class: "card stack", id: "sharing-form", novalidate: true, "aria-labelledby": "sharing-title" },
    el("h2", { id: "sharing-title" }, "Sharing"),
    el("div", { class: "row" },
      el("label", {}, "Visibility", select("visibility", [["private", "Private: only you"], ["public", "Public: anyone can see it and generate"]], model.visibility)),
      el("label", {}, "Licence of generated images", select("licence", LICENCES, model.licence)),
      el("label", {}, "AI training on generated images", select("training_mining", MINING, model.training_mining))),
    status, el("div", { class: "row" }, el("button", { type: "submit" }, "Save sharing")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    status.replaceChildren();
    const v = new FormData(form);
    try {
      const saved = await api.patch(`/v1/models/${model.id}`, { visibility: v.get("visibility"), licence: v.get("licence"),
        training_mining: v.get("training_mining") });
      status.replaceChildren(el("p", { class: "ok-text" }, saved.visibility === "public"
        ? "Saved: the model is public. Anyone signed in can generate from it." : "Saved: the model is private."));
      onSaved(saved);
    } catch (err) { showFieldErrors(form, err, status); }
  });
  return form;
}

function ownerName(model) {
  const name = el("span", { class: "owner" }, "its artist");
  const first = model.work_ids?.[0];
  if (first) workInfo(first).then((w) => { if (w.author) name.replaceChildren(el("a", { href: `#/users/${w.author}` }, `@${w.author}`)); });
  return name;
}

function modelTile(m) {
  return el("a", { class: "tile model-tile", href: `#/models/${m.id}`, "data-model-id": m.id },
    el("div", { class: "thumb" }),
    el("div", { class: "meta" }, el("b", {}, m.name || m.id),
      el("span", { class: "muted" }, `${m.architecture} · ${m.image_size} px${m.latest_version ? ` · v${m.latest_version}` : ""}`),
      el("span", { class: "muted uses" }, plural(m.generations, "generation"))));
}

// Every public model, most used or newest first, a page at a time.
export async function publicList(view, params = new URLSearchParams()) {
  const sort = params.get("sort") === "new" ? "new" : "popular";
  const tabs = el("nav", { class: "tabs", "aria-label": "Sort public models" },
    [["popular", "Most used"], ["new", "Newest"]].map(([s, t]) => el("a", { href: `#/models/public?sort=${s}`,
      class: s === sort ? "active" : "", "aria-current": s === sort ? "page" : null }, t)));
  const list = el("div", { class: "grid models", id: "public-models" });
  const more = el("button", { type: "button", class: "secondary", id: "more-models", hidden: true }, "More models");
  view.replaceChildren(el("h1", {}, "Public style models"),
    el("p", { class: "muted" }, "Models their artists shared: open one to see what it was trained on and to generate from it. ",
      el("a", { href: "#/models" }, "Your own models")), tabs, list, more);
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    try {
      const q = new URLSearchParams({ owner: "all", sort, limit: "24" });
      if (cursor) q.set("cursor", cursor);
      const page = await api.get(`/v1/models?${q}`);
      list.append(...page.items.map(modelTile));
      if (!list.children.length) list.replaceWith(el("p", { class: "muted", id: "public-models" }, "No public models yet."));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) { showError(err, list); } finally { more.disabled = false; }
  };
  more.addEventListener("click", load);
  await load();
}

// Someone else's public model: what it is, what it learned from, its licence, and a way to generate.
export function publicPage(view, model) {
  const latest = (model.versions || []).filter((v) => v.status !== "consent_withdrawn").at(-1);
  // Sample grids the viewer may not read (the artist kept them private) are left out, not shown broken.
  const samples = el("div", { class: "grid samples", id: "public-samples" });
  const samplesTitle = el("h2", {}, "Samples");
  const gone = () => { if (!samples.children.length) { samples.hidden = true; samplesTitle.hidden = true; } };
  for (const assetId of (model.samples || []).slice(0, 4)) {
    const figure = el("figure", { class: "sample-figure" });
    samples.append(figure);
    request("GET", `/v1/assets/${assetId}/content`, { raw: true }).then((resp) => resp.blob()).then((blob) => {
      figure.append(el("img", { class: "sample", alt: `sample grid of ${model.name}`, src: URL.createObjectURL(blob) }));
    }).catch(() => { figure.remove(); gone(); });
  }
  gone();
  view.replaceChildren(el("h1", {}, model.name || "Style model"),
    el("p", {}, el("span", { class: "badge" }, "public"), " ", el("span", { class: "muted" },
      `${model.architecture} · ${model.image_size} px · by `), ownerName(model),
      el("span", { class: "muted" }, ` · ${plural(model.generations, "generation")} made`)),
    el("dl", { class: "settings", id: "model-licence" },
      el("dt", {}, "Licence"), el("dd", {}, licenceName(model.licence)),
      el("dt", {}, "AI training on its images"), el("dd", {}, (MINING.find(([v]) => v === model.training_mining) || [0, model.training_mining])[1])),
    latest ? el("a", { href: `#/generate/${model.id}?version=${latest.version}`, class: "button", id: "generate-link" }, "Generate with this model →")
      : el("p", { class: "notice" }, "No version of this model can generate at the moment."),
    priceLine(model.id),
    el("p", { class: "muted" }, "Works you publish from it credit the model and its artist."),
    samplesTitle, samples,
    el("h2", {}, "Versions"),
    el("ul", { id: "versions" }, [...(model.versions || [])].reverse().map((v) => el("li", { "data-version": v.version },
      el("b", {}, `v${v.version}`), ` · ${v.steps} steps · ${new Date(v.created_at).toLocaleDateString()}`,
      v.status === "consent_withdrawn" ? el("span", { class: "badge warn" }, " consent withdrawn") : null,
      trainingRecord(v)))));
}
