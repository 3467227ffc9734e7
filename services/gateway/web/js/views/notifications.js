// What happened while you were here: likes, comments, follows, finished trainings and generations.

import { el } from "../ui.js";
import * as notify from "../notify.js";

export function render(view) {
  const list = el("ul", { class: "notifications", id: "notifications", "aria-live": "polite" });
  const paint = () => {
    const items = notify.all();
    list.replaceChildren(...(items.length ? items.map((n) => el("li", {},
      el("a", { href: n.href }, n.text), el("span", { class: "muted" }, ` · ${new Date(n.at).toLocaleTimeString()}`)))
      : [el("li", { class: "muted" }, "Nothing yet. Likes, comments, new followers and finished jobs appear here as they happen.")]));
  };
  paint();
  notify.markRead();
  view.replaceChildren(el("h1", {}, "Notifications"), list);
  const stop = notify.onChange((state) => { paint(); if (state.unread) notify.markRead(); });
  return stop;
}
