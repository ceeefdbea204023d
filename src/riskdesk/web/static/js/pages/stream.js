// Streaming: the desk's broker Greeks stream. Session states and metrics and the latest
// Greeks of each position update live from /v1/ws/stream (about once a second); traders and
// admins start and stop the stream; a row opens the position's stored Greeks history.

import { get, post, socket } from "../api.js";
import { h, clear, fmt, toast, errorText, useStyle } from "../ui.js";
import { renderSessions, renderTotals } from "../stream/sessions.js";
import { greeksTable } from "../stream/greeks.js";
import { historyPanel } from "../stream/history.js";

const STALE_MS = 3500;
const BROKERS = {
  simulated: { account: "SIM00001", fields: ["seed", "rate"] },
  tastytrade: { account: "5WT00001", url: "https://api.tastyworks.com", fields: ["url", "credentials"] },
  ibkr: { account: "DU000001", url: "tws://127.0.0.1:7497", fields: ["url"] },
};

function field(name, label, input) {
  return h("label", { class: "field", "data-field": name }, h("span", { class: "muted" }, label), input);
}

/** The start / stop form (traders and admins). */
function controls({ onStart, onStop }) {
  const broker = h("select", { name: "broker", "data-testid": "stream-broker" },
    Object.keys(BROKERS).map((b) => h("option", { value: b }, b)));
  const account = h("input", { name: "account", "data-testid": "stream-account", autocomplete: "off", size: "12" });
  const url = h("input", { name: "url", "data-testid": "stream-url", autocomplete: "off", size: "26" });
  const credentials = h("input", { name: "credentials", "data-testid": "stream-credentials", autocomplete: "off", size: "12", placeholder: "default" });
  const seed = h("input", { name: "seed", type: "number", step: "1", value: "7", "data-testid": "stream-seed" });
  const rate = h("input", { name: "rate", type: "number", step: "any", value: "20", "data-testid": "stream-rate", title: "ticks per second" });
  const start = h("button", { type: "submit", "data-testid": "stream-start", title: "Start the stream (Enter in the form)" }, "Start");
  const stop = h("button", { type: "button", class: "danger", "data-testid": "stream-stop", title: "Stop the stream and store everything it journaled" }, "Stop");
  const error = h("div", { class: "error form-error", role: "alert", "data-testid": "stream-form-error" });
  const fields = {
    url: field("url", "url", url), credentials: field("credentials", "credentials name", credentials),
    seed: field("seed", "seed", seed), rate: field("rate", "rate /s", rate),
  };
  const form = h("form", { class: "row stream-form", "aria-label": "Start a stream", "data-testid": "stream-form" },
    field("broker", "broker", broker), field("account", "account", account),
    fields.url, fields.credentials, fields.seed, fields.rate, start, stop);

  const sync = () => {
    const spec = BROKERS[broker.value];
    account.placeholder = spec.account;
    url.placeholder = spec.url || "";
    for (const [name, el] of Object.entries(fields)) el.hidden = !spec.fields.includes(name);
  };
  broker.addEventListener("change", sync);
  sync();

  const source = () => {
    const spec = { broker: broker.value };
    const allowed = BROKERS[broker.value].fields;
    if (account.value.trim()) spec.account = account.value.trim();
    if (allowed.includes("url") && url.value.trim()) spec.url = url.value.trim();
    if (allowed.includes("credentials") && credentials.value.trim()) spec.credentials = credentials.value.trim();
    if (allowed.includes("seed") && seed.value !== "") spec.seed = Number(seed.value);
    if (allowed.includes("rate") && rate.value !== "") spec.rate = Number(rate.value);
    return spec;
  };
  let busy = false;
  let running = false;
  const update = () => { start.disabled = busy || running; stop.disabled = busy || !running; };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy || running) return;
    busy = true; update(); error.textContent = "";
    try { await onStart(source()); } catch (caught) { error.textContent = errorText(caught); } finally { busy = false; update(); }
  });
  const doStop = async () => {
    if (busy || !running) return;
    busy = true; update(); error.textContent = "";
    try { await onStop(); } catch (caught) { error.textContent = errorText(caught); } finally { busy = false; update(); }
  };
  stop.addEventListener("click", doStop);
  update();
  return {
    el: h("section", { class: "panel", "aria-label": "Stream controls" }, h("h2", {}, "Start / stop"), form, error),
    setRunning(value) { running = value; update(); },
  };
}

export default {
  mount(el, ctx) {
    useStyle("stream");
    const canControl = ctx.role === "trader" || ctx.role === "admin";
    let lastMessage = 0;
    let running = null;
    let socketOpen = false;
    let panel = null;

    const runBadge = h("span", { class: "badge", "data-testid": "stream-running" }, "loading");
    const liveBadge = h("span", { class: "badge", "data-testid": "stream-live" }, "connecting");
    const updated = h("span", { class: "muted", "data-testid": "stream-updated" });
    const sourcesText = h("span", { class: "muted", "data-testid": "stream-sources" });
    const pageError = h("div", { role: "alert", "data-testid": "stream-error" });
    const stopResult = h("div", { class: "stop-result", "data-testid": "stream-stop-result", hidden: true });
    const sessionsEl = h("div", { "data-testid": "sessions" }, h("div", { class: "empty" }, "loading..."));
    const totalsEl = h("div", { class: "metrics", "data-testid": "stream-totals" });
    const greeksEl = h("div", { class: "greeks-wrap", "data-testid": "greeks" }, h("div", { class: "empty" }, "loading..."));
    const sourceBadge = h("span", { class: "badge", "data-testid": "greeks-source" }, "-");
    const historyEl = h("section", { class: "panel history", "aria-label": "Greeks history", "data-testid": "history" });

    const table = greeksTable(greeksEl, { onOpen: (item) => openHistory(item) });
    const history = historyPanel(historyEl, { onClose: () => table.select(null) });
    const openHistory = (item) => {
      table.select(`${item.broker}|${item.account_id}|${item.contract_key}`);
      history.show(item);
      historyEl.scrollIntoView({ block: "nearest" });
    };

    function applyStatus(body) {
      running = Boolean(body.running);
      runBadge.textContent = running ? "running" : body.status ? "stopped" : "idle";
      runBadge.className = `badge ${running ? "live" : ""}`;
      sourcesText.textContent = (body.sources || []).map((s) => `${s.broker}/${s.account ?? "default"}`).join(", ");
      if (panel) panel.setRunning(running);
      renderSessions(sessionsEl, body);
      renderTotals(totalsEl, body);
      clear(pageError);
      if (body.sessions_error) pageError.append(h("div", { class: "empty error" }, body.sessions_error));
    }

    function applyGreeks(message) {
      sourceBadge.textContent = message.source === "live" ? "live view" : "stored";
      sourceBadge.className = `badge ${message.source === "live" ? "live" : ""}`;
      table.apply(message.items || [], Boolean(message.full));
    }

    function showStop(result) {
      const t = result.totals || {};
      stopResult.hidden = false;
      stopResult.className = `stop-result ${result.drained ? "pos" : "warn"}`;
      stopResult.textContent = `Stopped: ${result.drained ? "drained" : "NOT drained"}; received ${fmt(t.received, 0)}, journaled ${fmt(t.journaled, 0)}, persisted ${fmt(t.persisted, 0)}, deduped ${fmt(t.deduped, 0)}, rejected ${fmt(t.rejected_total, 0)}; journal depth ${fmt(result.journal_depth, 0)}`;
    }

    panel = canControl ? controls({
      onStart: async (spec) => {
        const body = await post("/v1/stream/start", { sources: [spec] });
        stopResult.hidden = true;
        applyStatus(body);
        toast(`Streaming ${spec.broker}`, "info");
      },
      onStop: async () => {
        const result = await post("/v1/stream/stop");
        showStop(result);
        applyStatus({ running: false, sources: [], status: result.status, latest_sessions: null });
      },
    }) : null;

    el.append(
      h("div", { class: "row stream-head" }, h("h1", {}, "Streaming"), runBadge, liveBadge, sourcesText, h("div", { class: "spacer" }), updated),
      pageError,
      panel ? panel.el : null,
      h("section", { class: "panel", "aria-label": "Sessions" }, h("h2", {}, "Sessions"), sessionsEl, totalsEl, stopResult),
      h("section", { class: "panel", "aria-label": "Latest Greeks" },
        h("div", { class: "row" }, h("h2", {}, "Latest Greeks per position"), sourceBadge,
          h("span", { class: "muted" }, "click a row (or Enter) for its history")),
        greeksEl),
      historyEl,
    );

    // first render from the routes (parallel), then live from the socket
    Promise.all([get("/v1/stream/status"), get("/v1/stream/latest")]).then(([status, latest]) => {
      if (!lastMessage) {
        applyStatus(status);
        applyGreeks({ source: latest.source, items: latest.items, full: true });
      }
    }).catch((error) => {
      clear(pageError).append(h("div", { class: "empty error" }, `The stream status could not be loaded: ${errorText(error)}`));
    });

    const ws = socket("/v1/ws/stream", (message) => {
      lastMessage = Date.now();
      updated.textContent = `updated ${new Date(lastMessage).toISOString().slice(11, 19)} UTC`;
      if (message.type === "status") applyStatus(message);
      else if (message.type === "greeks") applyGreeks(message);
      tick();
    }, { onState: (state) => { socketOpen = state === "open"; tick(); } });

    function tick() {
      const stale = lastMessage && Date.now() - lastMessage > STALE_MS;
      const state = !socketOpen ? "reconnecting" : stale ? "stale" : lastMessage ? "live" : "connecting";
      if (liveBadge.textContent !== state) {
        liveBadge.textContent = state;
        liveBadge.className = `badge ${state === "live" ? "live" : state === "stale" ? "stale" : state === "reconnecting" ? "disconnected" : ""}`;
        liveBadge.title = state === "live" ? "updates arrive about once a second" : "no update for a while: the numbers may be old";
      }
    }
    const timer = setInterval(tick, 1000);

    const onTheme = () => history.redraw();
    window.addEventListener("riskdesk:theme", onTheme);
    const onKey = (event) => {
      const target = event.target;
      if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) return;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "Escape" && !historyEl.hidden) { history.close(); table.select(null); }
      else if (event.key === "r" && !historyEl.hidden && history.item) history.show(history.item);
    };
    document.addEventListener("keydown", onKey);

    return () => {
      ws.close();
      clearInterval(timer);
      window.removeEventListener("riskdesk:theme", onTheme);
      document.removeEventListener("keydown", onKey);
    };
  },
};
