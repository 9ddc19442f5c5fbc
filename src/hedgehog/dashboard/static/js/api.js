/* hedgehog observer — talking to the node: the token, requests, and the event stream.
 *
 * The token comes from the page's link (?token=...). Requests send it as a Bearer header
 * (actions are refused without it); the Server-Sent Events stream (/api/events), which cannot
 * send headers, has it in its URL: a "snapshot" with every section, then an "update" per
 * interval with the sections that changed and new points of each symbol's series. A symbol's
 * full series come from /api/symbol/{symbol} when its tab opens (loadSymbol).
 * Price bars ([open time, open, high, low, close], decimal strings, of `interval`: 1s or 1m)
 * are folded by the node from every trade; the last one is in progress, so a bar whose open
 * time is the last one's replaces it, and bars of a new interval replace them all.
 */
import { $, toast } from "./dom.js";
import { S, schedule, sym } from "./state.js";

export const TOKEN = new URLSearchParams(location.search).get("token") || "";
const MAX_POINTS = 2000;

export async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + TOKEN };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
  });
  let data = null;
  try { data = await r.json(); } catch (_) { /* not JSON */ }
  if (!r.ok) throw new Error((data && data.error) || r.status + " " + r.statusText);
  return data;
}

let source = null;
export function connect() {
  const conn = $("conn");
  source = new EventSource("/api/events?token=" + encodeURIComponent(TOKEN));
  source.onopen = () => { conn.dataset.state = "live"; $("conn-text").textContent = "live"; };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      conn.dataset.state = "down"; $("conn-text").textContent = "disconnected";
      setTimeout(connect, 3000);
    } else {
      conn.dataset.state = "reconnecting"; $("conn-text").textContent = "reconnecting…";
    }
  };
  source.addEventListener("snapshot", (e) => {
    const m = JSON.parse(e.data);
    S.sections = m.sections;
    S.version = m.version;
    for (const s of Object.values(S.series)) s.loaded = false; // reload what is shown
    if (S.tab !== "node" && !sym(S.tab)) S.tab = "node"; // a stale #SYMBOL link
    schedule();
    if (S.tab !== "node") loadSymbol(S.tab);
  });
  source.addEventListener("update", (e) => {
    const m = JSON.parse(e.data);
    Object.assign(S.sections, m.sections);
    for (const k of m.gone || []) delete S.sections[k];
    for (const [name, pts] of Object.entries(m.series || {})) addPoints(name, pts);
    S.version = m.version;
    schedule();
  });
}

function seriesOf(name) {
  return (S.series[name] ||= { bars: [], interval: null, pnl: [], fills: [], keys: new Set(), loaded: false });
}
function addPoints(name, pts) {
  const s = S.series[name];
  if (!s || !s.loaded) return; // loaded in full when its tab opens
  if (pts.interval && pts.interval !== s.interval) { s.interval = pts.interval; s.bars = []; }
  for (const b of pts.bars || []) {
    const last = s.bars[s.bars.length - 1];
    if (last && b[0] === last[0]) s.bars[s.bars.length - 1] = b; // the bar in progress, updated
    else if (!last || b[0] > last[0]) s.bars.push(b);
  }
  if (s.bars.length > MAX_POINTS) s.bars.splice(0, s.bars.length - MAX_POINTS);
  for (const p of pts.pnl || []) if (!s.pnl.length || p[0] > s.pnl[s.pnl.length - 1][0]) s.pnl.push(p);
  if (s.pnl.length > MAX_POINTS) s.pnl.splice(0, s.pnl.length - MAX_POINTS);
  for (const f of pts.fills || []) {
    const key = f.client_order_id + "|" + f.time + "|" + f.qty;
    if (!s.keys.has(key)) { s.keys.add(key); s.fills.push(f); }
  }
  if (s.fills.length > MAX_POINTS) s.fills.splice(0, s.fills.length - MAX_POINTS);
}
export async function loadSymbol(name) {
  try {
    const d = await api("GET", "/api/symbol/" + encodeURIComponent(name));
    const s = seriesOf(name);
    s.bars = d.bars; s.interval = d.interval; s.pnl = d.pnl; s.fills = d.fills;
    s.keys = new Set(d.fills.map((f) => f.client_order_id + "|" + f.time + "|" + f.qty));
    s.loaded = true;
    schedule();
  } catch (err) {
    toast(name + ": " + err.message, true);
  }
}
