// Moderators: reported works, hidden ones first, with their reports; restore or remove each.

import { api, ApiError } from "../api.js";
import { assetImage, el, showError, toast } from "../ui.js";

function entry(item, onDecided) {
  const w = item.work;
  const note = el("input", { name: "note", maxlength: 1000, "aria-label": `Note on “${w.title}”`, placeholder: "note (optional)" });
  const decide = (decision) => async () => {
    try {
      await api.post(`/v1/works/${w.id}/moderation`, { decision, note: note.value });
      toast(decision === "restore" ? `Restored “${w.title}”` : `Removed “${w.title}”`);
      onDecided(card, decision);
    } catch (err) { showError(err); }
  };
  const card = el("li", { class: "card mod-item", "data-work-id": w.id },
    el("div", { class: "mod-thumb" }, w.asset_ids?.[0] ? assetImage(w.asset_ids[0], "thumbnail", w.title) : null),
    el("div", { class: "stack" },
      el("h2", {}, el("a", { href: `#/works/${w.id}` }, w.title), " ",
        w.hidden ? el("span", { class: "badge warn" }, "hidden from feeds") : el("span", { class: "badge" }, "visible")),
      el("p", { class: "muted" }, `by @${w.author?.username} · ${item.open_reports} open report${item.open_reports === 1 ? "" : "s"}`),
      el("ul", { class: "reports" }, (item.reports || []).map((r) => el("li", {},
        el("b", {}, r.reason), ` — @${r.reporter}${r.details ? `: ${r.details}` : ""}`))),
      el("div", { class: "row" }, note,
        el("button", { type: "button", onclick: decide("restore") }, "Restore"),
        el("button", { type: "button", class: "danger", onclick: decide("remove") }, "Remove"))));
  return card;
}

export async function render(view) {
  const list = el("ul", { class: "mod-queue", id: "mod-queue" });
  const status = el("p", { class: "muted", role: "status" });
  view.replaceChildren(el("h1", {}, "Moderation queue"), status, list);
  try {
    const page = await api.get("/v1/moderation/queue?limit=50");
    const done = (card) => { card.remove(); if (!list.children.length) status.textContent = "The queue is empty."; };
    list.replaceChildren(...page.items.map((item) => entry(item, done)));
    status.textContent = page.items.length ? `${page.items.length} reported work${page.items.length === 1 ? "" : "s"}` : "The queue is empty.";
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) status.replaceChildren(el("span", { class: "notice" }, "Only moderators can review reported works."));
    else showError(err, status);
  }
}
