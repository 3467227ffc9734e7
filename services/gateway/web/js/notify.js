// Notifications from the live event stream: likes, comments and new followers of your works, and
// your finished (or failed) trainings and generations. Kept for the tab's session; the bell in the
// header shows how many are unread and announces new ones (aria-live).

import { api, session } from "./api.js";
import { el, toast } from "./ui.js";
import { onEvent, subject } from "./live.js";

const KEY = "atelier.notifications";
const MAX = 50;
const changed = new Set();

function load() {
  try { return JSON.parse(sessionStorage.getItem(KEY)) || { items: [], unread: 0 }; } catch { return { items: [], unread: 0 }; }
}
function save(state) {
  sessionStorage.setItem(KEY, JSON.stringify(state));
  for (const listener of changed) listener(state);
}

export function all() { return load().items; }
export function clear() { sessionStorage.removeItem(KEY); for (const l of changed) l(load()); }
export function markRead() { const s = load(); s.unread = 0; save(s); }
export function onChange(listener) { changed.add(listener); return () => changed.delete(listener); }

async function workTitle(id) {
  try { return `“${(await api.get(`/v1/works/${id}`)).title}”`; } catch { return "your work"; }
}

async function commenter(workId, commentId) {
  try {
    const page = await api.get(`/v1/works/${workId}/comments?limit=100`);
    const found = page.items.find((c) => c.id === commentId);
    return found ? { who: `@${found.author.username}`, body: found.body } : { who: "Someone", body: "" };
  } catch { return { who: "Someone", body: "" }; }
}

// One event → { text, href } or null when it is not something to notify about.
async function describe(event) {
  const kind = subject(event);
  const d = event.data || {};
  if (event.channel !== "me") return null;
  if (kind === "community.work.liked") return { text: `Your work ${await workTitle(d.work_id)} got a like`, href: `#/works/${d.work_id}` };
  if (kind === "community.work.commented") {
    const [{ who, body }, title] = await Promise.all([commenter(d.work_id, d.comment_id), workTitle(d.work_id)]);
    return { text: `${who} commented on ${title}${body ? `: “${body.slice(0, 80)}”` : ""}`, href: `#/works/${d.work_id}` };
  }
  if (kind === "community.user.followed") return { text: "You have a new follower", href: `#/users/${session.user?.username}` };
  if (kind === "community.suggestion.created") return { text: `New suggestion: ${d.title || "see your insights"}`, href: "#/insights" };
  if (kind === "inference.generation.completed") return { text: `Your generation is ready${d.outputs?.length ? ` (${d.outputs.length} images)` : ""}`, href: `#/generations/${d.generation_id}` };
  if (kind === "inference.generation.failed") return { text: "A generation failed", href: `#/generations/${d.generation_id}` };
  if (kind === "trainer.model.trained") return { text: `Your style model finished training (v${d.version})`, href: `#/models/${d.model_id}` };
  if (kind === "trainer.training.failed") return { text: "A style model's training failed", href: `#/models/${d.model_id}` };
  if (kind === "trainer.training.canceled") return { text: "A style model's training was canceled", href: `#/models/${d.model_id}` };
  return null;
}

export function start() {
  onEvent(async (event) => {
    if (!session.user) return;
    const note = await describe(event);
    if (!note) return;
    const state = load();
    if (state.items.some((n) => n.id === event.id)) return;
    state.items.unshift({ id: event.id, at: event.time || new Date().toISOString(), ...note });
    state.items = state.items.slice(0, MAX);
    state.unread += 1;
    save(state);
    toast(note.text);
  });
}

// The header's bell: a link to the notifications page with the unread count.
export function bell() {
  const count = el("span", { class: "count", id: "notify-count" });
  const link = el("a", { href: "#/notifications", id: "notify-bell", class: "bell" }, "Notifications", count);
  const paint = (state) => {
    count.textContent = state.unread ? ` ${state.unread}` : "";
    link.setAttribute("aria-label", state.unread ? `Notifications, ${state.unread} unread` : "Notifications");
  };
  paint(load());
  const stop = onChange((state) => { if (!link.isConnected) { stop(); return; } paint(state); });
  return link;
}
