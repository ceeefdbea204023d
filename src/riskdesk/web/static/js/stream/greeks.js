// The latest Greeks of each position, updated in place: a row per broker/account/contract,
// cells rewritten only when their value changed, and those cells flash briefly (green up,
// red down). Rows are focusable: Enter or a click opens the position's history; the arrow
// keys move between rows.

import { h, clear, fmt } from "../ui.js";
import { clock } from "./sessions.js";

export const COLUMNS = [
  { key: "account", label: "Account", text: true, value: (r) => `${r.broker}/${r.account_id}` },
  { key: "contract_key", label: "Contract", text: true },
  { key: "quantity", label: "Qty", show: (v) => (v === null || v === undefined ? "-" : String(v)) },
  { key: "delta", label: "Delta", digits: 4 },
  { key: "gamma", label: "Gamma", digits: 4 },
  { key: "theta", label: "Theta", digits: 4 },
  { key: "vega", label: "Vega", digits: 4 },
  { key: "implied_volatility", label: "IV %", show: (v) => (v === null || v === undefined ? "-" : fmt(v * 100, 2)) },
  { key: "underlying_price", label: "Underlying", digits: 2, prefix: (r) => r.underlying },
  { key: "event_time", label: "Event time (UTC)", show: clock },
];

export function rowKey(item) {
  return `${item.broker}|${item.account_id}|${item.contract_key}`;
}

function display(column, value) {
  if (column.show) return column.show(value);
  if (column.text) return value ?? "-";
  return fmt(value, column.digits ?? 2);
}

/**
 * A live table in ``el``; ``onOpen(item)`` when a row is chosen.
 * Returns { apply(items, full), rows(), selected(key) }.
 */
export function greeksTable(el, { onOpen }) {
  const rows = new Map(); // key -> { item, tr, cells: {col: td} }
  let tbody = null;
  let version = 0;

  const empty = h("div", { class: "empty", "data-testid": "greeks-empty" }, "No Greeks yet: they appear here as the stream delivers them.");
  const open = (key) => { const row = rows.get(key); if (row) onOpen(row.item); };

  function build() {
    clear(el);
    tbody = h("tbody", {});
    const head = h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", { class: c.text ? "text" : "", scope: "col" }, c.label))));
    const tableEl = h("table", { class: "data greeks", "data-testid": "greeks-table" }, head, tbody);
    tbody.addEventListener("click", (event) => {
      const tr = event.target.closest("tr[data-key]");
      if (tr) open(tr.dataset.key);
    });
    tbody.addEventListener("keydown", (event) => {
      const tr = event.target.closest("tr[data-key]");
      if (!tr) return;
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(tr.dataset.key); }
      else if (event.key === "ArrowDown" && tr.nextElementSibling) { event.preventDefault(); tr.nextElementSibling.focus(); }
      else if (event.key === "ArrowUp" && tr.previousElementSibling) { event.preventDefault(); tr.previousElementSibling.focus(); }
    });
    el.append(tableEl);
  }

  function setCell(td, column, item, flash) {
    const raw = column.value ? column.value(item) : item[column.key];
    const previous = td.dataset.value;
    const next = raw === null || raw === undefined ? "" : String(raw);
    if (previous === next && td.dataset.ready) return false;
    td.dataset.value = next;
    td.dataset.ready = "1";
    const text = display(column, raw);
    td.textContent = column.prefix ? `${column.prefix(item) ?? ""} ${text}` : text;
    if (flash && previous !== undefined) {
      const up = Number(next) > Number(previous);
      const down = Number(next) < Number(previous);
      td.classList.remove("flash", "flash-up", "flash-down");
      void td.offsetWidth; // restart the animation
      td.classList.add("flash", up ? "flash-up" : down ? "flash-down" : "flash-same");
    }
    return true;
  }

  function insert(key, item) {
    const cells = {};
    const tr = h("tr", { tabindex: "0", "data-testid": "greek-row", "data-key": key, "data-contract": item.contract_key,
      "aria-label": `${item.contract_key}: open its Greeks history` });
    for (const column of COLUMNS) {
      const td = h("td", { class: column.text ? "text" : "num", "data-field": column.key });
      cells[column.key] = td;
      setCell(td, column, item, false);
      tr.append(td);
    }
    // keep the server's order: broker, account, contract key
    let after = null;
    for (const k of rows.keys()) if (k > key && (after === null || k < after)) after = k;
    if (after) tbody.insertBefore(tr, rows.get(after).tr); else tbody.append(tr);
    rows.set(key, { item, tr, cells });
  }

  return {
    /** Apply a push: changed rows (or every row when ``full``). */
    apply(items, full) {
      if (!tbody) build();
      if (full) {
        const keep = new Set(items.map(rowKey));
        for (const [key, row] of rows) if (!keep.has(key)) { row.tr.remove(); rows.delete(key); }
      }
      let changed = 0;
      for (const item of items) {
        const key = rowKey(item);
        const row = rows.get(key);
        if (!row) { insert(key, item); changed += 1; continue; }
        row.item = item;
        for (const column of COLUMNS) if (setCell(row.cells[column.key], column, item, true)) changed += 1;
      }
      if (rows.size === 0) { clear(el); el.append(empty); tbody = null; return; }
      if (changed) {
        version += 1;
        el.dataset.version = String(version);
      }
    },
    size() { return rows.size; },
    select(key) {
      for (const [k, row] of rows) row.tr.classList.toggle("selected", k === key);
    },
  };
}
