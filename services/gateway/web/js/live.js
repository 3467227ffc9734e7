// Live events: one WebSocket per tab, resumed with the last `sequence` after any disconnect.

import { session } from "./api.js";

const CURSOR_KEY = "atelier.live.since";
const listeners = new Set();
let socket = null;
let retryMs = 500;
let wanted = false;

function setStatus(on, text) {
  const node = document.getElementById("live-status");
  if (!node) return;
  node.textContent = on ? "● live" : `○ ${text || "offline"}`;
  node.classList.toggle("on", on);
}

// listener(event) receives each CloudEvent; returns an unsubscribe function.
export function onEvent(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function connect() {
  wanted = true;
  const token = session.token;
  if (!token || socket) return;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/events`;
  const ws = new WebSocket(url, ["atelier.v1", `bearer.${token}`]);
  socket = ws;
  ws.onopen = () => {
    const frame = { subscribe: ["me", "feed", "public"] };
    const since = sessionStorage.getItem(CURSOR_KEY);
    if (since) frame.since = since;
    ws.send(JSON.stringify(frame));
  };
  ws.onmessage = (message) => {
    let doc;
    try { doc = JSON.parse(message.data); } catch { return; }
    if (doc.subscribed) { setStatus(true); retryMs = 500; sessionStorage.setItem(CURSOR_KEY, doc.sequence); return; }
    if (doc.error || doc.notice) { console.warn("live:", doc.error || doc.notice); return; }
    if (doc.sequence) sessionStorage.setItem(CURSOR_KEY, doc.sequence);
    for (const listener of listeners) {
      try { listener(doc); } catch (err) { console.error(err); }
    }
  };
  ws.onclose = (event) => {
    socket = null;
    // 4001 expired, 4401 revoked (account deleted, password changed): the token will not work again.
    const tokenDead = event.code === 4001 || event.code === 4401;
    setStatus(false, tokenDead ? "signed out" : "reconnecting");
    if (tokenDead) return;
    if (!wanted || !session.token) { setStatus(false); return; }
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 15000);
  };
}

export function disconnect() {
  wanted = false;
  sessionStorage.removeItem(CURSOR_KEY);
  if (socket) socket.close(1000, "signed out");
  socket = null;
  setStatus(false);
}

export const subject = (event) => (event.type || "").replace(/^atelier\./, "");
