/* hedgehog observer — the node as a whole: the header's totals and the "Node" tab.
 *
 * renderHeader() shows the exchange, the totals and, once the root supervisor has died, that
 * the node is down. renderNode() draws the node tab: totals, a row per symbol (a click opens its
 * tab), balances, the exchange and its trade streams, recent crashes and warnings.
 */
import { $, ago, fill, h, hhmmss, kvList, money, num, signed, stat, table } from "./dom.js";
import { node, shown, sym, symbolNames } from "./state.js";
import { openTab } from "./tabs.js";

export function renderHeader() {
  const n = node(), t = n.totals || {};
  $("exchange").textContent = n.exchange_kind ? "exchange: " + n.exchange_kind : "";
  if (n.alive === false) {  // the root supervisor died: the stream may still be open, the node is not
    $("conn").dataset.state = "down"; $("conn-text").textContent = "node down: " + (n.down_reason || "");
  }
  const item = (label, value, cls) => h("div", { class: "t" }, h("b", { class: cls || "" }, value), h("span", {}, label));
  const pnlClass = (x) => (num(x) > 0 ? "pos" : num(x) < 0 ? "neg" : "");
  $("totals").replaceChildren(
    item("realised", money(t.realised_pnl), pnlClass(t.realised_pnl)),
    item("unrealised", money(t.unrealised_pnl), pnlClass(t.unrealised_pnl)),
    item("cycles", t.cycles_completed ?? "—"),
    item("trades/s", t.trade_rate == null ? "—" : t.trade_rate.toFixed(1)),
    item("restarts", t.restarts ?? "—"),
  );
}

function problems(list, kind) {
  if (!list.length) return h("div", { class: "empty" }, kind === "errors" ? "no crashes" : "no warnings");
  return h("div", { class: "scroll" }, list.slice().reverse().map((e) => h("div", { class: "problem " + (e.level || "ERROR") },
    h("span", { class: "when" }, hhmmss((e.time || 0) * 1000)),
    kind === "errors" ? h("b", {}, e.process + " " + e.what + ": ") : h("b", {}, e.level + " " + e.logger + ": "),
    h("span", { class: "what" }, kind === "errors" ? e.error : e.message))));
}

export function renderNode() {
  const n = node(), t = n.totals || {}, ex = n.exchange || {}, bal = n.balances || {};
  const view = $("view");
  const conns = (n.streams || {}).connections || [];
  const exRows = { kind: n.exchange_kind };
  if (ex.exchange === "binance") {
    exRows["user stream"] = ex.user_stream_connected ? "connected" : "DOWN";
    exRows["last message"] = ex.last_message_at ? ago(n.now - ex.last_message_at) + " ago" : "—";
    exRows.reconnects = ex.reconnects;
    exRows["order updates"] = ex.updates;
    exRows["rate limit"] = (ex.weight_used ?? "?") + " / " + (ex.max_weight_per_minute ?? "?") + " weight per minute" + (ex.banned ? " — BANNED" : "");
  } else {
    exRows["trades matched"] = ex.trades_matched;
  }
  const symbols = symbolNames().map((s) => sym(s));
  fill(view,
    h("div", { class: "stats", "data-testid": "node-stats" },
      stat("symbols trading", t.symbols_trading ?? "—"),
      stat("traders", t.traders ?? "—"),
      stat("open orders", t.open_orders ?? "—"),
      stat("cycles", t.cycles_completed ?? "—"),
      stat("realised PnL", signed(t.realised_pnl)),
      stat("unrealised PnL", signed(t.unrealised_pnl)),
      stat("fees paid", money(t.fees_paid)),
      stat("trades / s", t.trade_rate == null ? "—" : t.trade_rate.toFixed(1)),
      stat("equity", bal.equity == null ? "—" : money(bal.equity, 2) + (bal.equity_complete ? "" : "*")),
    ),
    h("section", { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "Symbols")),
      table([["symbol"], ["status"], ["last", 1], ["trades/s", 1], ["traders", 1], ["open orders", 1], ["cycles", 1], ["realised", 1], ["unrealised", 1]],
        symbols.map((s) => h("tr", { class: "click", onclick: () => openTab(s.symbol) },
          h("td", {}, h("b", {}, s.symbol)), h("td", {}, h("span", { class: "badge " + shown(s), title: s.state_reason || "" }, shown(s))),
          h("td", { class: "r num" }, s.last_price ?? "—"),
          h("td", { class: "r num" }, s.trade_rate == null ? "—" : s.trade_rate.toFixed(1)),
          h("td", { class: "r num" }, s.traders.length), h("td", { class: "r num" }, s.orders.length),
          h("td", { class: "r num" }, s.cycles_completed ?? 0),
          h("td", { class: "r num" }, signed(s.realised_pnl)), h("td", { class: "r num" }, signed(s.unrealised_pnl)))),
        "no symbols yet: start one with `hedgehog trade start SYMBOL`")),
    h("div", { class: "grid2" },
      h("section", { class: "card" },
        h("div", { class: "card-head" }, h("h2", {}, "Balances"),
          h("span", { class: "muted small" }, bal.at ? "as of " + hhmmss(bal.at * 1000) : "")),
        bal.error ? h("div", { class: "msg error" }, "balances: " + bal.error) : null,
        table([["asset"], ["free", 1], ["locked", 1], ["total", 1], ["value (quote)", 1]],
          (bal.assets || []).map((b) => h("tr", {},
            h("td", {}, h("b", {}, b.asset)), h("td", { class: "r num" }, b.free), h("td", { class: "r num" }, b.locked),
            h("td", { class: "r num" }, b.total), h("td", { class: "r num" }, b.value == null ? "—" : money(b.value, 2)))),
          "no balances yet"),
        bal.equity_complete === false ? h("div", { class: "note" }, "* some assets have no known price") : null),
      h("section", { class: "card" },
        h("div", { class: "card-head" }, h("h2", {}, "Exchange")),
        kvList(exRows, n.now),
        h("h2", {}, "Trade streams"),
        table([["conn"], ["state"], ["symbols"], ["trades", 1], ["last message", 1], ["reconnects", 1]],
          conns.map((c) => h("tr", {},
            h("td", { class: "num" }, c.id), h("td", {}, c.connected ? "connected" : h("b", { class: "neg" }, "down")),
            h("td", {}, (c.symbols || []).join(", ")), h("td", { class: "r num" }, c.trades ?? "—"),
            h("td", { class: "r num" }, c.last_message_at ? ago(n.now - c.last_message_at) + " ago" : "—"),
            h("td", { class: "r num" }, c.reconnects ?? 0))),
          "no stream connections"))),
    h("div", { class: "grid2" },
      h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Crashes")), problems(n.errors || [], "errors")),
      h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Warnings")), problems(n.warnings || [], "warnings"))),
    Object.keys(n.boot_errors || {}).length || (n.unknown_orders || []).length
      ? h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Attention")),
        Object.entries(n.boot_errors || {}).map(([s, e]) => h("div", { class: "problem" }, h("b", {}, s + " failed to start: "), e)),
        (n.unknown_orders || []).map((o) => h("div", { class: "problem WARNING" },
          h("b", {}, "open order not hedgehog's: "), o.symbol + " " + o.side + " " + o.quantity + " @ " + o.price + " (" + o.client_order_id + ")")))
      : null,
  );
}
