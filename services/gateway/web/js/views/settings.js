// Your account: display name, bio, the account-wide training consent (on and off), then password,
// data export and deleting the account (views/account.js).

import { api, session } from "../api.js";
import { clearFieldErrors, el, showError, showFieldErrors, toast } from "../ui.js";
import { accountSections } from "./account.js";

export async function render(view) {
  let me;
  try { me = await api.get("/v1/me"); } catch (err) { showError(err, view); return; }
  const status = el("div", { class: "form-error", role: "status", "aria-live": "polite", id: "settings-status" });
  const consent = el("input", { type: "checkbox", name: "allow_training", id: "allow-training-setting", checked: me.allow_training });
  const form = el("form", { class: "card stack narrow-wide", id: "settings-form", novalidate: true },
    el("label", {}, "Display name", el("input", { name: "display_name", maxlength: 64, value: me.display_name || "" })),
    el("label", {}, "Bio", el("textarea", { name: "bio", rows: 4, maxlength: 1000 }, me.bio || "")),
    el("fieldset", {}, el("legend", {}, "Style-model training"),
      el("label", { class: "inline" }, consent, "Allow style models to be trained on the works I mark as trainable"),
      el("p", { class: "muted" }, "Switching this off withdraws consent from every model trained on your works: ",
        "their versions stop generating and their owners are told. ",
        el("a", { href: "#/training-uses" }, "Where my works were used"))),
    status, el("div", { class: "row" }, el("button", { type: "submit" }, "Save settings")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    status.replaceChildren();
    const v = new FormData(form);
    const body = { display_name: String(v.get("display_name") || ""), bio: String(v.get("bio") || ""),
      allow_training: v.get("allow_training") === "on" };
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      me = await api.patch("/v1/me", body);
      session.save(session.token, { ...session.user, display_name: me.display_name });
      status.replaceChildren(el("p", { class: "ok-text" }, `Saved. Training on your works is ${me.allow_training ? "allowed" : "off"}.`));
      toast("Settings saved");
    } catch (err) { showFieldErrors(form, err, status); } finally { button.disabled = false; }
  });
  view.replaceChildren(el("h1", {}, "Settings"), el("p", { class: "muted" }, `Signed in as @${me.username} (${me.email})`), form,
    el("div", { class: "stack account" }, accountSections()));
}
