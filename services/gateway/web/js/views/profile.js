// An artist's page: who they are, follow or unfollow, and their works.

import { api, session } from "../api.js";
import { el, grid, showError, workTile } from "../ui.js";

export async function render(view, username) {
  let user;
  try { user = await api.get(`/v1/users/${encodeURIComponent(username)}`); } catch (err) {
    showError(err, view);
    return;
  }
  const me = session.user;
  const counts = el("p", { class: "muted" });
  const showCounts = () => {
    const c = user.counts || {};
    const n = (count, word) => `${count ?? 0} ${word}${count === 1 ? "" : "s"}`;
    counts.textContent = `${n(c.works, "work")} · ${n(c.followers, "follower")} · following ${c.following ?? 0}`;
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
  view.replaceChildren(el("div", { class: "row" }, el("h1", {}, user.display_name || user.username),
    el("span", { class: "muted" }, `@${user.username}`), me && me.id !== user.id ? follow : null),
  user.bio ? el("p", {}, user.bio) : null, counts,
  user.allow_training ? el("span", { class: "badge" }, "allows style-model training on consented works") : null,
  el("h2", {}, "Works"), works);
  try {
    const page = await api.get(`/v1/works?author=${encodeURIComponent(username)}&limit=48`);
    works.replaceChildren(page.items.length ? grid(page.items, (w) => workTile(w))
      : el("p", { class: "muted" }, "No works yet."));
  } catch (err) { showError(err, works); }
}
