// Insights: how your works are received, as small inline SVG charts (no chart library).

import { api, isMissing } from "../api.js";
import { el, unavailable } from "../ui.js";

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children.flat(Infinity)) if (child) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function lineChart(series, width = 640, height = 180) {
  const pad = 28;
  const points = series[0]?.points || [];
  const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.count)));
  const x = (i) => pad + (i * (width - 2 * pad)) / Math.max(1, points.length - 1);
  const y = (v) => height - pad - (v * (height - 2 * pad)) / max;
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": series.map((s) => s.name).join(" and ") },
    svg("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, stroke: "#ccc" }),
    svg("text", { x: 4, y: pad, "font-size": 11, fill: "#888" }, String(max)),
    points.length ? svg("text", { x: pad, y: height - 8, "font-size": 11, fill: "#888" }, points[0].date) : null,
    points.length ? svg("text", { x: width - pad, y: height - 8, "font-size": 11, fill: "#888", "text-anchor": "end" }, points.at(-1).date) : null,
    series.map((s, k) => [
      svg("polyline", { fill: "none", stroke: s.color, "stroke-width": 2, points: s.points.map((p, i) => `${x(i)},${y(p.count)}`).join(" ") }),
      svg("text", { x: width - pad - 120 * (k + 1) + 120, y: 16, "font-size": 12, fill: s.color, "text-anchor": "end" }, s.name),
    ]));
}

function barChart(rows, label, value, title, width = 640) {
  const bar = 22;
  const height = Math.max(40, rows.length * (bar + 6) + 10);
  const max = Math.max(1, ...rows.map(value));
  const summary = `${title}: ${rows.map((row) => `${label(row)} ${value(row)}`).join(", ")}`;
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary },
    rows.map((row, i) => {
      const w = ((width - 200) * value(row)) / max;
      return [svg("text", { x: 8, y: 8 + i * (bar + 6) + 16, "font-size": 13 }, label(row)),
        svg("rect", { x: 140, y: 8 + i * (bar + 6), width: Math.max(1, w), height: bar, rx: 4, fill: "#2f5d9e" }),
        svg("text", { x: 146 + w, y: 8 + i * (bar + 6) + 16, "font-size": 12, fill: "#4f4a44" }, String(value(row)))];
    }));
}

// A model_seed suggestion's ready body as the generate form's link (#/generate/MODEL?mode=...&seed=...).
function generateLink(body, label) {
  if (!body) return null;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) if (k !== "model_id" && v != null) q.set(k, String(v));
  return el("a", { href: `#/generate/${body.model_id}?${q}`, class: "button small" }, label);
}

// Suggestions (GET /v1/me/suggestions): only what the data says clearly, each with why and how sure.
function suggestionList(answer) {
  if (!answer) return el("p", { class: "muted" }, "Suggestions are not available right now.");
  if (!answer.items.length) return el("p", { class: "muted" }, "No suggestion yet: nothing stands out clearly enough in your data.");
  return el("ul", { id: "suggestions" }, answer.items.map((s) => el("li", { class: "suggestion" },
    el("strong", {}, s.title), el("p", {}, s.explanation),
    el("span", { class: "muted" }, `confidence ${Math.round(100 * s.confidence)}%`),
    s.kind === "follow" ? el("a", { href: `#/users/${s.subject}` }, ` @${s.subject}`) : null,
    s.kind === "model_seed" ? generateLink(s.generate, `Generate from seed ${s.generate.seed} →`) : null,
    s.kind === "model_seed" && s.generate_edit
      ? generateLink(s.generate_edit, `…moved along direction ${s.generate_edit.direction} →`) : null)));
}

export async function render(view) {
  let data;
  const suggested = api.get("/v1/me/suggestions").catch(() => null);
  try { data = await api.get("/v1/me/insights"); } catch (err) {
    view.replaceChildren(el("h1", {}, "Insights"), isMissing(err) ? unavailable("Insights") : el("p", { class: "error" }, err.message));
    return;
  }
  const t = data.totals || {};
  const suggestions = await suggested;
  view.replaceChildren(el("div", {}, el("h1", {}, "Insights"),
    el("p", {}, `${t.works ?? 0} works · ${t.likes ?? 0} likes · ${t.comments ?? 0} comments`,
      el("span", { class: "muted" }, ` (last ${data.window_days} days below)`)),
    el("h2", {}, "Suggestions"), suggestionList(suggestions),
    el("h2", {}, "Likes and comments per day"),
    lineChart([{ name: "likes", color: "#a8322d", points: data.likes_over_time || [] },
      { name: "comments", color: "#2f5d9e", points: data.comments_over_time || [] }]),
    el("h2", {}, "Likes by tag"), (data.by_tag || []).length ? barChart(data.by_tag, (r) => `#${r.tag}`, (r) => r.likes, "Likes by tag")
      : el("p", { class: "muted" }, "Tag your works to see which themes resonate."),
    el("h2", {}, "Likes by origin"), (data.by_origin || []).length ? barChart(data.by_origin, (r) => r.origin, (r) => r.likes, "Likes by origin")
      : el("p", { class: "muted" }, "Publish a work to see how human, AI and collaborative works compare."),
    el("h2", {}, "Palettes of your most liked works"),
    (data.top_works || []).length ? null : el("p", { class: "muted" }, "No liked works yet."),
    el("ul", {}, (data.top_works || []).map((w) => el("li", { class: "row" },
      el("span", { class: "swatches" }, (w.palette || []).map((c) => el("span", { style: `background:${c}`, title: c }))),
      el("a", { href: `#/works/${w.work_id}` }, w.title), el("span", { class: "muted" }, `♥ ${w.like_count}`))))));
}
