// The compare workspace's snapshot bar: the live or pinned snapshot every result is computed
// on (its hash shown), pin in one click, re-mark (refresh), diagnostics one click away, and
// P&L attribution between two snapshots as a waterfall.

import { get, post } from "../api.js";
import { h, clear, fmt, toast, errorText, signClass } from "../ui.js";
import { drawWaterfall } from "./charts.js";

function when(iso) { return String(iso).replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC"); }

export class SnapshotBar {
  constructor(host, { canEdit, armedDraft, armed, onChange }) {
    this.host = host;
    this.canEdit = canEdit;
    this.armedDraft = armedDraft;
    this.armed = armed;
    this.onChange = onChange;
    this.snapshot = null; // {snapshot_id, snapshot_hash, mode, as_of, symbols}
    this.live = null; // the newest live snapshot this session used (refresh re-marks it)
    this.busy = false;
    this.bar = h("div", { class: "row snapbar", "data-testid": "snapshot-bar" });
    this.diagnostics = h("div", { class: "diagnostics", "data-testid": "diagnostics-panel", hidden: true });
    this.attribution = h("div", { class: "attribution", "data-testid": "attribution-panel", hidden: true });
    this.minutes = h("input", { type: "number", min: "1", max: "1440", value: "30", "data-testid": "snapshot-minutes", "aria-label": "Refresh: minutes later" });
    host.append(this.bar, this.diagnostics, this.attribution);
    this.render();
  }

  dispose() { this.disposed = true; }

  async describe(id) {
    const full = await get(`/v1/snapshots/${id}`);
    return { snapshot_id: full.snapshot_id, snapshot_hash: full.snapshot_hash, mode: full.mode, as_of: full.as_of, symbols: full.symbols };
  }

  /**
   * Find (or, for a trader, take) the newest live snapshot quoting ``symbol``.
   *
   * One request on the first render's critical path: the chain route without ``snapshot=``
   * answers the newest live snapshot's identity (id, hash, mode, as of) with its chain, so the
   * full snapshot is not fetched. Resolves to that chain (``null`` when a snapshot was taken
   * or none exists: the page loads the chain itself). The snapshot's other underlyings are
   * filled in later by ``complete()``, off the critical path.
   */
  async start(symbol) {
    let chain;
    try {
      chain = await get(`/v1/market/chains/${encodeURIComponent(symbol)}`);
    } catch (error) {
      if (error.status !== 404) { this.error = errorText(error); this.render(); return null; }
      if (!this.canEdit) { this.snapshot = null; this.render(); return null; }
      await this.take([symbol]);
      return null;
    }
    this.snapshot = { snapshot_id: chain.snapshot_id, snapshot_hash: chain.snapshot_hash, mode: chain.mode, as_of: chain.as_of, symbols: [chain.symbol], partial: true };
    if (this.snapshot.mode === "LIVE") this.live = this.snapshot;
    this.render();
    return chain;
  }

  /** The full list of underlyings of a snapshot known only from its chain (one request, once). */
  complete() {
    const s = this.snapshot;
    if (!s || !s.partial) return Promise.resolve();
    if (!this.completing) {
      this.completing = this.describe(s.snapshot_id).then((full) => {
        s.symbols = full.symbols;
        delete s.partial;
        if (!this.disposed) this.render();
      }).catch(() => { /* the bar keeps the symbol it knows; ensureSymbol asks again */ }).finally(() => { this.completing = null; });
    }
    return this.completing;
  }

  async take(symbols) {
    this.busy = true;
    this.render("taking a live snapshot...");
    try {
      const created = await post("/v1/snapshots", { symbols });
      this.snapshot = { snapshot_id: created.snapshot_id, snapshot_hash: created.snapshot_hash, mode: created.mode, as_of: created.as_of, symbols: created.symbols };
      this.live = this.snapshot;
      this.error = null;
    } catch (error) {
      this.error = `A live snapshot could not be taken: ${errorText(error)}`;
    } finally {
      this.busy = false;
      this.render();
    }
  }

  /** Make sure the live snapshot quotes ``symbol`` (a pinned session stays pinned). */
  async ensureSymbol(symbol, tradeSymbols) {
    await this.complete();
    if (!this.snapshot || this.snapshot.symbols.includes(symbol) || this.snapshot.mode === "PINNED") return;
    const wanted = [...new Set([symbol, ...tradeSymbols])];
    try {
      const quote = await get(`/v1/market/quotes/${encodeURIComponent(symbol)}`);
      const found = await this.describe(quote.snapshot_id);
      if (wanted.every((s) => found.symbols.includes(s))) { this.snapshot = found; this.live = found; this.render(); return; }
    } catch (error) {
      if (error.status !== 404) { toast(errorText(error), "error"); return; }
    }
    if (this.canEdit) await this.take(wanted);
  }

  async pin() {
    if (!this.snapshot) return;
    this.busy = true;
    this.render("pinning...");
    try {
      const pinned = await post(`/v1/snapshots/${this.snapshot.snapshot_id}/pin`);
      this.snapshot = { snapshot_id: pinned.snapshot_id, snapshot_hash: pinned.snapshot_hash, mode: pinned.mode, as_of: pinned.as_of, symbols: pinned.symbols };
      toast(`Pinned: every result now carries snapshot ${pinned.snapshot_hash.slice(0, 12)}.`);
    } catch (error) {
      toast(`Pin failed: ${errorText(error)}`, "error");
    } finally {
      this.busy = false;
      this.render();
    }
    await this.onChange(this.snapshot, { recompute: true });
  }

  async goLive() {
    if (!this.live) return;
    this.snapshot = this.live;
    this.render();
    await this.onChange(this.snapshot, { recompute: true });
  }

  async refresh() {
    if (!this.live) return;
    const minutes = Number(this.minutes.value);
    if (!Number.isInteger(minutes) || minutes < 1) { toast("Refresh: minutes must be a whole number >= 1.", "error"); return; }
    this.busy = true;
    this.render("re-marking...");
    let switched = false;
    try {
      const fresh = await post(`/v1/snapshots/${this.live.snapshot_id}/refresh`, { minutes });
      const ref = { snapshot_id: fresh.snapshot_id, snapshot_hash: fresh.snapshot_hash, mode: fresh.mode, as_of: fresh.as_of, symbols: fresh.symbols };
      this.live = ref;
      if (this.snapshot.mode !== "PINNED") { this.snapshot = ref; switched = true; }
      else toast(`Re-marked ${minutes} min later as ${fresh.snapshot_hash.slice(0, 12)}; the session stays pinned (use it in attribution).`);
    } catch (error) {
      toast(`Refresh failed: ${errorText(error)}`, "error");
    } finally {
      this.busy = false;
      this.render();
    }
    if (switched) await this.onChange(this.snapshot, { recompute: true });
    if (!this.attribution.hidden) await this.openAttribution();
  }

  render(progress) {
    const s = this.snapshot;
    const parts = [h("h2", {}, "Snapshot")];
    if (!s) {
      parts.push(h("span", { class: this.error ? "error" : "muted", "data-testid": "snapshot-none" }, this.error || progress || (this.canEdit ? "no snapshot yet" : "no live snapshot yet")));
      clear(this.bar).append(...parts);
      return;
    }
    const pinned = s.mode === "PINNED";
    parts.push(
      h("span", { class: `badge ${pinned ? "pinned" : "live"}`, "data-testid": "snapshot-mode" }, pinned ? "pinned" : "live"),
      h("code", { class: "hash", "data-testid": "snapshot-hash", "data-hash": s.snapshot_hash, "data-id": s.snapshot_id, title: `${s.snapshot_hash}\nid ${s.snapshot_id}` }, s.snapshot_hash.slice(0, 16)),
      h("span", { class: "muted small" }, `as of ${when(s.as_of)} · ${s.symbols.join(", ")}`),
    );
    if (this.canEdit) {
      const pin = h("button", { type: "button", "data-testid": "snapshot-pin", disabled: this.busy || pinned, title: "Pin this snapshot: results reproduce exactly" }, pinned ? "Pinned" : "Pin snapshot");
      pin.addEventListener("click", () => this.pin());
      parts.push(pin);
      if (pinned && this.live) {
        const live = h("button", { type: "button", class: "ghost", "data-testid": "snapshot-live", disabled: this.busy }, "Back to live");
        live.addEventListener("click", () => this.goLive());
        parts.push(live);
      }
      const refresh = h("button", { type: "button", class: "ghost", "data-testid": "snapshot-refresh", disabled: this.busy || !this.live, title: "Re-mark the live snapshot N minutes later" }, "Refresh +");
      refresh.addEventListener("click", () => this.refresh());
      parts.push(refresh, this.minutes, h("span", { class: "muted small" }, "min"));
    }
    const diag = h("button", { type: "button", class: "ghost", "data-testid": "snapshot-diagnostics", "aria-expanded": String(!this.diagnostics.hidden) }, "Diagnostics");
    diag.addEventListener("click", () => this.toggleDiagnostics());
    parts.push(diag);
    if (this.canEdit) {
      const attr = h("button", { type: "button", class: "ghost", "data-testid": "attribution-toggle", "aria-expanded": String(!this.attribution.hidden) }, "Attribution");
      attr.addEventListener("click", () => this.toggleAttribution());
      parts.push(attr);
    }
    if (progress) parts.push(h("span", { class: "badge dirty" }, progress));
    clear(this.bar).append(...parts);
  }

  async toggleDiagnostics() {
    this.diagnostics.hidden = !this.diagnostics.hidden;
    this.render();
    if (this.diagnostics.hidden || !this.snapshot) return;
    clear(this.diagnostics).append(h("div", { class: "muted" }, "Loading diagnostics..."));
    try {
      const d = await get(`/v1/snapshots/${this.snapshot.snapshot_id}/diagnostics`);
      const counts = ["options", "crossed", "zero_bid", "missing_quote", "stale", "wide_spread", "expired", "missing_underlying", "iv_skipped"];
      const rows = Object.entries(d.by_underlying || {}).map(([symbol, u]) => ({ symbol, ...u, iv_ok: (u.iv_status || {}).ok }));
      clear(this.diagnostics).append(
        h("div", { class: "row" }, h("b", {}, "Diagnostics"),
          h("span", { class: "muted small" }, `as of ${when(d.as_of)} · stale after ${fmt(d.stale_after_seconds, 0)} s · wide spread > ${fmt(d.wide_spread_rel * 100, 0)}% or ${fmt(d.wide_spread_abs, 2)}`)),
        h("table", { class: "data", "data-testid": "diagnostics-table" },
          h("thead", {}, h("tr", {}, h("th", { class: "text" }, "Underlying"), ...counts.map((c) => h("th", {}, c.replace(/_/g, " "))), h("th", {}, "IV ok"))),
          h("tbody", {},
            h("tr", { class: "total" }, h("td", { class: "text" }, "all"), ...counts.map((c) => h("td", { class: "num", "data-testid": `diag-${c}` }, fmt(d[c], 0))), h("td", { class: "num" }, fmt((d.iv_status || {}).ok, 0))),
            rows.map((r) => h("tr", {}, h("td", { class: "text" }, r.symbol), ...counts.map((c) => h("td", { class: "num" }, fmt(r[c], 0))), h("td", { class: "num" }, fmt(r.iv_ok, 0)))))));
    } catch (error) {
      clear(this.diagnostics).append(h("div", { class: "error", role: "alert" }, `Diagnostics failed: ${errorText(error)}`));
    }
  }

  async toggleAttribution() {
    this.attribution.hidden = !this.attribution.hidden;
    this.render();
    if (!this.attribution.hidden) await this.openAttribution();
  }

  renderAttribution() {
    if (this.attributionLabel) this.attributionLabel.textContent = `Trade ${this.armed()} (the armed one)`;
  }

  async openAttribution() {
    clear(this.attribution).append(h("div", { class: "muted" }, "Loading snapshots..."));
    let items;
    try {
      items = (await get("/v1/snapshots?limit=50")).items;
    } catch (error) {
      clear(this.attribution).append(h("div", { class: "error", role: "alert" }, errorText(error)));
      return;
    }
    const label = (s) => `${s.mode.toLowerCase()} ${s.snapshot_hash.slice(0, 10)} · ${when(s.as_of)}`;
    const pinned = items.find((s) => s.mode === "PINNED");
    const base = (this.snapshot && this.snapshot.mode === "PINNED" ? this.snapshot.snapshot_id : null) || (pinned && pinned.snapshot_id) || (items[0] && items[0].snapshot_id);
    const compare = (items.find((s) => s.mode === "LIVE" && s.snapshot_id !== base) || {}).snapshot_id;
    const baseSelect = h("select", { "data-testid": "attr-base", "aria-label": "Base snapshot" }, items.map((s) => h("option", { value: s.snapshot_id, selected: s.snapshot_id === base }, label(s))));
    const compareSelect = h("select", { "data-testid": "attr-compare", "aria-label": "Compare snapshot" }, items.map((s) => h("option", { value: s.snapshot_id, selected: s.snapshot_id === compare }, label(s))));
    const run = h("button", { type: "button", "data-testid": "attr-run" }, "Attribute");
    const out = h("div", { class: "attr-out" });
    const chart = h("div", { class: "chart", "data-testid": "chart-waterfall" });
    this.attributionLabel = h("span", { class: "muted" });
    this.renderAttribution();
    run.addEventListener("click", async () => {
      const draft = this.armedDraft();
      if (!draft || draft.legs.length === 0) { clear(out).append(h("div", { class: "error", role: "alert" }, `Trade ${this.armed()} has no legs to attribute.`)); return; }
      if (baseSelect.value === compareSelect.value) { clear(out).append(h("div", { class: "error", role: "alert" }, "Pick two different snapshots (e.g. the pinned one and a refreshed one).")); return; }
      run.disabled = true;
      clear(out).append(h("div", { class: "muted" }, "Attributing..."));
      try {
        const result = await post("/v1/attribution", { trade: { draft_id: draft.id }, base_snapshot_id: baseSelect.value, compare_snapshot_id: compareSelect.value });
        const trade = result.result.trade;
        const taylor = trade.taylor || {};
        const explained = Object.entries(taylor).filter(([k]) => k !== "residual").reduce((sum, [, v]) => sum + v, 0);
        clear(out).append(h("table", { class: "data", "data-testid": "attr-table" },
          h("tbody", {},
            h("tr", {}, h("td", { class: "text" }, "Base value"), h("td", { class: "num" }, fmt(trade.base_value, 2))),
            h("tr", {}, h("td", { class: "text" }, "Compare value"), h("td", { class: "num" }, fmt(trade.compare_value, 2))),
            h("tr", {}, h("td", { class: "text" }, "Actual P/L"), h("td", { class: signClass(trade.revaluation_total), "data-testid": "attr-total" }, fmt(trade.revaluation_total, 2))),
            h("tr", {}, h("td", { class: "text" }, "Explained (Taylor)"), h("td", { class: signClass(explained), "data-testid": "attr-explained" }, fmt(explained, 2))),
            h("tr", {}, h("td", { class: "text" }, "Residual"), h("td", { class: signClass(taylor.residual), "data-testid": "attr-residual" }, fmt(taylor.residual, 2))))));
        await drawWaterfall(chart, trade);
      } catch (error) {
        clear(out).append(h("div", { class: "error", role: "alert", "data-testid": "attr-error" }, `Attribution failed: ${errorText(error)}`));
      } finally {
        run.disabled = false;
      }
    });
    clear(this.attribution).append(
      h("div", { class: "row" }, h("b", {}, "Attribution"), this.attributionLabel,
        h("label", {}, "from ", baseSelect), h("label", {}, "to ", compareSelect), run),
      h("div", { class: "grid2" }, out, chart));
  }
}
