// Sign up and sign in.

import { api, session } from "../api.js";
import { el, showError } from "../ui.js";

function done(result) {
  session.save(result.token, result.user);
  window.dispatchEvent(new Event("atelier:signedin"));
  location.hash = "#/feed/following";
}

function form(title, fields, submitText, onSubmit, footer) {
  const error = el("div", { class: "form-error" });
  const button = el("button", { type: "submit" }, submitText);
  const node = el("form", { class: "card narrow stack", novalidate: true }, el("h1", {}, title), ...fields, error, button, footer);
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.replaceChildren();
    try {
      await onSubmit(Object.fromEntries(new FormData(node)));
    } catch (err) {
      showError(err, error);
    } finally {
      button.disabled = false;
    }
  });
  return node;
}

const field = (label, name, type = "text", extra = {}) =>
  el("label", {}, label, el("input", { name, type, required: true, ...extra }));

export function signUp(view) {
  view.replaceChildren(form("Create your account", [
    field("Username", "username", "text", { autocomplete: "username", minlength: 3, maxlength: 32 }),
    field("Email", "email", "email", { autocomplete: "email" }),
    field("Password", "password", "password", { autocomplete: "new-password", minlength: 8 }),
  ], "Sign up", async (values) => done(await api.post("/v1/auth/signup", values, { idempotent: false })),
  el("p", { class: "muted" }, "Already have an account? ", el("a", { href: "#/signin" }, "Sign in"))));
}

export function signIn(view) {
  view.replaceChildren(form("Welcome back", [
    field("Username or email", "login", "text", { autocomplete: "username" }),
    field("Password", "password", "password", { autocomplete: "current-password" }),
  ], "Sign in", async (values) => done(await api.post("/v1/auth/login", values, { idempotent: false })),
  el("p", { class: "muted" }, "New here? ", el("a", { href: "#/signup" }, "Create an account"))));
}
