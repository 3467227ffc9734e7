// API reference rendered from /v1/openapi.json: paths, methods, parameters, bodies, responses.
// Self-contained on purpose (no CDN, no swagger-ui): the gateway serves everything it needs.

const METHODS = ["get", "post", "put", "patch", "delete"];
const MAX_DEPTH = 6;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A tiny, safe subset of Markdown: paragraphs, "* " bullets, **bold**, `code`. Text only, no HTML.
function inline(text) {
  const out = [];
  const pattern = /(\*\*[^*]+\*\*|`[^`]+`)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    out.push(text.slice(last, match.index));
    const token = match[0];
    out.push(token.startsWith("**") ? el("strong", {}, token.slice(2, -2)) : el("code", {}, token.slice(1, -1)));
    last = match.index + token.length;
  }
  out.push(text.slice(last));
  return out;
}

function markdown(text) {
  const box = el("div", { class: "desc" });
  for (const block of (text || "").split(/\n\s*\n/)) {
    const lines = block.split("\n");
    if (lines.every((l) => /^\s*[*-] /.test(l) || /^\s{2,}\S/.test(l))) {
      const list = el("ul");
      for (const line of lines) {
        if (/^\s*[*-] /.test(line)) list.append(el("li", {}, inline(line.replace(/^\s*[*-] /, ""))));
        else list.lastChild?.append(" ", ...inline(line.trim()));
      }
      box.append(list);
    } else {
      box.append(el("p", {}, inline(lines.join(" "))));
    }
  }
  return box;
}

function resolve(doc, node) {
  let seen = 0;
  while (node && node.$ref && seen++ < 10) {
    const parts = node.$ref.replace(/^#\//, "").split("/");
    node = parts.reduce((acc, key) => (acc ? acc[key] : undefined), doc);
  }
  return node || {};
}

function refName(node) {
  return node && node.$ref ? node.$ref.split("/").pop() : null;
}

function typeLabel(doc, schema) {
  const s = resolve(doc, schema);
  const name = refName(schema);
  if (s.const !== undefined) return `const ${JSON.stringify(s.const)}`;
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  const variants = s.anyOf || s.oneOf;
  if (variants) return variants.map((v) => typeLabel(doc, v)).join(" | ");
  let type = Array.isArray(s.type) ? s.type.join(" | ") : s.type || (s.properties ? "object" : "any");
  if (type === "array" && s.items) type = `array of ${typeLabel(doc, s.items)}`;
  if (s.format) type += ` (${s.format})`;
  return name ? `${name}: ${type}` : type;
}

function constraints(s) {
  const notes = [];
  for (const [key, label] of [["minLength", "min length"], ["maxLength", "max length"], ["minimum", "≥"],
    ["maximum", "≤"], ["minItems", "min items"], ["maxItems", "max items"], ["pattern", "pattern"]]) {
    if (s[key] !== undefined) notes.push(`${label} ${s[key]}`);
  }
  if (s.default !== undefined) notes.push(`default ${JSON.stringify(s.default)}`);
  return notes.length ? el("span", { class: "muted" }, ` — ${notes.join(", ")}`) : null;
}

function schemaView(doc, schema, depth = 0) {
  const s = resolve(doc, schema);
  const box = el("div", { class: "schema" });
  if (depth > MAX_DEPTH) return box;
  if (s.description && depth === 0) box.append(el("div", { class: "muted" }, s.description));
  const variants = s.anyOf || s.oneOf;
  if (variants && variants.some((v) => resolve(doc, v).properties)) {
    variants.forEach((v, i) => box.append(el("div", {}, el("em", {}, `option ${i + 1}`), schemaView(doc, v, depth + 1))));
    return box;
  }
  const props = s.properties || {};
  const required = new Set(s.required || []);
  for (const [name, prop] of Object.entries(props)) {
    const p = resolve(doc, prop);
    const row = el("div", { class: "prop" }, el("code", {}, name), " ", el("span", { class: "type" }, typeLabel(doc, prop)),
      required.has(name) ? el("span", { class: "req" }, " required") : null, constraints(p),
      p.description ? el("span", { class: "muted" }, ` — ${p.description}`) : null);
    box.append(row);
    const inner = p.type === "array" ? resolve(doc, p.items) : p;
    if (inner.properties) box.append(schemaView(doc, p.type === "array" ? p.items : prop, depth + 1));
  }
  if (!Object.keys(props).length) box.append(el("div", {}, el("span", { class: "type" }, typeLabel(doc, schema)), constraints(s)));
  return box;
}

function parametersView(doc, params) {
  if (!params.length) return null;
  const table = el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "description")));
  for (const raw of params) {
    const p = resolve(doc, raw);
    table.append(el("tr", {}, el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "req" }, " required") : null),
      el("td", {}, p.in), el("td", { class: "type" }, typeLabel(doc, p.schema || {})), el("td", {}, p.description ? markdown(p.description) : "")));
  }
  return [el("h4", {}, "Parameters"), table];
}

function contentView(doc, content) {
  return Object.entries(content || {}).map(([type, media]) => el("div", {},
    el("span", { class: "badge" }, type), media.schema ? schemaView(doc, media.schema) : null));
}

function requestView(doc, body) {
  if (!body) return null;
  const b = resolve(doc, body);
  return [el("h4", {}, "Request body", b.required ? el("span", { class: "req" }, " required") : null),
    b.description ? markdown(b.description) : null, ...contentView(doc, b.content)];
}

function responsesView(doc, responses) {
  const rows = [el("h4", {}, "Responses")];
  for (const [status, raw] of Object.entries(responses || {})) {
    const r = resolve(doc, raw);
    rows.push(el("div", {}, el("span", { class: `status s${status[0]}` }, status), " ", r.description || "",
      ...contentView(doc, r.content)));
  }
  return rows;
}

function operationView(doc, path, method, op) {
  const id = `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, "-");
  const secured = (op.security || doc.security || []).length > 0;
  return el("details", { class: "op", id, "data-search": `${method} ${path} ${op.summary || ""}`.toLowerCase() },
    el("summary", {}, el("span", { class: `method ${method}` }, method), el("span", { class: "path" }, path),
      el("span", { class: "summary" }, op.summary || ""), secured ? el("span", { class: "badge" }, "bearer") : null),
    el("div", { class: "body" }, op.description ? markdown(op.description) : null,
      parametersView(doc, [...(op.parameters || [])]), requestView(doc, op.requestBody), responsesView(doc, op.responses)));
}

function render(doc) {
  const main = document.getElementById("main");
  const nav = document.getElementById("nav");
  main.replaceChildren(el("h1", {}, doc.info?.title || "API"), markdown(doc.info?.description || ""));
  nav.replaceChildren();
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      const op = { ...item[method], parameters: [...(item.parameters || []), ...(item[method].parameters || [])] };
      const tag = (op.tags && op.tags[0]) || path.split("/")[2] || "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push([path, method, op]);
    }
  }
  for (const [tag, ops] of [...groups.entries()].sort()) {
    main.append(el("h2", { class: "tag", id: `tag-${tag}` }, tag));
    nav.append(el("h3", {}, tag));
    for (const [path, method, op] of ops) {
      const view = operationView(doc, path, method, op);
      main.append(view);
      nav.append(el("a", { href: `#${view.id}`, "data-search": view.dataset.search }, `${method.toUpperCase()} ${path}`));
    }
  }
  if (location.hash) document.getElementById(location.hash.slice(1))?.setAttribute("open", "");
}

function wireFilter() {
  document.getElementById("filter").addEventListener("input", (event) => {
    const needle = event.target.value.trim().toLowerCase();
    for (const node of document.querySelectorAll("[data-search]")) {
      node.hidden = needle !== "" && !node.dataset.search.includes(needle);
    }
  });
  window.addEventListener("hashchange", () => document.getElementById(location.hash.slice(1))?.setAttribute("open", ""));
}

async function main() {
  wireFilter();
  try {
    const resp = await fetch("/v1/openapi.json", { headers: { Accept: "application/json" } });
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    render(await resp.json());
  } catch (err) {
    document.getElementById("main").replaceChildren(el("p", {}, `Could not load the API description: ${err.message}`));
  }
}

main();
