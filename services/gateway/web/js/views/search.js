// Search works: full text, tag, origin and order; the filters live in the URL (#/search?q=&tag=...).

import { api } from "../api.js";
import { el, grid, showError, workTile } from "../ui.js";

const ORIGINS = [["", "any origin"], ["human", "by hand"], ["collab", "human + AI"], ["ai", "AI-generated"]];
const SORTS = [["new", "newest"], ["top", "most liked"]];

// "ink #botanical" → q=ink&tag=botanical (the search box accepts one #tag among the words).
export function queryFor(text) {
  const params = new URLSearchParams();
  const words = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (word.startsWith("#") && word.length > 1 && !params.has("tag")) params.set("tag", word.slice(1).toLowerCase());
    else words.push(word);
  }
  if (words.length) params.set("q", words.join(" "));
  return params.toString();
}

export async function render(view, params) {
  const value = (name) => params.get(name) || "";
  const select = (name, options) => el("select", { name, id: `filter-${name}` },
    options.map(([v, text]) => el("option", { value: v, selected: value(name) === v }, text)));
  const form = el("form", { class: "card row filters", id: "search-form", role: "search", "aria-label": "Filters" },
    el("label", {}, "Words", el("input", { type: "search", name: "q", value: value("q"), maxlength: 200 })),
    el("label", {}, "Tag", el("input", { type: "text", name: "tag", value: value("tag"), maxlength: 32, placeholder: "e.g. ink" })),
    el("label", {}, "Origin", select("origin", ORIGINS)),
    el("label", {}, "Sort by", select("sort", SORTS)),
    el("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim() && !(k === "sort" && v === "new")) next.set(k, String(v).trim().replace(/^#/, ""));
    location.hash = `#/search?${next}`;
  });
  const results = el("div", { id: "search-results", "aria-live": "polite" }, el("p", { class: "muted" }, "Searching…"));
  const more = el("button", { class: "secondary", hidden: true }, "Load more");
  const summary = [value("q") && `“${value("q")}”`, value("tag") && `#${value("tag")}`].filter(Boolean).join(" ");
  view.replaceChildren(el("h1", {}, summary ? `Search: ${summary}` : "Search works"), form, results, el("div", { class: "row" }, more));
  const q = document.getElementById("search-q");
  if (q) q.value = [value("q"), value("tag") && `#${value("tag")}`].filter(Boolean).join(" ");

  const query = new URLSearchParams({ limit: "24" });
  for (const name of ["q", "tag", "origin", "sort"]) if (value(name)) query.set(name, value(name));
  const seen = [];
  let cursor = null;
  async function load() {
    more.disabled = true;
    try {
      const page = await api.get(`/v1/works?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      seen.push(...page.items);
      cursor = page.next_cursor;
      results.replaceChildren(el("p", { class: "muted", id: "result-count" }, `${seen.length}${cursor ? "+" : ""} work${seen.length === 1 ? "" : "s"} found`),
        seen.length ? grid(seen, (w) => workTile(w)) : el("p", { class: "muted" }, "Nothing matches. Try fewer words or another tag."));
      more.hidden = !cursor;
    } catch (err) { showError(err, results); } finally { more.disabled = false; }
  }
  more.addEventListener("click", load);
  await load();
}
