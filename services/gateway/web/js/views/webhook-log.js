// One webhook endpoint's delivery log, newest first: event, status, attempts, the receiver's answer,
// and a retry for a failed delivery; "Send a test" adds one.

import { api, ApiError } from "../api.js";
import { el, notFound, showError, toast } from "../ui.js";
import { marketTabs } from "./credits.js";

const POLL_MS = 1500;
const STATUS_BADGE = { succeeded: "ok", failed: "warn", pending: "" };

function answer(d) {
  if (d.response_status != null) return `HTTP ${d.response_status}${d.latency_ms != null ? ` in ${Math.round(d.latency_ms)} ms` : ""}`;
  return d.error ? "no answer" : "not attempted yet";
}

function deliveryRow(d, endpointId, reload) {
  const cell = el("td", { "data-label": d.status === "failed" ? "Action" : null });
  if (d.status === "failed") {
    const retry = el("button", { type: "button", class: "secondary small", "aria-label": `Retry delivery of ${d.event_type}` }, "Retry");
    const note = el("div", { role: "status", "aria-live": "polite", class: "retry-note" });
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      note.replaceChildren();
      try { await api.post(`/v1/webhooks/${endpointId}/deliveries/${d.id}/retry`, {}); toast("Delivery attempted again"); reload(); } catch (err) {
        // The API's 409 speaks to programs (PATCH {"enabled": true}); a person gets the button to press.
        if (err instanceof ApiError && err.status === 409) {
          note.replaceChildren(el("p", { class: "error" }, "This endpoint is switched off: resume its deliveries above, then retry."));
        } else showError(err, note);
        retry.disabled = false; }
    });
    cell.append(retry, note);
  }
  return el("tr", { "data-delivery-id": d.id, "data-status": d.status },
    el("td", { "data-label": "When" }, el("time", { datetime: d.created_at }, new Date(d.created_at).toLocaleString())),
    el("td", { "data-label": "Event" }, el("code", {}, d.event_type)),
    el("td", { "data-label": "Status" }, el("span", { class: `badge ${STATUS_BADGE[d.status] ?? ""}` }, d.status)),
    el("td", { "data-label": "Attempts", class: "num attempts" }, String(d.attempts)),
    el("td", { "data-label": "Answer" }, answer(d), d.error ? el("div", { class: "muted" }, d.error) : null,
      d.next_attempt_at ? el("div", { class: "muted" }, `next try ${new Date(d.next_attempt_at).toLocaleTimeString()}`) : null),
    cell);
}

export async function render(view, id) {
  let ep;
  try { ep = await api.get(`/v1/webhooks/${id}`); } catch (err) { notFound(view, "This endpoint is not yours or was deleted", err); return; }
  const body = el("tbody", { id: "delivery-rows" });
  const badge = el("span", { class: "badge" });
  const status = el("div", { role: "status", "aria-live": "polite", id: "deliveries-status" });
  const more = el("button", { type: "button", class: "secondary", hidden: true }, "Older deliveries");
  const test = el("button", { type: "button", id: "send-test" }, "Send a test");
  const refresh = el("button", { type: "button", class: "secondary", id: "refresh-log" }, "Refresh");
  let cursor = null;
  let timer = null;
  let stopped = false;
  const load = async (reset) => {
    if (reset) { cursor = null; body.replaceChildren(); }
    more.disabled = true;
    try {
      const page = await api.get(`/v1/webhooks/${id}/deliveries?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      body.append(...page.items.map((d) => deliveryRow(d, id, () => reloadAll())));
      status.replaceChildren(body.children.length ? "" : el("p", { class: "muted" }, "No deliveries yet: send a test."));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      // While a delivery is still being attempted the log refreshes itself.
      clearTimeout(timer);
      if (!stopped && page.items.some((d) => d.status === "pending")) timer = setTimeout(() => reloadAll(), POLL_MS);
    } catch (err) { showError(err, status); } finally { more.disabled = false; }
  };
  test.addEventListener("click", async () => {
    test.disabled = true;
    try { await api.post(`/v1/webhooks/${id}/test`, {}); toast("Test event sent"); await load(true); } catch (err) { showError(err, status); } finally {
      test.disabled = false; }
  });
  // A paused or switched-off endpoint takes no retry: say why, and offer to resume it here.
  const state = el("div", { id: "endpoint-state" });
  const showState = () => {
    badge.textContent = ep.status;
    badge.className = `badge ${ep.status === "enabled" ? "ok" : "warn"}`;
    if (ep.status === "enabled") { state.replaceChildren(); return; }
    const resume = el("button", { type: "button", id: "resume-endpoint" }, "Resume deliveries");
    resume.addEventListener("click", async () => {
      resume.disabled = true;
      try { ep = await api.patch(`/v1/webhooks/${id}`, { enabled: true }); toast("Deliveries resumed"); showState(); } catch (err) {
        showError(err, state); }
    });
    state.replaceChildren(el("div", { class: "notice" }, el("p", {}, ep.disabled_reason
      ? `Deliveries are off: ${ep.disabled_reason}` : "Deliveries are paused."), resume));
  };
  const reloadAll = async () => {
    try { ep = await api.get(`/v1/webhooks/${id}`); showState(); } catch { /* the log still reloads */ }
    await load(true);
  };
  refresh.addEventListener("click", reloadAll);
  more.addEventListener("click", () => load(false));
  view.replaceChildren(el("h1", {}, "Delivery log"), marketTabs("#/webhooks"),
    el("p", {}, badge, " ", el("b", { class: "endpoint-url" }, ep.url)), state,
    el("div", { class: "row" }, test, refresh, el("a", { href: "#/webhooks" }, "All endpoints")),
    el("div", { class: "table-wrap" }, el("table", { class: "statement", id: "deliveries" },
      el("caption", { class: "visually-hidden" }, "Deliveries to this endpoint, newest first"),
      el("thead", {}, el("tr", {}, ["When", "Event", "Status", "Attempts", "Answer", "Action"].map((h) =>
        el("th", { scope: "col" }, h)))), body)), status, more);
  showState();
  await load(true);
  return () => { stopped = true; clearTimeout(timer); };
}
