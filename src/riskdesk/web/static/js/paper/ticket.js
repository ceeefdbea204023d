// The paper order ticket: legs (OCC symbols or a stock ticker), side, quantity, type, prices,
// time in force; the kill switch's and the risk gates' verdict (POST /v1/orders/preview) is
// shown before submit, and submit carries an idempotency key (kept for retries of the same
// ticket after a network failure, renewed after any answer from the server).

import { post, ApiError } from "../api.js";
import { h, clear, debounce, errorText, toast } from "../ui.js";

const TYPES = ["market", "limit", "stop", "stop_limit"];
const TIFS = ["day", "gtc", "ioc", "fok"];
const PRICE = /^[0-9]+(\.[0-9]+)?$/;

/** A random idempotency key (crypto.randomUUID needs a secure context; this does not). */
export function newKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function legRow(leg, index, onChange, onRemove, canRemove) {
  const symbol = h("input", {
    value: leg.symbol, placeholder: "SPY261218C00600000 or SPY", size: 22, spellcheck: "false",
    "aria-label": `leg ${index + 1} symbol`, "data-testid": `ticket-leg-symbol-${index}`,
    oninput: (e) => { leg.symbol = e.target.value.trim().toUpperCase(); leg.price = null; onChange(); },
  });
  const side = h("select", {
    "aria-label": `leg ${index + 1} side`, "data-testid": `ticket-leg-side-${index}`,
    onchange: (e) => { leg.side = e.target.value; leg.price = null; onChange(); },
  }, ["buy", "sell"].map((s) => h("option", { value: s, selected: s === leg.side }, s)));
  const ratio = h("input", {
    type: "number", min: 1, max: 100, step: 1, value: leg.ratio, style: "width:4.5em",
    "aria-label": `leg ${index + 1} ratio`, "data-testid": `ticket-leg-ratio-${index}`,
    oninput: (e) => { leg.ratio = Number(e.target.value); onChange(); },
  });
  const remove = h("button", {
    type: "button", class: "ghost", title: "Remove this leg", disabled: !canRemove,
    "aria-label": `remove leg ${index + 1}`, "data-testid": `ticket-leg-remove-${index}`,
    onclick: onRemove,
  }, "x");
  return h("div", { class: "row paper-leg" }, symbol, side, ratio, remove);
}

const SCALE = 10000n; // picked quotes carry at most 4 decimals: exact integer arithmetic

function units(price) {
  const [whole, frac = ""] = String(price).split(".");
  if (frac.length > 4 || !/^[0-9]+$/.test(whole + frac)) return null;
  return BigInt(whole) * SCALE + BigInt((frac + "0000").slice(0, 4));
}

/**
 * The net limit price of legs that all carry a picked quote: ``{price, credit}`` (price an
 * unsigned decimal string per unit of the combination), or null when a leg has no quote.
 */
export function netOf(legs) {
  let total = 0n;
  for (const leg of legs) {
    const each = leg.price === null || leg.price === undefined ? null : units(leg.price);
    if (each === null) return null;
    total += (leg.side === "buy" ? each : -each) * BigInt(leg.ratio || 1);
  }
  const credit = legs.length > 1 && total < 0n;
  const size = total < 0n ? -total : total;
  const frac = (size % SCALE).toString().padStart(4, "0").replace(/0{1,2}$/, "");
  return { price: `${size / SCALE}.${frac.length < 2 ? frac.padEnd(2, "0") : frac}`, credit };
}

/**
 * Build the ticket into a panel.
 *
 * @param {object} opts
 * @param {() => (object|null)} opts.account  The selected account (or null).
 * @param {(order: object) => void} opts.onOrder  Called with an accepted order.
 */
export function createTicket({ account, onOrder }) {
  const state = {
    legs: [{ symbol: "", side: "buy", ratio: 1 }],
    qty: 1, order_type: "limit", time_in_force: "day", limit_price: "", stop_price: "",
    net_credit: false, strategy_type: null, key: newKey(), seq: 0,
  };
  const legsBox = h("div", { class: "stack paper-legs", "data-testid": "ticket-legs" });
  const verdictBox = h("div", { class: "paper-verdict", "data-testid": "ticket-verdict", "aria-live": "polite" });
  const errorBox = h("div", { class: "error", role: "alert", "data-testid": "ticket-error" });
  const keyText = h("span", { class: "muted num", "data-testid": "ticket-key", title: "Idempotency key of this ticket" });

  const qty = h("input", {
    type: "number", min: 1, max: 100000, step: 1, value: state.qty, "aria-label": "quantity",
    "data-testid": "ticket-qty", oninput: (e) => { state.qty = Number(e.target.value); changed(); },
  });
  const type = h("select", {
    "aria-label": "order type", "data-testid": "ticket-type",
    onchange: (e) => { state.order_type = e.target.value; showPrices(); changed(); },
  }, TYPES.map((t) => h("option", { value: t, selected: t === state.order_type }, t.replace("_", " "))));
  const limit = h("input", {
    inputmode: "decimal", placeholder: "0.00", size: 8, "aria-label": "limit price",
    "data-testid": "ticket-limit", oninput: (e) => { state.limit_price = e.target.value.trim(); changed(); },
  });
  const stop = h("input", {
    inputmode: "decimal", placeholder: "0.00", size: 8, "aria-label": "stop price",
    "data-testid": "ticket-stop", oninput: (e) => { state.stop_price = e.target.value.trim(); changed(); },
  });
  const tif = h("select", {
    "aria-label": "time in force", "data-testid": "ticket-tif",
    onchange: (e) => { state.time_in_force = e.target.value; changed(); },
  }, TIFS.map((t) => h("option", { value: t }, t.toUpperCase())));
  const credit = h("input", {
    type: "checkbox", id: "ticket-credit", "data-testid": "ticket-credit",
    onchange: (e) => { state.net_credit = e.target.checked; changed(); },
  });
  const creditLabel = h("label", { for: "ticket-credit", class: "muted" }, credit, " net credit");
  const limitLabel = h("label", { class: "muted" }, "limit ", limit);
  const stopLabel = h("label", { class: "muted" }, "stop ", stop);

  const previewButton = h("button", {
    type: "button", class: "ghost", "data-testid": "ticket-preview", title: "Check the risk gates (Alt+P)",
    onclick: () => preview(true),
  }, "Preview");
  const submitButton = h("button", {
    type: "submit", "data-testid": "ticket-submit", title: "Submit the order (Ctrl+Enter)",
  }, "Submit");
  const addLeg = h("button", {
    type: "button", class: "ghost", "data-testid": "ticket-add-leg",
    onclick: () => { state.legs.push({ symbol: "", side: "buy", ratio: 1 }); renderLegs(); changed(); focusLeg(state.legs.length - 1); },
  }, "+ leg");

  const form = h("form", { class: "stack paper-ticket", "aria-label": "Order ticket", "data-testid": "ticket" },
    legsBox,
    h("div", { class: "row" }, addLeg, creditLabel),
    h("div", { class: "row" },
      h("label", { class: "muted" }, "qty ", qty), h("label", { class: "muted" }, "type ", type),
      limitLabel, stopLabel, h("label", { class: "muted" }, "TIF ", tif)),
    h("div", { class: "row" }, previewButton, submitButton, h("span", { class: "spacer" }), h("span", { class: "muted" }, "key "), keyText),
    errorBox, verdictBox);

  function focusLeg(i) {
    const input = legsBox.querySelector(`[data-testid="ticket-leg-symbol-${i}"]`);
    if (input) input.focus();
  }

  function renderLegs() {
    clear(legsBox);
    state.legs.forEach((leg, i) => legsBox.append(legRow(leg, i, changed, () => {
      state.legs.splice(i, 1); renderLegs(); changed();
    }, state.legs.length > 1)));
    creditLabel.hidden = state.legs.length < 2;
  }

  function showPrices() {
    limitLabel.hidden = !(state.order_type === "limit" || state.order_type === "stop_limit");
    stopLabel.hidden = !(state.order_type === "stop" || state.order_type === "stop_limit");
  }

  /** The request body, or a string saying what is missing. */
  function body() {
    const acct = account();
    if (!acct) return "choose or create an account first";
    if (state.legs.some((l) => !l.symbol)) return "every leg needs a symbol";
    if (!Number.isInteger(state.qty) || state.qty < 1) return "quantity must be a whole number >= 1";
    const out = {
      account: acct.account_id,
      legs: state.legs.map((l) => ({ symbol: l.symbol, side: l.side, ratio: l.ratio || 1 })),
      qty: state.qty, order_type: state.order_type, time_in_force: state.time_in_force,
    };
    if (!limitLabel.hidden) {
      if (!PRICE.test(state.limit_price)) return "enter a limit price (unsigned, e.g. 1.25)";
      out.limit_price = state.limit_price;
    }
    if (!stopLabel.hidden) {
      if (!PRICE.test(state.stop_price)) return "enter a stop price (unsigned, e.g. 1.25)";
      out.stop_price = state.stop_price;
    }
    if (state.legs.length > 1) out.net_credit = state.net_credit;
    if (state.strategy_type) out.strategy_type = state.strategy_type;
    return out;
  }

  function renderVerdict(verdict) {
    clear(verdictBox);
    if (!verdict) return;
    const badge = verdict.accepted
      ? h("span", { class: "badge ok", "data-testid": "verdict-status" }, "would be accepted")
      : h("span", { class: "badge bad", "data-testid": "verdict-status" }, `would be refused: ${verdict.code || "refused"}`);
    verdictBox.append(h("div", { class: "row" }, h("strong", {}, "Risk gates"), badge,
      verdict.message ? h("span", { class: "muted", "data-testid": "verdict-message" }, verdict.message) : null));
    if (!verdict.checks.length) {
      verdictBox.append(h("div", { class: "muted" }, verdict.accepted ? "no gate applies to this order" : "refused before the gates ran"));
      return;
    }
    const rows = verdict.checks.map((c) => h("tr", {
      class: `gate-${c.action}`, "data-testid": `verdict-check-${c.rule}`, dataset: { action: c.action },
    },
    h("td", { class: "text" }, c.rule),
    h("td", { class: "text" }, h("span", { class: `badge ${c.action === "blocked" ? "bad" : c.action === "warned" ? "warn" : "ok"}` }, c.action === "allowed" ? "pass" : c.action === "blocked" ? "fail" : "warn")),
    h("td", { class: "num", "data-testid": "observed" }, c.observed ?? "-"),
    h("td", { class: "num", "data-testid": "threshold" }, c.threshold ?? "-"),
    h("td", { class: "text muted" }, c.message || "")));
    verdictBox.append(h("table", { class: "data", "data-testid": "verdict-checks" },
      h("thead", {}, h("tr", {}, ["gate", "result", "observed", "threshold", "message"].map((t, i) => h("th", { class: i === 0 || i === 1 || i === 4 ? "text" : "" }, t)))),
      h("tbody", {}, rows)));
  }

  async function preview(explicit) {
    const request = body();
    const seq = ++state.seq;
    errorBox.textContent = "";
    if (typeof request === "string") {
      clear(verdictBox);
      if (explicit) errorBox.textContent = request;
      else verdictBox.append(h("div", { class: "muted", "data-testid": "verdict-pending" }, request));
      return null;
    }
    verdictBox.classList.add("stale");
    try {
      const verdict = await post("/v1/orders/preview", request);
      if (seq !== state.seq) return null; // a newer edit superseded this answer
      verdictBox.classList.remove("stale");
      renderVerdict(verdict);
      return verdict;
    } catch (error) {
      if (seq !== state.seq) return null;
      verdictBox.classList.remove("stale");
      clear(verdictBox);
      errorBox.textContent = `Preview failed: ${errorText(error)}`;
      return null;
    }
  }

  const autoPreview = debounce(() => preview(false), 250);
  function changed() {
    state.key = newKey(); // another request: another key
    keyText.textContent = state.key.slice(0, 8);
    verdictBox.classList.add("stale");
    autoPreview();
  }

  async function submit() {
    const request = body();
    errorBox.textContent = "";
    if (typeof request === "string") { errorBox.textContent = request; return; }
    submitButton.disabled = true;
    try {
      const order = await post("/v1/orders", { ...request, idempotency_key: state.key });
      toast(`Order ${order.order_id.slice(0, 8)} ${order.status}`, "info");
      state.key = newKey();
      keyText.textContent = state.key.slice(0, 8);
      onOrder(order);
      preview(false);
    } catch (error) {
      if (error instanceof ApiError) {
        // the server answered (the refusal is stored): the next attempt is another order
        state.key = newKey();
        keyText.textContent = state.key.slice(0, 8);
        const detail = error.details || {};
        const gate = detail.rule ? ` [${detail.rule}: observed ${detail.observed ?? "-"}, threshold ${detail.threshold ?? "-"}]` : "";
        errorBox.textContent = `${error.status} ${error.code || ""}: ${error.message}${gate}`;
        errorBox.dataset.code = error.code || "";
        if (detail.order_id) onOrder(null);
      } else {
        errorBox.textContent = `Not sent (the same key is reused on retry): ${error.message}`;
      }
    } finally {
      submitButton.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); submit(); }
    if (event.key.toLowerCase() === "p" && event.altKey) { event.preventDefault(); preview(true); }
  });

  renderLegs();
  showPrices();
  keyText.textContent = state.key.slice(0, 8);

  return {
    el: form,
    /** Load legs (e.g. a signal's) into the ticket. */
    load({ legs, quantity = 1, orderType = "limit", limitPrice = "", netCredit = false, strategyType = null }) {
      state.legs = legs.map((l) => ({ symbol: l.symbol, side: l.side, ratio: l.ratio || 1, price: null }));
      state.qty = quantity; qty.value = String(quantity);
      state.order_type = orderType; type.value = orderType;
      state.limit_price = limitPrice; limit.value = limitPrice;
      state.net_credit = netCredit; credit.checked = netCredit;
      state.strategy_type = strategyType;
      renderLegs(); showPrices(); changed();
    },
    /**
     * Add a leg picked from the venue's chain at its quote (a bid sells, an ask buys), or
     * replace the leg of the same contract, and price the ticket as a limit at the picked
     * net: a debit, or a credit when the sells bring in more than the buys cost.
     */
    pick({ symbol, side, price }) {
      const empty = state.legs.length === 1 && !state.legs[0].symbol;
      const same = state.legs.find((l) => l.symbol === symbol);
      if (empty) state.legs = [{ symbol, side, ratio: 1, price }];
      else if (same) Object.assign(same, { side, price });
      else state.legs.push({ symbol, side, ratio: 1, price });
      const net = netOf(state.legs);
      if (net !== null) {
        state.order_type = "limit"; type.value = "limit";
        state.limit_price = net.price; limit.value = net.price;
        state.net_credit = net.credit; credit.checked = net.credit;
      }
      state.strategy_type = null;
      renderLegs(); showPrices(); changed();
    },
    /** Ask for the verdict again (the kill switch or the account changed). */
    refresh() { autoPreview(); },
  };
}
