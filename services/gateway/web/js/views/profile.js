// An artist's page: who they are, follow or unfollow, and their works.

import { api, session } from "../api.js";
import { el, grid, mount, notFound, plural, showError, workTile } from "../ui.js";

export async function render(view, username) {
  let user;
  try { user = await api.get(`/v1/users/${encodeURIComponent(username)}`); } catch (err) {
    notFound(view, "No artist by that name", err);
    return;
  }
  const me = session.user;
  const counts = el("p", { class: "muted" });
  const showCounts = () => {
    const c = user.counts || {};
    counts.textContent = `${plural(c.works, "work")} · ${plural(c.followers, "follower")} · following ${c.following ?? 0}`;
  };
  showCounts();
  const follow = el("button", { id: "follow", class: "secondary" });
  const showFollow = () => { follow.textContent = user.followed_by_me ? "✓ Following" : "Follow"; };
  showFollow();
  follow.addEventListener("click", async () => {
    if (!me) { location.hash = "#/signin"; return; }
    follow.disabled = true;
    const path = `/v1/users/${encodeURIComponent(username)}/follow`;
    try {
      await (user.followed_by_me ? api.del(path) : api.put(path));
      user.followed_by_me = !user.followed_by_me;
      user.counts.followers += user.followed_by_me ? 1 : -1;
      showFollow();
      showCounts();
    } catch (err) { showError(err); } finally { follow.disabled = false; }
  });
  const works = el("div", {}, el("p", { class: "muted" }, "Loading works…"));
  const boards = el("div", { id: "profile-boards" });
  const own = Boolean(me && me.id === user.id);
  mount(view, el("div", { class: "row" }, el("h1", {}, user.display_name || user.username),
    el("span", { class: "muted" }, `@${user.username}`), me && me.id !== user.id ? follow : null),
  typeof user.bio === "string" && user.bio.trim() ? el("p", { class: "bio" }, user.bio)
    : own ? el("p", { class: "muted" }, "No bio yet. ", el("a", { href: "#/settings" }, "Add one in Settings")) : null, counts,
  user.allow_training ? el("span", { class: "badge" }, "allows style-model training on consented works") : null,
  el("h2", {}, "Works"), works, boards);
  api.get(`/v1/collections?owner=${encodeURIComponent(user.username)}&limit=50`).then((page) => {
    if (!page.items.length) return;
    boards.replaceChildren(el("h2", {}, "Boards"), el("ul", { class: "boards" }, page.items.map((b) => el("li", {},
      el("a", { href: `#/boards/${b.id}` }, b.title), el("span", { class: "muted" }, ` · ${plural(b.work_count, "work")}`)))));
  }).catch(() => {});
  try {
    const page = await api.get(`/v1/works?author=${encodeURIComponent(username)}&limit=48`);
    works.replaceChildren(page.items.length ? grid(page.items, (w) => workTile(w))
      : el("p", { class: "muted" }, "No works yet."));
  } catch (err) { showError(err, works); }
}
