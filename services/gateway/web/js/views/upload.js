// Upload works by drag and drop: each file becomes an asset (POST /v1/assets), then one work
// (or one work per image).

import { api, newKey, request, session } from "../api.js";
import { assetImage, clearFieldErrors, el, showError, showFieldErrors, toast } from "../ui.js";

const TYPES = ["image/png", "image/jpeg", "image/webp"];

export function render(view) {
  const assets = [];
  const previews = el("div", { class: "grid" });
  const input = el("input", { type: "file", accept: TYPES.join(","), multiple: true, hidden: true, id: "file-input" });
  // The zone takes dropped files; its button (keyboard: Tab, then Enter or Space) opens the file picker.
  const choose = el("button", { type: "button", class: "secondary", id: "choose-files", onclick: () => input.click() }, "Choose files");
  const drop = el("div", { class: "drop", id: "drop-zone", role: "group", "aria-label": "Add images" },
    el("p", {}, "Drop images here, or "), choose,
    el("p", { class: "muted" }, "PNG, JPEG or WebP"), input);

  const status = el("p", { class: "muted", id: "upload-status", role: "status", "aria-live": "polite" });
  let inflight = Promise.resolve();
  let done = 0;
  // Uploads run one after another; a submit waits for those still in flight.
  const send = (files) => { inflight = inflight.then(() => sendAll(files)); return inflight; };
  async function sendAll(files) {
    for (const file of files) {
      if (!TYPES.includes(file.type)) { toast(`${file.name}: not a PNG, JPEG or WebP image`, "error"); continue; }
      const tile = el("div", { class: "tile" }, el("div", { class: "meta" }, `Uploading ${file.name}…`));
      previews.append(tile);
      try {
        const asset = await request("POST", "/v1/assets", { body: file, contentType: file.type, idempotent: newKey() });
        assets.push(asset.id);
        done += 1;
        status.textContent = `${done} image${done > 1 ? "s" : ""} uploaded`;
        tile.classList.add("uploaded");
        tile.replaceChildren(assetImage(asset.id, "thumbnail", file.name),
          el("div", { class: "meta" }, `${asset.width}×${asset.height}`));
      } catch (err) {
        tile.remove();
        showError(err);
      }
    }
  }
  input.addEventListener("change", () => send([...input.files]));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); send([...e.dataTransfer.files]); });

  const error = el("div", { class: "form-error", role: "alert" });
  const form = el("form", { class: "card stack", id: "upload-form", novalidate: true },
    el("label", {}, "Title", el("input", { name: "title", required: true, maxlength: 200 })),
    el("label", {}, "Description", el("textarea", { name: "description", rows: 3 })),
    el("label", {}, "Tags (comma separated)", el("input", { name: "tags", placeholder: "ink, botanical", "aria-describedby": "tags-hint", "data-hint": "tags-hint" })),
    el("span", { class: "muted hint", id: "tags-hint" }, "Tags help people find your work: each one links to its search."),
    el("div", { class: "row" },
      el("label", {}, "Visibility", el("select", { name: "visibility" }, ["public", "unlisted", "private"].map((v) => el("option", {}, v)))),
      el("label", {}, "Origin", el("select", { name: "origin" }, ["human", "collab", "ai"].map((v) => el("option", {}, v))))),
    el("label", { class: "inline" }, el("input", { type: "checkbox", name: "allow_training" }),
      "Allow style models to be trained on this work"),
    el("label", { class: "inline" }, el("input", { type: "checkbox", name: "each" }),
      "Publish each image as its own work (a series)"),
    error, el("button", { type: "submit" }, "Publish"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await inflight;
    if (!assets.length) { error.replaceChildren(el("p", { class: "error" }, "Add at least one image first.")); return; }
    const values = new FormData(form);
    const base = {
      title: values.get("title"), description: values.get("description") || "",
      tags: (values.get("tags") || "").split(",").map((t) => t.trim()).filter(Boolean),
      visibility: values.get("visibility"), origin: values.get("origin"),
      allow_training: values.get("allow_training") === "on",
    };
    // One work per image, or all images in one work (a work holds at most 20).
    const groups = values.get("each") === "on" ? assets.map((a) => [a]) : [assets.slice(0, 20)];
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    error.replaceChildren();
    clearFieldErrors(form);
    const created = [];
    try {
      for (const [i, ids] of groups.entries()) {
        const title = groups.length > 1 ? `${base.title} ${i + 1}` : base.title;
        created.push(await api.post("/v1/works", { ...base, title, asset_ids: ids }));
      }
      if (created.length === 1) { location.hash = `#/works/${created[0].id}`; return; }
      toast(`Published ${created.length} works`);
      location.hash = `#/users/${session.user.username}`;
    } catch (err) {
      showFieldErrors(form, err, error);
      if (created.length) error.prepend(el("p", {}, `${created.length} of ${groups.length} works were published.`));
    } finally { button.disabled = false; }
  });
  view.replaceChildren(el("h1", {}, "Upload a work"), drop, status, previews, el("h2", {}, "Details"), form);
}
