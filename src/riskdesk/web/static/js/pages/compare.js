// The Compare workspace (seed 000): trades A and B built from the option chain, compared on
// one snapshot under shared scenario controls, with synced crosshair, matrix cell selection,
// snapshot pinning, diagnostics and attribution. Talks only to the public /v1 API.

import { get, getAll, post, patch, del } from "../api.js";
import { h, clear, fmt, toast, errorText, debounce, useStyle, signClass } from "../ui.js";
import { parseHorizons, parseVolShocks, parseRange, parseSteps, buildGrid, horizonBase, horizonLabel } from "../compare/scenario.js";
import { buildView, SUMMARY_ROWS } from "../compare/model.js";
import { ChartsView, greekRows } from "../compare/charts.js";
import { SnapshotBar } from "../compare/snapshot.js";
import { Importer } from "../compare/importer.js";

const DRAFT_NAMES = { A: "Compare A", B: "Compare B" };
// A single edit recomputes this soon after its last change (a burst of edits still makes one
// recompute; a multi-add session makes one at its end, whatever the pause between clicks).
const RECOMPUTE_MS = 50;

function newTrade(id) {
  return { id, draft: null, queue: Promise.resolve(), editSeq: 0, computedSeq: 0, error: null, version: null };
}

const included = (draft) => Boolean(draft && draft.legs.some((leg) => leg.include));

function legLabel(leg) {
  const i = leg.instrument;
  if (i.type === "stock") return `${i.symbol} stock`;
  return `${i.symbol} ${i.expiry} ${i.strike} ${i.right === "C" ? "call" : "put"}`;
}

export default {
  async mount(el, ctx) {
    useStyle("compare");
    const canEdit = ctx.role === "admin" || ctx.role === "trader";
    const state = {
      armed: "A",
      mode: "curves",
      symbol: "SPY",
      symbols: [],
      expiry: null,
      chain: null,
      trades: { A: newTrade("A"), B: newTrade("B") },
      scenario: { days: [0, 7, 14], range: 10, steps: 41, vols: [-10, -5, 0, 5, 10] },
      view: null,
      cursor: { spot: 20, date: 0 },
      cell: { spot: 20, vol: 2 },
      multi: null,
      computeToken: 0,
      computing: false,
      resultError: null,
      disposed: false,
    };
    const cleanups = [];

    // ---- layout ---------------------------------------------------------------------------
    const armedButtons = {
      A: h("button", { type: "button", class: "ghost arm", "data-testid": "arm-a", "aria-pressed": "true", title: "Arm trade A for edits (a)" }, "A"),
      B: h("button", { type: "button", class: "ghost arm", "data-testid": "arm-b", "aria-pressed": "false", title: "Arm trade B for edits (b)" }, "B"),
    };
    const modeButtons = {
      curves: h("button", { type: "button", class: "ghost mode", "data-testid": "mode-curves", "aria-pressed": "true", title: "Curves mode (v toggles)" }, "Curves"),
      matrix: h("button", { type: "button", class: "ghost mode", "data-testid": "mode-matrix", "aria-pressed": "false", title: "Matrix mode (v toggles)" }, "Matrix"),
    };
    const armedLabel = h("span", { class: "badge armed", "data-testid": "armed" }, "armed: A");
    const header = h("div", { class: "row cmp-head" },
      h("h1", {}, "Compare"),
      h("div", { class: "seg", role: "group", "aria-label": "Armed trade" }, h("span", { class: "muted" }, "Armed"), armedButtons.A, armedButtons.B),
      armedLabel,
      h("div", { class: "seg", role: "group", "aria-label": "Scenario mode" }, h("span", { class: "muted" }, "Mode"), modeButtons.curves, modeButtons.matrix),
      h("span", { class: "muted keys" }, h("span", { class: "kbd" }, "a"), "/", h("span", { class: "kbd" }, "b"), " arm · ",
        h("span", { class: "kbd" }, "v"), " mode · ", h("span", { class: "kbd" }, "m"), " or hold ", h("span", { class: "kbd" }, "Ctrl"), " multi-add · ",
        h("span", { class: "kbd" }, "r"), " recompute"),
    );
    const notice = canEdit ? null : h("div", { class: "panel notice", "data-testid": "viewer-notice" },
      "Read-only: the viewer role sees market data, snapshots and their diagnostics. Building trades, pinning snapshots and evaluating need the trader role.");

    const snapshotHost = h("div", { class: "panel snapbar-host" });
    const importHost = h("div", { class: "import-host" });

    // scenario controls
    const inputs = {
      horizons: h("input", { id: "cmp-horizons", value: "0,7,14", "data-testid": "scn-horizons", size: 10, title: 'Days like "0,7,14" or N@step like "5@7"' }),
      range: h("input", { id: "cmp-range", type: "number", value: "10", min: "1", max: "99", step: "1", "data-testid": "scn-range" }),
      steps: h("input", { id: "cmp-steps", type: "number", value: "41", min: "3", max: "401", step: "2", "data-testid": "scn-steps" }),
      vols: h("input", { id: "cmp-vols", value: "-10,-5,0,5,10", "data-testid": "scn-vols", size: 14, title: "Vol shocks in vol points (matrix rows)" }),
    };
    const applyButton = h("button", { type: "submit", "data-testid": "scn-apply" }, "Apply");
    const scenarioError = h("span", { class: "error", role: "alert", "data-testid": "scn-error" });
    const scenarioForm = h("form", { class: "panel row scenario", "aria-label": "Scenario controls" },
      h("label", { for: "cmp-horizons" }, "Horizons (days or N@step)"), inputs.horizons,
      h("label", { for: "cmp-range" }, "Spot ± %"), inputs.range,
      h("label", { for: "cmp-steps" }, "Points"), inputs.steps,
      h("label", { for: "cmp-vols" }, "Vol shocks (pts)"), inputs.vols,
      applyButton, scenarioError,
      h("span", { class: "muted small" }, "Both trades share these axes (one /v1/compare call)."));

    // chain builder
    const symbolInput = h("input", { id: "cmp-symbol", list: "cmp-symbols", value: "SPY", size: 7, "data-testid": "chain-symbol", autocomplete: "off", "aria-label": "Underlying symbol" });
    const symbolList = h("datalist", { id: "cmp-symbols" });
    const expirySelect = h("select", { id: "cmp-expiry", "data-testid": "chain-expiry", "aria-label": "Expiry" });
    const multiToggle = h("button", { type: "button", class: "ghost", "data-testid": "multiadd-toggle", "aria-pressed": "false", title: "Multi-add: add many legs, recompute once (m, or hold Ctrl)" }, "Multi-add");
    const multiIndicator = h("div", { class: "multi", "data-testid": "multiadd-indicator", hidden: true });
    const chainInfo = h("div", { class: "muted small", "data-testid": "chain-info" });
    const chainBody = h("div", { class: "chain-scroll", "data-testid": "chain" }, h("div", { class: "empty" }, "Loading the chain..."));
    const chainPanel = h("section", { class: "panel chain-panel", "aria-label": "Option chain" },
      h("div", { class: "row" }, h("h2", {}, "Chain"), symbolInput, symbolList, expirySelect, canEdit ? multiToggle : null),
      chainInfo, multiIndicator, chainBody);

    // trade panels
    const tradeEls = {};
    for (const id of ["A", "B"]) {
      const lower = id.toLowerCase();
      tradeEls[id] = {
        root: h("section", { class: `panel trade trade-${lower}`, "data-testid": `trade-${lower}`, "aria-label": `Trade ${id}` }),
        state: h("span", { class: "badge", "data-testid": `trade-${lower}-state` }, "no legs"),
        hash: h("span", { class: "muted small hash", "data-testid": `trade-${lower}-hash` }),
        version: h("span", { class: "muted small", "data-testid": `trade-${lower}-version` }),
        legs: h("div", { "data-testid": `trade-${lower}-legs` }),
      };
      const t = tradeEls[id];
      const commit = h("button", { type: "button", class: "ghost", "data-testid": `trade-${lower}-commit`, title: "Freeze the draft into a hashed version" }, "Commit version");
      const fresh = h("button", { type: "button", class: "ghost", "data-testid": `trade-${lower}-new`, title: "Start a new, empty draft" }, "New");
      commit.addEventListener("click", () => commitTrade(id));
      fresh.addEventListener("click", () => resetTrade(id));
      t.root.append(
        h("div", { class: "row" }, h("h2", { class: `tag-${lower}` }, `Trade ${id}`), t.state,
          canEdit ? fresh : null, canEdit ? commit : null),
        h("div", { class: "row meta" }, t.hash, t.version), t.legs);
      t.root.addEventListener("click", (event) => { if (canEdit && !event.target.closest("input,button")) arm(id); });
    }

    // results
    const resultStatus = h("div", { class: "row result-status", "data-testid": "result-status" });
    const summary = h("div", { "data-testid": "summary" });
    const readout = h("div", { class: "panel readout", "data-testid": "readout", "aria-live": "polite" });
    const chartEls = {
      riskA: h("div", { class: "chart", "data-testid": "chart-risk-a" }),
      riskB: h("div", { class: "chart", "data-testid": "chart-risk-b" }),
      overlay: h("div", { class: "chart", "data-testid": "chart-overlay" }),
      delta: h("div", { class: "chart strip", "data-testid": "chart-delta" }),
      gamma: h("div", { class: "chart strip", "data-testid": "chart-gamma" }),
      matrixA: h("div", { class: "chart", "data-testid": "chart-matrix-a" }),
      matrixB: h("div", { class: "chart", "data-testid": "chart-matrix-b" }),
      matrixD: h("div", { class: "chart", "data-testid": "chart-matrix-diff" }),
    };
    const curvesArea = h("div", { class: "stack charts-area", tabindex: "0", "data-testid": "curves", "aria-label": "Curves: arrow keys move the crosshair (left/right spot, up/down horizon)" },
      h("div", { class: "grid2" }, chartEls.riskA, chartEls.riskB),
      h("div", { class: "grid3 strips" }, chartEls.overlay, chartEls.delta, chartEls.gamma));
    const slices = h("div", { "data-testid": "price-slices" });
    const matrixArea = h("div", { class: "stack charts-area", tabindex: "0", hidden: true, "data-testid": "matrix", "aria-label": "Matrix: click a cell, or arrow keys move the selected cell" },
      h("div", { class: "grid3" }, chartEls.matrixA, chartEls.matrixB, chartEls.matrixD),
      h("div", { class: "panel" }, h("h2", {}, "Price slices"), slices));
    const results = h("section", { class: "stack results", "aria-label": "Results" },
      resultStatus, h("div", { class: "grid2 top" }, h("div", { class: "panel" }, h("h2", {}, "A, B and A - B"), summary), readout),
      curvesArea, matrixArea);

    el.append(h("div", { class: "cmp stack", "data-testid": "compare-page" },
      header, notice, snapshotHost, scenarioForm,
      h("div", { class: "builder" }, chainPanel, h("div", { class: "stack" }, tradeEls.A.root, tradeEls.B.root)),
      importHost, results));

    const charts = new ChartsView(chartEls, {
      onCursor: (cursor, origin) => setCursor(cursor, origin),
      onCell: (cell) => setCell(cell),
    });

    const snapbar = new SnapshotBar(snapshotHost, {
      canEdit,
      armedDraft: () => state.trades[state.armed].draft,
      armed: () => state.armed,
      onChange: async (snapshot, { recompute }) => {
        await loadChain();
        if (recompute) markAllDirty();
      },
    });

    // ---- arming and modes -------------------------------------------------------------------
    function arm(id) {
      state.armed = id;
      for (const key of ["A", "B"]) {
        armedButtons[key].setAttribute("aria-pressed", String(key === id));
        armedButtons[key].classList.toggle("on", key === id);
        tradeEls[key].root.classList.toggle("armed", key === id);
      }
      armedLabel.textContent = `armed: ${id}`;
      snapbar.renderAttribution();
    }

    function setMode(mode) {
      state.mode = mode;
      for (const key of ["curves", "matrix"]) {
        modeButtons[key].setAttribute("aria-pressed", String(key === mode));
        modeButtons[key].classList.toggle("on", key === mode);
      }
      curvesArea.hidden = mode !== "curves";
      matrixArea.hidden = mode !== "matrix";
      el.querySelector(".cmp").dataset.mode = mode;
      drawResults();
    }

    for (const id of ["A", "B"]) armedButtons[id].addEventListener("click", () => arm(id));
    for (const mode of ["curves", "matrix"]) modeButtons[mode].addEventListener("click", () => setMode(mode));

    // ---- scenario ---------------------------------------------------------------------------
    function readScenario() {
      return {
        days: parseHorizons(inputs.horizons.value),
        range: parseRange(inputs.range.value),
        steps: parseSteps(inputs.steps.value),
        vols: parseVolShocks(inputs.vols.value),
      };
    }

    scenarioForm.addEventListener("submit", (event) => {
      event.preventDefault();
      try {
        state.scenario = readScenario();
        scenarioError.textContent = "";
        inputs.steps.value = String(state.scenario.steps);
        state.cursor = { spot: Math.floor(state.scenario.steps / 2), date: 0 };
        state.cell = { spot: Math.floor(state.scenario.steps / 2), vol: Math.max(0, state.scenario.vols.indexOf(0)) };
        scheduleRecompute();
      } catch (error) {
        scenarioError.textContent = error.message;
      }
    });

    // ---- chain ------------------------------------------------------------------------------
    async function loadSymbols() {
      try {
        state.symbols = await get("/v1/market/symbols");
        clear(symbolList).append(...state.symbols.map((s) => h("option", { value: s.symbol }, `${s.symbol} (${s.kind})`)));
      } catch (error) {
        chainInfo.textContent = `Symbols could not be loaded: ${errorText(error)}`;
      }
    }

    /** Adopt ``chain`` (a /v1/market/chains answer), keeping the expiry when it still has it. */
    function setChain(chain) {
      state.chain = chain;
      if (!chain.expiries.map(String).includes(state.expiry)) state.expiry = chain.expiries[0] || null;
    }

    /** Draw the adopted chain: its expiries and the chosen expiry's strikes. */
    function showChain() {
      const chain = state.chain;
      clear(expirySelect).append(...chain.expiries.map((e) => h("option", { value: e, selected: e === state.expiry }, e)));
      renderChain();
    }

    function applyChain(chain) {
      setChain(chain);
      showChain();
    }

    async function loadChain() {
      const snap = snapbar.snapshot;
      if (!snap) {
        clear(chainBody).append(h("div", { class: "empty", "data-testid": "chain-empty" },
          canEdit ? "No snapshot yet." : `No live snapshot quotes ${state.symbol} yet: a trader takes one.`));
        return;
      }
      try {
        applyChain(await get(`/v1/market/chains/${encodeURIComponent(state.symbol)}?snapshot=${snap.snapshot_id}`));
      } catch (error) {
        state.chain = null;
        clear(chainBody).append(h("div", { class: "empty error", "data-testid": "chain-error" }, errorText(error)));
      }
    }

    function renderChain() {
      const chain = state.chain;
      if (!chain) return;
      const rows = chain.rows.filter((r) => r.expiry === state.expiry);
      const spot = Number(chain.spot);
      chainInfo.textContent = `${chain.symbol} spot ${fmt(spot, 2)} · ${rows.length / 2} strikes · as of ${chain.as_of.replace("T", " ").replace("Z", " UTC")}`;
      const byStrike = new Map();
      for (const row of rows) {
        if (!byStrike.has(row.strike)) byStrike.set(row.strike, {});
        byStrike.get(row.strike)[row.right] = row;
      }
      const strikes = [...byStrike.keys()].sort((x, y) => Number(x) - Number(y));
      const cell = (row, sideName) => {
        const price = row ? row[sideName] : null;
        const usable = price !== null && price !== undefined && !(sideName === "bid" && Number(price) <= 0);
        if (!canEdit || !usable) return h("td", { class: `num q ${sideName}` }, price === null || price === undefined ? "-" : fmt(price, 2));
        const button = h("button", {
          type: "button", class: `quote ${sideName}`,
          "data-testid": `chain-${row.right}-${row.strike}-${sideName}`,
          title: `${sideName === "ask" ? "Buy" : "Sell"} ${row.strike} ${row.right === "C" ? "call" : "put"} at ${price} (Ctrl+click: multi-add)`,
        }, fmt(price, 2));
        button.addEventListener("click", (event) => addFromChain(row, sideName === "ask" ? 1 : -1, event));
        return h("td", { class: `num q ${sideName}` }, button);
      };
      let atm = null;
      const body = h("tbody", {}, strikes.map((strike) => {
        const pair = byStrike.get(strike);
        const k = Number(strike);
        const tr = h("tr", { class: k < spot ? "itm-c" : "itm-p" },
          cell(pair.C, "bid"), cell(pair.C, "ask"), h("td", { class: "num iv" }, pair.C && pair.C.iv != null ? fmt(pair.C.iv * 100, 1) : "-"),
          h("td", { class: "num strike" }, strike),
          h("td", { class: "num iv" }, pair.P && pair.P.iv != null ? fmt(pair.P.iv * 100, 1) : "-"), cell(pair.P, "bid"), cell(pair.P, "ask"));
        if (atm === null && k >= spot) atm = tr;
        return tr;
      }));
      const head = h("thead", {}, h("tr", {}, ["Call bid", "Call ask", "IV %", "Strike", "IV %", "Put bid", "Put ask"].map((t) => h("th", {}, t))));
      clear(chainBody).append(h("table", { class: "data chain" }, head, body));
      if (atm) chainBody.scrollTop = Math.max(0, atm.offsetTop - chainBody.clientHeight / 2);
    }

    symbolInput.addEventListener("change", async () => {
      const value = symbolInput.value.trim().toUpperCase();
      if (!value) return;
      if (state.symbols.length && !state.symbols.some((s) => s.symbol === value)) {
        chainInfo.textContent = `${value} is not a symbol the service offers (${state.symbols.map((s) => s.symbol).join(", ")}).`;
        return;
      }
      symbolInput.value = value;
      state.symbol = value;
      state.expiry = null;
      await snapbar.ensureSymbol(value, symbolsInTrades());
      await loadChain();
    });
    expirySelect.addEventListener("change", () => { state.expiry = expirySelect.value; renderChain(); });

    // ---- multi-add --------------------------------------------------------------------------
    function beginMulti(source) {
      if (state.multi || !canEdit) return;
      state.multi = { source, added: 0 };
      multiToggle.setAttribute("aria-pressed", "true");
      multiToggle.classList.add("on");
      renderMulti();
    }

    function endMulti() {
      if (!state.multi) return;
      const added = state.multi.added;
      state.multi = null;
      multiToggle.setAttribute("aria-pressed", "false");
      multiToggle.classList.remove("on");
      renderMulti();
      if (added > 0) scheduleRecompute();
    }

    function renderMulti() {
      const m = state.multi;
      multiIndicator.hidden = !m;
      if (!m) return;
      const done = h("button", { type: "button", "data-testid": "multiadd-done" }, "Done");
      done.addEventListener("click", endMulti);
      clear(multiIndicator).append(
        h("span", { class: "badge warn" }, "MULTI-ADD"),
        ` ${m.added} leg${m.added === 1 ? "" : "s"} added to ${state.armed}; ${m.source === "ctrl" ? "release Ctrl" : "press Done (or m)"} to recompute once. `,
        done);
    }

    multiToggle.addEventListener("click", () => (state.multi ? endMulti() : beginMulti("toggle")));

    // ---- trades -----------------------------------------------------------------------------
    function symbolsInTrades() {
      const set = new Set();
      for (const id of ["A", "B"]) for (const leg of (state.trades[id].draft || { legs: [] }).legs) set.add(leg.instrument.symbol);
      return [...set];
    }

    function enqueue(id, work) {
      const trade = state.trades[id];
      trade.editSeq += 1;
      renderTradeState(id);
      const run = trade.queue.then(work).then((draft) => {
        if (draft) trade.draft = draft;
        trade.error = null;
      }).catch(async (error) => {
        trade.error = errorText(error);
        toast(`Trade ${id}: ${trade.error}`, "error");
        if (trade.draft) {
          try { trade.draft = await get(`/v1/trades/drafts/${trade.draft.id}`); } catch { /* shown already */ }
        }
      }).finally(() => { renderLegs(id); renderTradeState(id); });
      trade.queue = run;
      return run;
    }

    function addFromChain(row, sign, event) {
      if (event && event.ctrlKey) beginMulti("ctrl");
      const id = state.armed;
      const snap = snapbar.snapshot;
      if (!snap) { toast("No snapshot: take one first.", "error"); return; }
      const leg = {
        instrument: { type: "option", underlying: state.chain.symbol, expiry: row.expiry, strike: row.strike, right: row.right, style: row.style === "EUROPEAN" ? "EUROPEAN" : "AMERICAN" },
        quantity: String(sign),
        snapshot: snap.snapshot_id,
      };
      if (state.multi) { state.multi.added += 1; renderMulti(); }
      const multi = Boolean(state.multi);
      enqueue(id, async () => {
        const trade = state.trades[id];
        if (!trade.draft) return post("/v1/trades/drafts", { name: DRAFT_NAMES[id], legs: [leg] });
        return post(`/v1/trades/drafts/${trade.draft.id}/legs`, leg);
      });
      if (!multi) scheduleRecompute();
    }

    // flow 9: broker positions as legs of one trade, one recompute for them all
    function addLegs(id, legs) {
      enqueue(id, async () => {
        let draft = state.trades[id].draft;
        if (!draft) return post("/v1/trades/drafts", { name: DRAFT_NAMES[id], legs });
        for (const leg of legs) draft = await post(`/v1/trades/drafts/${draft.id}/legs`, leg);
        return draft;
      });
      scheduleRecompute();
    }
    if (canEdit) {
      new Importer(importHost, {
        snapshot: () => snapbar.snapshot,
        addLegs,
        useSnapshot: async (ref) => { snapbar.snapshot = ref; snapbar.render(); await snapbar.onChange(ref, { recompute: true }); },
      });
    }

    function editLeg(id, leg, body) {
      enqueue(id, () => patch(`/v1/trades/drafts/${state.trades[id].draft.id}/legs/${leg.leg_id}`, body));
      scheduleRecompute();
    }
    function toggleLeg(id, leg) {
      enqueue(id, () => post(`/v1/trades/drafts/${state.trades[id].draft.id}/legs/${leg.leg_id}/toggle`));
      scheduleRecompute();
    }
    function deleteLeg(id, leg) {
      enqueue(id, () => del(`/v1/trades/drafts/${state.trades[id].draft.id}/legs/${leg.leg_id}`));
      scheduleRecompute();
    }

    function resetTrade(id) {
      const trade = state.trades[id];
      trade.queue.then(() => {
        state.trades[id] = newTrade(id);
        state.trades[id].editSeq = trade.editSeq + 1;
        renderLegs(id);
        renderTradeState(id);
        scheduleRecompute();
      });
    }

    async function commitTrade(id) {
      const trade = state.trades[id];
      await trade.queue;
      if (!trade.draft || trade.draft.legs.length === 0) { toast(`Trade ${id} has no legs to commit.`, "error"); return; }
      try {
        const version = await post(`/v1/trades/drafts/${trade.draft.id}/commit`);
        trade.version = version;
        const t = tradeEls[id];
        t.version.textContent = `version ${version.id.slice(0, 8)} · trade ${version.trade_hash.slice(0, 12)}`;
        t.version.dataset.versionId = version.id;
        t.version.dataset.hash = version.trade_hash;
        toast(`Trade ${id} committed (${version.created ? "new version" : "same as an earlier version"}).`);
      } catch (error) {
        toast(`Commit of ${id} failed: ${errorText(error)}`, "error");
      }
    }

    function renderLegs(id) {
      const trade = state.trades[id];
      const box = clear(tradeEls[id].legs);
      tradeEls[id].root.dataset.draftId = trade.draft ? trade.draft.id : "";
      if (!trade.draft || trade.draft.legs.length === 0) {
        box.append(h("div", { class: "empty", "data-testid": `trade-${id.toLowerCase()}-empty` },
          canEdit ? `No legs. Arm ${id} and click an ask (buy) or a bid (sell) in the chain.` : "No legs."));
        return;
      }
      const lower = id.toLowerCase();
      const rows = trade.draft.legs.map((leg, i) => {
        const include = h("input", { type: "checkbox", checked: leg.include, disabled: !canEdit, "data-testid": `leg-${lower}-${i}-include`, "aria-label": `Include ${legLabel(leg)}` });
        include.addEventListener("change", () => toggleLeg(id, leg));
        const qty = h("input", { type: "number", step: "1", value: leg.quantity, disabled: !canEdit, class: "num", "data-testid": `leg-${lower}-${i}-qty`, "aria-label": `Quantity of ${legLabel(leg)}` });
        qty.addEventListener("change", () => {
          const n = Number(qty.value);
          if (!Number.isFinite(n) || n === 0) { toast("Quantity must be a non-zero number (negative sells).", "error"); qty.value = leg.quantity; return; }
          editLeg(id, leg, { quantity: qty.value });
        });
        const entry = h("input", { type: "number", step: "0.01", min: "0", value: leg.entry_price, disabled: !canEdit, class: "num", "data-testid": `leg-${lower}-${i}-entry`, "aria-label": `Entry price of ${legLabel(leg)}` });
        entry.addEventListener("change", () => {
          const n = Number(entry.value);
          if (!Number.isFinite(n) || n < 0) { toast("Entry price must be a number >= 0.", "error"); entry.value = leg.entry_price; return; }
          editLeg(id, leg, { entry_price: entry.value });
        });
        const remove = h("button", { type: "button", class: "ghost", disabled: !canEdit, "data-testid": `leg-${lower}-${i}-delete`, "aria-label": `Delete ${legLabel(leg)}` }, "✕");
        remove.addEventListener("click", () => deleteLeg(id, leg));
        const q = Number(leg.quantity);
        return h("tr", { class: leg.include ? "" : "excluded", "data-testid": `leg-${lower}-${i}` },
          h("td", {}, include),
          h("td", { class: "text" }, h("span", { class: q > 0 ? "pos" : "neg" }, q > 0 ? "BUY " : "SELL "), legLabel(leg)),
          h("td", {}, qty), h("td", {}, entry), h("td", {}, remove));
      });
      box.append(h("table", { class: "data legs" },
        h("thead", {}, h("tr", {}, h("th", {}, "On"), h("th", { class: "text" }, "Leg"), h("th", {}, "Qty"), h("th", {}, "Entry"), h("th", {}, ""))),
        h("tbody", {}, rows)));
    }

    function renderTradeState(id) {
      const trade = state.trades[id];
      const badge = tradeEls[id].state;
      let text;
      let kind;
      if (trade.error) { text = "error"; kind = "bad"; }
      else if (trade.editSeq > trade.computedSeq || (state.computing && trade.editSeq > 0)) { text = "dirty"; kind = "dirty"; }
      else if (!included(trade.draft)) { text = "no legs"; kind = ""; }
      else { text = "fresh"; kind = "ok"; }
      badge.textContent = text;
      badge.className = `badge ${kind}`;
      badge.title = text === "dirty" ? "Edits are waiting for a recompute" : "";
    }

    function markAllDirty() {
      for (const id of ["A", "B"]) { state.trades[id].editSeq += 1; renderTradeState(id); }
      scheduleRecompute();
    }

    // ---- recompute --------------------------------------------------------------------------
    const scheduleRecompute = debounce(() => { if (!state.multi && !state.disposed) recompute(); }, RECOMPUTE_MS);

    async function recompute() {
      const token = ++state.computeToken;
      const { A, B } = state.trades;
      await Promise.all([A.queue, B.queue]);
      if (token !== state.computeToken || state.disposed) return;
      const snap = snapbar.snapshot;
      const seqs = { A: A.editSeq, B: B.editSeq };
      const scenario = state.scenario;
      const spot = state.chain ? Number(state.chain.spot) : 100;
      const asOf = snap ? snap.as_of : new Date().toISOString();
      const grid = buildGrid(scenario, asOf);
      const axes = { ...scenario, spot, grid, base: horizonBase(asOf) };
      const hasA = included(A.draft);
      const hasB = included(B.draft);
      state.computing = true;
      renderStatus("computing");
      const started = performance.now();
      let answer;
      try {
        if (!canEdit || (!hasA && !hasB) || !snap) answer = { kind: "none" };
        else if (hasA && hasB) answer = { kind: "compare", body: await post("/v1/compare", { a: { draft_id: A.draft.id }, b: { draft_id: B.draft.id }, snapshot_id: snap.snapshot_id, scenario_grid: grid }) };
        else {
          const which = hasA ? "A" : "B";
          answer = { kind: "evaluate", which, body: await post("/v1/evaluate", { trade: { draft_id: state.trades[which].draft.id }, snapshot_id: snap.snapshot_id, scenario_grid: grid }) };
        }
      } catch (error) {
        if (token !== state.computeToken) return;
        state.computing = false;
        state.resultError = errorText(error);
        renderStatus("error");
        for (const id of ["A", "B"]) renderTradeState(id);
        return;
      }
      if (token !== state.computeToken || state.disposed) return;
      state.computing = false;
      state.resultError = null;
      A.computedSeq = seqs.A;
      B.computedSeq = seqs.B;
      state.view = buildView(answer, axes, state.chain ? state.chain.symbol : state.symbol);
      state.lastAnswer = answer.kind;
      const nSpots = state.view.x.length;
      state.cursor = { spot: Math.min(state.cursor.spot, nSpots - 1), date: Math.min(state.cursor.date, state.view.dates.length - 1) };
      state.cell = { spot: Math.min(state.cell.spot, nSpots - 1), vol: Math.min(state.cell.vol, state.view.vols.length - 1) };
      const ms = performance.now() - started;
      performance.mark("riskdesk:compare:recomputed", { detail: { ms } });
      renderStatus("done", ms);
      for (const id of ["A", "B"]) renderTradeState(id);
      await drawResults();
    }

    function renderStatus(phase, ms) {
      const snap = snapbar.snapshot;
      const parts = [];
      if (phase === "computing") parts.push(h("span", { class: "badge dirty", "data-testid": "result-computing" }, "recomputing..."));
      if (phase === "error") parts.push(h("span", { class: "error", role: "alert", "data-testid": "result-error" }, `The recompute failed: ${state.resultError}`));
      if (phase === "done") {
        const view = state.view;
        parts.push(h("span", { class: "badge ok", "data-testid": "result-ok" }, view && (view.A.empty && view.B.empty) ? "no legs: zeroed outputs" : "computed"));
        if (view && view.snapshotHash) {
          parts.push(h("span", { class: "muted small", "data-testid": "result-snapshot", "data-hash": view.snapshotHash, title: view.snapshotHash },
            `snapshot ${view.snapshotHash.slice(0, 12)} (${snap ? snap.mode.toLowerCase() : "?"})`));
        }
        if (ms !== undefined) parts.push(h("span", { class: "muted small", "data-testid": "result-ms" }, `${Math.round(ms)} ms`));
        if (view && !view.comparable) parts.push(h("span", { class: "badge warn" }, "A and B are not comparable on every axis"));
        const issues = view ? [...view.A.errors, ...view.B.errors] : [];
        if (issues.length) parts.push(h("span", { class: "error", "data-testid": "result-issues" }, issues.map((w) => w.message || JSON.stringify(w)).join("; ")));
        const warnings = view ? [...view.A.warnings, ...view.B.warnings] : [];
        if (warnings.length) parts.push(h("span", { class: "badge warn", title: warnings.map((w) => w.message || JSON.stringify(w)).join("\n") }, `${warnings.length} warning(s)`));
      }
      clear(resultStatus).append(...parts);
      resultStatus.dataset.phase = phase;
      if (phase === "done") resultStatus.dataset.runs = String(Number(resultStatus.dataset.runs || 0) + 1);
    }

    // ---- results ----------------------------------------------------------------------------
    async function drawResults() {
      const view = state.view;
      if (!view) return;
      renderSummary();
      renderHashes();
      renderReadout();
      renderSlices();
      try {
        await charts.draw(view, state.mode, state.cursor, state.cell);
      } catch (error) {
        console.error(error);
        clear(resultStatus).append(h("span", { class: "error", role: "alert" }, `Charts failed: ${error.message}`));
      }
    }

    function renderHashes() {
      const view = state.view;
      for (const id of ["A", "B"]) {
        const t = tradeEls[id];
        const inputs = view[id].inputs;
        if (inputs) {
          t.hash.textContent = `snapshot ${inputs.snapshot_hash.slice(0, 12)} · trade ${inputs.trade.content_hash.slice(0, 12)} (rev ${inputs.trade.rev})`;
          t.hash.dataset.hash = inputs.snapshot_hash;
          t.hash.title = `snapshot ${inputs.snapshot_hash}\ntrade ${inputs.trade.content_hash}`;
        } else {
          t.hash.textContent = "";
          t.hash.dataset.hash = "";
        }
      }
    }

    function renderSummary() {
      const view = state.view;
      const rows = SUMMARY_ROWS.map((row) => {
        const cells = ["A", "B", "D"].map((which) => {
          const value = row.get(view[which].measures);
          const text = typeof value === "string" ? value : fmt(value, row.digits ?? 2);
          return h("td", { class: typeof value === "number" ? signClass(value) : "num", "data-testid": `sum-${row.key}-${which === "D" ? "diff" : which.toLowerCase()}` }, text);
        });
        return h("tr", {}, h("td", { class: "text" }, row.label), ...cells);
      });
      clear(summary).append(h("table", { class: "data", "data-testid": "summary-table" },
        h("thead", {}, h("tr", {}, h("th", { class: "text" }, "Measure"),
          h("th", {}, "A", view.A.empty ? h("span", { class: "muted small" }, " (no legs)") : null),
          h("th", {}, "B", view.B.empty ? h("span", { class: "muted small" }, " (no legs)") : null),
          h("th", {}, "A - B"))),
        h("tbody", {}, rows)));
    }

    function renderReadout() {
      const view = state.view;
      const { spot, date } = state.cursor;
      const at = (which) => view[which].pl[date][spot];
      const deltas = (which) => greekRows(view, which, "delta");
      const delta = (which) => { const rows = deltas(which); return rows ? rows[date][spot] : null; };
      clear(readout).append(
        h("h2", {}, "Crosshair"),
        h("div", { class: "row" },
          h("span", {}, "Spot ", h("b", { class: "num", "data-testid": "readout-spot" }, fmt(view.x[spot], 2)),
            h("span", { class: "muted" }, ` (${view.moves[spot] >= 0 ? "+" : ""}${fmt(view.moves[spot], 2)}%)`)),
          h("span", {}, "Horizon ", h("b", { "data-testid": "readout-horizon" }, horizonLabel(view.days[date] ?? date, view.dates[date])))),
        h("table", { class: "data readout-table" },
          h("thead", {}, h("tr", {}, h("th", { class: "text" }, ""), h("th", {}, "P/L"), h("th", {}, "Delta"))),
          h("tbody", {}, ["A", "B", "D"].map((which) => {
            const key = which === "D" ? "diff" : which.toLowerCase();
            return h("tr", {}, h("td", { class: `text tag-${key}` }, which === "D" ? "A - B" : which),
              h("td", { class: signClass(at(which)), "data-testid": `readout-${key}` }, fmt(at(which), 2)),
              h("td", { class: "num", "data-testid": `readout-${key}-delta` }, fmt(delta(which), 2)));
          }))),
        h("div", { class: "muted small" }, "Hover any chart, or focus the charts and use the arrow keys."));
      readout.dataset.spot = String(spot);
      readout.dataset.date = String(date);
    }

    function renderSlices() {
      const view = state.view;
      const { spot, vol } = state.cell;
      const rows = view.vols.map((shock, j) => h("tr", { class: j === vol ? "live" : "", "data-testid": j === vol ? "slice-live" : `slice-${j}` },
        h("td", { class: "text" }, j === vol ? "live ▸ " : "", `${shock > 0 ? "+" : ""}${shock} pts`),
        ...["A", "B", "D"].map((which) => h("td", { class: signClass(view[which].vol[j][spot]), "data-testid": j === vol ? `slice-live-${which === "D" ? "diff" : which.toLowerCase()}` : undefined }, fmt(view[which].vol[j][spot], 2)))));
      clear(slices).append(
        h("div", { class: "muted", "data-testid": "slice-cell" }, `Selected cell: spot ${fmt(view.x[spot], 2)} (${view.moves[spot] >= 0 ? "+" : ""}${fmt(view.moves[spot], 2)}%), vol shock ${view.vols[vol] > 0 ? "+" : ""}${view.vols[vol]} pts`),
        h("table", { class: "data" }, h("thead", {}, h("tr", {}, h("th", { class: "text" }, "Vol shock"), h("th", {}, "A"), h("th", {}, "B"), h("th", {}, "A - B"))), h("tbody", {}, rows)));
      slices.dataset.spot = String(spot);
      slices.dataset.vol = String(vol);
    }

    function setCursor(cursor, origin) {
      if (!state.view) return;
      const n = state.view.x.length;
      const next = { spot: Math.max(0, Math.min(n - 1, cursor.spot)), date: Math.max(0, Math.min(state.view.dates.length - 1, cursor.date)) };
      const horizonMoved = next.date !== state.cursor.date;
      state.cursor = next;
      renderReadout();
      charts.syncCursor(next, origin, horizonMoved).catch((error) => console.error(error));
    }

    function setCell(cell) {
      if (!state.view) return;
      state.cell = { spot: Math.max(0, Math.min(state.view.x.length - 1, cell.spot)), vol: Math.max(0, Math.min(state.view.vols.length - 1, cell.vol)) };
      renderSlices();
      charts.selectCell(state.cell).catch((error) => console.error(error));
    }

    curvesArea.addEventListener("keydown", (event) => {
      const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
      const move = moves[event.key];
      if (!move || event.target !== curvesArea) return;
      event.preventDefault();
      setCursor({ spot: state.cursor.spot + move[0], date: state.cursor.date + move[1] }, null);
    });
    matrixArea.addEventListener("keydown", (event) => {
      const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
      const move = moves[event.key];
      if (!move || event.target !== matrixArea) return;
      event.preventDefault();
      setCell({ spot: state.cell.spot + move[0], vol: state.cell.vol + move[1] });
    });

    // ---- keys -------------------------------------------------------------------------------
    const typing = (target) => target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA" || target.isContentEditable);
    function onKeyDown(event) {
      if (event.key === "Control" && !typing(event.target) && canEdit) { beginMulti("ctrl"); return; }
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "a" && canEdit) arm("A");
      else if (event.key === "b" && canEdit) arm("B");
      else if (event.key === "v") setMode(state.mode === "curves" ? "matrix" : "curves");
      else if (event.key === "m" && canEdit) (state.multi ? endMulti() : beginMulti("toggle"));
      else if (event.key === "r" && canEdit) recompute();
    }
    function onKeyUp(event) {
      if (event.key === "Control" && state.multi && state.multi.source === "ctrl") endMulti();
    }
    function onBlur() { if (state.multi && state.multi.source === "ctrl") endMulti(); }
    const onTheme = () => drawResults();
    document.addEventListener("keydown", onKeyDown);
    document.addEventListener("keyup", onKeyUp);
    window.addEventListener("blur", onBlur);
    window.addEventListener("riskdesk:theme", onTheme);
    cleanups.push(() => {
      document.removeEventListener("keydown", onKeyDown);
      document.removeEventListener("keyup", onKeyUp);
      window.removeEventListener("blur", onBlur);
      window.removeEventListener("riskdesk:theme", onTheme);
    });

    // ---- start ------------------------------------------------------------------------------
    arm("A");
    setMode("curves");
    renderLegs("A");
    renderLegs("B");
    // First render: the newest live snapshot comes with its chain (one request), the drafts in
    // parallel; each is drawn as soon as it arrives, then one recompute whose tables are drawn
    // before the charts. The symbol list and the snapshot's other underlyings load beside, off
    // that path; plotly loads only once the first results are on screen (loading it earlier
    // puts its parse and execution, ~1 s of main-thread work on a cold cache under load, in
    // the way of the first answers: measured 1.8 s instead of 0.9 s).
    const drafts = canEdit ? getAll("/v1/trades/drafts?limit=100", 200).catch((error) => { toast(`Drafts could not be loaded: ${errorText(error)}`, "error"); return []; }) : Promise.resolve([]);
    const chainShown = snapbar.start(state.symbol).then((chain) => {
      if (state.disposed) return undefined;
      if (!chain) return loadChain();
      setChain(chain);
      // drawn in the next task: when the drafts are in already, the first recompute (which
      // needs only the spot) is sent before the strikes are laid out
      setTimeout(() => { if (!state.disposed && state.chain === chain) showChain(); }, 0);
      return undefined;
    });
    const draftsShown = drafts.then((items) => {
      if (state.disposed) return;
      for (const id of ["A", "B"]) {
        const mine = items.find((d) => d.name === DRAFT_NAMES[id]);
        if (mine) state.trades[id].draft = mine;
        renderLegs(id);
      }
    });
    loadSymbols();
    await Promise.all([chainShown, draftsShown]);
    if (state.disposed) return undefined;
    recompute().finally(() => { if (!state.disposed) snapbar.complete(); });

    return () => {
      state.disposed = true;
      for (const fn of cleanups) fn();
      snapbar.dispose();
    };
  },
};
