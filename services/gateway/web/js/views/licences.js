// Licences: those you hold or granted (each with its signed certificate to download), the licence
// requests asked of you (accept or decline) and those you sent; and, on another artist's work, the
// form that asks for a licence (views/work.js).

import { api, session } from "../api.js";
import { clearFieldErrors, el, showError, showFieldErrors, toast } from "../ui.js";
import { credits, marketTabs } from "./credits.js";
import { licenceName, workInfo } from "./model-sharing.js";

const SCOPES = [["personal", "Personal use"], ["editorial", "Editorial use"], ["commercial", "Commercial use"]];
const scopeName = (s) => (SCOPES.find(([v]) => v === s) || [s, s])[1];
const day = (iso) => new Date(iso).toLocaleDateString();

function workRef(id) {
  const span = el("span", { class: "work-ref", "data-work-id": id }, "a work");
  workInfo(id).then((w) => span.replaceChildren(w.found ? el("a", { href: `#/works/${id}` }, `“${w.title}”`) : w.title,
    w.author ? ` by @${w.author}` : ""));
  return span;
}

// The certificate is a compact JWS with the platform's public key: saved as a JSON file.
async function downloadCertificate(licence, button, where) {
  button.disabled = true;
  try {
    const cert = await api.get(`/v1/licences/${licence.id}/certificate`);
    const blob = new Blob([JSON.stringify(cert, null, 2)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: `licence-${licence.id}.json`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    where.replaceChildren(el("span", { class: "ok-text" }, "Certificate downloaded."));
  } catch (err) { showError(err, where); } finally { button.disabled = false; }
}

function licenceItem(licence) {
  const held = licence.licensee_id === session.user?.id;
  const note = el("span", { role: "status", "aria-live": "polite" });
  const button = el("button", { type: "button", class: "secondary small", "data-licence-id": licence.id }, "Download certificate");
  button.addEventListener("click", () => downloadCertificate(licence, button, note));
  return el("li", { class: "card licence", "data-licence-id": licence.id, "data-work-id": licence.work_id },
    el("p", { class: "licence-title" }, el("span", { class: `badge ${held ? "ok" : ""}` }, held ? "you hold" : "you granted"), " ",
      el("b", {}, scopeName(licence.scope)), " of ", workRef(licence.work_id)),
    el("p", { class: "muted" }, `Issued ${day(licence.issued_at)} · ${licence.price ? credits(licence.price) : "free"}`),
    licence.terms ? el("p", {}, `Terms: ${licence.terms}`) : null,
    el("div", { class: "row" }, button, note));
}

function requestItem(r, incoming, onDecided) {
  const note = el("div", { role: "status", "aria-live": "polite" });
  const actions = el("div", { class: "row" });
  const decide = async (what, button) => {
    actions.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      const saved = await api.post(`/v1/licence-requests/${r.id}/${what}`, {});
      toast(what === "accept" ? "Licence granted: the credits are yours" : "Request declined: the offer went back");
      onDecided(saved);
    } catch (err) { showError(err, note); actions.querySelectorAll("button").forEach((b) => { b.disabled = false; }); button.focus(); }
  };
  if (incoming && r.status === "pending") {
    const accept = el("button", { type: "button", class: "accept" }, "Accept");
    const decline = el("button", { type: "button", class: "secondary decline" }, "Decline");
    accept.addEventListener("click", () => decide("accept", accept));
    decline.addEventListener("click", () => decide("decline", decline));
    actions.append(accept, decline);
  }
  const statusBadge = el("span", { class: `badge ${r.status === "accepted" ? "ok" : r.status === "declined" ? "warn" : ""}` }, r.status);
  return el("li", { class: "card licence-request", "data-request-id": r.id, "data-status": r.status },
    el("p", { class: "licence-title" }, statusBadge, " ", el("b", {}, scopeName(r.scope)), " of ", workRef(r.work_id)),
    el("p", { class: "muted" }, `${incoming ? `Asked by a user (id …${r.buyer_id.slice(-6)})` : "You asked"} on ${day(r.created_at)}`,
      ` · offer: ${r.offer_credits ? credits(r.offer_credits) : "no credits"}`,
      r.decided_at ? ` · decided ${day(r.decided_at)}` : ""),
    r.terms ? el("p", {}, `Proposed terms: ${r.terms}`) : null, actions, note);
}

// A paged list under a heading: `load(cursor)` answers a listing; `item` renders one entry.
function pagedList(id, empty, fetchPage, item) {
  const list = el("ul", { class: "licence-list", id });
  const status = el("div", { role: "status", "aria-live": "polite" });
  const more = el("button", { type: "button", class: "secondary", hidden: true }, "More");
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await fetchPage(cursor);
      list.append(...page.items.map(item));
      status.replaceChildren(list.children.length ? "" : el("p", { class: "muted" }, empty));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) { showError(err, status); } finally { more.disabled = false; }
  };
  more.addEventListener("click", load);
  return { node: el("div", {}, list, status, more), load };
}

const pageOf = (path) => (cursor) => api.get(`${path}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);

export async function render(view) {
  const licences = pagedList("my-licences", "No licences yet: ask an artist for one from a work's page.",
    pageOf("/v1/me/licences?limit=20"), licenceItem);
  const reload = () => render(view);
  const incoming = pagedList("incoming-requests", "Nobody has asked you for a licence yet.",
    pageOf("/v1/me/licence-requests?direction=incoming&limit=20"), (r) => requestItem(r, true, reload));
  const outgoing = pagedList("outgoing-requests", "You have not asked for a licence yet.",
    pageOf("/v1/me/licence-requests?direction=outgoing&limit=20"), (r) => requestItem(r, false, reload));
  view.replaceChildren(el("h1", {}, "Licences"), marketTabs("#/licences"),
    el("p", { class: "muted" }, "A licence lets someone use a work beyond its public licence, on terms its artist accepted. ",
      "Accepting a request moves the offered credits to you and issues a signed certificate to both of you."),
    el("h2", {}, "Requests to you"), incoming.node, el("h2", {}, "My licences"), licences.node,
    el("h2", {}, "Requests I sent"), outgoing.node);
  await Promise.all([incoming.load(), licences.load(), outgoing.load()]);
}

function ownLicence(work) {
  if (work.licence === "LicenseRef-Custom") return `its artist's own terms${work.licence_terms ? ` (“${work.licence_terms}”)` : ""}`;
  return licenceName(work.licence || "LicenseRef-All-Rights-Reserved");
}

// On another artist's work: ask for a licence (scope, proposed terms, credits offered, held until decided).
export function requestControl(work) {
  const box = el("div", { class: "licence-ask" });
  const open = el("button", { type: "button", class: "secondary", id: "ask-licence", "aria-expanded": "false" }, "Request a licence");
  const status = el("div", { class: "form-error", role: "status", "aria-live": "polite", id: "licence-status" });
  const form = el("form", { class: "card stack", id: "licence-form", hidden: true, novalidate: true },
    el("p", { class: "muted" }, `This work's own licence: ${ownLicence(work)}. Ask its artist for more.`),
    el("label", {}, "Use", el("select", { name: "scope" }, SCOPES.map(([v, t]) => el("option", { value: v }, t)))),
    el("label", {}, "Proposed terms (optional)", el("textarea", { name: "terms", rows: 2, maxlength: 2000 })),
    el("label", {}, "Credits offered", el("input", { name: "offer_credits", type: "number", min: 0, step: 1, value: 0,
      inputmode: "numeric", "aria-describedby": "offer-hint", "data-hint": "offer-hint" })),
    el("span", { class: "muted", id: "offer-hint" }, "Held from your balance until the artist decides; returned if declined."),
    el("div", { class: "row" }, el("button", { type: "submit" }, "Send request"),
      el("button", { type: "button", class: "secondary", onclick: () => { form.hidden = true; open.setAttribute("aria-expanded", "false"); open.focus(); } }, "Cancel")));
  open.addEventListener("click", () => {
    if (!session.user) { location.hash = "#/signin"; return; }
    form.hidden = !form.hidden;
    open.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) form.scope.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    status.replaceChildren();
    const raw = form.offer_credits.value.trim();
    const offer = /^\d+$/.test(raw) ? Number(raw) : raw;  // anything else is the server's 422, shown beside the field
    try {
      await api.post(`/v1/works/${work.id}/licence-requests`, { scope: form.scope.value, terms: form.terms.value, offer_credits: offer });
      form.hidden = true;
      open.disabled = true;
      status.replaceChildren(el("p", { class: "ok-text", id: "licence-sent" }, "Request sent. ",
        el("a", { href: "#/licences" }, "Follow it on your licences page"), "."));
    } catch (err) { showFieldErrors(form, err, status); }
  });
  box.append(open, status, form);
  return box;
}
