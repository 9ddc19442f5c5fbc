/* hedgehog observer — the page's state and its redraw scheduling.
 *
 * S holds what the stream sent (sections and series) and what the user chose (tab, selected
 * process, folded branches). schedule() asks for a redraw: at most once a frame, and never while
 * a mouse button is down (an element replaced between mousedown and mouseup would swallow the
 * click, or a selection). main.js registers the function that draws (setRenderer).
 */

export const S = {
  sections: {},     // name -> data ("tree", "node", "symbol:XRPUSDT", ...)
  series: {},       // symbol -> {prices, pnl, fills, keys, loaded}
  tab: decodeURIComponent(location.hash.slice(1)) || "node",
  selected: null,   // key of the process shown in the side panel
  collapsed: new Set(),
  proc: null,       // last /api/process answer for `selected`
  procError: null,
  procBusy: false,
  settingsFor: null,
  version: 0,
};

export const node = () => S.sections.node || {};
export const symbolNames = () =>
  Object.keys(S.sections).filter((k) => k.startsWith("symbol:")).map((k) => k.slice(7)).sort();
export const sym = (name) => S.sections["symbol:" + name];
// a symbol's badge: its stored status, or "down" when its tree is not really trading
export const shown = (s) => (s.state === "down" ? "down" : s.status);

let renderer = () => {};
export function setRenderer(fn) { renderer = fn; }
export function render() { renderer(); }

let pending = false, pointerDown = false, deferred = false;
export function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    if (pointerDown) deferred = true; else render();
  });
}
document.addEventListener("mousedown", () => { pointerDown = true; }, true);
document.addEventListener("mouseup", () => {
  pointerDown = false;
  if (deferred) { deferred = false; setTimeout(schedule, 0); }
}, true);
