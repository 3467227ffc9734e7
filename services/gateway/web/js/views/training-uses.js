// Where my works were used: per work, the style models and versions trained on it, their share and
// how many images each made, and the work's own consent switch (off withdraws it from those models).

import { api, session } from "../api.js";
import { el, plural, showError, toast } from "../ui.js";
import { workInfo } from "./model-sharing.js";

const percent = (share) => `${Math.round(Number(share) * 1000) / 10}%`;

function modelLine(m) {
  const mine = m.owner_id === session.user?.id;
  const name = mine || m.visibility === "public" ? el("a", { href: `#/models/${m.model_id}` }, m.name) : el("b", {}, m.name);
  return el("li", { class: "use-model", "data-model-id": m.model_id }, name,
    el("span", { class: "muted" }, ` · ${mine ? "your model" : m.visibility === "public" ? "public model" : "someone's private model"}`),
    el("ul", {}, m.versions.map((v) => el("li", { "data-version": v.version },
      `v${v.version}: ${percent(v.share)} of its training images · ${plural(v.generations, "generation")} made`,
      v.status === "consent_withdrawn" ? el("span", { class: "badge warn" },
        `withdrawn${v.withdrawn_at ? ` ${new Date(v.withdrawn_at).toLocaleDateString()}` : ""}`) : el("span", { class: "badge" }, "in use")))));
}

// The work's allow_training flag, switched from here (the same as on its edit page).
function consentSwitch(use, row) {
  const box = el("span", { class: "consent-switch" });
  workInfo(use.work_id).then(async (info) => {
    if (!info.found) { box.replaceChildren(el("span", { class: "muted" }, "deleted: consent withdrawn")); return; }
    let work;
    try { work = await api.get(`/v1/works/${use.work_id}`); } catch { return; }
    const input = el("input", { type: "checkbox", checked: work.allow_training, "aria-label": `Allow training on “${work.title}”` });
    input.addEventListener("change", async () => {
      input.disabled = true;
      try {
        const saved = await api.patch(`/v1/works/${use.work_id}`, { allow_training: input.checked });
        input.checked = saved.allow_training;
        row.classList.toggle("withdrawn", !saved.allow_training);
        toast(saved.allow_training ? "Training allowed again for new models" : "Consent withdrawn: models trained on it stop generating");
      } catch (err) { input.checked = !input.checked; showError(err); } finally { input.disabled = false; }
    });
    box.replaceChildren(el("label", { class: "inline" }, input, "Allow training"));
  });
  return box;
}

function useItem(use) {
  const title = el("h2", {}, use.work_id.slice(-6));
  workInfo(use.work_id).then((w) => title.replaceChildren(w.found ? el("a", { href: `#/works/${use.work_id}` }, w.title) : w.title));
  const row = el("li", { class: `card use${use.withdrawn ? " withdrawn" : ""}`, "data-work-id": use.work_id });
  row.append(el("div", { class: "row" }, title, use.withdrawn ? el("span", { class: "badge warn" }, "consent withdrawn") : null,
    consentSwitch(use, row)), el("ul", { class: "use-models" }, use.models.map(modelLine)));
  return row;
}

export async function render(view) {
  const list = el("ul", { class: "uses", id: "training-uses" });
  const more = el("button", { type: "button", class: "secondary", hidden: true, id: "more-uses" }, "More works");
  view.replaceChildren(el("h1", {}, "Where my works were used"),
    el("p", { class: "muted" }, "Every style model trained on your works, by version. Switching training off for a work ",
      "(or for your whole account in ", el("a", { href: "#/settings" }, "Settings"), ") stops every version trained on it ",
      "from generating; images made before stay as they are."), list, more);
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api.get(`/v1/me/training-uses?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      list.append(...page.items.map(useItem));
      if (!list.children.length) list.replaceWith(el("p", { class: "muted", id: "training-uses" }, "No style model has been trained on your works."));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) { showError(err, list); } finally { more.disabled = false; }
  };
  more.addEventListener("click", load);
  await load();
}
