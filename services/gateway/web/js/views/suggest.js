// Suggested artists for an empty feed: the authors of what is trending now (not you, not those you
// already follow), each with a follow button.

import { api, session } from "../api.js";
import { el, plural, showError } from "../ui.js";

export async function suggestedArtists(limit = 6) {
  const box = el("section", { class: "suggested", id: "suggested-artists", "aria-label": "Suggested artists" });
  const page = await api.get("/v1/feed/trending?limit=50").catch(() => ({ items: [] }));
  const names = [];
  for (const w of page.items) {
    const name = w.author?.username;
    if (name && name !== session.user?.username && !names.includes(name)) names.push(name);
  }
  const profiles = (await Promise.all(names.slice(0, limit * 2).map((n) =>
    api.get(`/v1/users/${encodeURIComponent(n)}`).catch(() => null)))).filter((u) => u && !u.followed_by_me).slice(0, limit);
  if (!profiles.length) return null;
  box.append(el("h2", {}, "Artists you might like"), el("ul", { class: "artists" }, profiles.map(artistCard)));
  return box;
}

function artistCard(user) {
  const follow = el("button", { type: "button", class: "secondary small", "aria-label": `Follow @${user.username}` }, "Follow");
  follow.addEventListener("click", async () => {
    follow.disabled = true;
    try {
      await api.put(`/v1/users/${encodeURIComponent(user.username)}/follow`);
      follow.textContent = "✓ Following";
      follow.setAttribute("aria-label", `Following @${user.username}`);
    } catch (err) { follow.disabled = false; showError(err); }
  });
  return el("li", { class: "card artist", "data-username": user.username },
    el("a", { href: `#/users/${user.username}` }, el("b", {}, user.display_name || user.username)),
    el("span", { class: "muted" }, ` @${user.username} · ${plural(user.counts?.works, "work")}`),
    user.bio ? el("p", { class: "muted bio" }, user.bio) : null, follow);
}
