// The what-if panel: a modeling session on the portfolio's book, its edits (add, resize,
// remove) and the comparison of the baseline with the pro forma book (before / after / change).

import { get, getAll, post } from "../api.js";
import { h, table, errorText, toast } from "../ui.js";
import { plot, seriesColor } from "../charts.js";
import { decCell } from "./risk.js";

const SECTIONS = ["exposures", "greeks", "factors", "stress", "var"];

function qtyKey(p) { return `${p.symbol}|${p.quantity}`; }

/**
 * Mount the what-if panel into ``el`` for ``portfolio`` (``{id, name}``).
 *
 * ``options``: ``asOf()`` (the date input, "" for the last session), ``window()`` (the VaR
 * window), ``canEdit`` (trader or admin). Returns ``{ destroy() }``.
 */
export function mountWhatIf(el, portfolio, { asOf, window: varWindow, canEdit }) {
  let current = null;
  let comparison = null;
  let alive = true;
  let busy = false;
  const status = h("div", { class: "row", "data-testid": "whatif-status" });
  const books = h("div", { class: "grid2" });
  const result = h("div", { "data-testid": "whatif-result" });
  const message = h("div", { class: "error", role: "alert", "data-testid": "whatif-error" });

  const startButton = h("button", {
    type: "button", "data-testid": "whatif-start", title: "Clone the book into a new what-if session",
    onclick: () => act(async () => {
      const body = { portfolio_id: portfolio.id, name: `what-if ${new Date().toISOString().slice(0, 16).replace("T", " ")}` };
      if (asOf()) body.date = asOf();
      current = await post("/v1/modeling-sessions", body);
      comparison = null;
    }, false),
  }, "New what-if session");
  const compareButton = h("button", {
    type: "button", class: "ghost", "data-testid": "whatif-compare", disabled: true,
    title: "Measure the baseline and the what-if book again",
    onclick: () => act(async () => {}, true),
  }, "Compare");

  async function compare() {
    const query = `?var_window=${encodeURIComponent(varWindow())}`;
    comparison = await post(`/v1/modeling-sessions/${current.id}/compare${query}`);
  }

  /** Run ``edit``; then compare (when ``measure``) and redraw. Errors show in the panel. */
  async function act(edit, measure = true) {
    if (busy) return;
    busy = true;
    message.textContent = "";
    el.classList.add("pf-busy");
    result.dataset.state = "pending";
    try {
      const edited = await edit();
      if (edited) current = edited;
      if (measure && current) await compare();
    } catch (error) {
      message.textContent = errorText(error);
    } finally {
      busy = false;
      el.classList.remove("pf-busy");
      if (alive) draw();
    }
  }

  const edit = (path, body) => () => post(`/v1/modeling-sessions/${current.id}/${path}`, body);

  function bookTable(rows, { editable, changed }) {
    const columns = [
      { key: "symbol", label: "Symbol", text: true },
      { key: "position_type", label: "Type", text: true },
      { key: "quantity", label: "Qty", render: (row) => decCell(row.quantity, true) },
      { key: "entry_price", label: "Price", render: (row) => decCell(row.entry_price) },
    ];
    if (editable) {
      columns.push({
        key: "edit", label: "Resize / remove", text: true,
        render: (row) => {
          const input = h("input", {
            type: "text", inputmode: "decimal", value: row.quantity, size: 7, "aria-label": `New quantity of ${row.symbol}`,
            "data-testid": `whatif-qty-${row.symbol}`,
          });
          const flip = h("input", { type: "checkbox", "aria-label": `Allow ${row.symbol} to change side`, "data-testid": `whatif-flip-${row.symbol}` });
          const resize = () => act(edit("positions/resize", { symbol: row.symbol, quantity: input.value.trim(), allow_flip: flip.checked }));
          input.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); resize(); } });
          return h("span", { class: "row pf-edit" }, input,
            h("label", { class: "muted", title: "allow a long to become short (or back)" }, flip, "flip"),
            h("button", { type: "button", class: "ghost", "data-testid": `whatif-resize-${row.symbol}`, onclick: resize }, "Resize"),
            h("button", {
              type: "button", class: "ghost", "data-testid": `whatif-remove-${row.symbol}`, title: `Remove ${row.symbol} from the what-if book`,
              onclick: () => act(edit("positions/remove", { symbol: row.symbol })),
            }, "Remove"));
        },
      });
    }
    return table(columns, rows, {
      testid: editable ? "whatif-book" : "whatif-baseline", empty: "no position",
      rowAttrs: (row) => ({
        "data-testid": `${editable ? "whatif-book" : "whatif-baseline"}-${row.symbol}`,
        class: changed && changed(row) ? "pf-changed" : "",
      }),
    });
  }

  function addForm() {
    const symbol = h("input", { placeholder: "symbol", size: 10, "aria-label": "Symbol to add", "data-testid": "whatif-add-symbol", required: true });
    const quantity = h("input", { placeholder: "qty (-: short)", size: 8, inputmode: "decimal", "aria-label": "Quantity to add", "data-testid": "whatif-add-qty", required: true });
    const price = h("input", { placeholder: "price", size: 8, inputmode: "decimal", "aria-label": "Entry price", "data-testid": "whatif-add-price", required: true });
    const form = h("form", { class: "row", "aria-label": "Add a position to the what-if book" },
      h("span", { class: "muted" }, "Add"), symbol, quantity, price,
      h("button", { type: "submit", class: "ghost", "data-testid": "whatif-add" }, "Add position"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act(edit("positions", { symbol: symbol.value.trim().toUpperCase(), quantity: quantity.value.trim(), price: price.value.trim() }));
    });
    return form;
  }

  function compareView() {
    if (!current) return h("div", { class: "empty" }, "Start a session to try changes on a copy of the book.");
    if (!comparison) {
      return h("div", { class: "empty", "data-testid": "whatif-not-compared" },
        current.changes_count ? "Not compared yet: press Compare." : "No change yet: resize, remove or add a position.");
    }
    const rows = comparison.measures || [];
    const groups = SECTIONS.filter((s) => rows.some((r) => r.section === s))
      .concat([...new Set(rows.map((r) => r.section))].filter((s) => !SECTIONS.includes(s)));
    const tables = groups.map((section) => h("div", {},
      h("h3", { class: "pf-h3" }, section),
      table([
        { key: "measure", label: "Measure", text: true, render: (row) => row.measure.slice(section.length + 1) },
        { key: "baseline", label: "Before", render: (row) => decCell(row.baseline) },
        { key: "pro_forma", label: "After", render: (row) => decCell(row.pro_forma) },
        { key: "change", label: "Change", render: (row) => decCell(row.change, true) },
      ], rows.filter((r) => r.section === section), {
        testid: `whatif-compare-${section}`,
        rowAttrs: (row) => ({ "data-testid": `whatif-row-${row.measure}` }),
      })));
    const unavailable = Object.entries(comparison.unavailable || {});
    const chart = h("div", { class: "chart pf-chart", "data-testid": "whatif-stress-chart" });
    const stress = rows.filter((r) => r.section === "stress");
    if (stress.length) {
      const names = stress.map((r) => r.measure.replace(/^stress\./, "").replace(/\.pnl$/, ""));
      plot(chart, [
        { type: "bar", name: "before", x: names, y: stress.map((r) => Number(r.baseline)), marker: { color: seriesColor("a") } },
        { type: "bar", name: "after", x: names, y: stress.map((r) => Number(r.pro_forma)), marker: { color: seriesColor("b") } },
      ], { height: 260, barmode: "group", title: { text: "Stress P&L before / after", font: { size: 12 } } })
        .catch((error) => { chart.textContent = `chart unavailable: ${error.message}`; });
    }
    return h("div", { class: "stack", "data-testid": "whatif-compare-table" },
      h("p", { class: "muted" }, `Compared ${comparison.changes} change(s) on ${comparison.date} at ${comparison.computed_at}.`),
      unavailable.length ? h("ul", { class: "error", "data-testid": "whatif-unavailable" },
        unavailable.map(([key, why]) => h("li", {}, h("b", {}, key), ": ", why))) : null,
      h("div", { class: "grid2" }, tables), stress.length ? chart : null);
  }

  function draw() {
    compareButton.disabled = !current || current.status !== "active";
    status.replaceChildren(...[
      canEdit ? startButton : null,
      current ? h("span", {}, h("b", {}, current.name), " ",
        h("span", { class: `badge ${current.status === "active" ? "ok" : "warn"}` }, current.status),
        h("span", { class: "muted" }, ` as of ${current.date}; ${current.changes_count} change(s)`)) : null,
      canEdit && current ? compareButton : null].filter(Boolean));
    if (!current) {
      books.replaceChildren(h("div", { class: "empty" },
        canEdit ? "No active what-if session on this portfolio." : "A viewer reads sessions; a trader starts and edits them."));
      result.replaceChildren();
      return;
    }
    const before = new Map(current.baseline.map((p) => [p.symbol, p]));
    const editable = canEdit && current.status === "active";
    books.replaceChildren(
      h("div", {}, h("h3", { class: "pf-h3" }, "Baseline book"), bookTable(current.baseline, { editable: false })),
      h("div", {}, h("h3", { class: "pf-h3" }, "What-if book"),
        bookTable(current.positions, { editable, changed: (row) => !before.has(row.symbol) || qtyKey(before.get(row.symbol)) !== qtyKey(row) }),
        editable ? addForm() : null,
        current.changes.length ? h("ol", { class: "pf-changes", "data-testid": "whatif-changes" },
          current.changes.map((c) => h("li", {}, c.description))) : null));
    result.dataset.state = comparison ? "compared" : "idle";
    result.replaceChildren(compareView());
  }

  async function resume() {
    try {
      const sessions = await getAll("/v1/modeling-sessions?status=active", 200);
      const mine = sessions.find((s) => s.portfolio && s.portfolio.id === portfolio.id);
      if (mine && alive) current = await get(`/v1/modeling-sessions/${mine.id}`);
    } catch (error) {
      toast(`What-if sessions could not be listed: ${errorText(error)}`, "error");
    }
    if (alive) draw();
  }

  el.replaceChildren(
    h("p", { class: "muted" }, "Try changes on a copy of the book and see every measure before and after. ",
      "Enter in a quantity field resizes and re-compares."),
    status, message, books, result);
  draw();
  resume();
  return { destroy() { alive = false; } };
}
