// The compare workspace's charts: risk graphs across dates for A and B, the A-B overlay,
// Greeks strips (Curves mode); spot x vol heat maps of A, B and A-B (Matrix mode).
// One crosshair is shared by every chart: hovering any of them moves it everywhere
// (Plotly.Fx.hover on the siblings, without re-emitting events).

import { loadPlotly, plot, seriesColor } from "../charts.js";
import { slope, curvature } from "./model.js";
import { horizonLabel } from "./scenario.js";

const SPIKES = { showspikes: true, spikemode: "across", spikesnap: "data", spikethickness: 1, spikedash: "dot", spikecolor: "#888" };

function withAlpha(hex, alpha) {
  const m = /^#([0-9a-f]{6})$/i.exec(hex || "");
  if (!m) return hex;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

function axisTitle(view) { return `${view.symbol} spot`; }

export class ChartsView {
  /** ``els``: {riskA, riskB, overlay, delta, gamma, matrixA, matrixB, matrixD}; ``onCursor(cursor)`` / ``onCell(cell)`` callbacks. */
  constructor(els, { onCursor, onCell }) {
    this.els = els;
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
    const pick = (side) => {
      const y = view[side].pl[d];
      if (kind === "pl") return y;
      if (kind === "delta") return slope(y, view.x);
      return curvature(y, view.x);
    };
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

  async drawGreeks() {
    const view = this.view;
    const d = Math.min(this.cursor.date, view.dates.length - 1);
    const when = horizonLabel(view.days[d] ?? d, view.dates[d]);
    await Promise.all([
      plot(this.els.delta, this.cursorTraces("delta"), {
        title: { text: `Delta strip (dP/L/dS, $ per $1) at ${when}`, font: { size: 12 } },
        hovermode: "closest", margin: { l: 56, r: 12, t: 28, b: 28 }, xaxis: { ...SPIKES }, showlegend: false,
      }),
      plot(this.els.gamma, this.cursorTraces("gamma"), {
        title: { text: `Gamma strip (d2P/L/dS2) at ${when}`, font: { size: 12 } },
        hovermode: "closest", margin: { l: 56, r: 12, t: 28, b: 28 }, xaxis: { ...SPIKES }, showlegend: false,
      }),
    ]);
    this.bindHover(this.els.delta, "greek");
    this.bindHover(this.els.gamma, "greek");
  }

  /** Move the crosshair on every curves chart but ``origin`` (the one the mouse is on). */
  async syncCursor(cursor, origin, redrawHorizon) {
    const Plotly = await loadPlotly();
    this.cursor = cursor;
    if (redrawHorizon) await Promise.all([this.drawOverlay(), this.drawGreeks()]);
    const view = this.view;
    const d = Math.min(cursor.date, view.dates.length - 1);
    const targets = [
      [this.els.riskA, [{ curveNumber: d, pointNumber: cursor.spot }]],
      [this.els.riskB, [{ curveNumber: d, pointNumber: cursor.spot }]],
      [this.els.overlay, [0, 1, 2].map((c) => ({ curveNumber: c, pointNumber: cursor.spot }))],
      [this.els.delta, [0, 1, 2].map((c) => ({ curveNumber: c, pointNumber: cursor.spot }))],
      [this.els.gamma, [0, 1, 2].map((c) => ({ curveNumber: c, pointNumber: cursor.spot }))],
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
