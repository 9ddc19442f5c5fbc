/* hedgehog observer — the page's logic (vanilla JS, no build step).
 *
 * Data: one Server-Sent Events stream (/api/events): a "snapshot" with every section, then an
 * "update" per interval with the sections that changed and new points of each symbol's series.
 * A symbol's full series come from /api/symbol/{symbol} when its tab opens; a process's state
 * from /api/process/{key}. Actions are POST/PUT requests with the Authorization header.
 */
(() => {
  "use strict";

  const params = new URLSearchParams(location.search);
  const TOKEN = params.get("token") || "";
  const MAX_POINTS = 2000;

  const S = {
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

  // ---------------------------------------------------------------- helpers
  function h(tag, attrs, ...kids) {
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
  const $ = (id) => document.getElementById(id);
  const fill = (el, ...kids) => el.replaceChildren(...kids.flat(Infinity).filter((k) => k != null && k !== false));
  const num = (x) => (x == null || x === "" ? NaN : Number(x));
  function money(x, digits = 4) {
    const v = num(x);
    return Number.isFinite(v) ? v.toFixed(digits) : "—";
  }
  function signed(x, digits = 4) {
    const v = num(x);
    if (!Number.isFinite(v)) return h("span", { class: "muted" }, "—");
    return h("span", { class: v > 0 ? "pos" : v < 0 ? "neg" : "" }, (v > 0 ? "+" : "") + v.toFixed(digits));
  }
  function ago(seconds) {
    if (seconds == null || !Number.isFinite(seconds)) return "—";
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }
  function hhmmss(ms) {
    if (!ms) return "—";
    const d = new Date(ms), p = (n) => String(n).padStart(2, "0");
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds());
  }
  const node = () => S.sections.node || {};
  const symbolNames = () =>
    Object.keys(S.sections).filter((k) => k.startsWith("symbol:")).map((k) => k.slice(7)).sort();
  const sym = (name) => S.sections["symbol:" + name];

  let toastTimer = null;
  function toast(text, error) {
    const t = $("toast");
    t.textContent = text;
    t.className = "toast" + (error ? " error" : "");
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (t.hidden = true), error ? 6000 : 3000);
  }

  async function api(method, path, body) {
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

  // ---------------------------------------------------------------- stream
  let source = null;
  function connect() {
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
    return (S.series[name] ||= { prices: [], pnl: [], fills: [], keys: new Set(), loaded: false });
  }
  function addPoints(name, pts) {
    const s = S.series[name];
    if (!s || !s.loaded) return; // loaded in full when its tab opens
    for (const kind of ["prices", "pnl"]) {
      const arr = s[kind];
      for (const p of pts[kind] || []) if (!arr.length || p[0] > arr[arr.length - 1][0]) arr.push(p);
      if (arr.length > MAX_POINTS) arr.splice(0, arr.length - MAX_POINTS);
    }
    for (const f of pts.fills || []) {
      const key = f.client_order_id + "|" + f.time + "|" + f.qty;
      if (!s.keys.has(key)) { s.keys.add(key); s.fills.push(f); }
    }
    if (s.fills.length > MAX_POINTS) s.fills.splice(0, s.fills.length - MAX_POINTS);
  }
  async function loadSymbol(name) {
    try {
      const d = await api("GET", "/api/symbol/" + encodeURIComponent(name));
      const s = seriesOf(name);
      s.prices = d.prices; s.pnl = d.pnl; s.fills = d.fills;
      s.keys = new Set(d.fills.map((f) => f.client_order_id + "|" + f.time + "|" + f.qty));
      s.loaded = true;
      schedule();
    } catch (err) {
      toast(name + ": " + err.message, true);
    }
  }

  // The page is redrawn at most once a frame, and never while a mouse button is down: an
  // element replaced between mousedown and mouseup would swallow the click (or a selection).
  let pending = false, pointerDown = false, deferred = false;
  function schedule() {
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

  // ---------------------------------------------------------------- render
  function render() {
    renderHeader();
    renderTree();
    renderTabs();
    if (S.tab === "node" || !sym(S.tab)) renderNode(); else renderSymbol(S.tab);
    renderProcess();
    refreshProcess();
  }

  // a symbol's badge: its stored status, or "down" when its tree is not really trading
  const shown = (s) => (s.state === "down" ? "down" : s.status);

  function renderHeader() {
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

  function treeRow(n, depth) {
    const kids = n.children || [];
    const open = !S.collapsed.has(n.key);
    const now = node().now;
    const row = h("div", {
      class: "row" + (S.selected === n.key ? " sel" : ""), "data-key": n.key, "data-pid": n.pid,
      role: "treeitem", title: n.key, tabindex: "0", "aria-selected": S.selected === n.key ? "true" : "false",
    },
      h("span", { class: "caret", "data-toggle": kids.length ? n.key : null }, kids.length ? (open ? "▾" : "▸") : ""),
      h("span", { class: "pdot " + (n.status || "") }),
      h("span", { class: "name" }, n.label),
      n.module === "Trader" ? null : h("span", { class: "mod" }, n.module || ""),
      n.detail ? h("span", { class: "detail" }, n.detail) : null,
      h("span", { class: "right" },
        n.pid ? h("span", {}, "#" + n.pid) : null,
        n.restarts ? h("span", { class: "restarts", title: "restarts" }, "↻" + n.restarts) : null,
        n.trader_restarts ? h("span", { class: "restarts", title: "trader restarts" }, "traders ↻" + n.trader_restarts) : null,
        n.started_at && now ? h("span", { title: "uptime" }, ago(now - n.started_at)) : null,
      ),
    );
    const wrap = h("div", { class: "node" }, row);
    if (kids.length && open) wrap.append(h("div", { class: "children" }, kids.map((k) => treeRow(k, depth + 1))));
    return wrap;
  }
  function countTree(n) { return 1 + (n.children || []).reduce((a, c) => a + countTree(c), 0); }
  function renderTree() {
    const tree = S.sections.tree;
    if (!tree) return;
    const active = document.activeElement;
    const focused = active && active.closest && active.closest("#tree .row") ? active.dataset.key : null;
    $("tree").replaceChildren(treeRow(tree, 0));
    if (focused) {
      const row = [...$("tree").querySelectorAll(".row")].find((r) => r.dataset.key === focused);
      if (row) row.focus();
    }
    $("tree-info").textContent = countTree(tree) + " processes";
  }
  $("tree").addEventListener("click", (e) => {
    const toggle = e.target.closest("[data-toggle]");
    if (toggle) {
      const k = toggle.dataset.toggle;
      S.collapsed.has(k) ? S.collapsed.delete(k) : S.collapsed.add(k);
      renderTree();
      return;
    }
    const row = e.target.closest(".row");
    if (row) select(row.dataset.key);
  });

  $("tree").addEventListener("keydown", (e) => {
    const row = e.target.closest(".row");
    if (row && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); select(row.dataset.key); }
  });

  function select(key) {
    if (S.selected !== key) { S.selected = key; S.proc = null; S.procError = null; }
    $("inspector").hidden = !key;
    $("layout").classList.toggle("inspecting", !!key);
    renderTree();
    renderProcess();
    refreshProcess(true);
  }

  // ---------------------------------------------------------------- process panel
  let lastProcFetch = 0;
  async function refreshProcess(force) {
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
  function show(key, v) {
    if (v == null) return "—";
    if (Array.isArray(v)) return v.length ? v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ") : "—";
    if (typeof v === "object") return JSON.stringify(v);
    if (typeof v === "number" && /(_at|_since)$/.test(key) && v > 1e9) {
      const now = node().now;
      return hhmmss(v * 1000) + (now ? " (" + ago(now - v) + " ago)" : "");
    }
    return String(v);
  }
  function kvList(obj) {
    return h("dl", { class: "kv" }, Object.entries(obj).flatMap(([k, v]) => [
      h("dt", {}, k.replaceAll("_", " ")),
      h("dd", {}, show(k, v)),
    ]));
  }

  function renderProcess() {
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
      parts.push(kvList(Object.assign(common, { symbol: info.symbol, status: info.status, "traders started": info.traders_started, "trader restarts": info.restarts })));
      parts.push(h("h2", {}, "settings"), kvList(info.settings || {}));
      parts.push(h("h2", {}, "slots"), p.slots && p.slots.length
        ? h("table", {},
          h("thead", {}, h("tr", {}, h("th", {}, "trader"), h("th", {}, "pid"), h("th", {}, "phase"), h("th", { class: "r" }, "retries"))),
          h("tbody", {}, p.slots.map((s) => h("tr", { class: "click", onclick: () => select("trader:" + info.symbol + ":" + s.trader_id) },
            h("td", {}, s.trader_id), h("td", { class: "num" }, "#" + s.pid),
            h("td", {}, h("span", { class: "badge " + s.phase }, s.phase)), h("td", { class: "r num" }, s.cycle)))))
        : h("div", { class: "empty" }, "no traders"));
    } else {
      parts.push(kvList(Object.assign(common, info)));
      if (p.children) parts.push(h("div", { class: "note" }, p.children.length + " children: " + p.children.map((c) => c.name || c.id).join(", ")));
    }
    fill(body, parts);
    if (p.pid && S.selected !== "root") {
      const restartNote = p.module === "Trader"
        ? "Its leader restarts it with the same id and its last state."
        : "Its supervisor restarts it (with its children).";
      actions.append(h("button", {
        class: "danger", id: "kill", "data-testid": "kill",
        onclick: async () => {
          if (!confirm("Kill " + S.selected + " (#" + p.pid + ")?\n\n" + restartNote)) return;
          try {
            const r = await api("POST", "/api/kill", { process: S.selected });
            toast("killed " + r.killed);
            setTimeout(() => refreshProcess(true), 300);
          } catch (err) { toast("kill failed: " + err.message, true); }
        },
      }, "Kill"));
    }
    actions.append(close);
  }

  // ---------------------------------------------------------------- tabs
  function renderTabs() {
    const tabs = [["node", "Node", null], ...symbolNames().map((s) => [s, s, sym(s).status])];
    $("tabs").replaceChildren(...tabs.map(([id, label, status]) => h("button", {
      class: S.tab === id ? "active" : "", role: "tab", "data-tab": id,
      onclick: () => openTab(id),
    }, status ? h("span", { class: "sdot " + status }) : null, label)));
  }
  function openTab(id) {
    if (S.tab === id) return;
    S.tab = id;
    history.replaceState(null, "", location.pathname + location.search + (id === "node" ? "" : "#" + encodeURIComponent(id)));
    $("view").replaceChildren();
    S.settingsFor = null;
    if (id !== "node" && !(S.series[id] && S.series[id].loaded)) loadSymbol(id);
    render();
  }

  // ---------------------------------------------------------------- node view
  function stat(label, value, attrs) {
    return h("div", Object.assign({ class: "stat" }, attrs || {}), h("span", {}, label), h("b", {}, value));
  }
  function table(headers, rows, empty) {
    if (!rows.length) return h("div", { class: "empty" }, empty);
    return h("div", { class: "twrap" }, h("table", {},
      h("thead", {}, h("tr", {}, headers.map(([t, r]) => h("th", { class: r ? "r" : "" }, t)))),
      h("tbody", {}, rows)));
  }
  function problems(list, kind) {
    if (!list.length) return h("div", { class: "empty" }, kind === "errors" ? "no crashes" : "no warnings");
    return h("div", { class: "scroll" }, list.slice().reverse().map((e) => h("div", { class: "problem " + (e.level || "ERROR") },
      h("span", { class: "when" }, hhmmss((e.time || 0) * 1000)),
      kind === "errors" ? h("b", {}, e.process + " " + e.what + ": ") : h("b", {}, e.level + " " + e.logger + ": "),
      h("span", { class: "what" }, kind === "errors" ? e.error : e.message))));
  }
  function renderNode() {
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
          kvList(exRows),
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

  // ---------------------------------------------------------------- symbol view
  const SETTINGS = ["chunks", "budget", "buy_down_interval", "profit_interval", "rebuy_interval", "fee"];

  function buildSymbolView(name) {
    const canCancel = h("input", { type: "checkbox", id: "cancel-orders" });
    const act = (action, confirmText) => async () => {
      const cancel = canCancel.checked;
      if (confirmText && !confirm(confirmText(cancel))) return;
      try {
        const body = { symbol: name };
        if (action === "stop") body.cancel_orders = cancel;
        const r = await api("POST", "/api/trade/" + action, body);
        toast(name + ": " + r.status);
      } catch (err) { toast(name + ": " + err.message, true); }
    };
    const form = h("form", { class: "form", id: "settings-form", onsubmit: (e) => { e.preventDefault(); saveSettings(name); } },
      SETTINGS.map((k) => h("label", {}, k.replaceAll("_", " "), h("input", { name: k, autocomplete: "off", spellcheck: "false" }))));
    return h("div", { class: "symbol-view", "data-symbol": name },
      h("section", { class: "card" },
        h("div", { class: "sym-head" },
          h("h1", {}, name),
          h("span", { class: "badge", id: "sym-status", "data-testid": "sym-status" }),
          h("span", { class: "muted", id: "sym-last" }),
          h("div", { class: "actions" },
            h("button", { class: "primary", id: "btn-start", onclick: act("start") }, "Start"),
            h("button", { class: "warn", id: "btn-shutdown", onclick: act("shutdown", () => "Shut " + name + " down?\n\nNo new buys; it stops when its last cycle ends.") }, "Shutdown"),
            h("button", { class: "danger", id: "btn-stop", onclick: act("stop", (c) => "Stop trading " + name + " now?\n\n" + (c ? "Its open orders will be cancelled." : "Its open orders stay on the exchange.")) }, "Stop"),
            h("label", {}, canCancel, "cancel its orders on stop"))),
        h("div", { class: "stats", id: "sym-stats" }),
        h("div", { class: "msg danger", id: "sym-errored", "data-testid": "sym-errored" })),
      h("section", { class: "card" },
        h("div", { class: "card-head" }, h("h2", {}, "Price · recent trades"),
          h("div", { class: "legend" }, h("span", {}, h("i", { class: "c-price" }), "price"), h("span", {}, h("i", { class: "tri-up" }), "our buys"),
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
      h("div", {},
        h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Settings")),
          form,
          h("div", { class: "form-foot" },
            h("button", { class: "primary", id: "settings-save", type: "submit", form: "settings-form" }, "Save"),
            h("span", { class: "msg", id: "settings-msg", "data-testid": "settings-msg" })),
          h("div", { class: "note" }, "Saved settings are validated against the exchange's rules and apply when the symbol next starts."))),
    );
  }

  async function loadSettings(name) {
    S.settingsFor = name;
    const form = $("settings-form"), msg = $("settings-msg");
    let values = sym(name).settings || {};
    try {
      const rows = await api("GET", "/api/settings?symbol=" + encodeURIComponent(name));
      if (rows && rows[0]) values = rows[0];
    } catch (err) {
      msg.className = "msg"; msg.textContent = "read-only: " + err.message;
      form.querySelectorAll("input").forEach((i) => (i.disabled = true));
      $("settings-save").disabled = true;
    }
    for (const k of SETTINGS) form.elements[k].value = values[k] ?? "";
  }
  async function saveSettings(name) {
    const form = $("settings-form"), msg = $("settings-msg");
    const body = {};
    for (const k of SETTINGS) body[k] = form.elements[k].value.trim();
    msg.className = "msg"; msg.textContent = "saving…";
    try {
      const row = await api("PUT", "/api/settings/" + encodeURIComponent(name), body);
      for (const k of SETTINGS) form.elements[k].value = row[k];
      msg.className = "msg ok"; msg.textContent = "saved";
    } catch (err) {
      msg.className = "msg error"; msg.textContent = err.message;
    }
  }

  function renderSymbol(name) {
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
    $("btn-start").disabled = s.status === "on";
    $("btn-shutdown").disabled = s.status !== "on";
    $("btn-stop").disabled = s.status === "off";
    fill($("sym-stats"),
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
    );
    $("sym-errored").textContent = s.errored ? "errored: " + s.errored : "";
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

  function drawCharts(name, s) {
    const ser = S.series[name];
    const loaded = ser && ser.loaded;
    const prices = loaded ? ser.prices.map((p) => [p[0], Number(p[1])]) : [];
    const marks = loaded ? ser.fills.map((f) => ({
      t: f.time, v: Number(f.price), color: f.side === "BUY" ? "#16a34a" : "#dc2626",
      shape: f.side === "BUY" ? "up" : "down", label: f.side.toLowerCase() + " " + f.qty + " @ " + f.price,
    })) : [];
    const hlines = s.orders.map((o) => ({
      v: Number(o.price), color: o.side === "BUY" ? "#16a34a" : "#dc2626", label: o.side.toLowerCase() + " " + o.price + " (" + o.trader_id + ")",
    }));
    drawPlot($("price-chart"), {
      lines: [{ pts: prices, color: "#2563eb", width: 1.6, label: "price" }], marks, hlines,
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

  window.addEventListener("resize", schedule);
  if (!TOKEN) {
    $("view").replaceChildren(h("div", { class: "card msg error" }, "No token: open the dashboard link that `hedgehog run` prints (…/?token=…)."));
  }
  connect();
})();
