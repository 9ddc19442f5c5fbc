/* hedgehog observer — the inspector: the selected process's state, from /api/process/{key}.
 *
 * select(key) opens (or, with null, closes) the side panel; refreshProcess() asks for the
 * process's state at most about once a second (at once when forced); renderProcess() draws it:
 * a trader's phase and orders, a leader's settings and slots, any other process's info(), and
 * a Kill button (controls.js) for everything but the root.
 */
import { api } from "./api.js";
import { killButton } from "./controls.js";
import { $, ago, fill, h, kvList } from "./dom.js";
import { S, node, schedule } from "./state.js";
import { renderTree } from "./tree.js";

export function select(key) {
  if (S.selected !== key) { S.selected = key; S.proc = null; S.procError = null; }
  $("inspector").hidden = !key;
  $("layout").classList.toggle("inspecting", !!key);
  renderTree();
  renderProcess();
  refreshProcess(true);
}

let lastProcFetch = 0;
export async function refreshProcess(force) {
  if (!S.selected || S.procBusy) return;
  if (!force && Date.now() - lastProcFetch < 900) return;
  S.procBusy = true;
  lastProcFetch = Date.now();
  const key = S.selected;
  try {
    const d = await api("GET", "/api/process/" + encodeURIComponent(key));
    if (key === S.selected) { S.proc = d; S.procError = null; }
  } catch (err) {
    if (key === S.selected) S.procError = err.message;
  } finally {
    S.procBusy = false;
  }
  if (key === S.selected) schedule(); else refreshProcess(true); // selection changed meanwhile
}

function orderRows(orders) {
  const rows = orders.filter(Boolean);
  if (!rows.length) return h("div", { class: "empty" }, "no orders");
  return h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, "side"), h("th", { class: "r" }, "price"), h("th", { class: "r" }, "qty"), h("th", {}, "status"), h("th", { class: "r" }, "order id"))),
    h("tbody", {}, rows.map((o) => h("tr", { "data-side": o.side },
      h("td", {}, h("span", { class: "badge " + o.side }, o.side)),
      h("td", { class: "r num" }, o.price),
      h("td", { class: "r num" }, o.quantity),
      h("td", {}, h("span", { class: "badge " + o.status }, o.status)),
      h("td", { class: "r num", title: o.client_order_id }, o.order_id ?? "—"),
    ))),
  );
}

export function renderProcess() {
  const body = $("proc-body"), actions = $("proc-actions");
  actions.replaceChildren();
  if (!S.selected) return;
  const close = h("button", { class: "close", title: "close", "aria-label": "close", onclick: () => select(null) }, "×");
  const p = S.proc;
  if (!p) {
    body.className = "muted";
    body.replaceChildren(S.procError ? "not running now: " + S.procError : "loading " + S.selected + "…");
    body.dataset.pid = "";
    actions.append(close);
    return;
  }
  body.className = "";
  body.dataset.pid = p.pid;
  body.dataset.key = S.selected;
  const now = node().now;
  const stale = S.procError ? h("div", { class: "msg error" }, "not running now: " + S.procError + " (last known state below)") : null;
  const title = h("div", { class: "proc-title" },
    h("h3", { "data-testid": "proc-name" }, S.selected.startsWith("trader:") ? "trader " + p.info.trader_id : p.name || p.id || p.module),
    h("span", { class: "muted" }, p.module),
    h("span", { class: "num", "data-testid": "proc-pid" }, "#" + p.pid),
    h("span", { class: "badge" }, p.status),
  );
  const common = { uptime: ago(p.uptime), mailbox: p.mailbox, kind: p.kind };
  const parts = [stale, title];
  const info = p.info || {};
  if (p.module === "Trader") {
    const field = (label, name, value) => [h("dt", {}, label), h("dd", { "data-field": name }, value)];
    parts.push(h("dl", { class: "kv", "data-testid": "trader-state" },
      field("trader", "trader_id", info.trader_id),
      field("phase", "phase", h("span", { class: "badge " + info.phase }, info.phase)),
      field("retries", "cycle", info.cycle),
      field("rebuy asked", "rebuy", info.rebuy_notified ? "yes" : "no"),
      field("shutting down", "shutting_down", info.shutting_down ? "yes" : "no"),
      field("uptime", "uptime", common.uptime),
      field("mailbox", "mailbox", common.mailbox),
    ));
    parts.push(h("div", { class: "orders", "data-testid": "trader-orders" }, orderRows([info.buy, info.sell])));
  } else if (p.module === "Leader") {
    parts.push(kvList(Object.assign(common, { symbol: info.symbol, status: info.status, "traders started": info.traders_started, "trader restarts": info.restarts }), now));
    parts.push(h("h2", {}, "settings"), kvList(info.settings || {}, now));
    parts.push(h("h2", {}, "slots"), p.slots && p.slots.length
      ? h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "trader"), h("th", {}, "pid"), h("th", {}, "phase"), h("th", { class: "r" }, "retries"))),
        h("tbody", {}, p.slots.map((s) => h("tr", { class: "click", onclick: () => select("trader:" + info.symbol + ":" + s.trader_id) },
          h("td", {}, s.trader_id), h("td", { class: "num" }, "#" + s.pid),
          h("td", {}, h("span", { class: "badge " + s.phase }, s.phase)), h("td", { class: "r num" }, s.cycle)))))
      : h("div", { class: "empty" }, "no traders"));
  } else {
    parts.push(kvList(Object.assign(common, info), now));
    if (p.children) parts.push(h("div", { class: "note" }, p.children.length + " children: " + p.children.map((c) => c.name || c.id).join(", ")));
  }
  fill(body, parts);
  if (p.pid && S.selected !== "root") {
    actions.append(killButton(p, () => setTimeout(() => refreshProcess(true), 300)));
  }
  actions.append(close);
}
