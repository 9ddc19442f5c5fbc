/* hedgehog observer — a symbol's tab: its status and stats, price and PnL charts, traders,
 * open orders, completed cycles, controls and settings.
 *
 * renderSymbol(name) builds the view once per symbol (buildSymbolView) and then only fills its
 * parts in, so the form being edited and the canvases survive each update. The charts come from
 * the series api.js keeps (loaded in full when the tab opens, then extended by the stream).
 * The price chart draws the node's bars (1 s, or 1 min after a few minutes of trades) as a
 * low–high box over each interval and a line through their closes at the intervals' ends.
 */
import { loadSettings, settingsCard, symbolActions, updateButtons } from "./controls.js";
import { $, fill, h, hhmmss, money, signed, stat, table } from "./dom.js";
import { drawPlot } from "./plot.js";
import { select } from "./process.js";
import { S, shown, sym } from "./state.js";

function buildSymbolView(name) {
  return h("div", { class: "symbol-view", "data-symbol": name },
    h("section", { class: "card" },
      h("div", { class: "sym-head" },
        h("h1", {}, name),
        h("span", { class: "badge", id: "sym-status", "data-testid": "sym-status" }),
        h("span", { class: "muted", id: "sym-last" }),
        symbolActions(name)),
      h("div", { class: "stats", id: "sym-stats" }),
      h("div", { class: "msg danger", id: "sym-errored", "data-testid": "sym-errored" })),
    h("section", { class: "card" },
      h("div", { class: "card-head" }, h("h2", { id: "price-title" }, "Price"),
        h("div", { class: "legend" }, h("span", {}, h("i", { class: "c-range" }), "low–high"), h("span", {}, h("i", { class: "c-price" }), "close"), h("span", {}, h("i", { class: "tri-up" }), "our buys"),
          h("span", {}, h("i", { class: "tri-down" }), "our sells"), h("span", {}, h("i", { class: "c-order" }), "open orders"))),
      h("canvas", { class: "plot", id: "price-chart" })),
    h("section", { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "PnL"),
        h("div", { class: "legend" }, h("span", {}, h("i", { class: "c-real" }), "realised"), h("span", {}, h("i", { class: "c-unreal" }), "unrealised"),
          h("span", {}, h("i", { class: "c-total" }), "total"))),
      h("canvas", { class: "plot short", id: "pnl-chart" })),
    h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Traders"), h("span", { class: "muted small", id: "leader-info" })), h("div", { id: "sym-traders" })),
    h("div", { class: "grid2" },
      h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Open orders")), h("div", { class: "scroll", id: "sym-orders" })),
      h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Completed cycles")), h("div", { class: "scroll", id: "sym-cycles" }))),
    h("div", {}, settingsCard(name)),
  );
}

export function renderSymbol(name) {
  const s = sym(name);
  let root = $("view").firstElementChild;
  if (!root || root.dataset.symbol !== name) {
    root = buildSymbolView(name);
    $("view").replaceChildren(root);
  }
  if (S.settingsFor !== name) loadSettings(name);
  const badge = $("sym-status");
  badge.textContent = shown(s); badge.className = "badge " + shown(s); badge.title = s.state_reason || "";
  $("sym-last").textContent = s.last_price ? "last " + s.last_price : "no trades yet";
  updateButtons(s);
  fill($("sym-stats"),
    stat("strategy", s.strategy ?? "naive"),
    stat("last price", s.last_price ?? "—"),
    stat("trades / s", s.trade_rate == null ? "—" : s.trade_rate.toFixed(1)),
    stat("traders", s.traders.length),
    stat("open orders", s.orders.length),
    stat("cycles", s.cycles_completed ?? 0),
    stat("realised PnL", signed(s.realised_pnl)),
    stat("unrealised PnL", signed(s.unrealised_pnl)),
    stat("fees paid", money(s.fees_paid)),
    stat("rejected", (s.buy_rejections ?? 0) + " buys · " + (s.sell_rejections ?? 0) + " sells"),
    s.dust ? stat("dust held", s.dust) : null,
    s.risk ? stat("max loss", s.risk.max_loss + " · realised " + s.risk.realised_pnl) : null,
  );
  const halted = s.risk && s.risk.halted;
  $("sym-errored").textContent = [s.errored ? "errored: " + s.errored : "",
    halted ? "halted (no new buys): " + halted.reason : ""].filter(Boolean).join(" · ");
  const L = s.leader;
  $("leader-info").textContent = L ? "leader #" + L.pid + " · " + L.traders_started + " started · " + L.trader_restarts + " restarted" : "no leader running";
  const orderCell = (o) => o ? h("span", { class: "nowrap" }, h("span", { class: "num" }, o.price + " × " + o.quantity + " "), h("span", { class: "badge " + o.status }, o.status)) : h("span", { class: "muted" }, "—");
  $("sym-traders").replaceChildren(table([["trader"], ["pid"], ["phase"], ["retries", 1], ["buy"], ["sell"], ["rebuy"], ["blocked"]],
    s.traders.map((t) => h("tr", { class: "click", "data-key": t.key, onclick: () => select(t.key) },
      h("td", {}, h("b", {}, t.trader_id)), h("td", { class: "num" }, "#" + t.pid),
      h("td", {}, h("span", { class: "badge " + (t.phase || "") }, t.phase || (t.alive ? "?" : "restarting"))),
      h("td", { class: "r num" }, t.cycle ?? "—"), h("td", {}, orderCell(t.buy)), h("td", {}, orderCell(t.sell)),
      h("td", {}, t.rebuy_notified ? "asked" : ""),
      h("td", { class: "warn" }, t.blocked || ""))),
    s.status === "off" ? "not trading" : "no traders yet"));
  $("sym-orders").replaceChildren(table([["side"], ["price", 1], ["qty", 1], ["filled", 1], ["status"], ["trader"]],
    s.orders.map((o) => h("tr", {},
      h("td", {}, h("span", { class: "badge " + o.side }, o.side)), h("td", { class: "r num" }, o.price),
      h("td", { class: "r num" }, o.quantity), h("td", { class: "r num" }, o.executed),
      h("td", {}, h("span", { class: "badge " + o.status }, o.status)), h("td", { class: "num", title: o.client_order_id }, o.trader_id))),
    "no open orders"));
  $("sym-cycles").replaceChildren(table([["time"], ["trader"], ["qty", 1], ["buy", 1], ["sell", 1], ["profit", 1]],
    s.cycles.map((c) => h("tr", {},
      h("td", { class: "num" }, hhmmss(c.time)), h("td", { class: "num" }, c.trader_id),
      h("td", { class: "r num" }, c.quantity), h("td", { class: "r num" }, c.buy_price), h("td", { class: "r num" }, c.sell_price),
      h("td", { class: "r num" }, signed(c.profit, 6)))),
    "no completed cycles yet"));
  drawCharts(name, s);
}

const INTERVAL_MS = { "1s": 1000, "1m": 60000 };

function drawCharts(name, s) {
  const ser = S.series[name];
  const loaded = ser && ser.loaded;
  const bars = loaded ? ser.bars : [];
  const width = INTERVAL_MS[ser && ser.interval] || 1000;
  $("price-title").textContent = bars.length ? "Price · " + ser.interval + " bars" : "Price";
  const marks = loaded ? ser.fills.map((f) => ({
    t: f.time, v: Number(f.price), color: f.side === "BUY" ? "#16a34a" : "#dc2626",
    shape: f.side === "BUY" ? "up" : "down", label: f.side.toLowerCase() + " " + f.qty + " @ " + f.price,
  })) : [];
  const hlines = s.orders.map((o) => ({
    v: Number(o.price), color: o.side === "BUY" ? "#16a34a" : "#dc2626", label: o.side.toLowerCase() + " " + o.price + " (" + o.trader_id + ")",
  }));
  drawPlot($("price-chart"), {
    ranges: [{ pts: bars.map((b) => [b[0], b[0] + width, Number(b[3]), Number(b[2])]), color: "#bfdbfe", label: "low–high" }],
    lines: [{ pts: bars.map((b) => [b[0] + width, Number(b[4])]), color: "#2563eb", width: 1.6, label: "close" }],
    marks, hlines, bars, interval: ser && ser.interval,
    fmt: (v) => String(+v.toPrecision(8)), empty: loaded ? "waiting for trades…" : "loading…",
  });
  const pnl = loaded ? ser.pnl : [];
  drawPlot($("pnl-chart"), {
    lines: [
      { pts: pnl.map((p) => [p[0], Number(p[1])]), color: "#7c3aed", width: 1.8, label: "realised" },
      { pts: pnl.map((p) => [p[0], Number(p[2])]), color: "#f59e0b", width: 1.4, label: "unrealised" },
      { pts: pnl.map((p) => [p[0], Number(p[1]) + Number(p[2])]), color: "#1c2430", width: 1.2, dash: [4, 3], label: "total" },
    ],
    zero: true, fmt: (v) => v.toFixed(4), empty: loaded ? "waiting for trades…" : "loading…",
  });
}
