// Paper trading: accounts, signals, the order ticket with its risk-gate verdict, orders and
// fills, positions and NAV live from /v1/ws/trading, the kill switch, the equity curve.
// A viewer reads (tables, curve); traders and admins also trade and switch the kill switch.

import { get, getAll, post, socket } from "../api.js";
import { h, clear, fmt, roundDecimal, signClass, table, toast, errorText, guarded, useStyle } from "../ui.js";
import { plot, seriesColor } from "../charts.js";
import { createChainPicker } from "../paper/chain.js";
import { createTicket } from "../paper/ticket.js";

const ACCOUNT_KEY = "riskdesk.paper.account";
const WORKING = new Set(["submitted", "partially_filled"]);
const TEMPLATES = ["iron_condor", "iron_butterfly", "bull_call_spread", "bear_put_spread", "straddle", "strangle"];

function panel(title, testid, ...children) {
  return h("section", { class: "panel", "data-testid": testid, "aria-label": title }, h("h2", {}, title), ...children);
}

function time(iso) {
  if (!iso) return "-";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace("T", " ").slice(0, 19);
}

/** The UTC time of day (the full instant in the tooltip), for the busy tables. */
function clock(iso) {
  return h("span", { title: time(iso) }, iso ? time(iso).slice(11) : "-");
}

/** The next Friday at least a week away (weekly expiries), as YYYY-MM-DD. */
function defaultExpiry() {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + 7);
  while (d.getUTCDay() !== 5) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

/** An OCC symbol as typed (the padded form's spaces would collapse in HTML anyway). */
function sym(symbol) { return symbol ? String(symbol).replaceAll(" ", "") : "-"; }

function failure(box, error) {
  clear(box).append(h("div", { class: "empty error", role: "alert" }, errorText(error)));
}

export default {
  async mount(el, { role }) {
    useStyle("paper");
    const canTrade = role === "admin" || role === "trader";
    const data = {
      accounts: [], account: null, orders: [], fills: [], positions: [], snapshots: [], live: [],
      kill: null, signals: [],
    };
    let sock = null;
    let alive = true;
    let killButtons = null;

    // -- skeleton ------------------------------------------------------------------------
    const accountSelect = h("select", { "aria-label": "account", "data-testid": "account-select", onchange: (e) => choose(e.target.value) });
    const liveBadge = h("span", { class: "badge stale", "data-testid": "live-status" }, "connecting");
    const killBadge = h("span", { class: "badge", "data-testid": "kill-badge" }, "kill switch ?");
    const summary = h("div", { class: "row paper-summary", "data-testid": "account-summary" });
    const positionsBox = h("div", { "data-testid": "positions" }, h("div", { class: "muted" }, "loading..."));
    const ordersBox = h("div", { "data-testid": "orders" }, h("div", { class: "muted" }, "loading..."));
    const fillsBox = h("div", { "data-testid": "fills" }, h("div", { class: "muted" }, "loading..."));
    const equityBox = h("div", { class: "chart", "data-testid": "equity-curve" });
    const equityNote = h("div", { class: "muted", "data-testid": "equity-note" });
    const killBox = h("div", { "data-testid": "kill-switch-state" }, h("div", { class: "muted" }, "loading..."));
    const killHistory = h("div", { "data-testid": "kill-switch-history" });
    const signalsBox = h("div", { "data-testid": "signals" }, h("div", { class: "muted" }, "loading..."));

    const passButton = h("button", { type: "button", class: "ghost", "data-testid": "market-pass", title: "Run the paper venue over the market now: working orders match, the kill switch checks, NAV is marked" }, "Market pass");
    const autoPass = h("input", { type: "checkbox", "data-testid": "market-pass-auto", "aria-label": "market pass every 5 seconds" });
    const passNote = h("span", { class: "muted", "data-testid": "market-pass-note" });
    const passRow = canTrade ? h("div", { class: "row" }, passButton, h("label", { class: "muted" }, autoPass, " every 5 s"), passNote) : null;
    let autoTimer = null;

    const ticket = canTrade ? createTicket({ account: () => data.account, onOrder: () => refreshOrders() }) : null;
    const picker = canTrade ? createChainPicker({ onPick: (leg) => ticket.pick(leg) }) : null;

    const header = h("div", { class: "row paper-head" },
      h("h1", {}, "Paper trading"),
      h("label", { class: "muted" }, "account ", accountSelect),
      canTrade ? newAccountForm() : null,
      h("span", { class: "spacer" }), killBadge, liveBadge);

    const left = h("div", { class: "stack" },
      canTrade ? panel("Order ticket", "ticket-panel", picker.el, ticket.el) : null,
      panel("Positions", "positions-panel", passRow, summary, positionsBox),
      panel("Equity curve", "equity-panel", equityNote, equityBox));
    const right = h("div", { class: "stack" },
      panel("Kill switch", "kill-panel", killBox, canTrade ? killControls() : null, h("h3", {}, "History"), killHistory),
      panel("Signals", "signals-panel", canTrade ? signalForm() : null, signalsBox));
    el.append(header,
      h("div", { class: "paper-grid" }, left, right),
      h("div", { class: "grid2 paper-tables" },
        panel("Orders", "orders-panel", ordersBox),
        panel("Fills", "fills-panel", fillsBox)));

    // -- market pass: the venue matches working orders and marks NAV (the equity curve) --
    async function marketPass() {
      if (!data.account || passButton.disabled) return;
      passButton.disabled = true;
      const result = await guarded(() => post("/v1/paper/market-pass"));
      passButton.disabled = false;
      if (!result || !alive || !data.account) return;
      passNote.textContent = `${result.fills} fill(s), ${result.cancelled} cancelled at ${new Date().toLocaleTimeString()}`;
      const id = encodeURIComponent(data.account.account_id);
      const snapshots = await guarded(() => getAll(`/v1/portfolio/snapshots?account=${id}&limit=200`, 2000));
      if (snapshots && alive) { data.snapshots = snapshots; renderEquity(); }
      refreshOrders();
    }
    passButton.addEventListener("click", marketPass);
    autoPass.addEventListener("change", () => {
      clearInterval(autoTimer);
      autoTimer = autoPass.checked ? setInterval(marketPass, 5000) : null;
    });

    // -- accounts ------------------------------------------------------------------------
    function newAccountForm() {
      const name = h("input", { placeholder: "new account", size: 12, "aria-label": "new account name", "data-testid": "account-name" });
      const cash = h("input", { value: "100000", inputmode: "decimal", size: 9, "aria-label": "starting cash", "data-testid": "account-cash" });
      const form = h("form", { class: "row", "data-testid": "account-form" }, name, cash, h("button", { type: "submit", class: "ghost", "data-testid": "account-create" }, "Create"));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const created = await guarded(() => post("/v1/accounts", { name: name.value.trim(), cash: cash.value.trim() }));
        if (!created) return;
        name.value = "";
        data.accounts.push(created);
        renderAccounts();
        choose(created.account_id);
      });
      return form;
    }

    function renderAccounts() {
      clear(accountSelect);
      if (!data.accounts.length) accountSelect.append(h("option", { value: "" }, canTrade ? "no account: create one" : "no account"));
      for (const a of data.accounts) {
        accountSelect.append(h("option", { value: a.account_id, selected: data.account && a.account_id === data.account.account_id }, a.name));
      }
    }

    function renderSummary() {
      clear(summary);
      const a = data.account;
      if (!a) { summary.append(h("span", { class: "muted" }, "no account selected")); return; }
      const pnl = Number(a.nav) - Number(a.starting_cash);
      const item = (label, value, testid, cls = "num") => h("div", { class: "paper-figure" }, h("div", { class: "muted" }, label), h("div", { class: cls, "data-testid": testid }, value));
      summary.append(
        item("cash", fmt(a.cash), "summary-cash"),
        item("NAV", fmt(a.nav), "summary-nav"),
        item("starting cash", fmt(a.starting_cash), "summary-start"),
        item("P&L", fmt(pnl), "summary-pnl", signClass(pnl)));
    }

    // -- tables --------------------------------------------------------------------------
    function renderPositions() {
      clear(positionsBox).append(table([
        { key: "symbol", label: "symbol", text: true, render: (p) => sym(p.symbol) },
        { key: "qty", label: "qty", digits: 0 },
        { key: "avg_entry_price", label: "avg entry", digits: 2 },
        { key: "mark_price", label: "mark", digits: 2 },
        { key: "unrealized_pnl", label: "unrealized", digits: 2, signed: true },
        { key: "realized_pnl", label: "realized", digits: 2, signed: true },
      ], data.positions, { testid: "positions-table", empty: "no open position", rowAttrs: (p) => ({ "data-symbol": p.symbol }) }));
    }

    function renderOrders() {
      const columns = [
        { key: "created_at", label: "time (UTC)", text: true, render: (o) => clock(o.created_at) },
        { key: "symbol", label: "symbol", text: true, render: (o) => o.legs.length > 1 ? `${o.legs.length} legs: ${o.legs.map((l) => `${l.side} ${sym(l.symbol)}`).join(" / ")}` : sym(o.symbol) },
        { key: "side", label: "side", text: true },
        { key: "qty", label: "qty", digits: 0 },
        { key: "filled_qty", label: "filled", digits: 0 },
        { key: "order_type", label: "type", text: true },
        { key: "limit_price", label: "limit", digits: 2 },
        { key: "avg_fill_price", label: "avg fill", digits: 2 },
        { key: "status", label: "status", text: true, render: (o) => h("span", { class: `badge ${o.status}`, "data-testid": "order-status", title: o.risk_reason || "" }, o.status) },
      ];
      if (canTrade) {
        columns.push({ key: "cancel", label: "", text: true, render: (o) => WORKING.has(o.status)
          ? h("button", { type: "button", class: "ghost", "data-testid": "order-cancel", "aria-label": `cancel order ${o.order_id.slice(0, 8)}`, onclick: () => cancel(o) }, "Cancel")
          : "" });
      }
      clear(ordersBox).append(table(columns, data.orders, {
        testid: "orders-table", empty: "no order yet",
        rowAttrs: (o) => ({ "data-order-id": o.order_id, "data-status": o.status }),
      }));
    }

    function renderFills() {
      clear(fillsBox).append(table([
        { key: "filled_at", label: "time (UTC)", text: true, render: (f) => clock(f.filled_at) },
        { key: "symbol", label: "symbol", text: true, render: (f) => sym(f.symbol) },
        { key: "side", label: "side", text: true },
        { key: "qty", label: "qty", digits: 0 },
        { key: "fill_price", label: "price", digits: 2 },
        { key: "commission", label: "commission", digits: 2 },
        { key: "fee", label: "fee", digits: 2 },
      ], data.fills, { testid: "fills-table", empty: "no fill yet", rowAttrs: (f) => ({ "data-fill-id": f.fill_id, "data-order-id": f.order_id }) }));
    }

    async function cancel(order) {
      const done = await guarded(() => post(`/v1/orders/${order.order_id}/cancel`));
      if (done) { upsertOrder(done); toast(`Order ${order.order_id.slice(0, 8)} cancelled`); }
    }

    function upsertOrder(order) {
      if (!data.account || order.account_id !== data.account.account_id) return;
      const i = data.orders.findIndex((o) => o.order_id === order.order_id);
      if (i >= 0) data.orders[i] = order; else data.orders.unshift(order);
      renderOrders();
    }

    async function refreshOrders() {
      if (!data.account) return;
      const id = encodeURIComponent(data.account.account_id);
      try {
        const [orders, fills, account] = await Promise.all([
          get(`/v1/orders?account=${id}&limit=100`), get(`/v1/fills?account=${id}&limit=100`), get(`/v1/accounts/${id}`)]);
        if (!alive || !data.account || data.account.account_id !== account.account_id) return;
        data.orders = orders.items; data.fills = fills.items; data.account = account;
        renderOrders(); renderFills(); renderSummary();
      } catch (error) { failure(ordersBox, error); }
    }

    // -- equity curve --------------------------------------------------------------------
    async function renderEquity() {
      const points = [...data.snapshots].filter((s) => s.nav !== null).reverse();
      equityNote.textContent = points.length
        ? `${points.length} NAV snapshot${points.length === 1 ? "" : "s"}${data.live.length ? `, ${data.live.length} live update${data.live.length === 1 ? "" : "s"}` : ""}`
        : data.live.length ? "no stored NAV snapshot yet; live updates only" : "no NAV snapshot yet (the desk's market pass stores them)";
      if (!points.length && !data.live.length) { clear(equityBox); equityBox.classList.add("empty"); equityBox.textContent = "no equity history yet"; return; }
      equityBox.classList.remove("empty");
      if (equityBox.textContent && !equityBox.querySelector(".plot-container")) equityBox.textContent = "";
      const traces = [{
        x: points.map((s) => s.captured_at), y: points.map((s) => Number(s.nav)), name: "NAV (snapshots)",
        mode: "lines+markers", line: { color: seriesColor("a") },
      }];
      if (data.live.length) {
        traces.push({ x: data.live.map((p) => p.at), y: data.live.map((p) => p.nav), name: "NAV (live)", mode: "markers", marker: { color: seriesColor("b"), size: 8 } });
      }
      try {
        await plot(equityBox, traces, { height: 260, yaxis: { title: "NAV (USD)", tickformat: ",.2f" }, xaxis: { type: "date" } });
        equityBox.dataset.points = String(points.length + data.live.length);
      } catch (error) { failure(equityBox, error); }
    }

    // -- kill switch ---------------------------------------------------------------------
    function killControls() {
      const reason = h("input", { placeholder: "reason (required)", size: 28, "aria-label": "kill switch reason", "data-testid": "kill-reason", required: true });
      const on = h("button", { type: "button", class: "danger", "data-testid": "kill-on", title: "Turn on: refuse new orders, cancel resting ones" }, "Turn ON");
      const off = h("button", { type: "button", class: "ghost", "data-testid": "kill-off" }, "Turn off");
      const send = async (enabled) => {
        if (!reason.value.trim()) { toast("The kill switch needs a reason.", "error"); reason.focus(); return; }
        const done = await guarded(() => post("/v1/kill-switch", { enabled, reason: reason.value.trim() }));
        if (!done) return;
        reason.value = "";
        if (done.cancelled_orders) toast(`${done.cancelled_orders} resting order(s) cancelled`);
        await loadKill();
        refreshOrders();
      };
      killButtons = { on, off };
      on.addEventListener("click", () => send(true));
      off.addEventListener("click", () => send(false));
      reason.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); send(!(data.kill && data.kill.enabled)); } });
      return h("div", { class: "row", "data-testid": "kill-controls" }, reason, on, off);
    }

    function renderKill() {
      const k = data.kill;
      if (!k) return;
      killBadge.className = `badge ${k.enabled ? "bad" : "ok"}`;
      killBadge.textContent = k.enabled ? "KILL SWITCH ON" : "kill switch off";
      if (killButtons) { killButtons.on.disabled = k.enabled; killButtons.off.disabled = !k.enabled; }
      clear(killBox).append(h("div", { class: "row" },
        h("span", { class: `badge ${k.enabled ? "bad" : "ok"}`, "data-testid": "kill-state" }, k.enabled ? "ON" : "off"),
        h("span", { class: "muted" }, "since ", time(k.since)),
        k.actor ? h("span", { class: "muted" }, "by ", h("strong", {}, k.actor)) : null),
      h("div", { "data-testid": "kill-current-reason" }, k.reason ? `reason: ${k.reason}` : "no change recorded yet"));
      clear(killHistory).append(table([
        { key: "created_at", label: "time", text: true, render: (e) => time(e.created_at) },
        { key: "enabled", label: "state", text: true, render: (e) => e.enabled ? "on" : "off" },
        { key: "actor", label: "by", text: true },
        { key: "trigger", label: "trigger", text: true },
        { key: "reason", label: "reason", text: true },
      ], k.history, { testid: "kill-history-table", empty: "no kill switch change yet" }));
    }

    async function loadKill() {
      try { data.kill = await get("/v1/kill-switch"); renderKill(); if (ticket) ticket.refresh(); } catch (error) { failure(killBox, error); }
    }

    // -- signals -------------------------------------------------------------------------
    function signalForm() {
      const template = h("select", { "aria-label": "template", "data-testid": "signal-template" }, TEMPLATES.map((t) => h("option", { value: t }, t.replaceAll("_", " "))));
      const symbol = h("input", { value: "SPY", size: 5, "aria-label": "underlying", "data-testid": "signal-symbol" });
      const expiry = h("input", { type: "date", value: defaultExpiry(), "aria-label": "expiry", "data-testid": "signal-expiry" });
      const offset = h("input", { value: "10", size: 4, inputmode: "decimal", "aria-label": "offset from spot", "data-testid": "signal-offset" });
      const width = h("input", { value: "5", size: 4, inputmode: "decimal", "aria-label": "wing width", "data-testid": "signal-width" });
      const confidence = h("input", { value: "0.6", size: 4, inputmode: "decimal", "aria-label": "confidence", "data-testid": "signal-confidence" });
      const form = h("form", { class: "row paper-signal-form", "data-testid": "signal-form" },
        template, symbol, expiry,
        h("label", { class: "muted" }, "offset ", offset), h("label", { class: "muted" }, "width ", width),
        h("label", { class: "muted" }, "conf ", confidence),
        h("button", { type: "submit", class: "ghost", "data-testid": "signal-create" }, "Build signal"));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = { template: template.value, symbol: symbol.value.trim(), expiry: expiry.value, confidence: confidence.value.trim() };
        if (template.value !== "straddle") { body.offset = offset.value.trim(); body.width = width.value.trim(); }
        const made = await guarded(() => post("/v1/signals/from-template", body));
        if (!made) return;
        data.signals.unshift(made);
        renderSignals();
        toast(`Signal ${made.strategy_type} on ${made.symbol} built`);
      });
      return form;
    }

    function useSignal(s) {
      const legs = s.legs.filter((l) => l.occ_symbol).map((l) => ({ symbol: sym(l.occ_symbol), side: l.action, ratio: l.quantity }));
      const net = Number(s.net_premium);
      const unsigned = String(s.net_premium ?? "").replace(/^[+-]/, "");
      ticket.load({
        legs, quantity: 1, orderType: "limit", strategyType: s.strategy_type,
        // the stored net premium rounded to the cent exactly (a float's toFixed misrounds ties)
        limitPrice: Number.isFinite(net) ? (roundDecimal(unsigned, 2) || "").replace(/,/g, "") : "",
        netCredit: net < 0,
      });
      ticket.el.querySelector("[data-testid=ticket-submit]").focus();
    }

    function renderSignals() {
      const columns = [
        { key: "strategy_type", label: "strategy", text: true },
        { key: "symbol", label: "und.", text: true },
        { key: "status", label: "status", text: true },
        { key: "net_premium", label: "net", digits: 2, signed: true },
        { key: "max_profit", label: "max profit", digits: 2 },
        { key: "max_loss", label: "max loss", digits: 2 },
        { key: "probability_of_profit", label: "PoP", render: (s) => s.probability_of_profit === null ? "-" : `${fmt(Number(s.probability_of_profit) * 100, 1)}%` },
        { key: "legs", label: "legs", text: true, render: (s) => s.legs.map((l) => `${l.action} ${l.quantity} ${fmt(l.strike, 0)}${l.option_type[0].toUpperCase()}`).join(" / ") },
      ];
      if (canTrade) {
        columns.push({ key: "use", label: "", text: true, render: (s) => s.status === "active"
          ? h("button", { type: "button", class: "ghost", "data-testid": "signal-use", onclick: () => useSignal(s) }, "To ticket") : "" });
      }
      clear(signalsBox).append(table(columns, data.signals, { testid: "signals-table", empty: "no signal yet", rowAttrs: (s) => ({ "data-signal-id": s.id }) }));
    }

    // -- live ------------------------------------------------------------------------------
    function onMessage(message) {
      if (!alive) return;
      const current = data.account;
      switch (message.type) {
        case "state": {
          const mine = current && message.accounts.find((a) => a.account_id === current.account_id);
          if (mine) {
            data.positions = mine.positions;
            data.account = { ...current, cash: mine.cash, nav: mine.nav };
            renderPositions(); renderSummary();
          }
          break;
        }
        case "order": upsertOrder(message.order); break;
        case "fill":
          if (current && data.orders.some((o) => o.order_id === message.fill.order_id) && !data.fills.some((f) => f.fill_id === message.fill.fill_id)) {
            data.fills.unshift(message.fill); renderFills();
          }
          break;
        case "positions":
          if (current && message.account_id === current.account_id) { data.positions = message.items; renderPositions(); }
          break;
        case "nav":
          if (current && message.account_id === current.account_id) {
            data.account = { ...data.account, cash: message.cash, nav: message.nav };
            data.live.push({ at: new Date().toISOString(), nav: Number(message.nav) });
            renderSummary(); renderEquity();
          }
          break;
        case "kill_switch": loadKill(); if (message.cancelled_orders) refreshOrders(); break;
        default: break;
      }
    }

    function connect() {
      if (sock) sock.close();
      sock = null;
      // without an account (a viewer, say) the socket still carries the kill switch's changes
      const query = data.account ? `?account=${encodeURIComponent(data.account.account_id)}` : "";
      const live = data.account ? "live" : "live: kill switch";
      liveBadge.className = "badge stale"; liveBadge.textContent = "connecting";
      sock = socket(`/v1/ws/trading${query}`, onMessage, {
        onState: (s) => {
          if (!alive) return;
          liveBadge.className = `badge ${s === "open" ? "live" : "stale"}`;
          liveBadge.textContent = s === "open" ? live : "reconnecting";
          liveBadge.dataset.state = s;
        },
      });
    }

    async function choose(accountId) {
      const account = data.accounts.find((a) => a.account_id === accountId) || null;
      data.account = account; data.live = [];
      if (account) localStorage.setItem(ACCOUNT_KEY, account.account_id);
      renderAccounts(); renderSummary();
      if (!account) {
        for (const box of [positionsBox, ordersBox, fillsBox]) clear(box).append(h("div", { class: "empty" }, canTrade ? "create an account to trade" : "no paper account of yours"));
        clear(equityBox); connect(); return;
      }
      const id = encodeURIComponent(account.account_id);
      connect();
      const [positions, snapshots] = await Promise.allSettled([
        get(`/v1/positions?account=${id}`), getAll(`/v1/portfolio/snapshots?account=${id}&limit=200`, 2000), refreshOrders()]);
      if (!alive || data.account?.account_id !== account.account_id) return;
      if (positions.status === "fulfilled") { data.positions = positions.value.items; renderPositions(); } else failure(positionsBox, positions.reason);
      if (snapshots.status === "fulfilled") { data.snapshots = snapshots.value; renderEquity(); } else failure(equityBox, snapshots.reason);
      if (ticket) ticket.refresh();
    }

    // -- first load ------------------------------------------------------------------------
    const [accounts, kill, signals] = await Promise.allSettled([
      get("/v1/accounts"), get("/v1/kill-switch"), get("/v1/signals?limit=20")]);
    if (kill.status === "fulfilled") { data.kill = kill.value; renderKill(); } else failure(killBox, kill.reason);
    if (signals.status === "fulfilled") { data.signals = signals.value.items; renderSignals(); } else failure(signalsBox, signals.reason);
    if (accounts.status === "fulfilled") {
      data.accounts = accounts.value.items;
      const saved = localStorage.getItem(ACCOUNT_KEY);
      const first = data.accounts.find((a) => a.account_id === saved) || data.accounts[0] || null;
      choose(first ? first.account_id : "");
    } else {
      failure(positionsBox, accounts.reason);
    }

    return () => { alive = false; clearInterval(autoTimer); if (sock) sock.close(); };
  },
};
