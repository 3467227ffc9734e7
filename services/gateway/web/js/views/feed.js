// Feeds as image grids: following, trending, for you; new works arrive live.

import { api, session } from "../api.js";
import { el, grid, showError, workTile } from "../ui.js";
import { onEvent, subject } from "../live.js";

const FEEDS = {
  following: ["/v1/feed", "Following", "Follow artists to see their new works here."],
  trending: ["/v1/feed/trending", "Trending", "Nothing is trending yet."],
  "for-you": ["/v1/feed/for-you", "For you", "Like a few works and recommendations will appear."],
};

export async function render(view, which) {
  const name = which || (session.user ? "following" : "trending");
  const [path, title, empty] = FEEDS[name];
  const tabs = el("div", { class: "tabs" }, Object.entries(FEEDS)
    .filter(([key]) => key !== "following" || session.user)
    .map(([key, [, label]]) => el("a", { href: `#/feed/${key}`, class: key === name ? "active" : "" }, label)));
  const banner = el("div", { class: "banner", hidden: true, onclick: () => render(view, name) });
  const items = el("div", { id: "feed-items" });
  const more = el("button", { class: "secondary", hidden: true }, "Load more");
  view.replaceChildren(el("h1", {}, title), tabs, banner, items, el("div", { class: "row" }, more));

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
