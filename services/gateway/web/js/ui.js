// Small DOM helpers shared by the views: element builder, toasts, authenticated images, tiles.

import { request, ApiError } from "./api.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function toast(message, kind = "info") {
  const node = el("div", { class: `toast ${kind}` }, message);
  document.getElementById("toasts").append(node);
  setTimeout(() => node.remove(), kind === "error" ? 7000 : 3500);
}

export function showError(err, where) {
  const text = err instanceof ApiError ? [err.message, ...err.fieldErrors].join(" — ") : String(err.message || err);
  if (where) where.replaceChildren(el("p", { class: "error" }, text));
  else toast(text, "error");
}

// Images may be private (your uploads, your generations): fetch them with the token, show a blob URL.
const blobs = new Map();
export function assetImage(assetId, variant = "thumbnail", alt = "") {
  const img = el("img", { alt, loading: "lazy", class: "thumb" });
  const key = `${assetId}/${variant}`;
  const load = blobs.get(key) || request("GET", `/v1/assets/${assetId}/${variant}`, { raw: true })
    .then((resp) => resp.blob()).then((blob) => URL.createObjectURL(blob));
  blobs.set(key, load);
  load.then((url) => { img.src = url; }).catch(() => { blobs.delete(key); img.alt = "image unavailable"; });
  return img;
}

export async function assetBytes(assetId) {
  const resp = await request("GET", `/v1/assets/${assetId}/content`, { raw: true });
  return { blob: await resp.blob(), type: resp.headers.get("Content-Type") || "image/png" };
}

// The verdict on an AI image's signed provenance, once per asset: "valid", "untrusted", "tampered",
// "absent", or "unchecked" when the image or the verifier could not be reached.
const verdicts = new Map();
export function provenanceOf(assetId) {
  if (!verdicts.has(assetId)) {
    verdicts.set(assetId, assetBytes(assetId).then(({ blob, type }) =>
      request("POST", "/v1/provenance/verify", { body: blob, contentType: type.split(";")[0] }))
      .catch(() => ({ state: "unchecked" })));
  }
  return verdicts.get(assetId);
}

const VERDICT_TEXT = { valid: "provenance verified", untrusted: "provenance signed by an unknown party",
  tampered: "provenance broken", absent: "provenance missing", unchecked: "provenance not checked" };

// The label every AI work carries: "AI-generated", then what the image's own manifest says.
export function aiBadge(assetId) {
  const badge = el("span", { class: "badge ai", title: "checking the image's C2PA manifest…" }, "AI-generated");
  if (!assetId) return badge;
  provenanceOf(assetId).then((result) => {
    badge.textContent = `AI-generated · ${VERDICT_TEXT[result.state] || result.state}`;
    badge.classList.toggle("verified", result.state === "valid");
    badge.classList.toggle("warn", result.state !== "valid");
    const gen = result.generation;
    badge.title = gen ? provenanceTitle(gen) : "signed C2PA manifest of the image";
  });
  return badge;
}

// The tooltip names only what the manifest holds: a part it lacks is left out, never shown empty.
export function provenanceTitle(gen) {
  const parts = [];
  if (gen.id || gen.generation_id) parts.push(`generation ${gen.id || gen.generation_id}`);
  if (gen.model_id) parts.push(`model ${gen.model_id}${gen.version != null ? ` v${gen.version}` : ""}`);
  if (gen.mode) parts.push(`mode ${gen.mode}`);
  if (gen.seed != null) parts.push(`seed ${gen.seed}`);
  if (gen.index != null) parts.push(`image #${gen.index}`);
  return parts.join(" · ") || "signed C2PA manifest of the image";
}

export function workTile(work, { onSelect, selected, disabled } = {}) {
  const cover = work.asset_ids?.[0];
  const inner = [
    cover ? assetImage(cover, "thumbnail", work.title) : el("div", { class: "thumb" }),
    work.origin === "ai" ? aiBadge(cover) : null,
    el("div", { class: "meta" }, el("b", {}, work.title),
      el("span", { class: "muted" }, `${work.author?.display_name || work.author?.username || ""} · ♥ ${work.like_count ?? 0}`)),
  ];
  if (onSelect) {
    const tile = el("div", { class: `tile selectable${selected ? " selected" : ""}${disabled ? " disabled" : ""}`, role: "checkbox",
      "aria-checked": String(Boolean(selected)), "aria-disabled": disabled ? "true" : null, tabindex: "0",
      "data-work-id": work.id, title: disabled || null, "aria-label": `${work.title}${disabled ? ` (${disabled})` : ""}` }, ...inner);
    const toggle = () => {
      if (disabled) return;
      const on = !tile.classList.contains("selected");
      tile.classList.toggle("selected", on);
      tile.setAttribute("aria-checked", String(on));
      onSelect(work, on);
    };
    tile.addEventListener("click", toggle);
    tile.addEventListener("keydown", (e) => { if (e.key === " " || e.key === "Enter") { e.preventDefault(); toggle(); } });
    tile.setSelected = (on) => { if (!disabled && tile.classList.contains("selected") !== on) toggle(); };
    return tile;
  }
  return el("a", { class: "tile", href: `#/works/${work.id}`, "data-work-id": work.id }, ...inner);
}

export function grid(items, render) {
  return el("div", { class: "grid" }, items.map(render));
}

export function unavailable(what) {
  return el("div", { class: "notice" }, `${what} is not available on this server yet. `,
    el("span", { class: "muted" }, "The page will work once that service is deployed."));
}

// Field errors of a 422 go beside their fields (aria-invalid + aria-describedby); the rest, and a
// summary, go to `summary` (an aria-live region). Returns true when at least one field was marked.
export function clearFieldErrors(form) {
  form.querySelectorAll(".field-error").forEach((node) => node.remove());
  form.querySelectorAll("[aria-invalid]").forEach((node) => {
    node.removeAttribute("aria-invalid");
    if (node.dataset.hint) node.setAttribute("aria-describedby", node.dataset.hint);
    else node.removeAttribute("aria-describedby");
  });
}

export function showFieldErrors(form, err, summary) {
  clearFieldErrors(form);
  const rest = [];
  let marked = 0;
  const errors = err instanceof ApiError ? err.problem.errors || [] : [];
  for (const e of errors) {
    const name = (e.field || "").split(".")[0];
    const input = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
    if (!input) { rest.push(`${e.field ? `${e.field}: ` : ""}${e.message}`); continue; }
    const id = `${form.id || "form"}-${name}-error`;
    if (form.querySelector(`#${CSS.escape(id)}`)) continue;
    const note = el("span", { class: "field-error error", id }, fieldMessage(e.message));
    (input.closest("label") || input).after(note);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", [id, input.dataset.hint].filter(Boolean).join(" "));
    if (!marked) input.focus();
    marked += 1;
  }
  const lead = marked ? `Please correct ${marked === 1 ? "the field" : `${marked} fields`} marked below.` : null;
  const text = [lead || (err instanceof ApiError ? err.message : String(err.message || err)), ...rest].filter(Boolean);
  summary.replaceChildren(...text.map((t) => el("p", { class: "error" }, t)));
  return marked > 0;
}

// pydantic's messages start with "Value error, " for custom checks: a person does not need that.
function fieldMessage(message) {
  return String(message || "invalid").replace(/^Value error, /, "");
}

// A link-looking control that is a real button (keyboard: Enter and Space).
export function linkButton(text, onclick, attrs = {}) {
  return el("button", { type: "button", class: "link", onclick, ...attrs }, text);
}

// Download an asset's bytes (signed C2PA file for generated images) under a file name.
export async function download(assetId, name) {
  const { blob, type } = await assetBytes(assetId);
  const ext = type.includes("jpeg") ? "jpg" : type.includes("webp") ? "webp" : "png";
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: `${name}.${ext}`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function plural(count, word) {
  return `${count ?? 0} ${word}${count === 1 ? "" : "s"}`;
}

// A destructive action asks once more inline (no browser dialog): the first press arms it.
export function confirmButton(text, question, action, attrs = {}) {
  const box = el("span", { class: "confirm" });
  const button = el("button", { type: "button", class: "danger", ...attrs }, text);
  const ask = () => {
    const yes = el("button", { type: "button", class: "danger", id: attrs.id ? `${attrs.id}-confirm` : null }, `Yes, ${text.toLowerCase()}`);
    const no = el("button", { type: "button", class: "secondary" }, "Keep it");
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try { await action(); } catch (err) { showError(err); yes.disabled = false; }
    });
    no.addEventListener("click", () => { box.replaceChildren(button); button.focus(); });
    box.replaceChildren(el("span", { role: "alert" }, question), " ", yes, " ", no);
    yes.focus();
  };
  button.addEventListener("click", ask);
  box.append(button);
  return box;
}

// A page whose subject is gone or hidden: say so in words, with a way on.
export function notFound(view, title, err) {
  const gone = err instanceof ApiError && err.status === 404;
  view.replaceChildren(el("h1", {}, gone ? title : "Something went wrong"),
    el("p", { class: gone ? "muted" : "error" }, gone ? "It may have been deleted, made private, or the link is mistyped." : String(err.message || err)),
    el("p", {}, el("a", { href: "#/feed/trending" }, "Browse trending works"), " · ", el("a", { href: "#/search" }, "Search")));
}

// replaceChildren that skips null/undefined/false (the DOM's own writes them out as the text "null").
export function mount(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}
