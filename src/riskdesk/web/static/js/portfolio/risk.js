// The book's risk panels: exposures, Greeks by bucket, factor exposures, VaR and stress.
// Each renderer takes the /v1 report as it comes back and returns DOM (tables, charts).

import { h, fmt, table, signClass } from "../ui.js";

/** plotly's helpers, imported with the first chart (after the tables), not with the page. */
const charts = () => import("../charts.js");

/** The decimals a decimal string carries ("12.50" -> 2, "15" -> 0), at most 6. */
export function places(value) {
  const text = String(value ?? "");
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : Math.min(6, text.length - dot - 1);
}

/** A decimal string shown with its own decimals and thousands separators ("-" for null). */
export function dec(value) {
  return fmt(value, places(value));
}

/** A number cell keeping the API's decimals, coloured by sign when ``signed``. */
export function decCell(value, signed = false) {
  return h("span", { class: signed ? signClass(value) : "num" }, dec(value));
}

function decColumn(key, label, signed = false) {
  return { key, label, render: (row) => decCell(row[key], signed) };
}

function excludedNote(excluded, testid) {
  if (!excluded || excluded.length === 0) return null;
  return h("details", { class: "pf-excluded", "data-testid": testid },
    h("summary", {}, h("span", { class: "badge warn" }, `${excluded.length} not valued`)),
    h("ul", {}, excluded.map((item) => h("li", {},
      h("b", {}, item.symbol || item.underlying || "?"), ": ", item.reason || item.status || ""))));
}

// -- exposures ---------------------------------------------------------------------------------

const EXPOSURE_ROWS = [
  ["market_value", "Market value", (r) => r.market_value],
  ["long", "Long", (r) => r.long],
  ["short", "Short", (r) => r.short],
  ["gross", "Gross", (r) => r.gross],
  ["net", "Net", (r) => r.net],
  ["notional", "Notional", (r) => r.notional],
  ["delta_long", "Delta-adjusted long", (r) => r.delta_adjusted?.long],
  ["delta_short", "Delta-adjusted short", (r) => r.delta_adjusted?.short],
  ["delta_gross", "Delta-adjusted gross", (r) => r.delta_adjusted?.gross],
  ["delta_net", "Delta-adjusted net", (r) => r.delta_adjusted?.net],
  ["beta_dollars", "Beta-weighted $", (r) => r.beta_weighted?.dollars],
  ["beta_shares", "Benchmark shares", (r) => r.beta_weighted?.benchmark_shares],
];

export function renderExposures(report) {
  const bw = report.beta_weighted || {};
  const rows = EXPOSURE_ROWS.map(([key, label, pick]) => ({ key, label, value: pick(report) }));
  const missing = bw.missing_betas && bw.missing_betas.length
    ? h("p", { class: "muted", "data-testid": "exposures-missing-betas" },
      `Left out of the beta-weighted sum (no beta to ${bw.benchmark} in this report): ${bw.missing_betas.join(", ")}.`)
    : null;
  return h("div", {},
    h("p", { class: "muted" },
      `${report.positions} positions (${report.long_count} long, ${report.short_count} short), `,
      `benchmark ${bw.benchmark || "-"} at ${dec(bw.benchmark_price)}`),
    table([
      { key: "label", label: "Measure", text: true },
      decColumn("value", "USD", true),
    ], rows, { testid: "portfolio-exposures", rowAttrs: (row) => ({ "data-testid": `exposure-${row.key}` }) }),
    missing,
    excludedNote(report.excluded, "exposures-excluded"));
}

// -- Greeks by bucket --------------------------------------------------------------------------

const GREEK_COLUMNS = [
  decColumn("delta", "Delta", true),
  decColumn("gamma", "Gamma", true),
  decColumn("vega", "Vega", true),
  decColumn("theta", "Theta", true),
  decColumn("dollar_delta", "Delta $", true),
  decColumn("dollar_gamma", "Gamma $", true),
  decColumn("market_value", "Value", true),
  { key: "count", label: "Pos.", render: (row) => String(row.count ?? "-") },
];
const CHART_METRICS = [["dollar_delta", "Delta $"], ["dollar_gamma", "Gamma $"], ["vega", "Vega"], ["theta", "Theta"]];

/**
 * Greeks totals, a bucket table (underlying or expiry) and a bar chart of one metric.
 * The chart waits for ``later`` (the page opens it once every table is drawn); it is redrawn
 * only when its bucket or metric changes.
 */
export function renderGreeks(report, state, later = Promise.resolve()) {
  const total = { key: "Total", ...report.totals };
  const buckets = () => (report.by && report.by[state.bucket]) || [];
  const holder = h("div", {});
  const chart = h("div", { class: "chart pf-chart", "data-testid": "greeks-chart" });
  let drawn = null;
  const draw = () => later.then(charts).then(({ plot, seriesColor }) => {
    const rows = buckets();
    const metric = state.metric;
    const what = `${state.bucket}|${metric}`;
    if (drawn === what) return undefined;
    drawn = what;
    return plot(chart, [{
      type: "bar", x: rows.map((r) => r.key), y: rows.map((r) => Number(r[metric])),
      marker: { color: rows.map((r) => (Number(r[metric]) < 0 ? seriesColor("bad") : seriesColor("a"))) },
      hovertemplate: "%{x}: %{y:,.2f}<extra></extra>",
    }], { height: 240, hovermode: "closest", xaxis: { type: "category" }, title: { text: `${CHART_METRICS.find((m) => m[0] === metric)[1]} by ${state.bucket}`, font: { size: 12 } } });
  }).catch((error) => { drawn = null; chart.textContent = `chart unavailable: ${error.message}`; });
  const fill = () => {
    holder.replaceChildren(table([{ key: "key", label: state.bucket === "expiry" ? "Expiry" : "Underlying", text: true }, ...GREEK_COLUMNS],
      buckets(), { testid: `greeks-by-${state.bucket}`, empty: "no bucket", rowAttrs: (row) => ({ "data-testid": `greeks-${state.bucket}-${row.key}` }) }));
    for (const button of toggles.querySelectorAll("button[data-bucket]")) {
      button.setAttribute("aria-pressed", String(button.dataset.bucket === state.bucket));
    }
    draw();
  };
  const toggles = h("div", { class: "row", role: "group", "aria-label": "Bucket by" },
    ["underlying", "expiry"].map((bucket) => h("button", {
      type: "button", class: "ghost", "data-bucket": bucket, "data-testid": `greeks-bucket-${bucket}`,
      onclick: () => { state.bucket = bucket; fill(); },
    }, `by ${bucket}`)),
    h("label", { class: "muted" }, "chart ",
      h("select", { "data-testid": "greeks-metric", onchange: (event) => { state.metric = event.target.value; draw(); } },
        CHART_METRICS.map(([key, label]) => h("option", { value: key, selected: key === state.metric }, label)))));
  fill();
  return h("div", { class: "stack" },
    table([{ key: "key", label: "", text: true }, ...GREEK_COLUMNS], [total], { testid: "greeks-totals" }),
    toggles, holder, chart, excludedNote(report.excluded, "greeks-excluded"));
}

// -- factor exposures --------------------------------------------------------------------------

export function renderFactors(report) {
  const contributions = new Map(((report.risk || {}).contributions || []).map((c) => [c.factor, c]));
  const rows = (report.exposures || []).map((e) => ({ ...e, contribution: contributions.get(e.factor) || {} }));
  const risk = report.risk || {};
  return h("div", { class: "stack" },
    h("p", { class: "muted" },
      `Window ${report.window} sessions; annual volatility $${dec(risk.annual_volatility)} `,
      `(${fmt(risk.factor_percent, 1)}% factor, ${fmt(risk.specific_percent, 1)}% specific).`),
    table([
      { key: "factor", label: "Factor", text: true },
      decColumn("dollars", "Exposure $", true),
      { key: "beta", label: "Beta", render: (row) => h("span", { class: signClass(row.beta) }, fmt(row.beta, 4)) },
      decColumn("ridge_dollars", "Ridge $", true),
      { key: "contribution", label: "Risk $ / yr", render: (row) => decCell(row.contribution.annual_contribution) },
      { key: "percent", label: "% of risk", render: (row) => fmt(row.contribution.percent, 1) },
    ], rows, { testid: "portfolio-factors", empty: "no factor exposure", rowAttrs: (row) => ({ "data-testid": `factor-${row.factor}` }) }),
    excludedNote(report.excluded, "factors-excluded"));
}

// -- VaR ---------------------------------------------------------------------------------------

export const VAR_METHODS = [
  ["historical", "Historical"],
  ["historical_sqrt_scaled", "Historical, sqrt-time scaled"],
  ["delta_gamma_normal", "Delta-gamma normal"],
  ["monte_carlo", "Monte Carlo"],
];

export function renderVar(report) {
  const rows = [];
  for (const [method, label] of VAR_METHODS) {
    for (const row of report[method] || []) rows.push({ method, label, ...row });
  }
  return h("div", { class: "stack" },
    h("p", { class: "muted" }, `Value $${dec(report.current_value)}; ${report.window} sessions of history; losses as positive amounts.`),
    table([
      { key: "label", label: "Method", text: true },
      { key: "confidence", label: "Confidence", render: (row) => `${fmt(row.confidence * 100, 0)}%` },
      { key: "horizon_days", label: "Horizon", render: (row) => `${row.horizon_days} d` },
      decColumn("var", "VaR $"),
      decColumn("es", "ES $"),
    ], rows, {
      testid: "portfolio-var", empty: "no VaR",
      rowAttrs: (row) => ({ "data-testid": `var-${row.method}-${row.confidence}-${row.horizon_days}` }),
    }),
    excludedNote(report.excluded, "var-excluded"));
}

// -- stress ------------------------------------------------------------------------------------

/** The stress table, then (once ``later`` resolves: after every table) its bar chart. */
export function renderStress(report, later = Promise.resolve()) {
  const scenarios = report.scenarios || [];
  const chart = h("div", { class: "chart pf-chart", "data-testid": "stress-chart" });
  const names = scenarios.map((s) => s.name).reverse();
  const pnl = scenarios.map((s) => Number(s.pnl)).reverse();
  later.then(charts).then(({ plot, seriesColor }) => plot(chart, [{
    type: "bar", orientation: "h", y: names, x: pnl,
    marker: { color: pnl.map((v) => (v < 0 ? seriesColor("bad") : seriesColor("good"))) },
    hovertemplate: "%{y}: %{x:,.2f}<extra></extra>",
  }], { height: Math.max(260, 18 * scenarios.length + 60), hovermode: "closest", margin: { l: 210, r: 12, t: 12, b: 30 } }))
    .catch((error) => { chart.textContent = `chart unavailable: ${error.message}`; });
  return h("div", { class: "grid2" },
    h("div", {}, table([
      { key: "name", label: "Scenario", text: true },
      { key: "category", label: "Category", text: true },
      { key: "severity", label: "Severity", text: true },
      decColumn("pnl", "P&L $", true),
      { key: "impact", label: "Impact", render: (row) => h("span", { class: signClass(row.impact) }, `${fmt(row.impact * 100, 2)}%`) },
      decColumn("direct_pnl", "Direct $", true),
      decColumn("correlated_pnl", "Correlated $", true),
    ], scenarios, { testid: "portfolio-stress", empty: "no scenario", rowAttrs: (row) => ({ "data-testid": `stress-${row.key}` }) }),
    excludedNote(report.excluded, "stress-excluded")),
    chart);
}
