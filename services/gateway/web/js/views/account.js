// The account's end of Settings: change the password, download all my data, delete the account
// (password, then one more confirmation). Each form reports beside its fields and in its own live region.

import { ApiError, request, session } from "../api.js";
import { clearFieldErrors, el, showFieldErrors, toast } from "../ui.js";
import { PASSWORD_MIN } from "./auth.js";

const passwordField = (label, name, autocomplete, hint = null) => {
  const hintId = hint ? `${name}-hint` : null;
  return el("div", { class: "field" }, el("label", {}, label, el("input", { name, type: "password", required: true,
    autocomplete, "aria-describedby": hintId, "data-hint": hintId })), hint ? el("span", { class: "hint muted", id: hintId }, hint) : null);
};

// A wrong current password comes back as a 403 on the field "password": put it beside the field asked.
function onField(err, name) {
  if (err instanceof ApiError && err.problem.errors) {
    err.problem.errors = err.problem.errors.map((e) => (e.field === "password" ? { ...e, field: name } : e));
  }
  return err;
}

function passwordForm() {
  const status = el("div", { class: "form-error", role: "status", "aria-live": "polite", id: "password-status" });
  const button = el("button", { type: "submit" }, "Change password");
  const form = el("form", { class: "card stack narrow-wide", id: "password-form", novalidate: true, "aria-labelledby": "password-title" },
    el("h2", { id: "password-title" }, "Password"),
    passwordField("Current password", "current", "current-password"),
    passwordField("New password", "new", "new-password", `At least ${PASSWORD_MIN} characters`),
    el("p", { class: "muted" }, "Changing it signs you out everywhere else; this browser stays signed in."),
    status, el("div", { class: "row" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    status.replaceChildren();
    const v = new FormData(form);
    button.disabled = true;
    try {
      const result = await request("POST", "/v1/me/password", { json: { current: v.get("current"), new: v.get("new") } });
      session.save(result.token, { ...session.user, ...result.user });
      form.reset();
      status.replaceChildren(el("p", { class: "ok-text" }, "Password changed. Other sessions are signed out."));
      toast("Password changed");
    } catch (err) { showFieldErrors(form, onField(err, "current"), status); } finally { button.disabled = false; }
  });
  return form;
}

// The archive streams from the gateway with the bearer token, so it is fetched here and saved as a file.
function exportCard() {
  const status = el("div", { role: "status", "aria-live": "polite", id: "export-status" });
  const button = el("button", { type: "button", class: "secondary", id: "export-data" }, "Download my data");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.replaceChildren(el("p", { class: "muted" }, "Preparing the archive…"));
    try {
      const resp = await request("GET", "/v1/me/export", { raw: true });
      const name = /filename="([^"]+)"/.exec(resp.headers.get("Content-Disposition") || "")?.[1] || "atelier-export.zip";
      const url = URL.createObjectURL(await resp.blob());
      const a = el("a", { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      status.replaceChildren(el("p", { class: "ok-text" }, `Downloaded ${name}.`));
    } catch (err) {
      status.replaceChildren(el("p", { class: "error" }, `The export failed: ${err.message}`));
    } finally { button.disabled = false; }
  });
  return el("section", { class: "card stack narrow-wide", "aria-labelledby": "export-title" },
    el("h2", { id: "export-title" }, "Your data"),
    el("p", {}, "A zip of your profile, works, comments, likes, boards and follows (JSON) with the original files you uploaded."),
    el("div", { class: "row" }, button), status);
}

// Deleting asks for the password, then once more in words; only the second press deletes.
function deleteForm() {
  const status = el("div", { class: "form-error", role: "alert", id: "delete-status" });
  const ask = el("button", { type: "submit", class: "danger", id: "delete-account" }, "Delete my account");
  const confirmBox = el("div", { class: "confirm", id: "delete-confirm", hidden: true });
  const form = el("form", { class: "card stack narrow-wide danger-zone", id: "delete-form", novalidate: true, "aria-labelledby": "delete-title" },
    el("h2", { id: "delete-title" }, "Delete account"),
    el("p", {}, "Your works, uploads, boards, likes, comments and follows are removed, training consent on your works ",
      "is withdrawn and every session ends. This cannot be undone."),
    passwordField("Password", "password", "current-password"), status, el("div", { class: "row" }, ask), confirmBox);
  const reset = () => { confirmBox.hidden = true; confirmBox.replaceChildren(); ask.hidden = false; };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    status.replaceChildren();
    const password = String(new FormData(form).get("password") || "");
    if (!password) {
      showFieldErrors(form, new ApiError(422, { detail: "the password is needed",
        errors: [{ field: "password", message: "enter your password to delete the account" }] }), status);
      return;
    }
    const yes = el("button", { type: "button", class: "danger", id: "delete-account-confirm" }, "Yes, delete my account for good");
    const no = el("button", { type: "button", class: "secondary", id: "delete-account-keep" }, "Keep my account");
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      try {
        await request("DELETE", "/v1/me", { json: { password } });
        window.dispatchEvent(new Event("atelier:signout"));
        toast("Your account was deleted");
      } catch (err) {
        reset();
        showFieldErrors(form, onField(err, "password"), status);
      }
    });
    no.addEventListener("click", () => { reset(); ask.focus(); });
    ask.hidden = true;
    confirmBox.replaceChildren(el("p", { role: "alert" }, `Delete @${session.user?.username} and everything it made?`), yes, no);
    confirmBox.hidden = false;
    yes.focus();
  });
  return form;
}

export function accountSections() {
  return [passwordForm(), exportCard(), deleteForm()];
}
