// Scenario controls of the compare workspace: horizon curves, spot range and resolution,
// vol shocks -> one inline /v1 scenario grid shared by trades A and B.

/** Parse horizon curves: "0,7,14" (days) or "N@step" ("5@7" = 0,7,14,21,28). Throws on junk. */
export function parseHorizons(text) {
  const value = String(text || "").trim();
  const stepped = /^(\d{1,3})\s*@\s*(\d{1,4})$/.exec(value);
  let days;
  if (stepped) {
    const count = Number(stepped[1]);
    const step = Number(stepped[2]);
    if (count < 1 || count > 20) throw new Error(`horizons: ${count} curves; give 1 to 20 (e.g. "5@7")`);
    if (step < 1) throw new Error('horizons: the step must be at least 1 day (e.g. "5@7")');
    days = Array.from({ length: count }, (_, i) => i * step);
  } else {
    const parts = value.split(/[\s,;]+/).filter(Boolean);
    if (parts.length === 0) throw new Error('horizons: give days like "0,7,14" or N@step like "5@7"');
    days = parts.map((part) => {
      if (!/^\d{1,4}$/.test(part)) throw new Error(`horizons: "${part}" is not a whole number of days`);
      return Number(part);
    });
  }
  const unique = [...new Set(days)].sort((x, y) => x - y);
  if (unique.length > 20) throw new Error(`horizons: ${unique.length} curves; give at most 20`);
  return unique;
}

/** Parse vol shocks in vol points: "-10,-5,0,5,10". */
export function parseVolShocks(text) {
  const parts = String(text || "").split(/[\s,;]+/).filter(Boolean);
  if (parts.length === 0) throw new Error('vol shocks: give vol points like "-10,-5,0,5,10"');
  const values = parts.map((part) => {
    const n = Number(part);
    if (!Number.isFinite(n) || n <= -100 || n > 500) throw new Error(`vol shocks: "${part}" must be a number of vol points in (-100, 500]`);
    return n;
  });
  const unique = [...new Set(values)].sort((x, y) => x - y);
  if (unique.length > 41) throw new Error(`vol shocks: ${unique.length} shocks; give at most 41`);
  return unique;
}

export function parseRange(text) {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n >= 100) throw new Error(`spot range: "${text}" must be a percent in (0, 100)`);
  return n;
}

export function parseSteps(text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 3 || n > 401) throw new Error(`resolution: "${text}" must be a whole number of points in [3, 401]`);
  return n % 2 === 0 ? n + 1 : n; // odd: the unmoved spot is on the grid
}

/** The calendar date (New York) of an ISO instant, as YYYY-MM-DD. */
export function newYorkDate(iso) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York", year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
  return parts; // en-CA formats as YYYY-MM-DD
}

export function addDays(isoDate, days) {
  const d = new Date(`${isoDate}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The New York date of horizon day 0: the snapshot's own New York date. */
export function horizonBase(asOf) {
  return newYorkDate(asOf);
}

/** Whole days from ``base`` (YYYY-MM-DD) to ``isoDate``. */
export function daysBetween(base, isoDate) {
  return Math.round((Date.parse(`${isoDate.slice(0, 10)}T12:00:00Z`) - Date.parse(`${base}T12:00:00Z`)) / 86400000);
}

/**
 * The inline scenario grid for /v1/evaluate and /v1/compare.
 * Horizon day 0 is the snapshot's own instant (so the T+0 curve at today's spot is the trade's
 * value now); day d > 0 is the close (16:00 New York) of :func:`horizonBase` + d days.
 */
export function buildGrid({ days, range, steps, vols }, asOf) {
  const base = horizonBase(asOf);
  return {
    spot_range_kind: "PERCENT",
    spot_min: -range,
    spot_max: range,
    spot_steps: steps,
    vol_shifts: vols,
    dates: days.map((d) => (d === 0 ? asOf : addDays(base, d))),
  };
}

/** Spot axis of a grid around ``spot`` (what the engine returns), for zeroed empty trades. */
export function spotAxis(spot, range, steps) {
  return Array.from({ length: steps }, (_, i) => spot * (1 + (-range + (2 * range * i) / (steps - 1)) / 100));
}

export function horizonLabel(days, dateIso) {
  return `T+${days}d (${dateIso.slice(0, 10)})`;
}
