/* hedgehog observer — the supervision tree in the side bar.
 *
 * renderTree() draws the live tree (a row per process, keyed by its `key`, with its status,
 * pid, restarts and uptime), keeping the keyboard focus on the same row. installTree(onSelect)
 * wires the clicks: ▾/▸ folds a branch, a row (or Enter/Space on it) selects its process.
 */
import { $, ago, h } from "./dom.js";
import { S, node } from "./state.js";

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

export function renderTree() {
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

export function installTree(onSelect) {
  $("tree").addEventListener("click", (e) => {
    const toggle = e.target.closest("[data-toggle]");
    if (toggle) {
      const k = toggle.dataset.toggle;
      S.collapsed.has(k) ? S.collapsed.delete(k) : S.collapsed.add(k);
      renderTree();
      return;
    }
    const row = e.target.closest(".row");
    if (row) onSelect(row.dataset.key);
  });
  $("tree").addEventListener("keydown", (e) => {
    const row = e.target.closest(".row");
    if (row && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); onSelect(row.dataset.key); }
  });
}
