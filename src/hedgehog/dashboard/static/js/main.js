/* hedgehog observer — the page's entry module (native ES modules, no build step, nothing
 * fetched from the internet; served by the node with the dashboard's routes).
 *
 * Wires the parts together: render() draws everything from the state (at most once a frame,
 * see state.js), the tree selects processes for the inspector, and the event stream (api.js)
 * keeps the state current.
 *
 *   api.js       token, requests, the Server-Sent Events stream, a symbol's series
 *   state.js     the page's state and redraw scheduling
 *   dom.js       element building and formatting helpers
 *   tree.js      the supervision tree          process.js   the inspector (a process's state)
 *   tabs.js      the tab bar                   overview.js  header totals and the Node tab
 *   symbols.js   a symbol's tab                controls.js  buttons and the settings form
 *   plot.js      the canvas charts
 */
import { TOKEN, connect } from "./api.js";
import { $, h } from "./dom.js";
import { renderHeader, renderNode } from "./overview.js";
import { refreshProcess, renderProcess, select } from "./process.js";
import { S, schedule, setRenderer, sym } from "./state.js";
import { renderSymbol } from "./symbols.js";
import { renderTabs } from "./tabs.js";
import { installTree, renderTree } from "./tree.js";

function render() {
  renderHeader();
  renderTree();
  renderTabs();
  if (S.tab === "node" || !sym(S.tab)) renderNode(); else renderSymbol(S.tab);
  renderProcess();
  refreshProcess();
}

setRenderer(render);
installTree(select);
window.addEventListener("resize", schedule);
if (!TOKEN) {
  $("view").replaceChildren(h("div", { class: "card msg error" }, "No token: open the dashboard link that `hedgehog run` prints (…/?token=…)."));
}
connect();
