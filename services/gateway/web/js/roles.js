// Whether the signed-in user is a moderator: the API has no flag for it, so the app asks the queue
// once per session (403 = not a moderator) and remembers the answer.

import { api, session } from "./api.js";

const KEY = "atelier.moderator";

export function isModerator() {
  return Boolean(session.user) && sessionStorage.getItem(KEY) === "1";
}

export async function checkModerator(force = false) {
  if (!session.user) { sessionStorage.removeItem(KEY); return false; }
  if (!force && sessionStorage.getItem(KEY) !== null) return isModerator();
  sessionStorage.removeItem(KEY);
  let yes = false;
  try { await api.get("/v1/moderation/queue?limit=1"); yes = true; } catch { yes = false; }
  if (!session.user) return false;
  sessionStorage.setItem(KEY, yes ? "1" : "0");
  window.dispatchEvent(new Event("atelier:roles"));
  return yes;
}

export function forgetRoles() {
  sessionStorage.removeItem(KEY);
}
