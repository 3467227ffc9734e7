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
    badge.title = gen ? `generation ${gen.id || gen.generation_id || ""} · model ${gen.model_id || ""} v${gen.version ?? ""} · seed ${gen.seed ?? ""}`
      : "signed C2PA manifest of the image";
  });
  return badge;
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
      "data-work-id": work.id, title: disabled || null }, ...inner);
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
