// Small DOM and formatting helpers shared by the pages.

/** Create an element: h("button", {class: "ghost", onclick}, "text", child...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const el = h("div", { class: `toast ${kind}`, "data-testid": `toast-${kind}` }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}

/** A number for display: ``digits`` decimals, thousands separators, "-" for null. */
export function fmt(value, digits = 2) {
  if (value === null || value === undefined || value === "") return "-";
  if (typeof value === "string") {
    const exact = roundDecimal(value, digits);
    if (exact !== null) return exact;
  }
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d*))?$/;

/**
 * A decimal string (the API's money and quantities) rounded to ``digits`` places exactly,
 * half to even, with thousands separators: the same text as Python's
 * ``format(Decimal(text), f",.{digits}f")``, never a binary float's rounding. null when
 * ``text`` is not a plain decimal.
 */
export function roundDecimal(text, digits = 2) {
  const match = DECIMAL.exec(String(text).trim());
  if (!match) return null;
  const [, sign, whole, fraction = ""] = match;
  let kept = (whole + fraction.slice(0, digits).padEnd(digits, "0")).split("").map(Number);
  const rest = fraction.slice(digits);
  if (rest) {
    const first = Number(rest[0]);
    const beyond = /[1-9]/.test(rest.slice(1));
    const odd = kept[kept.length - 1] % 2 === 1;
    if (first > 5 || (first === 5 && (beyond || odd))) {
      let i = kept.length - 1;
      while (i >= 0 && kept[i] === 9) { kept[i] = 0; i -= 1; }
      if (i >= 0) kept[i] += 1; else kept = [1, ...kept];
    }
  }
  const all = kept.join("");
  const cut = all.length - digits;
  const integer = all.slice(0, cut).replace(/^0+(?=\d)/, "") || "0";
  const grouped = integer.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign === "-" ? "-" : ""}${grouped}${digits > 0 ? `.${all.slice(cut)}` : ""}`;
}

export function signClass(value) {
  const n = Number(value);
  return n > 0 ? "num pos" : n < 0 ? "num neg" : "num";
}

/** A table: columns [{key, label, digits?, text?, render?}], rows of objects. */
export function table(columns, rows, { testid, empty = "nothing yet", rowAttrs } = {}) {
  if (!rows || rows.length === 0) return h("div", { class: "empty", "data-testid": testid ? `${testid}-empty` : undefined }, empty);
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.text ? "text" : "" }, c.label))));
  const body = h("tbody", {}, rows.map((row, i) => h("tr", rowAttrs ? rowAttrs(row, i) : {}, columns.map((c) => {
    const value = row[c.key];
    if (c.render) return h("td", { class: c.text ? "text" : "num" }, c.render(row, i));
    if (c.text) return h("td", { class: "text" }, value ?? "-");
    return h("td", { class: c.signed ? signClass(value) : "num" }, fmt(value, c.digits ?? 2));
  }))));
  return h("table", { class: "data", "data-testid": testid }, head, body);
}

export function errorText(error) {
  if (!error) return "";
  const details = error.details ? ` (${Object.entries(error.details).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")})` : "";
  return `${error.message}${details}`;
}

/** Run ``fn``; on failure show the error as a toast and return undefined. */
export async function guarded(fn) {
  try { return await fn(); } catch (error) { console.error(error); toast(errorText(error), "error"); return undefined; }
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

/** Load a page's own stylesheet once (``/static/css/<name>.css``). */
export function useStyle(name) {
  const href = `/static/css/${name}.css`;
  if (!document.querySelector(`link[href="${href}"]`)) {
    document.head.append(h("link", { rel: "stylesheet", href }));
  }
}
