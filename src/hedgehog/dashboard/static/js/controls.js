/* hedgehog observer — the page's actions: buttons and the settings form.
 *
 * killButton: kill the selected process (its supervisor restarts it). symbolActions: start,
 * shut down or stop a symbol (stop may cancel its open orders), each asking for confirmation
 * where it matters; updateButtons enables those that apply to its status. settingsCard: a
 * symbol's stored settings, loaded with loadSettings and saved with the server's validation
 * message shown. Every action is a POST/PUT with the token in the Authorization header.
 */
import { api } from "./api.js";
import { $, h, toast } from "./dom.js";
import { S, sym } from "./state.js";

/* naive's, until the stored row (of any strategy) is read */
const NAIVE_FIELDS = ["chunks", "budget", "buy_down_interval", "profit_interval", "rebuy_interval", "fee"];

export function killButton(p, onKilled) {
  const restartNote = p.module === "Trader"
    ? "Its leader restarts it with the same id and its last state."
    : "Its supervisor restarts it (with its children).";
  return h("button", {
    class: "danger", id: "kill", "data-testid": "kill",
    onclick: async () => {
      if (!confirm("Kill " + S.selected + " (#" + p.pid + ")?\n\n" + restartNote)) return;
      try {
        const r = await api("POST", "/api/kill", { process: S.selected });
        toast("killed " + r.killed);
        onKilled();
      } catch (err) { toast("kill failed: " + err.message, true); }
    },
  }, "Kill");
}

export function symbolActions(name) {
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
  return h("div", { class: "actions" },
    h("button", { class: "primary", id: "btn-start", onclick: act("start") }, "Start"),
    h("button", { class: "warn", id: "btn-shutdown", onclick: act("shutdown", () => "Shut " + name + " down?\n\nNo new buys; it stops when its last cycle ends.") }, "Shutdown"),
    h("button", { class: "danger", id: "btn-stop", onclick: act("stop", (c) => "Stop trading " + name + " now?\n\n" + (c ? "Its open orders will be cancelled." : "Its open orders stay on the exchange.")) }, "Stop"),
    h("label", {}, canCancel, "cancel its orders on stop"));
}

export function updateButtons(s) {
  $("btn-start").disabled = s.status === "on";
  $("btn-shutdown").disabled = s.status !== "on";
  $("btn-stop").disabled = s.status === "off";
}

export function settingsCard(name) {
  const form = h("form", { class: "form", id: "settings-form", onsubmit: (e) => { e.preventDefault(); saveSettings(name); } },
    settingInputs(NAIVE_FIELDS));
  return h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, "Settings"),
      h("span", { class: "muted", id: "settings-strategy", "data-testid": "settings-strategy" })),
    form,
    h("div", { class: "form-foot" },
      h("button", { class: "primary", id: "settings-save", type: "submit", form: "settings-form" }, "Save"),
      h("span", { class: "msg", id: "settings-msg", "data-testid": "settings-msg" })),
    h("div", { class: "note" }, "Saved settings are validated by the symbol's strategy and against the exchange's rules, and apply when the symbol next starts."));
}

/* The fields of a stored settings row: everything but its symbol, strategy and status. */
const fieldsOf = (row) => Object.keys(row).filter((k) => !["symbol", "strategy", "status"].includes(k));

function settingInputs(fields) {
  return fields.map((k) => h("label", {}, k.replaceAll("_", " "), h("input", { name: k, autocomplete: "off", spellcheck: "false" })));
}

function showSettings(row) {
  const form = $("settings-form");
  const fields = fieldsOf(row);
  form.replaceChildren(...settingInputs(fields));
  for (const k of fields) form.elements[k].value = row[k] ?? "";
  $("settings-strategy").textContent = row.strategy ? "strategy: " + row.strategy : "";
}

export async function loadSettings(name) {
  S.settingsFor = name;
  const form = $("settings-form"), msg = $("settings-msg");
  let row = sym(name).settings || {};
  try {
    const rows = await api("GET", "/api/settings?symbol=" + encodeURIComponent(name));
    if (rows && rows[0]) row = rows[0];
  } catch (err) {
    msg.className = "msg"; msg.textContent = "read-only: " + err.message;
    form.querySelectorAll("input").forEach((i) => (i.disabled = true));
    $("settings-save").disabled = true;
    return;
  }
  showSettings(row);
}

async function saveSettings(name) {
  const form = $("settings-form"), msg = $("settings-msg");
  const params = {};
  for (const input of form.querySelectorAll("input")) {
    const value = input.value.trim();
    if (value !== "") params[input.name] = value;
  }
  msg.className = "msg"; msg.textContent = "saving…";
  try {
    showSettings(await api("PUT", "/api/settings/" + encodeURIComponent(name), { params }));
    msg.className = "msg ok"; msg.textContent = "saved";
  } catch (err) {
    msg.className = "msg error"; msg.textContent = err.message;
  }
}
