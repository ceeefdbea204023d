// The paper venue's chain beside the ticket (GET /v1/paper/chain/{symbol}): the quotes orders
// fill against now. Click an ask to add a buy leg at that ask, a bid to add a sell leg at that
// bid; the ticket prices the combination (net debit or credit) from the picked quotes.

import { get } from "../api.js";
import { h, clear, errorText, fmt } from "../ui.js";

const WINDOW = 8; // strikes shown each side of the spot (all of them with "all strikes")

/** Decimal strings of a quote, or null. */
function quoted(value) {
  return value === null || value === undefined ? null : String(value);
}

/**
 * Build the chain picker.
 *
 * @param {object} opts
 * @param {(leg: {symbol: string, side: string, price: string}) => void} opts.onPick
 *   Called with the leg a click asks for (price: the clicked bid or ask, a decimal string).
 */
export function createChainPicker({ onPick }) {
  const state = { symbol: "SPY", expiry: "", chain: null, all: false, seq: 0 };
  const symbol = h("input", {
    value: state.symbol, size: 6, spellcheck: "false", "aria-label": "chain underlying",
    "data-testid": "paper-chain-symbol",
    onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); load(e.target.value.trim().toUpperCase(), ""); } },
  });
  const expiry = h("select", {
    "aria-label": "chain expiry", "data-testid": "paper-chain-expiry",
    onchange: (e) => { state.expiry = e.target.value; render(); },
  });
  const allStrikes = h("input", {
    type: "checkbox", "data-testid": "paper-chain-all", "aria-label": "show all strikes",
    onchange: (e) => { state.all = e.target.checked; render(); },
  });
  const reload = h("button", {
    type: "button", class: "ghost", title: "Quote the chain again (the venue moves)",
    "data-testid": "paper-chain-reload", onclick: () => load(state.symbol, state.expiry),
  }, "Requote");
  const info = h("span", { class: "muted", "data-testid": "paper-chain-info" });
  const body = h("div", { class: "paper-chain-body", "data-testid": "paper-chain" }, h("div", { class: "muted" }, "loading..."));

  const el = h("div", { class: "stack paper-chain" },
    h("div", { class: "row" },
      h("label", { class: "muted" }, "chain ", symbol),
      h("label", { class: "muted" }, "expiry ", expiry),
      h("label", { class: "muted" }, allStrikes, " all strikes"),
      reload, h("span", { class: "spacer" }), info),
    body);

  function cell(row, side) {
    const price = quoted(side === "buy" ? row.ask : row.bid);
    if (price === null) return h("td", { class: "num muted" }, "-");
    const what = `${side} ${row.right === "C" ? "call" : "put"} ${row.strike} at ${price}`;
    return h("td", { class: "num" }, h("button", {
      type: "button", class: `quote ${side === "buy" ? "ask" : "bid"}`, title: `Add a ${what}`,
      "aria-label": `${side} ${row.symbol} at ${price}`,
      "data-testid": `paper-chain-${side === "buy" ? "ask" : "bid"}-${row.symbol}`,
      onclick: () => onPick({ symbol: row.symbol, side, price }),
    }, fmt(price, 2)));
  }

  function render() {
    const chain = state.chain;
    if (!chain) return;
    const byStrike = new Map();
    for (const row of chain.rows.filter((r) => r.expiry === state.expiry)) {
      const key = row.strike;
      if (!byStrike.has(key)) byStrike.set(key, {});
      byStrike.get(key)[row.right] = row;
    }
    let strikes = [...byStrike.keys()].sort((a, b) => Number(a) - Number(b));
    const spot = Number(chain.spot);
    if (!state.all && strikes.length > 2 * WINDOW) {
      let at = strikes.findIndex((k) => Number(k) >= spot);
      if (at < 0) at = strikes.length - 1;
      strikes = strikes.slice(Math.max(0, at - WINDOW), at + WINDOW);
    }
    const empty = h("td", { class: "num muted" }, "-");
    const rows = strikes.map((k) => {
      const pair = byStrike.get(k);
      const call = pair.C; const put = pair.P;
      const itm = Number(k) < spot ? "itm-call" : "itm-put";
      return h("tr", { class: itm, "data-testid": `paper-chain-row-${k}` },
        call ? cell(call, "sell") : empty.cloneNode(true), call ? cell(call, "buy") : empty.cloneNode(true),
        h("td", { class: "num strike" }, fmt(k, 2)),
        put ? cell(put, "sell") : empty.cloneNode(true), put ? cell(put, "buy") : empty.cloneNode(true));
    });
    clear(body).append(h("table", { class: "data paper-chain-table" },
      h("thead", {},
        h("tr", {}, ["call bid", "call ask", "strike", "put bid", "put ask"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)));
    // scroll the first strike at or above the spot to the middle of the box
    const atm = rows.find((r) => Number(r.dataset.testid.slice("paper-chain-row-".length)) >= spot);
    if (atm) body.scrollTop = Math.max(0, atm.offsetTop - body.clientHeight / 2);
  }

  /** Quote ``name``'s whole chain once (every expiry); the expiry list only filters it. */
  async function load(name, wanted) {
    const seq = ++state.seq;
    if (!name) return;
    body.classList.add("stale");
    try {
      const chain = await get(`/v1/paper/chain/${encodeURIComponent(name)}`);
      if (seq !== state.seq) return;
      if (!chain.expiries.includes(wanted)) {
        // first look at a symbol: its nearest expiry after today, else the first
        const today = new Date().toISOString().slice(0, 10);
        wanted = chain.expiries.find((e) => e > today) || chain.expiries[0] || "";
      }
      state.symbol = name; state.expiry = wanted; state.chain = chain;
      symbol.value = name;
      clear(expiry).append(...chain.expiries.map((e) => h("option", { value: e, selected: e === wanted }, e)));
      info.textContent = `spot ${fmt(chain.spot, 2)} - quoted ${chain.as_of.slice(11, 19)}Z`;
      body.classList.remove("stale");
      render();
    } catch (error) {
      if (seq !== state.seq) return;
      body.classList.remove("stale");
      clear(body).append(h("div", { class: "empty error", role: "alert", "data-testid": "paper-chain-error" }, errorText(error)));
    }
  }

  load(state.symbol, "");
  return { el, reload: () => load(state.symbol, state.expiry) };
}
