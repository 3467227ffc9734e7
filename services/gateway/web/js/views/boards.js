// Boards: your ordered collections of works (yours or anyone's), public or private.

import { api, session } from "../api.js";
import { clearFieldErrors, confirmButton, el, grid, mount, plural, showError, showFieldErrors, toast, workTile } from "../ui.js";

export async function list(view) {
  const items = el("div", { id: "boards" }, el("p", { class: "muted" }, "Loading…"));
  const status = el("div", { class: "form-error", role: "alert" });
  const form = el("form", { class: "card row", id: "new-board", novalidate: true },
    el("label", {}, "New board", el("input", { name: "title", required: true, maxlength: 200, placeholder: "e.g. Ink references" })),
    el("label", {}, "Visibility", el("select", { name: "visibility" }, el("option", { value: "public" }, "public"),
      el("option", { value: "private" }, "private"))),
    el("button", { type: "submit" }, "Create board"), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    status.replaceChildren();
    const v = new FormData(form);
    try {
      const board = await api.post("/v1/collections", { title: String(v.get("title") || ""), visibility: v.get("visibility") });
      location.hash = `#/boards/${board.id}`;
    } catch (err) { showFieldErrors(form, err, status); }
  });
  view.replaceChildren(el("h1", {}, "Boards"),
    el("p", { class: "muted" }, "Gather works into boards: add any work from its page with “Save to board”."), form, items);
  try {
    const page = await api.get("/v1/collections?limit=100");
    items.replaceChildren(page.items.length ? el("ul", { class: "boards" }, page.items.map((b) => el("li", {},
      el("a", { href: `#/boards/${b.id}` }, b.title),
      el("span", { class: "muted" }, ` · ${plural(b.work_count, "work")} · ${b.visibility}`))))
      : el("p", { class: "muted" }, "No boards yet."));
  } catch (err) { showError(err, items); }
}

export async function detail(view, id) {
  let board;
  try { board = await api.get(`/v1/collections/${id}`); } catch (err) { showError(err, view); return; }
  const own = session.user && session.user.id === board.owner.id;
  const works = board.works || [];
  const body = el("div", { id: "board-works" });
  const paint = () => body.replaceChildren(works.length ? grid(works, (w) => {
    const tile = workTile(w);
    if (!own) return tile;
    return el("div", { class: "board-item" }, tile, el("button", { type: "button", class: "secondary small",
      "aria-label": `Remove “${w.title}” from this board`, onclick: () => remove(w.id) }, "Remove"));
  }) : el("p", { class: "muted" }, own ? "Empty: open a work and choose “Save to board”." : "This board is empty."));
  async function remove(workId) {
    const next = works.filter((w) => w.id !== workId);
    try {
      await api.patch(`/v1/collections/${id}`, { work_ids: next.map((w) => w.id) });
      works.splice(0, works.length, ...next);
      paint();
      toast("Removed from the board");
    } catch (err) { showError(err); }
  }
  paint();
  const actions = own ? el("div", { class: "row" },
    confirmButton("Delete board", `Really delete “${board.title}”? The works stay.`, async () => {
      await api.del(`/v1/collections/${id}`);
      toast("Board deleted");
      location.hash = "#/boards";
    }, { id: "delete-board" })) : null;
  mount(view, el("h1", {}, board.title),
    el("p", { class: "muted" }, "by ", el("a", { href: `#/users/${board.owner.username}` }, `@${board.owner.username}`),
      ` · ${plural(works.length, "work")} · ${board.visibility}`),
    board.description ? el("p", {}, board.description) : null, actions, body);
}

// "Save to board" on a work page: pick one of your boards (or make one) and append the work.
export function saveControl(work) {
  const box = el("div", { class: "row save-board" });
  const select = el("select", { "aria-label": "Board", id: "board-select" });
  const button = el("button", { type: "button", class: "secondary", id: "save-to-board" }, "Save to board");
  const name = el("input", { "aria-label": "New board name", id: "new-board-name", maxlength: 200, value: "Favourites", hidden: true });
  select.addEventListener("change", () => { name.hidden = Boolean(select.value); });
  box.append(select, name, button);
  let boards = [];
  api.get("/v1/collections?limit=100").then((page) => {
    boards = page.items;
    select.replaceChildren(...boards.map((b) => el("option", { value: b.id }, b.title)),
      el("option", { value: "" }, "+ new board"));
    name.hidden = Boolean(select.value);
  }).catch(() => box.replaceChildren());
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      if (!select.value) {
        const title = name.value.trim();
        if (!title) { toast("Name the new board first", "error"); name.focus(); return; }
        const board = await api.post("/v1/collections", { title, work_ids: [work.id] });
        toast(`Saved to “${board.title}”`);
        boards.push(board);
        select.prepend(el("option", { value: board.id }, board.title));
        select.value = board.id;
        name.hidden = true;
        return;
      }
      const board = await api.get(`/v1/collections/${select.value}`);
      const ids = (board.works || []).map((w) => w.id);
      if (ids.includes(work.id)) { toast(`Already in “${board.title}”`); return; }
      await api.patch(`/v1/collections/${board.id}`, { work_ids: [...ids, work.id] });
      toast(`Saved to “${board.title}”`);
    } catch (err) { showError(err); } finally { button.disabled = false; }
  });
  return box;
}
