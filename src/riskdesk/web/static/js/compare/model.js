// The compare workspace's view model: /v1/compare or /v1/evaluate answers (or nothing, for
// empty trades) turned into one shape: A, B and A-B on identical axes.

import { spotAxis, daysBetween } from "./scenario.js";

const MEASURES = ["value", "pl_open", "entry_cost", "probability_of_profit"];
const GREEKS = ["delta", "gamma", "theta", "vega"];

function zeros(rows, cols) {
  return Array.from({ length: rows }, () => new Array(cols).fill(0));
}

function zeroMeasures() {
  const m = { greeks: {} };
  for (const k of MEASURES) m[k] = 0;
  for (const g of GREEKS) m.greeks[g] = 0;
  m.max_profit = { value: 0, unbounded: false };
  m.max_loss = { value: 0, unbounded: false };
  return m;
}

function side(result, nDates, nVols, nSpots) {
  if (!result) {
    return { empty: true, pl: zeros(nDates, nSpots), vol: zeros(nVols, nSpots), expiry: new Array(nSpots).fill(0), measures: zeroMeasures(), inputs: null, warnings: [], errors: [] };
  }
  return {
    empty: false,
    pl: result.curves.spot_time_pl,
    vol: result.curves.spot_vol_pl,
    expiry: result.curves.expiry_pl,
    greeks: result.curves.spot_time_greeks,
    measures: result.measures,
    inputs: result.inputs,
    warnings: result.warnings || [],
    errors: result.errors || [],
  };
}

const minus = (x, y) => x.map((row, i) => (Array.isArray(row) ? minus(row, y[i]) : row - y[i]));

/**
 * One view of both trades.
 * ``answer`` is {kind: "compare", body} | {kind: "evaluate", which: "A"|"B", body} | {kind: "none"}.
 * ``axes`` = {days, range, steps, vols, spot, grid} (what was asked), used when nothing was computed.
 */
export function buildView(answer, axes, symbol) {
  let a = null;
  let b = null;
  if (answer.kind === "compare") { a = answer.body.a; b = answer.body.b; }
  else if (answer.kind === "evaluate") { if (answer.which === "A") a = answer.body; else b = answer.body; }
  const any = a || b;
  const grid = any ? any.grid : null;
  const under = any ? (grid.spots[symbol] ? symbol : (any.underlyings || Object.keys(grid.spots))[0]) : symbol;
  const x = grid ? grid.spots[under] : spotAxis(axes.spot, axes.range, axes.steps);
  const moves = grid ? grid.spot_moves : x.map((s) => (s / axes.spot - 1) * 100);
  const dates = grid ? grid.dates : axes.grid.dates;
  // the horizon of each curve the engine returned, in days from the grid's day 0
  const days = grid ? grid.dates_local.map((local) => daysBetween(axes.base, local)) : axes.days;
  const vols = grid ? grid.vol_shifts : axes.vols;
  const A = side(a, dates.length, vols.length, x.length);
  const B = side(b, dates.length, vols.length, x.length);
  let D;
  if (answer.kind === "compare" && answer.body.diff && answer.body.diff.spot_time_pl) {
    const diff = answer.body.diff;
    D = { pl: diff.spot_time_pl, vol: diff.spot_vol_pl, expiry: diff.expiry_pl, greeks: diff.spot_time_greeks, measures: diff };
  } else {
    const measures = { greeks: {} };
    for (const k of MEASURES) measures[k] = A.measures[k] - B.measures[k];
    for (const g of GREEKS) measures.greeks[g] = A.measures.greeks[g] - B.measures.greeks[g];
    measures.max_profit = { value: null }; measures.max_loss = { value: null };
    D = { pl: minus(A.pl, B.pl), vol: minus(A.vol, B.vol), expiry: minus(A.expiry, B.expiry), measures };
  }
  const snapshotHash = (a || b) ? (a || b).inputs.snapshot_hash : null;
  return { symbol: under, x, moves, dates, days, vols, A, B, D, snapshotHash, comparable: answer.kind !== "compare" || answer.body.comparable !== false };
}

export const SUMMARY_ROWS = [
  { key: "value", label: "Value", get: (m) => m.value },
  { key: "pl_open", label: "P/L open", get: (m) => m.pl_open },
  { key: "entry_cost", label: "Entry cost", get: (m) => m.entry_cost },
  { key: "delta", label: "Delta", get: (m) => m.greeks && m.greeks.delta },
  { key: "gamma", label: "Gamma", get: (m) => m.greeks && m.greeks.gamma },
  { key: "theta", label: "Theta / day", get: (m) => m.greeks && m.greeks.theta },
  { key: "vega", label: "Vega / vol pt", get: (m) => m.greeks && m.greeks.vega },
  { key: "max_profit", label: "Max profit", get: (m) => (m.max_profit && m.max_profit.unbounded ? "unbounded" : m.max_profit && m.max_profit.value) },
  { key: "max_loss", label: "Max loss", get: (m) => (m.max_loss && m.max_loss.unbounded ? "unbounded" : m.max_loss && m.max_loss.value) },
  { key: "pop", label: "P(profit)", get: (m) => m.probability_of_profit, digits: 3 },
];
