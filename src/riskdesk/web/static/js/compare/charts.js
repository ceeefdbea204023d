// The compare workspace's charts: risk graphs across dates for A and B, the A-B overlay,
// Greeks strips (Curves mode); spot x vol heat maps of A, B and A-B (Matrix mode).
// One crosshair is shared by every chart: hovering any of them moves it everywhere
// (Plotly.Fx.hover on the siblings, without re-emitting events).
//
// The Greeks strips draw the engine's exact position Greeks (``curves.spot_time_greeks`` of
// /v1/evaluate and /v1/compare, indexed [date][spot] like ``spot_time_pl``): one strip per
// Greek with A, B and A - B, read out at the crosshair. They come from the view:
// ``view.A.greeks`` / ``view.B.greeks`` = that object of each side, ``view.D.greeks`` = the
// comparison's ``diff.spot_time_greeks`` (else A - B of the two). An empty side is zero; a
// side without Greeks curves shows the strips' "missing" state, never a P/L slope.

import { loadPlotly, plot, seriesColor } from "../charts.js";
import { fmt } from "../ui.js";
import { horizonLabel } from "./scenario.js";

/** The strips, in order: key, title, unit, digits of the readout. */
export const GREEK_STRIPS = [
  { key: "delta", title: "Delta", unit: "shares", digits: 2 },
  { key: "gamma", title: "Gamma", unit: "shares per $1", digits: 3 },
  { key: "theta", title: "Theta", unit: "$ per day", digits: 2 },
  { key: "vega", title: "Vega", unit: "$ per vol pt", digits: 2 },
];

/** Greek ``key`` of ``which`` ("A", "B", "D") as [date][spot] rows, or null when missing. */
export function greekRows(view, which, key) {
  const side = view[which];
  if (side && side.greeks && Array.isArray(side.greeks[key])) return side.greeks[key];
  if (which === "D") {
    const a = greekRows(view, "A", key);
    const b = greekRows(view, "B", key);
    if (!a || !b) return null;
    return a.map((row, d) => row.map((v, i) => v - b[d][i]));
  }
  if (side && side.empty) return view.dates.map(() => view.x.map(() => 0));
  return null;
}

/** Rewrite a drawn strip's readout in place (no redraw, so a hover label on it survives). */
function setReadout(el, text) {
  if (el.layout && el.layout.annotations && el.layout.annotations[0]) el.layout.annotations[0].text = text;
  const node = el.querySelector(".annotation-text");
  if (node) node.textContent = text;
}

function stripElement(after, key) {
  const el = document.createElement("div");
  el.className = "chart strip";
  el.setAttribute("data-testid", `chart-${key}`);
  if (after && after.parentNode) after.after(el);
  return el;
}

const SPIKES = { showspikes: true, spikemode: "across", spikesnap: "data", spikethickness: 1, spikedash: "dot", spikecolor: "#888" };

function withAlpha(hex, alpha) {
  const m = /^#([0-9a-f]{6})$/i.exec(hex || "");
  if (!m) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

function axisTitle(view) { return `${view.symbol} spot`; }

export class ChartsView {
  /**
   * ``els``: {riskA, riskB, overlay, delta, gamma, theta?, vega?, matrixA, matrixB, matrixD}
   * (missing theta / vega strips are created after the gamma strip);
   * ``onCursor(cursor)`` / ``onCell(cell)`` callbacks.
   */
  constructor(els, { onCursor, onCell }) {
    this.els = { ...els };
    let last = this.els.gamma;
    for (const { key } of GREEK_STRIPS) {
      if (!this.els[key]) this.els[key] = stripElement(last, key);
      last = this.els[key];
    }
    this.onCursor = onCursor;
    this.onCell = onCell;
    this.view = null;
    this.cursor = { spot: 0, date: 0 };
    this.cell = { spot: 0, vol: 0 };
    this.bound = new Set();
  }

  async draw(view, mode, cursor, cell) {
    this.view = view;
    this.cursor = cursor;
    this.cell = cell;
    if (mode === "curves") await Promise.all([this.drawRisk("A"), this.drawRisk("B"), this.drawOverlay(), this.drawGreeks()]);
    else await Promise.all([this.drawMatrix("A"), this.drawMatrix("B"), this.drawMatrix("D")]);
  }

  bindHover(el, kind) {
    if (this.bound.has(el)) return;
    this.bound.add(el);
    el.on("plotly_hover", (event) => {
      const point = event.points && event.points[0];
      if (!point || !this.view) return;
      const next = { spot: point.pointNumber, date: this.cursor.date };
      if (kind === "risk" && point.curveNumber < this.view.dates.length) next.date = point.curveNumber;
      this.onCursor(next, el);
    });
  }

  bindClick(el) {
    if (this.bound.has(el)) return;
    this.bound.add(el);
    el.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (!point || !this.view || !Array.isArray(point.pointIndex)) return;
      const [vol, spot] = point.pointIndex;
      this.onCell({ spot, vol });
    });
  }

  async drawRisk(which) {
    const el = this.els[`risk${which}`];
    const view = this.view;
    const side = view[which];
    const base = seriesColor(which === "A" ? "a" : "b");
    const n = view.dates.length;
    const traces = view.dates.map((date, i) => ({
      x: view.x, y: side.pl[i], type: "scatter", mode: "lines",
      name: horizonLabel(view.days[i] ?? i, date),
      line: { color: withAlpha(base, 0.35 + (0.65 * (i + 1)) / n), width: i === this.cursor.date ? 2.5 : 1.5 },
      hovertemplate: "%{x:.2f}: %{y:,.2f}<extra>%{fullData.name}</extra>",
    }));
    traces.push({ x: view.x, y: side.expiry, type: "scatter", mode: "lines", name: "at expiry", line: { color: base, dash: "dash", width: 1 }, hovertemplate: "%{x:.2f}: %{y:,.2f}<extra>expiry</extra>" });
    await plot(el, traces, {
      title: { text: `Trade ${which}: P/L across dates${side.empty ? " (no legs)" : ""}`, font: { size: 13 } },
      hovermode: "closest", xaxis: { title: { text: axisTitle(view) }, ...SPIKES }, yaxis: { title: { text: "P/L (USD)" } },
      showlegend: true, legend: { orientation: "h", y: -0.3 }, margin: { l: 56, r: 12, t: 28, b: 76 },
    });
    this.bindHover(el, "risk");
    el.dataset.draws = String(Number(el.dataset.draws || 0) + 1);
  }

  cursorTraces(kind) {
    const view = this.view;
    const d = Math.min(this.cursor.date, view.dates.length - 1);
    const pick = (side) => (kind === "pl" ? view[side].pl[d] : greekRows(view, side, kind)[d]);
    return [
      { x: view.x, y: pick("A"), type: "scatter", mode: "lines", name: "A", line: { color: seriesColor("a"), width: 2 } },
      { x: view.x, y: pick("B"), type: "scatter", mode: "lines", name: "B", line: { color: seriesColor("b"), width: 2 } },
      { x: view.x, y: pick("D"), type: "scatter", mode: "lines", name: "A - B", line: { color: seriesColor("diff"), width: 2, dash: "dot" } },
    ];
  }

  async drawOverlay() {
    const el = this.els.overlay;
    const view = this.view;
    const d = Math.min(this.cursor.date, view.dates.length - 1);
    await plot(el, this.cursorTraces("pl"), {
      title: { text: `A, B and A - B at ${horizonLabel(view.days[d] ?? d, view.dates[d])}`, font: { size: 13 } },
      hovermode: "closest", xaxis: { ...SPIKES }, yaxis: { title: { text: "P/L (USD)" } },
      legend: { orientation: "h", y: -0.15 }, margin: { l: 56, r: 12, t: 28, b: 56 },
    });
    this.bindHover(el, "overlay");
    el.dataset.draws = String(Number(el.dataset.draws || 0) + 1);
  }

  /**
   * One strip's title and crosshair readout ({title, readout}); the exact values at the
   * crosshair go to the strip's data-a / data-b / data-diff (data-state "exact" or "missing").
   */
  stripReadout(strip) {
    const view = this.view;
    const d = Math.min(this.cursor.date, view.dates.length - 1);
    const i = Math.min(this.cursor.spot, view.x.length - 1);
    const el = this.els[strip.key];
    const title = `${strip.title} (${strip.unit}) at ${horizonLabel(view.days[d] ?? d, view.dates[d])}`;
    const rows = ["A", "B", "D"].map((which) => greekRows(view, which, strip.key));
    el.dataset.date = String(d);
    el.dataset.spot = String(i);
    if (rows.some((r) => !r)) {
      el.dataset.state = "missing";
      for (const k of ["a", "b", "diff"]) delete el.dataset[k];
      return { title, readout: "no Greeks curves in this result (curves.spot_time_greeks)" };
    }
    el.dataset.state = "exact";
    const [a, b, diff] = rows.map((r) => r[d][i]);
    Object.assign(el.dataset, { a: String(a), b: String(b), diff: String(diff) });
    const f = (v) => fmt(v, strip.digits);
    return { title, readout: `S ${fmt(view.x[i], 2)} · A ${f(a)} · B ${f(b)} · A - B ${f(diff)}` };
  }

  async drawGreeks() {
    await Promise.all(GREEK_STRIPS.map(async (strip) => {
      const el = this.els[strip.key];
      const { title, readout } = this.stripReadout(strip);
      const exact = el.dataset.state === "exact";
      const note = exact
        ? { xref: "paper", yref: "paper", x: 0, y: 1, xanchor: "left", yanchor: "bottom", showarrow: false, text: readout, font: { size: 11 } }
        : { xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, text: readout, font: { size: 11 } };
      await plot(el, exact ? this.cursorTraces(strip.key) : [], {
        title: { text: title, font: { size: 12 } }, annotations: [note],
        hovermode: "closest", margin: { l: 56, r: 12, t: 46, b: 28 }, showlegend: false,
        xaxis: { ...SPIKES, visible: exact }, yaxis: { title: { text: strip.unit, font: { size: 10 } }, visible: exact },
      });
      this.bindHover(el, "greek");
      el.dataset.draws = String(Number(el.dataset.draws || 0) + 1);
    }));
  }

  /** Move the crosshair on every curves chart but ``origin`` (the one the mouse is on). */
  async syncCursor(cursor, origin, redrawHorizon) {
    const Plotly = await loadPlotly();
    this.cursor = cursor;
    if (redrawHorizon) await Promise.all([this.drawOverlay(), this.drawGreeks()]);
    else for (const strip of GREEK_STRIPS) setReadout(this.els[strip.key], this.stripReadout(strip).readout);
    const view = this.view;
    const d = Math.min(cursor.date, view.dates.length - 1);
    const across = [0, 1, 2].map((c) => ({ curveNumber: c, pointNumber: cursor.spot }));
    const targets = [
      [this.els.riskA, [{ curveNumber: d, pointNumber: cursor.spot }]],
      [this.els.riskB, [{ curveNumber: d, pointNumber: cursor.spot }]],
      [this.els.overlay, across],
      ...GREEK_STRIPS.filter((s) => this.els[s.key].dataset.state === "exact").map((s) => [this.els[s.key], across]),
    ];
    for (const [el, points] of targets) {
      if (el === origin || !el._fullLayout) continue;
      try { Plotly.Fx.hover(el, points, "xy", true); } catch (error) { console.warn("crosshair sync", error); }
    }
  }

  async drawMatrix(which) {
    const el = this.els[`matrix${which}`];
    const view = this.view;
    const side = view[which];
    const title = which === "D" ? "A - B: spot x vol (P/L, USD)" : `Trade ${which}: spot x vol (P/L, USD)${side.empty ? " (no legs)" : ""}`;
    const sel = this.cell;
    const traces = [
      {
        type: "heatmap", x: view.x, y: view.vols, z: side.vol, zmid: 0,
        colorscale: [[0, "#cf222e"], [0.5, "#f2f2f2"], [1, "#1a7f37"]],
        hovertemplate: "spot %{x:.2f}<br>vol shock %{y:+g} pts<br>P/L %{z:,.2f}<extra></extra>",
        colorbar: { thickness: 10 },
      },
      {
        type: "scatter", mode: "markers", x: [view.x[sel.spot]], y: [view.vols[sel.vol]], hoverinfo: "skip", showlegend: false,
        marker: { symbol: "square-open", size: 16, color: seriesColor("fg") || "#000", line: { width: 2.5 } },
      },
    ];
    await plot(el, traces, {
      title: { text: title, font: { size: 13 } }, hovermode: "closest",
      xaxis: { title: { text: axisTitle(view) } }, yaxis: { title: { text: "vol shock (pts)" }, tickvals: view.vols },
    });
    el.dataset.selSpot = String(sel.spot);
    el.dataset.selVol = String(sel.vol);
    this.bindClick(el);
  }

  /** Select a matrix cell in A, B and A - B (only the marker moves). */
  async selectCell(cell) {
    const Plotly = await loadPlotly();
    this.cell = cell;
    const view = this.view;
    for (const which of ["A", "B", "D"]) {
      const el = this.els[`matrix${which}`];
      if (!el._fullLayout) continue;
      await Plotly.restyle(el, { x: [[view.x[cell.spot]]], y: [[view.vols[cell.vol]]] }, [1]);
      el.dataset.selSpot = String(cell.spot);
      el.dataset.selVol = String(cell.vol);
    }
  }
}

/** The attribution waterfall: Taylor terms, residual, then the revaluation total. */
export async function drawWaterfall(el, trade) {
  const taylor = trade.taylor || {};
  const order = ["delta", "gamma", "vega", "theta", "vanna", "volga", "charm", "veta", "theta_gamma", "rho", "carry"];
  const names = order.filter((k) => k in taylor);
  const x = [...names, "residual", "total"];
  const y = [...names.map((k) => taylor[k]), taylor.residual ?? 0, trade.revaluation_total];
  await plot(el, [{
    type: "waterfall", x, y, measure: [...names.map(() => "relative"), "relative", "total"],
    connector: { line: { color: seriesColor("line") } },
    increasing: { marker: { color: seriesColor("good") } }, decreasing: { marker: { color: seriesColor("bad") } },
    totals: { marker: { color: seriesColor("accent") } },
    hovertemplate: "%{x}: %{y:,.2f}<extra></extra>",
  }], { title: { text: "P/L attribution (USD): Taylor terms + residual = revaluation", font: { size: 13 } }, hovermode: "closest", showlegend: false });
  el.dataset.draws = String(Number(el.dataset.draws || 0) + 1);
}
