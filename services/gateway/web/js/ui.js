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

export function workTile(work, { onSelect, selected } = {}) {
  const cover = work.asset_ids?.[0];
  const inner = [
    cover ? assetImage(cover, "thumbnail", work.title) : el("div", { class: "thumb" }),
    work.origin === "ai" ? el("span", { class: "badge ai" }, "AI") : null,
    el("div", { class: "meta" }, el("b", {}, work.title),
      el("span", { class: "muted" }, `${work.author?.display_name || work.author?.username || ""} · ♥ ${work.like_count ?? 0}`)),
  ];
  if (onSelect) {
    const tile = el("div", { class: `tile selectable${selected ? " selected" : ""}`, role: "checkbox",
      "aria-checked": String(Boolean(selected)), tabindex: "0" }, ...inner);
    tile.addEventListener("click", () => {
      const on = !tile.classList.contains("selected");
      tile.classList.toggle("selected", on);
      tile.setAttribute("aria-checked", String(on));
      onSelect(work, on);
    });
    return tile;
  }
  return el("a", { class: "tile", href: `#/works/${work.id}` }, ...inner);
}

export function grid(items, render) {
  return el("div", { class: "grid" }, items.map(render));
}

export function unavailable(what) {
  return el("div", { class: "notice" }, `${what} is not available on this server yet. `,
    el("span", { class: "muted" }, "The page will work once that service is deployed."));
}
