// The workspace shell: login, hash routes, navigation by role, theme, keyboard shortcuts.
// Each page is an ES module loaded on first visit; its default export is
// { mount(el, ctx) -> (cleanup function | undefined) }.

import { session, logout } from "./api.js";
import { h, clear, toast } from "./ui.js";

export const PAGES = [
  { id: "compare", title: "Compare", key: "c", roles: ["admin", "trader", "viewer"], module: "./pages/compare.js" },
  { id: "portfolio", title: "Portfolio", key: "p", roles: ["admin", "trader", "viewer"], module: "./pages/portfolio.js" },
  { id: "paper", title: "Paper trading", key: "o", roles: ["admin", "trader", "viewer"], module: "./pages/paper.js" },
  { id: "stream", title: "Streaming", key: "s", roles: ["admin", "trader", "viewer"], module: "./pages/stream.js" },
];

const THEME_KEY = "riskdesk.theme";
let cleanup = null;
let renderToken = 0;

function applyTheme(theme) {
  const chosen = theme || localStorage.getItem(THEME_KEY) ||
    (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  document.documentElement.dataset.theme = chosen;
  const button = document.getElementById("theme-toggle");
  if (button) button.textContent = chosen === "dark" ? "light theme" : "dark theme";
  return chosen;
}

function toggleTheme() {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem(THEME_KEY, next);
  applyTheme(next);
  window.dispatchEvent(new CustomEvent("riskdesk:theme", { detail: next }));
}

function currentRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [id, ...rest] = hash.split("/");
  return { id: id || "compare", args: rest };
}

function renderNav(active) {
  const nav = document.getElementById("nav");
  clear(nav);
  const role = session.role;
  for (const page of PAGES) {
    if (!role || !page.roles.includes(role)) continue;
    nav.append(h("a", {
      href: `#/${page.id}`, class: page.id === active ? "active" : "",
      "data-testid": `nav-${page.id}`, title: `${page.title} (g then ${page.key})`,
    }, page.title));
  }
  const who = document.getElementById("whoami");
  const user = session.user;
  who.textContent = user ? `${user.username} (${user.role})` : "";
  document.getElementById("logout").hidden = !user;
}

async function render() {
  const token = ++renderToken;
  if (cleanup) { try { cleanup(); } catch (error) { console.error(error); } cleanup = null; }
  const main = clear(document.getElementById("page"));
  const route = currentRoute();
  if (!session.load()) {
    renderNav(null);
    const { default: page } = await import("./pages/login.js");
    if (token !== renderToken) return;
    cleanup = page.mount(main, { route, onLogin: () => { location.hash = `#/${route.id === "login" ? "compare" : route.id}`; render(); } }) || null;
    return;
  }
  const page = PAGES.find((p) => p.id === route.id) || PAGES[0];
  renderNav(page.id);
  if (!page.roles.includes(session.role)) {
    main.append(h("div", { class: "empty" }, "Your role cannot open this page."));
    return;
  }
  document.title = `${page.title} - riskdesk`;
  try {
    const module = await import(page.module);
    if (token !== renderToken) return;
    const started = performance.now();
    cleanup = (await module.default.mount(main, { route, role: session.role, user: session.user })) || null;
    performance.mark(`riskdesk:${page.id}:mounted`, { detail: { ms: performance.now() - started } });
    document.body.dataset.page = page.id;
  } catch (error) {
    console.error(error);
    main.append(h("div", { class: "empty error" }, `This page failed to load: ${error.message}`));
  }
}

let chord = null;
function onKey(event) {
  const target = event.target;
  if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "t") { toggleTheme(); return; }
  if (event.key === "g") { chord = Date.now(); return; }
  if (chord && Date.now() - chord < 1500) {
    const page = PAGES.find((p) => p.key === event.key);
    chord = null;
    if (page) location.hash = `#/${page.id}`;
  }
}

applyTheme();
document.getElementById("theme-toggle").addEventListener("click", toggleTheme);
document.getElementById("logout").addEventListener("click", async () => { await logout(); location.hash = "#/login"; render(); });
window.addEventListener("hashchange", render);
window.addEventListener("riskdesk:logout", () => { toast("Your session ended: log in again.", "error"); render(); });
document.addEventListener("keydown", onKey);
render();
