// Webhooks: your endpoints (create, send a test, pause, delete), the signing secret shown once on
// creation, and per endpoint the delivery log with status, attempts and a retry (webhook-log.js).

import { api } from "../api.js";
import { clearFieldErrors, confirmButton, el, showError, showFieldErrors, toast } from "../ui.js";
import { marketTabs } from "./credits.js";

// The subscribable event types (shared/contracts/webhooks.py `subscribable_types`), in words.
export const EVENT_TYPES = [
  ["community.work.liked", "a work of yours is liked"], ["community.work.commented", "a work of yours gets a comment"],
  ["community.user.followed", "someone follows you"], ["community.work.published", "a work is published"],
  ["community.suggestion.created", "a new suggestion for you"],
  ["inference.generation.completed", "a generation finished"], ["inference.generation.failed", "a generation failed"],
  ["inference.generation.canceled", "a generation was canceled"], ["inference.generation.progress", "generation progress"],
  ["trainer.model.trained", "a style model finished training"], ["trainer.model.queued", "a style model was queued"],
  ["trainer.model.updated", "a style model changed"], ["trainer.model.consent_withdrawn", "consent was withdrawn from a model"],
  ["trainer.training.progress", "training progress"], ["trainer.training.failed", "training failed"],
  ["trainer.training.canceled", "training was canceled"], ["assets.asset.stored", "an upload was stored"],
  ["assets.asset.deleted", "an upload was deleted"], ["assets.asset.near_duplicate", "a possible copy of your work"],
  ["webhooks.endpoint.disabled", "an endpoint was switched off for failing"]];

function createForm(onCreated) {
  const status = el("div", { class: "form-error", role: "status", "aria-live": "polite", id: "webhook-status" });
  const form = el("form", { class: "card stack", id: "webhook-form", novalidate: true, "aria-labelledby": "webhook-form-title" },
    el("h2", { id: "webhook-form-title" }, "Add an endpoint"),
    el("label", {}, "URL that receives the events", el("input", { name: "url", type: "url", required: true, maxlength: 2048,
      placeholder: "https://example.com/atelier-hook", autocomplete: "url" })),
    el("label", {}, "Note (optional)", el("input", { name: "description", maxlength: 500 })),
    el("fieldset", { class: "event-types" }, el("legend", {}, "Send these events"),
      EVENT_TYPES.map(([value, text], i) => el("label", { class: "inline" },
        el("input", { type: "checkbox", name: "event_types", value, checked: i < 2 }), `${text} `, el("code", {}, value)))),
    status, el("div", { class: "row" }, el("button", { type: "submit" }, "Add endpoint")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    status.replaceChildren();
    const v = new FormData(form);
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const created = await api.post("/v1/webhooks", { url: String(v.get("url") || "").trim(),
        description: String(v.get("description") || ""), event_types: v.getAll("event_types") });
      form.reset();
      onCreated(created);
    } catch (err) { showFieldErrors(form, err, status); } finally { button.disabled = false; }
  });
  return form;
}

// The secret exists only in the create answer: shown here once, with a copy button.
function secretNotice(created) {
  const code = el("code", { id: "webhook-secret" }, created.secret);
  const copy = el("button", { type: "button", class: "secondary small" }, "Copy");
  copy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(created.secret); toast("Secret copied"); } catch { toast("Select the secret and copy it", "error"); }
  });
  return el("div", { class: "notice ok", role: "alert", id: "secret-notice" },
    el("p", {}, el("b", {}, "Endpoint added. Its signing secret is shown only this once: keep it now.")),
    el("p", { class: "secret" }, code, " ", copy),
    el("p", { class: "muted" }, "Each delivery is signed with it (Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature)."));
}

function endpointItem(ep, reload) {
  const note = el("div", { role: "status", "aria-live": "polite" });
  const test = el("button", { type: "button", class: "secondary", "data-action": "test" }, "Send a test");
  test.addEventListener("click", async () => {
    test.disabled = true;
    try {
      await api.post(`/v1/webhooks/${ep.id}/test`, {});
      note.replaceChildren(el("p", { class: "ok-text" }, "Test event sent. ", el("a", { href: `#/webhooks/${ep.id}` }, "See the delivery log"), "."));
    } catch (err) { showError(err, note); } finally { test.disabled = false; }
  });
  const pause = el("button", { type: "button", class: "secondary" }, ep.status === "enabled" ? "Pause" : "Resume");
  pause.addEventListener("click", async () => {
    pause.disabled = true;
    try { await api.patch(`/v1/webhooks/${ep.id}`, { enabled: ep.status !== "enabled" }); reload(); } catch (err) { showError(err, note); pause.disabled = false; }
  });
  const del = confirmButton("Delete", "Delete this endpoint and its delivery log?", async () => {
    await api.del(`/v1/webhooks/${ep.id}`);
    toast("Endpoint deleted");
    reload();
  });
  return el("li", { class: "card endpoint", "data-endpoint-id": ep.id },
    el("div", { class: "row" }, el("span", { class: `badge ${ep.status === "enabled" ? "ok" : "warn"}` }, ep.status),
      el("b", { class: "endpoint-url" }, ep.url)),
    ep.description ? el("p", {}, ep.description) : null,
    ep.disabled_reason ? el("p", { class: "error" }, `Switched off: ${ep.disabled_reason}`) : null,
    el("p", { class: "muted" }, `Events: ${ep.event_types.join(", ")}`),
    el("div", { class: "row" }, el("a", { href: `#/webhooks/${ep.id}`, class: "button secondary" }, "Delivery log"), test, pause, del),
    note);
}

export async function render(view) {
  const list = el("ul", { class: "endpoints", id: "endpoints" });
  const status = el("div", { role: "status", "aria-live": "polite" });
  const secret = el("div");
  const load = async () => {
    try {
      const page = await api.get("/v1/webhooks?limit=100");
      list.replaceChildren(...page.items.map((ep) => endpointItem(ep, load)));
      status.replaceChildren(page.items.length ? "" : el("p", { class: "muted" }, "No endpoints yet."));
    } catch (err) { showError(err, status); }
  };
  const form = createForm(async (created) => {
    secret.replaceChildren(secretNotice(created));
    await load();
    secret.querySelector("button")?.focus();
  });
  view.replaceChildren(el("h1", {}, "Webhooks"), marketTabs("#/webhooks"),
    el("p", { class: "muted" }, "Your server is told when something happens: Atelier POSTs each event you choose to your URL, ",
      "signed, retrying for a while when it fails. ", el("a", { href: "/docs" }, "API reference")),
    secret, el("h2", {}, "Your endpoints"), list, status, form);
  await load();
}
