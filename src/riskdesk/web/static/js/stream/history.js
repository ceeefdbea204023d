// One position's stored Greeks over time: every cursor page of /v1/greeks/history for its
// broker, account and contract, charted as delta, gamma, theta, vega and IV (%) on stacked
// panels sharing the time axis.

import { getAll } from "../api.js";
import { h, clear, fmt, errorText } from "../ui.js";
import { plot, seriesColor } from "../charts.js";

export const MAX_POINTS = 20000;
const PAGE = 200;

const SERIES = [
  { key: "delta", label: "Delta", color: "a" },
  { key: "gamma", label: "Gamma", color: "b" },
  { key: "theta", label: "Theta", color: "bad" },
  { key: "vega", label: "Vega", color: "diff" },
  { key: "implied_volatility", label: "IV %", color: "good", scale: 100 },
];

export function historyPath(item) {
  const query = new URLSearchParams({
    broker: item.broker, account_id: item.account_id, contract_key: item.contract_key, limit: String(PAGE),
  });
  return `/v1/greeks/history?${query}`;
}

/** The figure of ``events`` (any order): traces and layout of five stacked panels. */
export function figure(events) {
  const sorted = [...events].sort((a, b) => (a.event_time < b.event_time ? -1 : a.event_time > b.event_time ? 1 : 0));
  const x = sorted.map((e) => e.event_time);
  const line = seriesColor("line");
  const traces = SERIES.map((s, i) => ({
    type: "scatter",
    mode: sorted.length > 400 ? "lines" : "lines+markers",
    name: s.label,
    x,
    y: sorted.map((e) => (e[s.key] === null || e[s.key] === undefined ? null : e[s.key] * (s.scale ?? 1))),
    xaxis: "x",
    yaxis: i === 0 ? "y" : `y${i + 1}`,
    line: { color: seriesColor(s.color), width: 1.5 },
    marker: { size: 4 },
    hovertemplate: `${s.label} %{y:.4f}<extra></extra>`,
  }));
  const layout = {
    grid: { rows: SERIES.length, columns: 1, pattern: "coupled", roworder: "top to bottom" },
    height: 620,
    showlegend: false,
    margin: { l: 64, r: 12, t: 16, b: 40 },
    xaxis: { type: "date", gridcolor: line, zerolinecolor: line, title: { text: "event time (UTC)" } },
  };
  SERIES.forEach((s, i) => {
    layout[i === 0 ? "yaxis" : `yaxis${i + 1}`] = { title: { text: s.label }, gridcolor: line, zerolinecolor: line };
  });
  return { traces, layout, points: sorted.length, first: x[0], last: x[x.length - 1] };
}

/**
 * The history panel in ``el``: show(item) loads and draws, close() empties it,
 * redraw() re-themes the current figure.
 */
export function historyPanel(el, { onClose }) {
  let current = null; // { item, events }
  let token = 0;
  const title = h("h2", { "data-testid": "history-title" });
  const summary = h("span", { class: "muted", "data-testid": "history-summary" });
  const refresh = h("button", { type: "button", class: "ghost", "data-testid": "history-refresh", title: "Reload the history (r)" }, "refresh");
  const closeButton = h("button", { type: "button", class: "ghost", "data-testid": "history-close", title: "Close (Esc)" }, "close");
  const chart = h("div", { class: "chart history-chart", "data-testid": "history-chart" });
  const message = h("div", { "data-testid": "history-message" });

  refresh.addEventListener("click", () => { if (current) show(current.item); });
  closeButton.addEventListener("click", () => { close(); onClose(); });

  async function draw() {
    if (!current) return;
    const fig = figure(current.events);
    if (fig.points === 0) {
      chart.hidden = true;
      clear(message).append(h("div", { class: "empty", "data-testid": "history-empty" }, "No stored events for this contract yet (live rows are stored within a moment)."));
      return;
    }
    chart.hidden = false;
    clear(message);
    await plot(chart, fig.traces, fig.layout);
    chart.dataset.points = String(fig.points);
    summary.textContent = `${fmt(fig.points, 0)} events, ${fig.first.slice(0, 19).replace("T", " ")} to ${fig.last.slice(0, 19).replace("T", " ")} UTC${current.events.length >= MAX_POINTS ? ` (first ${fmt(MAX_POINTS, 0)} only)` : ""}`;
  }

  async function show(item) {
    const mine = ++token;
    el.hidden = false;
    title.textContent = `History: ${item.contract_key} (${item.broker}/${item.account_id})`;
    summary.textContent = "loading...";
    delete chart.dataset.points;
    el.dataset.state = "loading";
    try {
      const events = await getAll(historyPath(item), MAX_POINTS);
      if (mine !== token) return;
      current = { item, events };
      await draw();
      if (mine !== token) return;
      el.dataset.state = "ready";
    } catch (error) {
      if (mine !== token) return;
      console.error(error);
      chart.hidden = true;
      summary.textContent = "";
      clear(message).append(h("div", { class: "empty error", role: "alert", "data-testid": "history-error" }, `The history could not be loaded: ${errorText(error)}`));
      el.dataset.state = "error";
    }
  }

  function close() {
    token += 1;
    current = null;
    el.hidden = true;
    el.dataset.state = "closed";
  }

  el.append(h("div", { class: "row" }, title, h("div", { class: "spacer" }), summary, refresh, closeButton), message, chart);
  el.hidden = true;
  return { show, close, redraw: () => draw().catch((error) => console.error(error)), get item() { return current && current.item; } };
}
