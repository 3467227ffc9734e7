// Credits: the spendable balance, what is held, and the statement (newest first, a page at a time),
// each line in words: what it was for and how it moved the balance. Also the tabs shared by the
// market pages (credits, licences, possible copies, webhooks).

import { api } from "../api.js";
import { el, showError } from "../ui.js";

export const MARKET_PAGES = [["#/credits", "Credits"], ["#/licences", "Licences"], ["#/copies", "Possible copies"],
  ["#/webhooks", "Webhooks"]];

export function marketTabs(active) {
  return el("nav", { class: "tabs wrap", "aria-label": "Credits, licences and tools" },
    MARKET_PAGES.map(([href, text]) => el("a", { href, class: href === active ? "active" : "",
      "aria-current": href === active ? "page" : null }, text)));
}

export const credits = (n) => `${Number(n).toLocaleString("en")} credit${Math.abs(n) === 1 ? "" : "s"}`;

// What a line of the statement was for, in words; a link where the viewer can open its subject.
function purpose(entry) {
  const ref = entry.reference;
  const gen = ref ? el("a", { href: `#/generations/${ref}` }, "generation") : "generation";
  const earned = entry.amount > 0;
  switch (entry.kind) {
    case "grant": return ["Starting credits for your new account"];
    case "reserve": return ["Held for a ", gen, " on a priced style model"];
    case "settle": return earned ? ["Earned: someone generated with a style model your works helped make"]
      : ["Paid for the images of a ", gen];
    case "release": return ["Returned: a held ", gen, " was not charged"];
    case "offer": return ["Offered for a licence: paid if the artist accepts, returned if not ", el("a", { href: "#/licences" }, "(see licences)")];
    case "pay": return earned ? ["Earned: a licence you granted ", el("a", { href: "#/licences" }, "(see licences)")]
      : ["Paid: a licence you were granted ", el("a", { href: "#/licences" }, "(see licences)")];
    case "refund": return ["Returned: your licence offer was declined"];
    default: return [entry.kind];
  }
}

function amountText(n) {
  if (n === 0) return "±0";
  return `${n > 0 ? "+" : "−"}${Math.abs(n).toLocaleString("en")}`;
}

function entryRow(entry) {
  const when = new Date(entry.created_at);
  return el("tr", { "data-kind": entry.kind, "data-entry-id": entry.id },
    el("td", { "data-label": "When" }, el("time", { datetime: entry.created_at }, when.toLocaleString())),
    el("td", { "data-label": "What for" }, purpose(entry)),
    el("td", { "data-label": "Amount", class: `num ${entry.amount > 0 ? "ok-text" : entry.amount < 0 ? "error" : ""}` }, amountText(entry.amount),
      el("span", { class: "visually-hidden" }, entry.amount > 0 ? " credited" : entry.amount < 0 ? " debited" : "")),
    el("td", { "data-label": "Balance after", class: "num" }, entry.balance_after.toLocaleString("en")));
}

export async function render(view) {
  const balance = el("div", { class: "card balance", id: "credit-balance" }, el("p", { class: "muted" }, "Loading…"));
  const body = el("tbody", { id: "statement-rows" });
  const table = el("table", { class: "statement", id: "statement" },
    el("caption", { class: "visually-hidden" }, "Statement of your credits, newest first"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "When"), el("th", { scope: "col" }, "What for"),
      el("th", { scope: "col", class: "num" }, "Amount"), el("th", { scope: "col", class: "num" }, "Balance after"))), body);
  const status = el("div", { role: "status", "aria-live": "polite", id: "statement-status" });
  const more = el("button", { type: "button", class: "secondary", id: "more-entries", hidden: true }, "Older entries");
  view.replaceChildren(el("h1", {}, "Credits"), marketTabs("#/credits"), balance, el("h2", {}, "Statement"),
    el("div", { class: "table-wrap" }, table), status, more);
  try {
    const b = await api.get("/v1/me/credits");
    balance.replaceChildren(el("p", { class: "big" }, el("b", { id: "balance-amount" }, credits(b.balance)), " to spend"),
      el("p", { class: "muted", id: "reserved-amount" }, b.reserved
        ? `${credits(b.reserved)} held for generations and licence offers not decided yet.`
        : "Nothing is held for pending generations or licence offers."),
      el("p", { class: "muted" }, "Credits pay for images from other artists' priced style models and for licences of their works."));
  } catch (err) { showError(err, balance); }
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api.get(`/v1/me/credits/statement?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      body.append(...page.items.map(entryRow));
      if (!body.children.length) status.replaceChildren(el("p", { class: "muted" }, "No entries yet."));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) { showError(err, status); } finally { more.disabled = false; }
  };
  more.addEventListener("click", load);
  await load();
}
