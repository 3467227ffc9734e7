// Sign up and sign in. A refused field gets its message beside it; the form's error region is live.

import { api, session } from "../api.js";
import { clearFieldErrors, el, showFieldErrors } from "../ui.js";
import { checkModerator } from "../roles.js";

// The server's rule (services/community/passwords.py): at least 10 characters.
export const PASSWORD_MIN = 10;

function done(result, next) {
  session.save(result.token, result.user);
  checkModerator(true);
  window.dispatchEvent(new Event("atelier:signedin"));
  location.hash = next;
}

function form(id, title, fields, submitText, onSubmit, footer) {
  const error = el("div", { class: "form-error", role: "alert", "aria-live": "assertive" });
  const button = el("button", { type: "submit" }, submitText);
  const node = el("form", { class: "card narrow stack", id, novalidate: true }, el("h1", {}, title), ...fields, error, button, footer);
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.replaceChildren();
    clearFieldErrors(node);
    try {
      await onSubmit(Object.fromEntries(new FormData(node)));
    } catch (err) {
      showFieldErrors(node, err, error);
    } finally {
      button.disabled = false;
    }
  });
  return node;
}

const field = (label, name, type = "text", extra = {}, hint = null) => {
  const hintId = hint ? `${name}-hint` : null;
  return el("div", { class: "field" }, el("label", {}, label, el("input", { name, type, required: true,
    "aria-describedby": hintId, "data-hint": hintId, ...extra })), hint ? el("span", { class: "hint muted", id: hintId }, hint) : null);
};

export function signUp(view) {
  view.replaceChildren(form("signup-form", "Create your account", [
    field("Username", "username", "text", { autocomplete: "username", minlength: 3, maxlength: 32 },
      "3 to 32 letters, digits or underscores"),
    field("Email", "email", "email", { autocomplete: "email" }),
    field("Password", "password", "password", { autocomplete: "new-password", minlength: PASSWORD_MIN },
      `At least ${PASSWORD_MIN} characters`),
  ], "Sign up", async (values) => done(await api.post("/v1/auth/signup", values, { idempotent: false }), "#/feed/following"),
  el("p", { class: "muted" }, "Already have an account? ", el("a", { href: "#/signin" }, "Sign in"))));
}

export function signIn(view) {
  view.replaceChildren(form("signin-form", "Welcome back", [
    field("Username or email", "login", "text", { autocomplete: "username" }),
    field("Password", "password", "password", { autocomplete: "current-password" }),
  ], "Sign in", async (values) => done(await api.post("/v1/auth/login", values, { idempotent: false }), "#/feed/following"),
  el("p", { class: "muted" }, "New here? ", el("a", { href: "#/signup" }, "Create an account"))));
}
