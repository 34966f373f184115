// The portal's only script (CSP: script-src 'self'; no inline code). Pages post JSON to /api/v1;
// the session lives in an HttpOnly cookie this script never sees. Signed-in pages carry the
// session's CSRF token in each form's hidden _csrf field, which goes back in X-CSRF-Token.
"use strict";

const resolution = () => `${window.screen.width}x${window.screen.height}`;
const nextPath = () => new URLSearchParams(window.location.search).get("next") || undefined;

async function post(path, body, headers = {}, method = "POST") {
  const response = await fetch(`/api/v1/${path}`, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Display-Resolution": resolution(), ...headers },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (_) { /* 204 */ }
  return { status: response.status, data };
}

// A double click is one attempt, not two: the form's buttons stay disabled until its answer is in.
async function inFlight(form, work) {
  const buttons = form.querySelectorAll("button, input[type=submit]");
  if (form.dataset.busy === "1") { return; }
  form.dataset.busy = "1";
  for (const button of buttons) { button.disabled = true; }
  try { await work(); } finally {
    form.dataset.busy = "";
    for (const button of buttons) { button.disabled = false; }
  }
}

function showError(message) {
  document.getElementById("error").textContent = message;
}

const pages = {
  register() {
    // The invitation token travels in the fragment, which the browser never sends to a server;
    // take it, then remove it from the address bar and the history.
    const token = decodeURIComponent(window.location.hash.slice(1));
    document.getElementById("token").value = token;
    history.replaceState(null, "", "/register");
    document.getElementById("register-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      inFlight(form, async () => {
      const { status, data } = await post("auth/register", {
        token: form.token.value, name: form.name.value, phone: form.phone.value, password: form.password.value,
      });
      if (status === 201) { window.location.assign("/signin"); } else { showError(data.error || "registration failed"); }
      });
    });
  },

  signin() {
    document.getElementById("signin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      inFlight(form, async () => {
      const { status, data } = await post("auth/sign-in", { email: form.email.value, password: form.password.value, resolution: resolution(), next: nextPath() });
      // The server answers with a local path only.
      if (status === 200 || status === 202) { window.location.assign(data.redirect); }
      else { showError(data.error || "sign-in failed"); }
      });
    });
  },

  code() {
    document.getElementById("code-form").addEventListener("submit", (event) => {
      event.preventDefault();
      inFlight(event.target, async () => {
      const { status, data } = await post("auth/code", { code: event.target.code.value, next: nextPath() });
      if (status === 200) { window.location.assign(data.redirect); }
      else if (status === 401) { showError(`That code is not right: ${data.remainingTries} tries left.`); }
      else { window.location.assign("/signin"); }
      });
    });
  },

};

// Signed-in pages: a form with data-api="METHOD /path" sends its fields as JSON. Checkboxes named
// "claims" make a list; a lone checkbox is a boolean; _csrf goes in the header, not the body.
function formBody(form) {
  const body = {};
  for (const element of form.elements) {
    if (!element.name || element.name === "_csrf") { continue; }
    if (element.type === "checkbox") {
      if (element.name === "claims") { (body.claims ||= []); if (element.checked) { body.claims.push(element.value); } }
      else { body[element.name] = element.checked; }
    } else if (element.tagName !== "BUTTON") {
      body[element.name] = element.value;
    }
  }
  return body;
}

function wireApiForms() {
  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      inFlight(form, () => submitApiForm(form));
    });
  }
}

async function submitApiForm(form) {
  const [method, url] = form.dataset.api.split(" ");
  const result = form.querySelector(".result");
  const csrf = form.querySelector("input[name=_csrf]").value;
  const { status, data } = await post(url.replace(/^\/api\/v1\//, ""), formBody(form), { "X-CSRF-Token": csrf }, method);
  if (status >= 200 && status < 300) {
    if (form.dataset.then === "reload") { window.location.reload(); }
    else if (form.dataset.then) { window.location.assign(form.dataset.then); }
    else if (result) { result.textContent = "Done."; form.reset(); }
  } else if (status === 401) {
    window.location.assign(`/signin?next=${encodeURIComponent(window.location.pathname)}`);
  } else if (result) {
    result.textContent = data.error || `Refused (${status}).`;
  }
}

// ASVS 3.3.2: a session unused for its idle time ends on the server. Five minutes ahead the page
// says so; "Stay signed in" uses the session (GET /api/v1/me), which starts the idle time again.
function watchIdleTime() {
  const seconds = Number(document.body.dataset.idleSeconds || 0);
  if (!seconds) { return; }
  const warning = document.getElementById("idle-warning");
  let timers = [];
  const arm = (remaining) => {
    timers.forEach(clearTimeout);
    warning.hidden = true;
    timers = [
      setTimeout(() => { warning.hidden = false; }, Math.max(0, remaining - 300) * 1000),
      setTimeout(() => { window.location.assign(`/signin?next=${encodeURIComponent(window.location.pathname)}`); }, remaining * 1000),
    ];
  };
  document.getElementById("stay-signed-in").addEventListener("click", async () => {
    const response = await fetch("/api/v1/me", { credentials: "same-origin" });
    if (response.ok) { arm(seconds); } else { window.location.assign("/signin"); }
  });
  arm(seconds);
}

document.addEventListener("DOMContentLoaded", () => {
  const page = pages[document.body.dataset.page];
  if (page) { page(); }
  wireApiForms();
  watchIdleTime();
});
