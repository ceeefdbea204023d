// Login: username and password against /v1/auth/login; the session lives in sessionStorage.

import { login } from "../api.js";
import { h, errorText } from "../ui.js";

export default {
  mount(el, { onLogin }) {
    const error = h("div", { class: "error", role: "alert", "data-testid": "login-error" });
    const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true, "data-testid": "login-username" });
    const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true, "data-testid": "login-password" });
    const submit = h("button", { type: "submit", "data-testid": "login-submit" }, "Log in");
    const form = h("form", { class: "panel login", "aria-label": "Log in" },
      h("h1", {}, "riskdesk"),
      h("label", { for: "username" }, "Username"), username,
      h("label", { for: "password" }, "Password"), password,
      h("div", { class: "row", style: "margin-top:12px" }, submit), error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.textContent = "";
      try {
        await login(username.value.trim(), password.value);
        onLogin();
      } catch (caught) {
        error.textContent = caught.status === 401 ? "Wrong username or password." : errorText(caught);
      } finally {
        submit.disabled = false;
      }
    });
    el.append(form);
    username.focus();
  },
};
