// The portal's only script (CSP: script-src 'self'; no inline code). Pages post JSON to /api/v1;
// the session lives in an HttpOnly cookie this script never sees.
"use strict";

const resolution = () => `${window.screen.width}x${window.screen.height}`;

async function post(path, body, headers = {}) {
  const response = await fetch(`/api/v1/${path}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Display-Resolution": resolution(), ...headers },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (_) { /* 204 */ }
  return { status: response.status, data };
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
    document.getElementById("register-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const { status, data } = await post("auth/register", {
        token: form.token.value, name: form.name.value, phone: form.phone.value, password: form.password.value,
      });
      if (status === 201) { window.location.assign("/signin"); } else { showError(data.error || "registration failed"); }
    });
  },

  signin() {
    document.getElementById("signin-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      const { status, data } = await post("auth/sign-in", { email: form.email.value, password: form.password.value, resolution: resolution() });
      if (status === 200) { window.location.assign("/dashboard"); }
      else if (status === 202) { window.location.assign("/code"); }
      else { showError(data.error || "sign-in failed"); }
    });
  },

  code() {
    document.getElementById("code-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const { status, data } = await post("auth/code", { code: event.target.code.value });
      if (status === 200) { window.location.assign("/dashboard"); }
      else if (status === 401) { showError(`That code is not right: ${data.remainingTries} tries left.`); }
      else { window.location.assign("/signin"); }
    });
  },

  async dashboard() {
    const response = await fetch("/api/v1/me", { credentials: "same-origin" });
    if (response.status !== 200) { window.location.assign("/signin"); return; }
    const me = await response.json();
    document.getElementById("who").textContent = me.email;
    document.getElementById("claims").textContent = me.claims.join(", ");
    document.getElementById("tenant").textContent = me.tenantID;
    document.getElementById("signout-button").addEventListener("click", async () => {
      await post("auth/sign-out", {});
      window.location.assign("/signin");
    });
  },
};

document.addEventListener("DOMContentLoaded", () => {
  const page = pages[document.body.dataset.page];
  if (page) { page(); }
});
