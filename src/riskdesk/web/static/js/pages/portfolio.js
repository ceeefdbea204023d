// Portfolio: choose or create a book, upload its positions CSV (row errors listed), and read
// its risk: exposures, Greeks by bucket, factor exposures, VaR, stress; plus a what-if session
// shown side by side with the baseline. Talks only to the public /v1 API.

import { get, getAll, post } from "../api.js";
import { h, table, errorText, toast, useStyle, guarded } from "../ui.js";
import { SAMPLE_URL, CSV_HEADER, sampleCsv, uploadCsv } from "../portfolio/csv.js";
import { decCell, renderExposures, renderGreeks, renderFactors, renderVar, renderStress } from "../portfolio/risk.js";

const VIEW_KEY = "riskdesk.portfolio.view";
const LAST_KEY = "riskdesk.portfolio.last";

function loadView() {
  try { return { date: "", window: 250, ...JSON.parse(sessionStorage.getItem(VIEW_KEY) || "{}") }; } catch { return { date: "", window: 250 }; }
}

/** A titled panel with a loading / ready / stale / error state (``data-state``). */
function panel(title, testid, { wide = false } = {}) {
  const badge = h("span", { class: "badge", "data-testid": `${testid}-state` }, "");
  const body = h("div", { class: "pf-body" });
  const el = h("section", { class: `panel pf-panel${wide ? " pf-wide" : ""}`, "data-testid": testid, "data-state": "idle", "aria-busy": "false" },
    h("div", { class: "row pf-head" }, h("h2", {}, title), badge), body);
  const state = (name, text) => {
    el.dataset.state = name;
    el.setAttribute("aria-busy", String(name === "loading"));
    badge.className = `badge ${name === "ready" ? "ok" : name === "error" ? "bad" : name === "idle" ? "" : "warn"}`;
    badge.textContent = text;
  };
  return {
    el,
    body,
    loading() { state("loading", el.dataset.state === "ready" ? "updating" : "loading"); if (!body.firstChild) body.append(h("div", { class: "empty" }, "loading...")); },
    /** Ready with ``node`` as the body (``null``: keep the body shown, its data unchanged). */
    ready(node, note = "") { state("ready", note || "up to date"); if (node !== null) body.replaceChildren(node); },
    fail(error) {
      state("error", error && error.status ? `error ${error.status}` : "error");
      body.replaceChildren(h("div", { class: "error pf-problem", role: "alert", "data-testid": `${testid}-error` }, errorText(error)));
    },
    note(text) { state("idle", ""); body.replaceChildren(h("div", { class: "empty" }, text)); },
  };
}

export default {
  mount(el, ctx) {
    useStyle("portfolio");
    const canEdit = ctx.role === "admin" || ctx.role === "trader";
    const view = loadView();
    const state = { portfolios: [], portfolio: null, detail: null, greeks: { bucket: "underlying", metric: "dollar_delta" } };
    let token = 0;
    let whatif = null;

    // -- toolbar ---------------------------------------------------------------------------
    const select = h("select", { id: "pf-select", "data-testid": "portfolio-select", "aria-label": "Portfolio" });
    const dateInput = h("input", { type: "date", id: "pf-date", value: view.date, "data-testid": "portfolio-date", title: "Valuation date (empty: the last NYSE session)" });
    const windowInput = h("input", { type: "number", id: "pf-window", min: 20, max: 2520, step: 1, value: view.window, "data-testid": "portfolio-window", title: "Sessions of history for VaR" });
    const refreshButton = h("button", { type: "button", class: "ghost", "data-testid": "portfolio-refresh", title: "Recompute every measure (r)" }, "Refresh");
    const newName = h("input", { placeholder: "new portfolio name", "aria-label": "New portfolio name", "data-testid": "portfolio-new-name", maxlength: 255, required: true });
    const createForm = h("form", { class: "row", "aria-label": "Create a portfolio" }, newName,
      h("button", { type: "submit", "data-testid": "portfolio-create" }, "Create"));

    const asOf = () => dateInput.value || "";
    const varWindow = () => {
      const n = Math.round(Number(windowInput.value));
      return Number.isFinite(n) && n >= 20 && n <= 2520 ? n : 250;
    };
    const dateQuery = (sep = "&") => (asOf() ? `${sep}date=${asOf()}` : "");
    const saveView = () => sessionStorage.setItem(VIEW_KEY, JSON.stringify({ date: asOf(), window: varWindow() }));

    // -- upload ----------------------------------------------------------------------------
    const fileInput = h("input", { type: "file", accept: ".csv,text/csv", id: "pf-file", "data-testid": "portfolio-file", "aria-label": "Positions CSV file" });
    const uploadButton = h("button", { type: "button", "data-testid": "portfolio-upload", title: "Upload the chosen CSV (u picks a file)" }, "Upload CSV");
    const sampleButton = h("button", { type: "button", class: "ghost", "data-testid": "portfolio-use-sample", title: "Upload riskdesk's sample book into this portfolio" }, "Use sample book");
    const sampleLink = h("a", { href: SAMPLE_URL, download: "riskdesk-sample-book.csv", "data-testid": "portfolio-sample-link" }, "download the sample CSV");
    const importResult = h("div", { "data-testid": "portfolio-import-result", "aria-live": "polite" });
    const uploadPanel = h("section", { class: "panel", "data-testid": "portfolio-upload-panel" },
      h("h2", {}, "Upload positions"),
      h("p", { class: "muted" }, "A UTF-8 CSV with the header ", h("code", {}, CSV_HEADER),
        " (negative quantity: short; options as OCC symbols, e.g. SPY261218P00570000). Start from ", sampleLink, "."),
      h("div", { class: "row" }, fileInput, uploadButton, sampleButton),
      importResult);

    // -- panels ----------------------------------------------------------------------------
    const positions = panel("Positions", "panel-positions", { wide: true });
    const exposures = panel("Exposures", "panel-exposures");
    const greeks = panel("Greeks by bucket", "panel-greeks");
    const factors = panel("Factor exposures", "panel-factors");
    const varPanel = panel("Value at risk", "panel-var");
    const stress = panel("Stress scenarios", "panel-stress", { wide: true });
    const whatifBody = h("div", { class: "pf-body" });
    const whatifPanel = h("section", { class: "panel pf-wide", "data-testid": "panel-whatif" },
      h("h2", {}, "What-if session"), whatifBody);
    const headline = h("div", { class: "muted", "data-testid": "portfolio-headline" });
    const content = h("div", { class: "pf-grid" }, positions.el, exposures.el, varPanel.el, greeks.el, factors.el, stress.el, whatifPanel);
    const emptyState = h("div", { class: "empty", "data-testid": "portfolio-none" },
      canEdit ? "No portfolio yet: create one above, then upload its positions." : "You have no portfolio. Viewers read books; a trader creates and uploads them.");

    el.append(
      h("div", { class: "row pf-toolbar" },
        h("h1", {}, "Portfolio"),
        h("label", { for: "pf-select", class: "muted" }, "Book"), select,
        h("label", { for: "pf-date", class: "muted" }, "As of"), dateInput,
        h("label", { for: "pf-window", class: "muted" }, "VaR window"), windowInput,
        refreshButton,
        h("span", { class: "spacer" }),
        canEdit ? createForm : h("span", { class: "badge", "data-testid": "portfolio-readonly" }, "read only")),
      headline,
      canEdit ? uploadPanel : null,
      emptyState,
      content);

    // -- loading ---------------------------------------------------------------------------
    function fillSelect() {
      select.replaceChildren(...state.portfolios.map((p) => h("option", { value: p.id, selected: state.portfolio && p.id === state.portfolio.id }, p.name)));
      select.disabled = state.portfolios.length === 0;
      emptyState.hidden = state.portfolios.length > 0;
      content.hidden = state.portfolios.length === 0;
      if (uploadPanel) uploadPanel.hidden = state.portfolios.length === 0;
    }

    /**
     * Draw ``render(data)`` into ``target`` when ``promise`` settles (the problem's detail when
     * it fails). An answer equal to the one the panel already shows is not drawn again (its
     * tables and charts stay as they are).
     */
    function show(target, promise, render, mine) {
      return promise.then(
        (data) => {
          if (mine !== token) return;
          const key = JSON.stringify(data);
          if (target.key === key && target.el.dataset.state !== "error") { target.ready(null); return; }
          target.ready(render(data));
          target.key = key;
        },
        (error) => { if (mine === token) { target.key = null; target.fail(error); } });
    }

    function renderPositions(detail) {
      const rows = detail.positions || [];
      return table([
        { key: "ticker", label: "Ticker", text: true },
        { key: "position_type", label: "Type", text: true },
        { key: "quantity", label: "Qty", render: (r) => decCell(r.quantity, true) },
        { key: "entry_price", label: "Entry", render: (r) => decCell(r.entry_price) },
        { key: "entry_date", label: "Entry date", text: true },
        { key: "expiration_date", label: "Expiry", text: true },
        { key: "tags", label: "Tags", text: true, render: (r) => (r.tags || []).join(", ") },
        { key: "status", label: "Status", text: true, render: (r) => h("span", { class: `badge ${r.expired ? "warn" : r.is_active ? "ok" : ""}` }, r.expired ? "expired" : r.is_active ? "open" : "closed") },
      ], rows, { testid: "portfolio-positions", empty: canEdit ? "No position yet: upload a CSV or use the sample book." : "No position.", rowAttrs: (r) => ({ "data-testid": `position-${r.ticker}` }) });
    }

    let releaseCharts = () => {};

    /**
     * Every measure of the chosen book. The book and its five reports are requested at once
     * (the reports do not wait for the book: VaR, the slowest, goes first); each panel is drawn
     * as soon as its own answer arrives; the charts (plotly) are drawn once every panel of this
     * load has its table, so loading and drawing them never holds a table back.
     */
    async function loadRisk() {
      const mine = ++token;
      const p = state.portfolio;
      if (!p) return;
      saveView();
      releaseCharts();
      let release;
      const chartsGate = new Promise((resolve) => { release = resolve; });
      releaseCharts = release;
      for (const target of [positions, exposures, greeks, factors, varPanel, stress]) target.loading();
      const started = performance.now();
      state.detail = null;
      const id = p.id;
      const detail = get(`/v1/portfolios/${id}`);
      const requests = [
        [varPanel, get(`/v1/risk/${id}/var?window=${varWindow()}${dateQuery()}`), renderVar],
        [exposures, get(`/v1/risk/${id}/exposures${dateQuery("?")}`), renderExposures],
        [greeks, get(`/v1/risk/${id}/greeks?by=underlying&by=expiry${dateQuery()}`), (r) => renderGreeks(r, state.greeks, chartsGate)],
        [stress, get(`/v1/risk/${id}/stress${dateQuery("?")}`), (r) => renderStress(r, chartsGate)],
        [factors, get(`/v1/risk/${id}/factors${dateQuery("?")}`), renderFactors],
      ];
      for (const [, request] of requests) request.catch(() => { /* shown by its panel */ });
      const booked = detail.then((d) => (d.positions || []).length > 0, () => false);
      const known = detail.then((d) => { if (mine === token) state.detail = d; return d; });
      const book = show(positions, known, renderPositions, mine).then(() => {
        if (mine !== token) return;
        const d = state.detail;
        const live = (d && d.positions || []).filter((x) => x.is_active && !x.expired).length;
        headline.textContent = d ? `${d.name}${d.description ? ` - ${d.description}` : ""}: ${live} open position(s), ${d.base_currency}, as of ${asOf() || "the last session"}.` : "";
      });
      const jobs = requests.map(([target, request, render]) => booked.then((has) => {
        if (mine !== token) return undefined;
        if (!has) { target.key = null; target.note("No position: upload a book to see its risk."); return undefined; }
        return show(target, request, render, mine);
      }));
      await Promise.all([book, ...jobs]);
      if (mine !== token) return;
      release();
      performance.measure?.("riskdesk:portfolio:risk", { start: started });
    }

    /** The what-if panel of the chosen book (its module loads beside the first risk requests). */
    let whatifToken = 0;
    function mountWhatIfPanel() {
      if (whatif) whatif.destroy();
      whatif = null;
      const mine = ++whatifToken;
      const p = state.portfolio;
      if (!p) return;
      import("../portfolio/whatif.js").then(({ mountWhatIf }) => {
        if (mine === whatifToken) whatif = mountWhatIf(whatifBody, p, { asOf, window: varWindow, canEdit });
      }, (error) => {
        whatifBody.replaceChildren(h("div", { class: "error pf-problem", role: "alert" }, `The what-if panel could not be loaded: ${errorText(error)}`));
      });
    }

    /** Make ``id`` (or the first book) the chosen one; ``loading``: its risk is already coming. */
    function choose(id, loading = null) {
      state.portfolio = state.portfolios.find((p) => p.id === id) || state.portfolios[0] || null;
      if (state.portfolio) {
        sessionStorage.setItem(LAST_KEY, state.portfolio.id);
        history.replaceState(null, "", `#/portfolio/${state.portfolio.id}`);
      }
      fillSelect();
      importResult.replaceChildren();
      mountWhatIfPanel();
      if (!state.portfolio) { token += 1; return Promise.resolve(); }
      if (loading && state.portfolio.id === loading.id) return loading.done;
      return loadRisk();
    }

    let listToken = 0;
    async function loadList(preferred) {
      const mine = ++listToken;
      // the book named by the address (or the last one shown) starts loading its risk now,
      // beside the list, instead of after it; the list then only confirms it
      const guess = preferred || ctx.route.args[0] || sessionStorage.getItem(LAST_KEY);
      let early = null;
      if (guess && !state.portfolio) {
        state.portfolio = { id: guess, name: "" };
        emptyState.hidden = true;
        content.hidden = false;
        early = { id: guess, done: loadRisk() };
      }
      let listed = [];
      try {
        listed = await getAll("/v1/portfolios", 500);
      } catch (error) {
        el.append(h("div", { class: "error", role: "alert", "data-testid": "portfolio-list-error" }, `Portfolios could not be listed: ${errorText(error)}`));
      }
      if (mine !== listToken) return;
      state.portfolios = listed;
      await choose(guess, early);
    }

    // -- actions ---------------------------------------------------------------------------
    function showImport(report) {
      const rejected = report.rejected || [];
      const summary = h("p", { "data-testid": "portfolio-import-summary" },
        h("span", { class: `badge ${rejected.length ? "bad" : "ok"}` }, rejected.length ? "rows rejected" : "imported"), " ",
        `${report.data_rows} row(s): ${report.imported} imported, ${report.skipped_count} already stored, ${report.rejected_count} rejected.`);
      const errors = rejected.length ? table([
        { key: "line", label: "Line", render: (r) => String(r.line) },
        { key: "column", label: "Column", text: true },
        { key: "value", label: "Value", text: true, render: (r) => (r.value === null || r.value === undefined ? "(none)" : r.value) },
        { key: "reason", label: "Reason", text: true },
      ], rejected, { testid: "portfolio-import-errors", rowAttrs: (r) => ({ "data-testid": `import-error-${r.line}` }) }) : null;
      const settled = (report.settlement || []).length ? h("ul", { "data-testid": "portfolio-import-settlement" },
        report.settlement.map((s) => h("li", {}, `line ${s.line} ${s.ticker}: ${s.message}`))) : null;
      importResult.replaceChildren(summary, errors || "", settled || "");
    }

    async function upload(text) {
      if (!state.portfolio) { toast("Create or choose a portfolio first.", "error"); return; }
      uploadButton.disabled = sampleButton.disabled = true;
      importResult.replaceChildren(h("span", { class: "muted" }, "uploading..."));
      try {
        showImport(await uploadCsv(state.portfolio.id, text, asOf()));
        await loadRisk();
      } catch (error) {
        const reasons = (error.problem && error.problem.errors) || [];
        importResult.replaceChildren(h("div", { class: "error pf-problem", role: "alert", "data-testid": "portfolio-import-error" },
          h("b", {}, `Upload refused (${error.status || "network"}): `), error.message,
          reasons.length > 1 ? h("ul", {}, reasons.map((r) => h("li", {}, `${r.field}: ${r.message}`))) : null));
      } finally {
        uploadButton.disabled = sampleButton.disabled = false;
      }
    }

    uploadButton.addEventListener("click", async () => {
      const file = fileInput.files && fileInput.files[0];
      if (!file) { fileInput.focus(); toast("Choose a CSV file first.", "error"); return; }
      await upload(await file.text());
    });
    sampleButton.addEventListener("click", async () => {
      const text = await guarded(sampleCsv);
      if (text !== undefined) await upload(text);
    });
    createForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = newName.value.trim();
      if (!name) return;
      try {
        const created = await post("/v1/portfolios", { name });
        newName.value = "";
        toast(`Portfolio ${created.name} created.`);
        await loadList(created.id);
      } catch (error) {
        toast(errorText(error), "error");
      }
    });
    select.addEventListener("change", () => choose(select.value));
    dateInput.addEventListener("change", () => { loadRisk(); mountWhatIfPanel(); });
    windowInput.addEventListener("change", () => loadRisk());
    refreshButton.addEventListener("click", () => loadRisk());
    const onKey = (event) => {
      const t = event.target;
      if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "r") { event.preventDefault(); loadRisk(); }
      if (event.key === "u" && canEdit && state.portfolio) { event.preventDefault(); fileInput.click(); }
    };
    document.addEventListener("keydown", onKey);

    fillSelect();
    loadList();
    return () => {
      token += 1;
      whatifToken += 1;
      document.removeEventListener("keydown", onKey);
      if (whatif) whatif.destroy();
    };
  },
};

