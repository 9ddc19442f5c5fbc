/* hedgehog observer — DOM and formatting helpers shared by every view (no state).
 *
 * h(tag, attrs, ...kids) builds an element; $ finds one by id; fill replaces an element's
 * children; money/signed/ago/hhmmss format numbers and times; stat/table/kvList build the
 * page's common blocks; toast shows a short message at the bottom of the page.
 */

export function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    e.append(kid instanceof Node ? kid : String(kid));
  }
  return e;
}
export const $ = (id) => document.getElementById(id);
export const fill = (el, ...kids) => el.replaceChildren(...kids.flat(Infinity).filter((k) => k != null && k !== false));
export const num = (x) => (x == null || x === "" ? NaN : Number(x));

export function money(x, digits = 4) {
  const v = num(x);
  return Number.isFinite(v) ? v.toFixed(digits) : "—";
}
export function signed(x, digits = 4) {
  const v = num(x);
  if (!Number.isFinite(v)) return h("span", { class: "muted" }, "—");
  return h("span", { class: v > 0 ? "pos" : v < 0 ? "neg" : "" }, (v > 0 ? "+" : "") + v.toFixed(digits));
}
export function ago(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
}
export function hhmmss(ms) {
  if (!ms) return "—";
  const d = new Date(ms), p = (n) => String(n).padStart(2, "0");
  return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
}

export function stat(label, value, attrs) {
  return h("div", Object.assign({ class: "stat" }, attrs || {}), h("span", {}, label), h("b", {}, value));
}
export function table(headers, rows, empty) {
  if (!rows.length) return h("div", { class: "empty" }, empty);
  return h("div", { class: "twrap" }, h("table", {},
    h("thead", {}, h("tr", {}, headers.map(([t, r]) => h("th", { class: r ? "r" : "" }, t)))),
    h("tbody", {}, rows)));
}
// a value of a key/value list: times (`*_at`, `*_since`) as a clock and an age relative to `now`
function show(key, v, now) {
  if (v == null) return "—";
  if (Array.isArray(v)) return v.length ? v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ") : "—";
  if (typeof v === "object") return JSON.stringify(v);
  if (typeof v === "number" && /(_at|_since)$/.test(key) && v > 1e9) {
    return hhmmss(v * 1000) + (now ? " (" + ago(now - v) + " ago)" : "");
  }
  return String(v);
}
export function kvList(obj, now) {
  return h("dl", { class: "kv" }, Object.entries(obj).flatMap(([k, v]) => [
    h("dt", {}, k.replaceAll("_", " ")),
    h("dd", {}, show(k, v, now)),
  ]));
}

let toastTimer = null;
export function toast(text, error) {
  const t = $("toast");
  t.textContent = text;
  t.className = "toast" + (error ? " error" : "");
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), error ? 6000 : 3000);
}
