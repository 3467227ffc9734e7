// Feeds as image grids: following, trending, for you; new works arrive live. An empty Following or
// For-you feed suggests artists to follow and shows what is trending instead of a blank page.

import { api, session } from "../api.js";
import { el, grid, mount, showError, workTile } from "../ui.js";
import { onEvent, subject } from "../live.js";
import { suggestedArtists } from "./suggest.js";

const FEEDS = {
  following: ["/v1/feed", "Following", "Follow artists to see their new works here."],
  trending: ["/v1/feed/trending", "Trending", "Nothing is trending yet."],
  "for-you": ["/v1/feed/for-you", "For you", "Like a few works and recommendations will appear."],
};

async function fallback(box) {
  const [artists, trending] = await Promise.all([suggestedArtists(),
    api.get("/v1/feed/trending?limit=12").catch(() => ({ items: [] }))]);
  box.replaceChildren(...[artists, trending.items.length ? el("section", { id: "trending-fallback", "aria-label": "Trending now" },
    el("h2", {}, "Trending now"), grid(trending.items, (w) => workTile(w))) : null].filter(Boolean));
}

export async function render(view, which) {
  const name = which || (session.user ? "following" : "trending");
  if (name === "following" && !session.user) { location.hash = "#/feed/trending"; return undefined; }
  const [path, title, empty] = FEEDS[name];
  const tabs = el("nav", { class: "tabs", "aria-label": "Feeds" }, Object.entries(FEEDS)
    .filter(([key]) => key !== "following" || session.user)
    .map(([key, [, label]]) => el("a", { href: `#/feed/${key}`, class: key === name ? "active" : "",
      "aria-current": key === name ? "page" : null }, label)));
  const banner = el("button", { type: "button", class: "banner", hidden: true, id: "new-works", onclick: () => render(view, name) });
  const items = el("div", { id: "feed-items" });
  const extra = el("div", { id: "feed-extra" });
  const more = el("button", { class: "secondary", hidden: true }, "Load more");
  const intro = session.user ? null : el("div", { class: "notice intro" },
    el("p", {}, el("b", {}, "Atelier"), " is where artists share their works, train small style models on the works they choose, ",
      "and generate from them — every AI-made image is labelled and signed."),
    el("p", {}, el("a", { href: "#/signup", class: "button" }, "Create an account"), " ", el("a", { href: "#/signin" }, "or sign in")));
  mount(view, el("h1", {}, title), intro, tabs,
    el("div", { "aria-live": "polite" }, banner), items, el("div", { class: "row" }, more), extra);

  let cursor = null;
  const seen = [];
  async function load() {
    more.disabled = true;
    try {
      const page = await api.get(`${path}?limit=24${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      seen.push(...page.items);
      cursor = page.next_cursor;
      items.replaceChildren(seen.length ? grid(seen, (w) => workTile(w))
        : el("p", { class: "muted empty-feed" }, empty));
      more.hidden = !cursor;
      if (!seen.length && name !== "trending") await fallback(extra);
    } catch (err) {
      showError(err, items);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", load);
  await load();

  let fresh = 0;
  return onEvent((event) => {
    if (subject(event) !== "community.work.published") return;
    if (name === "following" && event.channel !== "feed") return;
    fresh += 1;
    banner.textContent = `${fresh} new work${fresh > 1 ? "s" : ""} — show`;
    banner.hidden = false;
  });
}
