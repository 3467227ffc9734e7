// A work: images, likes, comments, and for AI works the provenance check of the image itself.

import { api, session } from "../api.js";
import { aiBadge, assetImage, el, showError, toast } from "../ui.js";

// AI works credit the style model and its owner; the owner gets a link to the model's page.
function modelCredit(work) {
  const { id, version, owner_id: ownerId } = work.model;
  const own = session.user && session.user.id === ownerId;
  const whose = ownerId === work.author?.id ? "the artist's own style model" : "another artist's style model";
  const credit = el("span", { class: "muted model-credit" }, " · made with ",
    own ? el("a", { href: `#/models/${id}` }, whose) : whose, ` (v${version})`);
  if (own) {
    api.get(`/v1/models/${id}`).then((model) => {
      credit.querySelector("a").textContent = `your style model “${model.name}”`;
    }).catch(() => {});
  }
  return credit;
}

function commentItem(c) {
  return el("li", {}, el("b", {}, `@${c.author?.username || "someone"} `), c.body,
    el("div", { class: "muted" }, new Date(c.created_at).toLocaleString()));
}

export async function render(view, id) {
  let work;
  try {
    work = await api.get(`/v1/works/${id}`);
  } catch (err) {
    showError(err, view);
    return;
  }
  const likeButton = el("button", { class: "secondary", id: "like" });
  const showLikes = () => { likeButton.textContent = `${work.liked_by_me ? "♥ Liked" : "♡ Like"} · ${work.like_count}`; };
  showLikes();
  likeButton.addEventListener("click", async () => {
    if (!session.user) { location.hash = "#/signin"; return; }
    try {
      await (work.liked_by_me ? api.del(`/v1/works/${id}/like`) : api.put(`/v1/works/${id}/like`));
      work.like_count += work.liked_by_me ? -1 : 1;
      work.liked_by_me = !work.liked_by_me;
      showLikes();
    } catch (err) { showError(err); }
  });

  const comments = el("ul", { class: "comments" });
  const commentForm = el("form", { class: "stack" }, el("textarea", { name: "body", rows: 3, required: true,
    placeholder: "Say something kind and specific", maxlength: 2000 }), el("button", { type: "submit" }, "Comment"));
  commentForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await api.post(`/v1/works/${id}/comments`, { body: commentForm.body.value });
      comments.append(commentItem(created));
      commentForm.reset();
    } catch (err) { showError(err); }
  });

  const badges = el("div", { class: "row" }, el("span", { class: "badge" }, work.origin), el("span", { class: "badge" }, work.visibility));
  view.replaceChildren(el("div", { class: "work" },
    el("div", { class: "images" }, work.asset_ids.map((a) => assetImage(a, "content", work.title))),
    el("div", { class: "stack" },
      el("h1", {}, work.title), badges,
      el("p", {}, "by ", work.author ? el("a", { href: `#/users/${work.author.username}` },
        el("b", {}, work.author.display_name || work.author.username)) : "unknown",
        work.model ? modelCredit(work) : null),
      work.description ? el("p", {}, work.description) : null,
      el("div", { class: "row" }, work.tags.map((t) => el("span", { class: "badge" }, `#${t}`))),
      el("div", { class: "row" }, likeButton, el("span", { class: "muted" }, `${work.comment_count} comments`)),
      el("h2", {}, "Comments"), comments, session.user ? commentForm : el("a", { href: "#/signin" }, "Sign in to comment"))));
  if (work.origin === "ai") badges.prepend(aiBadge(work.asset_ids[0]));
  try {
    const page = await api.get(`/v1/works/${id}/comments?limit=100`);
    comments.replaceChildren(...page.items.map(commentItem));
  } catch (err) { toast(`Comments unavailable: ${err.message}`, "error"); }
}
