/* hedgehog observer — the tab bar: "Node" and one tab per symbol (with its status dot).
 *
 * openTab(id) shows a tab, keeps it in the URL's #fragment (so a reload opens it again) and
 * loads the symbol's full series if they are not loaded yet.
 */
import { loadSymbol } from "./api.js";
import { $, h } from "./dom.js";
import { S, render, sym, symbolNames } from "./state.js";

export function renderTabs() {
  const tabs = [["node", "Node", null], ...symbolNames().map((s) => [s, s, sym(s).status])];
  $("tabs").replaceChildren(...tabs.map(([id, label, status]) => h("button", {
    class: S.tab === id ? "active" : "", role: "tab", "data-tab": id,
    onclick: () => openTab(id),
  }, status ? h("span", { class: "sdot " + status }) : null, label)));
}

export function openTab(id) {
  if (S.tab === id) return;
  S.tab = id;
  history.replaceState(null, "", location.pathname + location.search + (id === "node" ? "" : "#" + encodeURIComponent(id)));
  $("view").replaceChildren();
  S.settingsFor = null;
  if (id !== "node" && !(S.series[id] && S.series[id].loaded)) loadSymbol(id);
  render();
}
