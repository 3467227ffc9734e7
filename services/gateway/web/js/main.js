// The app shell: session, navigation, search box and a hash router (#/feed, #/works/ID, ...). No build step.

import { session } from "./api.js";
import { el } from "./ui.js";
import * as live from "./live.js";
import * as notify from "./notify.js";
import { checkModerator, forgetRoles, isModerator } from "./roles.js";
import * as auth from "./views/auth.js";
import * as feed from "./views/feed.js";
import * as work from "./views/work.js";
import * as upload from "./views/upload.js";
import * as models from "./views/models.js";
import * as generate from "./views/generate.js";
import * as gallery from "./views/gallery.js";
import * as insights from "./views/insights.js";
import * as profile from "./views/profile.js";
import * as search from "./views/search.js";
import * as settings from "./views/settings.js";
import * as boards from "./views/boards.js";
import * as moderation from "./views/moderation.js";
import * as notifications from "./views/notifications.js";
import * as sharing from "./views/model-sharing.js";
import * as uses from "./views/training-uses.js";
import * as credits from "./views/credits.js";
import * as licences from "./views/licences.js";
import * as copies from "./views/copies.js";
import * as webhooks from "./views/webhooks.js";
import * as webhookLog from "./views/webhook-log.js";

const ID = "([0-9A-Za-z]+)";
// [pattern on the hash's path, view, needs a signed-in user, page title]
const ROUTES = [
  [/^#\/signin$/, auth.signIn, false, "Sign in"],
  [/^#\/signup$/, auth.signUp, false, "Sign up"],
  [/^#\/feed(?:\/(following|trending|for-you))?$/, feed.render, false, "Feeds"],
  [/^#\/search$/, search.render, false, "Search"],
  [new RegExp(`^#/works/${ID}$`), work.render, false, "Work"],
  [new RegExp(`^#/works/${ID}/edit$`), work.edit, true, "Edit work"],
  [/^#\/upload$/, upload.render, true, "Upload"],
  [/^#\/models$/, models.list, true, "Style models"],
  [/^#\/models\/new$/, models.create, true, "New style model"],
  [/^#\/models\/public$/, sharing.publicList, true, "Public style models"],
  [new RegExp(`^#/models/${ID}$`), models.detail, true, "Style model"],
  [new RegExp(`^#/generate(?:/${ID})?$`), generate.render, true, "Generate"],
  [/^#\/generations$/, gallery.render, true, "Generations"],
  [new RegExp(`^#/generations/${ID}$`), generate.detail, true, "Generation"],
  [/^#\/insights$/, insights.render, true, "Insights"],
  [/^#\/training-uses$/, uses.render, true, "Where my works were used"],
  [/^#\/boards$/, boards.list, true, "Boards"],
  [new RegExp(`^#/boards/${ID}$`), boards.detail, false, "Board"],
  [/^#\/settings$/, settings.render, true, "Settings"],
  [/^#\/moderation$/, moderation.render, true, "Moderation"],
  [/^#\/notifications$/, notifications.render, true, "Notifications"],
  [/^#\/credits$/, credits.render, true, "Credits"],
  [/^#\/licences$/, licences.render, true, "Licences"],
  [/^#\/copies$/, copies.render, true, "Possible copies"],
  [/^#\/webhooks$/, webhooks.render, true, "Webhooks"],
  [new RegExp(`^#/webhooks/${ID}$`), webhookLog.render, true, "Webhook deliveries"],
  [/^#\/users\/([0-9A-Za-z_.-]+)$/, profile.render, false, "Artist"],
];

let cleanup = null;

function signedInLinks() {
  return [["#/upload", "Upload"], ["#/models", "Style models"], ["#/generate", "Generate"],
    ["#/generations", "Generations"], ["#/boards", "Boards"], ["#/insights", "Insights"], ["#/credits", "Market"],
    ["#/settings", "Settings"],
    ...(isModerator() ? [["#/moderation", "Moderation"]] : [])];
}

function renderChrome() {
  const user = session.user;
  const here = location.hash.split("?")[0];
  const links = [["#/feed", "Feeds"], ...(user ? signedInLinks() : [])];
  document.getElementById("nav").replaceChildren(...links.map(([href, text]) => {
    // The market pages share one entry (their own tabs tell them apart).
    const market = href === "#/credits" && credits.MARKET_PAGES.some(([h]) => here === h || here.startsWith(`${h}/`));
    const active = market || here === href || here.startsWith(`${href}/`);
    return el("a", { href, class: active ? "active" : "", "aria-current": active ? "page" : null }, text);
  }));
  const box = document.getElementById("session");
  if (user) {
    box.replaceChildren(notify.bell(), el("a", { href: `#/users/${user.username}`, class: "me" }, `@${user.username}`),
      el("button", { class: "secondary", id: "signout", onclick: signOut }, "Sign out"));
  } else {
    box.replaceChildren(el("a", { href: "#/signin" }, "Sign in"), " · ", el("a", { href: "#/signup" }, "Sign up"));
  }
}

function signOut() {
  session.clear();
  forgetRoles();
  notify.clear();
  live.disconnect();
  location.hash = "#/signin";
}

function parseHash() {
  const [path, query = ""] = location.hash.split("?");
  return { path, params: new URLSearchParams(query) };
}

async function route() {
  // A visitor lands on Trending (public); a signed-in artist on the feed of those they follow.
  if (!location.hash || location.hash === "#/" || location.hash === "#") {
    history.replaceState(null, "", session.user ? "#/feed" : "#/feed/trending");
  }
  renderChrome();
  const { path, params } = parseHash();
  const view = document.getElementById("view");
  if (cleanup) { cleanup(); cleanup = null; }
  const q = document.getElementById("search-q");
  if (q && path !== "#/search") q.value = "";
  for (const [pattern, render, needsUser, title] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    if (needsUser && !session.user) { location.hash = "#/signin"; return; }
    document.title = `${title} · Atelier`;
    view.replaceChildren(el("p", { class: "muted" }, "Loading…"));
    const result = await render(view, ...match.slice(1), params);
    if (typeof result === "function") cleanup = result;
    return;
  }
  document.title = "Not found · Atelier";
  view.replaceChildren(el("h1", {}, "Not found"), el("a", { href: "#/feed" }, "Back to the feeds"));
}

document.getElementById("search-box").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = document.getElementById("search-q").value.trim();
  location.hash = `#/search?${search.queryFor(text)}`;
});

window.addEventListener("atelier:signedin", () => { renderChrome(); live.connect(); });
window.addEventListener("atelier:roles", renderChrome);
window.addEventListener("atelier:signout", signOut);
window.addEventListener("hashchange", route);
notify.start();
if (session.user) { live.connect(); checkModerator(); }
route();
