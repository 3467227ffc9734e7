// How a generation's settings read to a person, and how they go back into the form ("reuse").

export function describeSettings(gen) {
  const p = gen.params || {};
  const parts = [`v${gen.version}`];
  if (gen.mode === "interpolate") parts.push(`seeds ${p.base_seed ?? gen.seed} → ${p.target_seed}`);
  else if (gen.mode === "variations") parts.push(`around seed ${p.base_seed ?? gen.seed}, strength ${p.strength ?? "default"}`);
  else if (gen.mode === "edit") parts.push(`seed ${gen.seed}, direction ${p.direction}, amount ${p.amount > 0 ? "+" : ""}${p.amount}`);
  else parts.push(`seed ${gen.seed}`);
  if (p.truncation != null) parts.push(`truncation ${p.truncation}`);
  return parts.join(" · ");
}

// The form values that make the same generation again (#/generate/MODEL?mode=...&seed=...).
export function reuseQuery(gen) {
  const p = gen.params || {};
  const q = new URLSearchParams({ mode: gen.mode, count: String(gen.count), version: String(gen.version) });
  if (gen.mode === "sample" || gen.mode === "edit") q.set("seed", String(gen.seed));
  if (gen.mode === "variations" || gen.mode === "interpolate") q.set("base_seed", String(p.base_seed ?? gen.seed));
  if (gen.mode === "edit") { q.set("direction", String(p.direction)); q.set("amount", String(p.amount)); }
  if (gen.mode === "variations") { if (p.seed != null) q.set("seed", String(p.seed)); else q.set("seed", String(gen.seed)); }
  if (p.strength != null) q.set("strength", String(p.strength));
  if (p.target_seed != null) q.set("target_seed", String(p.target_seed));
  if (p.truncation != null) q.set("truncation", String(p.truncation));
  return q;
}
