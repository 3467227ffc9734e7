// A work: images, likes, comments, and for AI works the provenance check of the image itself.

import { api, session } from "../api.js";
import { aiBadge, assetImage, clearFieldErrors, confirmButton, el, notFound, plural, showError, showFieldErrors, toast } from "../ui.js";
import { saveControl } from "./boards.js";
import { requestControl } from "./licences.js";

const REASONS = [["spam", "Spam"], ["abuse", "Abuse or harassment"], ["copyright", "Copies someone else's work"],
  ["nsfw", "Not safe for work"], ["other", "Something else"]];

// Report a work: a reason and optional details; enough reports hide it until a moderator looks.
function reportControl(id) {
  const box = el("div", { class: "report" });
  const open = el("button", { type: "button", class: "secondary", id: "report", "aria-expanded": "false" }, "Report");
  const status = el("div", { role: "status", "aria-live": "polite" });
  const form = el("form", { class: "card stack", id: "report-form", hidden: true, novalidate: true },
    el("label", {}, "Reason", el("select", { name: "reason" }, REASONS.map(([v, t]) => el("option", { value: v }, t)))),
    el("label", {}, "Details (optional)", el("textarea", { name: "details", rows: 2, maxlength: 1000 })),
    el("div", { class: "row" }, el("button", { type: "submit" }, "Send report"),
      el("button", { type: "button", class: "secondary", onclick: () => { form.hidden = true; open.setAttribute("aria-expanded", "false"); open.focus(); } }, "Cancel")));
  open.addEventListener("click", () => {
    if (!session.user) { location.hash = "#/signin"; return; }
    form.hidden = !form.hidden;
    open.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) form.reason.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    try {
      await api.post(`/v1/works/${id}/reports`, { reason: form.reason.value, details: form.details.value });
      form.hidden = true;
      open.disabled = true;
      status.replaceChildren(el("p", { class: "ok-text", id: "report-sent" }, "Thank you: the report was sent to the moderators."));
    } catch (err) { showFieldErrors(form, err, status); }
  });
  box.append(open, status, form);
  return box;
}

// The author's controls: edit the details, or delete the work (asks once more).
function ownerControls(work) {
  return el("div", { class: "row owner-actions" },
    el("a", { href: `#/works/${work.id}/edit`, class: "button secondary", id: "edit-work" }, "Edit"),
    confirmButton("Delete", `Delete “${work.title}” for good?`, async () => {
      await api.del(`/v1/works/${work.id}`);
      toast("Work deleted");
      location.hash = `#/users/${work.author.username}`;
    }, { id: "delete-work" }));
}

export async function edit(view, id) {
  let work;
  try { work = await api.get(`/v1/works/${id}`); } catch (err) { showError(err, view); return; }
  if (!session.user || work.author?.id !== session.user.id) {
    view.replaceChildren(el("h1", {}, "Not yours to edit"), el("p", {}, "Only the artist who published a work can edit it. ",
      el("a", { href: `#/works/${id}` }, "Back to the work")));
    return;
  }
  const status = el("div", { class: "form-error", role: "alert" });
  const form = el("form", { class: "card stack", id: "edit-form", novalidate: true },
    el("label", {}, "Title", el("input", { name: "title", required: true, maxlength: 200, value: work.title })),
    el("label", {}, "Description", el("textarea", { name: "description", rows: 4, maxlength: 5000 }, work.description || "")),
    el("label", {}, "Tags (comma separated)", el("input", { name: "tags", value: work.tags.join(", ") })),
    el("label", {}, "Visibility", el("select", { name: "visibility" }, ["public", "unlisted", "private"].map((v) =>
      el("option", { selected: v === work.visibility }, v)))),
    work.origin === "ai" ? null : el("label", { class: "inline" },
      el("input", { type: "checkbox", name: "allow_training", checked: work.allow_training }), "Allow style models to be trained on this work"),
    status, el("div", { class: "row" }, el("button", { type: "submit" }, "Save changes"), el("a", { href: `#/works/${id}` }, "Cancel")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    status.replaceChildren();
    const v = new FormData(form);
    const body = { title: String(v.get("title") || ""), description: String(v.get("description") || ""),
      tags: String(v.get("tags") || "").split(",").map((t) => t.trim()).filter(Boolean), visibility: v.get("visibility") };
    if (work.origin !== "ai") body.allow_training = v.get("allow_training") === "on";
    try {
      await api.patch(`/v1/works/${id}`, body);
      toast("Saved");
      location.hash = `#/works/${id}`;
    } catch (err) { showFieldErrors(form, err, status); }
  });
  view.replaceChildren(el("h1", {}, `Edit “${work.title}”`), form);
}

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
    notFound(view, "This work is not available", err);
    return;
  }
  const own = Boolean(session.user && work.author?.id === session.user.id);
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
  const commentCount = el("span", { class: "muted", id: "comment-count" });
  const showCount = () => { commentCount.textContent = plural(work.comment_count, "comment"); };
  showCount();
  const commentError = el("div", { class: "form-error", role: "alert" });
  const commentForm = el("form", { class: "stack", id: "comment-form", novalidate: true },
    el("label", {}, "Your comment", el("textarea", { name: "body", rows: 3, required: true,
      placeholder: "Say something kind and specific", maxlength: 2000 })), commentError, el("button", { type: "submit" }, "Comment"));
  commentForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(commentForm);
    commentError.replaceChildren();
    try {
      const created = await api.post(`/v1/works/${id}/comments`, { body: commentForm.body.value });
      comments.append(commentItem(created));
      work.comment_count += 1;
      showCount();
      commentForm.reset();
    } catch (err) { showFieldErrors(commentForm, err, commentError); }
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
      el("div", { class: "row tags" }, work.tags.map((t) => el("a", { class: "badge tag", href: `#/search?tag=${encodeURIComponent(t)}` }, `#${t}`))),
      el("div", { class: "row" }, likeButton, commentCount),
      own ? ownerControls(work) : null,
      session.user ? saveControl(work) : null,
      own || !session.user ? null : requestControl(work),
      own ? null : reportControl(id),
      el("h2", {}, "Comments"), comments, session.user ? commentForm : el("a", { href: "#/signin" }, "Sign in to comment"))));
  if (work.origin === "ai") badges.prepend(aiBadge(work.asset_ids[0]));
  try {
    const page = await api.get(`/v1/works/${id}/comments?limit=100`);
    comments.replaceChildren(...page.items.map(commentItem));
  } catch (err) { toast(`Comments unavailable: ${err.message}`, "error"); }
}
