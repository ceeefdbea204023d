// USER_FLOWS flow 9 on the compare page: read a broker account's option positions
// (POST /v1/brokers/positions, read-only at the broker), pick some, add them to trade A or B as
// legs (signed quantity, entry at the workspace snapshot's mark, one recompute), and switch the
// workspace to a snapshot of the broker's own marks (POST /v1/snapshots/broker).

import { get, post } from "../api.js";
import { h, clear, fmt, toast, errorText } from "../ui.js";

const BROKERS = [["tastytrade", "tastytrade"], ["ibkr", "IBKR (TWS / Gateway)"]];
const DEFAULT_ACCOUNT = { tastytrade: "5WT00001", ibkr: "DU000001" };

function legName(p) { return `${p.underlying} ${p.expiry} ${p.strike} ${p.right === "C" ? "call" : "put"}`; }

/** The price of ``p`` in a chain answer: its mark, else its mid; null when not quoted. */
function markOf(chain, p) {
  const row = chain.rows.find((r) => String(r.expiry) === p.expiry && Number(r.strike) === Number(p.strike) && r.right === p.right);
  if (!row) return null;
  return row.mark ?? row.mid ?? null;
}

export class Importer {
  /**
   * @param {HTMLElement} host where the panel goes
   * @param {{ snapshot: () => object|null, addLegs: (id: string, legs: object[]) => void,
   *           useSnapshot: (ref: object) => Promise<void> }} hooks
   */
  constructor(host, { snapshot, addLegs, useSnapshot }) {
    this.snapshot = snapshot;
    this.addLegs = addLegs;
    this.useSnapshot = useSnapshot;
    this.positions = [];
    this.spec = null; // the spec of the last fetch (the snapshot reads the same account)
    this.busy = false;
    this.inputs = {
      broker: h("select", { id: "imp-broker", "data-testid": "import-broker" }, BROKERS.map(([v, label]) => h("option", { value: v }, label))),
      account: h("input", { id: "imp-account", value: DEFAULT_ACCOUNT.tastytrade, size: 10, "data-testid": "import-account", autocomplete: "off", required: true }),
      credentials: h("input", { id: "imp-credentials", value: "default", size: 12, "data-testid": "import-credentials", autocomplete: "off", title: "Name of broker credentials stored with `riskdesk secrets broker-login` (never the password)" }),
      url: h("input", { id: "imp-url", placeholder: "default address", size: 22, "data-testid": "import-url", autocomplete: "off", title: "tastytrade: https://api.tastyworks.com (default) or a loopback fake; IBKR: tws://host:port" }),
    };
    this.inputs.broker.addEventListener("change", () => {
      const broker = this.inputs.broker.value;
      if (Object.values(DEFAULT_ACCOUNT).includes(this.inputs.account.value)) this.inputs.account.value = DEFAULT_ACCOUNT[broker];
      this.inputs.credentials.disabled = broker !== "tastytrade";
    });
    this.fetchButton = h("button", { type: "submit", "data-testid": "import-fetch" }, "Fetch positions");
    this.status = h("div", { class: "import-status", "aria-live": "polite", "data-testid": "import-status" });
    this.list = h("div", { class: "import-list", "data-testid": "import-positions" });
    this.actions = h("div", { class: "row import-actions" });
    const form = h("form", { class: "row import-form", "aria-label": "Broker account" },
      h("label", { for: "imp-broker" }, "Broker"), this.inputs.broker,
      h("label", { for: "imp-account" }, "Account"), this.inputs.account,
      h("label", { for: "imp-credentials" }, "Credentials"), this.inputs.credentials,
      h("label", { for: "imp-url" }, "URL"), this.inputs.url,
      this.fetchButton);
    form.addEventListener("submit", (event) => { event.preventDefault(); this.fetch(); });
    this.root = h("section", { class: "panel importer", "aria-label": "Import broker positions", "data-testid": "importer" },
      h("div", { class: "row" }, h("h2", {}, "Import positions"),
        h("span", { class: "muted small" }, "read-only at the broker: positions become legs of A or B")),
      form, this.status, this.list, this.actions);
    host.append(this.root);
    this.render();
  }

  readSpec() {
    const broker = this.inputs.broker.value;
    const spec = { broker, account: this.inputs.account.value.trim() };
    const url = this.inputs.url.value.trim();
    if (url) spec.url = url;
    const credentials = this.inputs.credentials.value.trim();
    if (broker === "tastytrade" && credentials) spec.credentials = credentials;
    return spec;
  }

  setStatus(kind, text) {
    clear(this.status).append(text ? h("span", { class: kind === "error" ? "error" : kind === "busy" ? "badge dirty" : "muted", role: kind === "error" ? "alert" : undefined, "data-testid": `import-${kind}` }, text) : "");
  }

  async fetch() {
    const spec = this.readSpec();
    if (!spec.account) { this.setStatus("error", "Give the account number."); return; }
    this.busy = true;
    this.render();
    this.setStatus("busy", `reading ${spec.account} at ${spec.broker}...`);
    try {
      const answer = await post("/v1/brokers/positions", spec);
      this.spec = spec;
      this.positions = answer.positions.map((p) => ({ ...p, selected: false }));
      const when = String(answer.as_of).replace("T", " ").replace(/(\.\d+)?(Z|\+00:00)$/, " UTC");
      this.setStatus("ok", `${answer.positions.length} option position(s) of ${answer.broker}:${answer.account} as of ${when}`
        + (answer.warnings.length ? ` · ${answer.warnings.join("; ")}` : ""));
    } catch (error) {
      this.positions = [];
      this.setStatus("error", `Positions could not be read: ${errorText(error)}`);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  selected() { return this.positions.filter((p) => p.selected); }

  render() {
    this.fetchButton.disabled = this.busy;
    const list = clear(this.list);
    if (this.positions.length === 0) {
      if (this.spec) list.append(h("div", { class: "empty", "data-testid": "import-empty" }, "The account holds no option positions."));
      clear(this.actions);
      return;
    }
    const all = h("input", { type: "checkbox", "aria-label": "Select every position", "data-testid": "import-all", checked: this.positions.every((p) => p.selected) });
    all.addEventListener("change", () => { for (const p of this.positions) p.selected = all.checked; this.render(); });
    const rows = this.positions.map((p, i) => {
      const box = h("input", { type: "checkbox", checked: p.selected, "data-testid": `import-pos-${i}-select`, "aria-label": `Select ${legName(p)}` });
      box.addEventListener("change", () => { p.selected = box.checked; this.renderActions(); all.checked = this.positions.every((x) => x.selected); });
      const q = Number(p.quantity);
      return h("tr", { "data-testid": `import-pos-${i}`, "data-symbol": p.symbol },
        h("td", {}, box),
        h("td", { class: "text" }, h("span", { class: q > 0 ? "pos" : "neg" }, q > 0 ? "LONG " : "SHORT "), legName(p)),
        h("td", { class: "text mono small" }, p.symbol),
        h("td", { class: `num ${q > 0 ? "pos" : "neg"}`, "data-testid": `import-pos-${i}-qty` }, fmt(q, 0)));
    });
    list.append(h("table", { class: "data import-table" },
      h("thead", {}, h("tr", {}, h("th", {}, all), h("th", { class: "text" }, "Position"), h("th", { class: "text" }, "OCC"), h("th", {}, "Qty"))),
      h("tbody", {}, rows)));
    this.renderActions();
  }

  renderActions() {
    const n = this.selected().length;
    const add = (id) => {
      const button = h("button", { type: "button", "data-testid": `import-add-${id.toLowerCase()}`, disabled: this.busy || n === 0, title: `Add the selected positions to trade ${id} (one recompute)` }, `Add to ${id}`);
      button.addEventListener("click", () => this.add(id));
      return button;
    };
    const snap = h("button", { type: "button", class: "ghost", "data-testid": "import-snapshot", disabled: this.busy || !this.spec, title: "Snapshot the account's options on the broker's marks and evaluate on it" }, "Use broker snapshot");
    snap.addEventListener("click", () => this.brokerSnapshot());
    clear(this.actions).append(add("A"), add("B"), snap, h("span", { class: "muted small", "data-testid": "import-selected" }, `${n} selected`));
  }

  /** Add the selected positions to trade ``id``, entered at the workspace snapshot's marks. */
  async add(id) {
    const chosen = this.selected();
    const snap = this.snapshot();
    if (chosen.length === 0) return;
    if (!snap) { this.setStatus("error", "No snapshot: take one, or use the broker snapshot."); return; }
    this.busy = true;
    this.renderActions();
    try {
      const underlyings = [...new Set(chosen.map((p) => p.underlying))];
      const chains = new Map(await Promise.all(underlyings.map(async (u) => {
        try { return [u, await get(`/v1/market/chains/${encodeURIComponent(u)}?snapshot=${snap.snapshot_id}`)]; }
        catch (error) { if (error.status === 404) return [u, null]; throw error; }
      })));
      const missing = [];
      const legs = [];
      for (const p of chosen) {
        const chain = chains.get(p.underlying);
        const mark = chain ? markOf(chain, p) : null;
        if (mark === null) { missing.push(legName(p)); continue; }
        legs.push({
          instrument: { type: "option", underlying: p.underlying, expiry: p.expiry, strike: p.strike, right: p.right, style: "AMERICAN" },
          quantity: p.quantity,
          price: mark,
        });
      }
      if (missing.length) {
        this.setStatus("error", `Snapshot ${snap.snapshot_hash.slice(0, 12)} does not quote ${missing.join(", ")}: use the broker snapshot first.`);
        return;
      }
      this.addLegs(id, legs);
      this.setStatus("ok", `Added ${legs.length} leg(s) to ${id} at the marks of snapshot ${snap.snapshot_hash.slice(0, 12)}.`);
      toast(`${legs.length} position(s) added to trade ${id}.`);
    } catch (error) {
      this.setStatus("error", `Positions could not be added: ${errorText(error)}`);
    } finally {
      this.busy = false;
      this.renderActions();
    }
  }

  /** Snapshot the account's options on the broker's marks and make it the workspace's. */
  async brokerSnapshot() {
    if (!this.spec) return;
    this.busy = true;
    this.renderActions();
    this.setStatus("busy", `snapshotting ${this.spec.account} at ${this.spec.broker}...`);
    try {
      const created = await post("/v1/snapshots/broker", this.spec);
      const ref = { snapshot_id: created.snapshot_id, snapshot_hash: created.snapshot_hash, mode: created.mode, as_of: created.as_of, symbols: created.symbols };
      await this.useSnapshot(ref);
      const warnings = created.warnings || [];
      clear(this.status).append(
        h("span", { class: "muted", "data-testid": "import-ok" }, `Broker snapshot ${created.snapshot_hash.slice(0, 12)} (${created.source}, ${created.option_quotes} option quotes) is now the workspace's.`),
        warnings.length ? h("ul", { class: "warnings", "data-testid": "import-warnings" }, warnings.map((w) => h("li", { class: "badge warn" }, w))) : "");
    } catch (error) {
      this.setStatus("error", `The broker snapshot failed: ${errorText(error)}`);
    } finally {
      this.busy = false;
      this.renderActions();
    }
  }
}
