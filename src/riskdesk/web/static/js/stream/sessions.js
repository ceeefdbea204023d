// The stream's sessions and metrics, from a /v1/stream/status body (route or WebSocket).
//
// While a stream runs (or after one ran in this process) the ingest's status gives every
// session's state and metrics; before any run, the stored stream_sessions rows stand in with
// the two counters they keep (messages received, rows written).

import { h, clear, fmt } from "../ui.js";

const STATES = ["connecting", "connected", "degraded", "disconnected"];

/** One row per session, whichever the origin of the status. */
export function sessionRows(body) {
  const status = body && body.status;
  if (status && Array.isArray(status.sessions)) {
    return status.sessions.map((s) => {
      const m = s.metrics || {};
      const latency = m.tick_to_durable_ms || {};
      return {
        key: `${s.broker}|${s.account_id}`, broker: s.broker, account: s.account_id, state: s.status,
        received: m.received, journaled: m.journaled, persisted: m.persisted, deduped: m.deduped,
        rejected: m.rejected || {}, rejectedTotal: m.rejected_total,
        p95: latency.p95, p99: latency.p99, buffer: m.buffer_depth, journal: m.journal_depth,
        reconnects: s.disconnects, lastMessage: s.last_message_at, error: s.last_error,
      };
    });
  }
  return ((body && body.latest_sessions) || []).map((s) => ({
    key: `${s.id}`, broker: s.broker, account: s.account_id, state: s.status,
    received: s.messages_received, journaled: null, persisted: s.rows_written, deduped: null,
    rejected: null, rejectedTotal: null, p95: null, p99: null, buffer: null, journal: null,
    reconnects: s.reconnect_attempt, lastMessage: s.last_message_at, error: s.last_error,
  }));
}

/** "12:03:04.512" in UTC for an ISO time, "-" for none. */
export function clock(iso) {
  if (!iso) return "-";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(11, 23)}`;
}

function count(value, testid) {
  return h("td", { class: "num", "data-testid": testid, "data-value": value ?? "" }, value === null || value === undefined ? "-" : fmt(value, 0));
}

function ms(value, testid) {
  return h("td", { class: "num", "data-testid": testid }, value === null || value === undefined ? "-" : fmt(value, 1));
}

function rejectedCell(row) {
  if (row.rejected === null) return h("td", { class: "num", "data-testid": "session-rejected" }, "-");
  const reasons = Object.entries(row.rejected);
  const text = reasons.length ? reasons.map(([reason, n]) => `${reason}: ${n}`).join(", ") : "";
  return h("td", { class: row.rejectedTotal ? "num neg" : "num", "data-testid": "session-rejected", title: text || "none rejected" },
    fmt(row.rejectedTotal ?? 0, 0), text ? h("span", { class: "muted reasons" }, ` (${text})`) : null);
}

function stateBadge(state) {
  const known = STATES.includes(state) ? state : "";
  return h("span", { class: `badge ${known}`, "data-testid": "session-state" }, state || "unknown");
}

/** The sessions table into ``el`` (rebuilt: a few rows, once a second). */
export function renderSessions(el, body) {
  const rows = sessionRows(body);
  clear(el);
  if (rows.length === 0) {
    el.append(h("div", { class: "empty", "data-testid": "sessions-empty" }, "No stream session yet: start one to see its state and metrics."));
    return;
  }
  const live = Boolean(body && body.status);
  const head = ["Session", "State", "Received", "Journaled", "Persisted", "Deduped", "Rejected",
    "p95 ms", "p99 ms", "Buffer", "Journal", "Reconnects", "Last message"];
  el.append(h("div", { class: "table-scroll" }, h("table", { class: "data sessions", "data-testid": "sessions-table", "data-origin": live ? "ingest" : "stored" },
    h("thead", {}, h("tr", {}, head.map((label, i) => h("th", { class: i < 2 ? "text" : "", title: i === 7 || i === 8 ? "tick to durable (journal fsync)" : i === 12 ? "UTC" : undefined }, label)))),
    h("tbody", {}, rows.map((row) => h("tr", { "data-testid": "session-row", "data-session": `${row.broker}/${row.account}`, title: row.error || undefined },
      h("td", { class: "text" }, `${row.broker}/${row.account}`),
      h("td", { class: "text" }, stateBadge(row.state), row.error ? h("span", { class: "error session-error" }, ` ${row.error}`) : null),
      count(row.received, "session-received"),
      count(row.journaled, "session-journaled"),
      count(row.persisted, "session-persisted"),
      count(row.deduped, "session-deduped"),
      rejectedCell(row),
      ms(row.p95, "session-p95"),
      ms(row.p99, "session-p99"),
      count(row.buffer, "session-buffer"),
      count(row.journal, "session-journal"),
      count(row.reconnects, "session-reconnects"),
      h("td", { class: "num" }, clock(row.lastMessage)),
    ))))));
}

/** The totals strip: counters, writer depths, tick-to-DB latency, drained. */
export function renderTotals(el, body) {
  clear(el);
  const status = body && body.status;
  if (!status) return;
  const totals = status.totals || {};
  const writer = status.writer || {};
  const db = status.tick_to_db_ms || {};
  const item = (label, raw, text, testid, cls = "") => h("div", { class: `metric ${cls}` },
    h("div", { class: "muted" }, label),
    h("div", { class: "num value", "data-testid": testid, "data-value": raw ?? "" }, text));
  const n = (value) => (value === null || value === undefined ? "-" : fmt(value, 0));
  const latency = (value) => (value === null || value === undefined ? "-" : fmt(value, 1));
  const drained = status.drained;
  const drainedText = drained === null || drained === undefined
    ? (body.running ? "running" : "-") : (drained ? "drained" : "not drained");
  el.append(
    item("received", totals.received, n(totals.received), "total-received"),
    item("journaled", totals.journaled, n(totals.journaled), "total-journaled"),
    item("persisted", totals.persisted, n(totals.persisted), "total-persisted"),
    item("deduped", totals.deduped, n(totals.deduped), "total-deduped"),
    item("rejected", totals.rejected_total, n(totals.rejected_total), "total-rejected", totals.rejected_total ? "neg" : ""),
    item("buffered", writer.buffered, n(writer.buffered), "writer-buffered"),
    item("journal depth", writer.journal_depth, n(writer.journal_depth), "writer-journal-depth"),
    item("tick to DB p95 ms", db.p95, latency(db.p95), "db-p95"),
    item("tick to DB p99 ms", db.p99, latency(db.p99), "db-p99"),
    item("writer", drained, drainedText, "stream-drained", drained === false ? "warn" : drained ? "pos" : ""),
  );
}
