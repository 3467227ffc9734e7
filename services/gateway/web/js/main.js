// The app shell: session, navigation and a hash router (#/feed, #/works/ID, ...). No build step.

import { session } from "./api.js";
import { el } from "./ui.js";
import * as live from "./live.js";
import * as auth from "./views/auth.js";
import * as feed from "./views/feed.js";
import * as work from "./views/work.js";
import * as upload from "./views/upload.js";
import * as models from "./views/models.js";
import * as generate from "./views/generate.js";
import * as insights from "./views/insights.js";
import * as profile from "./views/profile.js";

const ROUTES = [
  [/^#\/signin$/, auth.signIn, false],
  [/^#\/signup$/, auth.signUp, false],
  [/^#\/feed(?:\/(following|trending|for-you))?$/, feed.render, false],
  [/^#\/works\/([0-9A-Za-z]+)$/, work.render, false],
  [/^#\/upload$/, upload.render, true],
  [/^#\/models$/, models.list, true],
  [/^#\/models\/new$/, models.create, true],
  [/^#\/models\/([0-9A-Za-z]+)$/, models.detail, true],
  [/^#\/generate(?:\/([0-9A-Za-z]+))?$/, generate.render, true],
  [/^#\/generations\/([0-9A-Za-z]+)$/, generate.detail, true],
  [/^#\/insights$/, insights.render, true],
  [/^#\/users\/([0-9A-Za-z_.-]+)$/, profile.render, false],
];

let cleanup = null;

function renderChrome() {
  const user = session.user;
  const links = [["#/feed", "Feeds"], ...(user ? [["#/upload", "Upload"], ["#/models", "Style models"],
    ["#/generate", "Generate"], ["#/insights", "Insights"]] : [])];
  document.getElementById("nav").replaceChildren(...links.map(([href, text]) =>
    el("a", { href, class: location.hash.startsWith(href) ? "active" : "" }, text)));
  const box = document.getElementById("session");
  if (user) {
    box.replaceChildren(el("a", { href: `#/users/${user.username}`, class: "muted" }, `@${user.username}`), " ",
      el("button", { class: "secondary", id: "signout", onclick: signOut }, "Sign out"));
  } else {
    box.replaceChildren(el("a", { href: "#/signin" }, "Sign in"), " · ", el("a", { href: "#/signup" }, "Sign up"));
  }
}

function signOut() {
  session.clear();
  live.disconnect();
  location.hash = "#/signin";
}

async function route() {
  if (!location.hash || location.hash === "#/") { location.hash = session.user ? "#/feed" : "#/signin"; return; }
  renderChrome();
  const view = document.getElementById("view");
  if (cleanup) { cleanup(); cleanup = null; }
  for (const [pattern, render, needsUser] of ROUTES) {
    const match = location.hash.match(pattern);
    if (!match) continue;
    if (needsUser && !session.user) { location.hash = "#/signin"; return; }
    view.replaceChildren(el("p", { class: "muted" }, "Loading…"));
    const result = await render(view, ...match.slice(1));
    if (typeof result === "function") cleanup = result;
    return;
  }
  view.replaceChildren(el("h1", {}, "Not found"), el("a", { href: "#/feed" }, "Back to the feeds"));
}

window.addEventListener("atelier:signedin", () => { renderChrome(); live.connect(); });
window.addEventListener("hashchange", route);
if (session.user) live.connect();
route();
