// DayTrader's pages: a trader's account and trading, an auditor's look-ups and dumps.
// Money is shown exactly as the server sends it (strings), never through floating point.
"use strict";

const $ = (selector) => document.querySelector(selector);
let me = null;          // {name, role}
let summary = null;     // the last DISPLAY_SUMMARY

// A key for one click: a retry of that click (a lost answer) sends the same key, so the
// server applies it once and answers with the first reply.
function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// POSTs a JSON body; retries with the same key when the answer is lost or the server is
// briefly unavailable. Resolves to {status, body}.
async function post(path, body, key = newKey()) {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(path, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(path.startsWith("/api/auth/") ? body : { ...body, idempotencyKey: key }),
      });
      if (response.status === 503 && attempt < 4) { await sleep(500 * attempt); continue; }
      const text = await response.text();
      let parsed = null;
      try { parsed = JSON.parse(text); } catch { parsed = { text }; }
      return { status: response.status, body: parsed };
    } catch (error) {
      if (attempt >= 4) return { status: 0, body: { error: { code: "network", message: "the server could not be reached: " + error.message } } };
      await sleep(500 * attempt);
    }
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function showError(formId, reply) {
  const target = document.querySelector(`.error[data-for="${formId}"]`) || $(`#${formId} .error`);
  if (!target) return;
  target.textContent = reply && reply.body && reply.body.error ? reply.body.error.message : "";
}

function text(value) { return value === undefined || value === null ? "" : String(value); }

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.append(cell); else td.textContent = text(cell);
    tr.append(td);
  }
  return tr;
}

async function command(name, fields, formId) {
  const reply = await post(`/api/${name}`, { user: me.name, ...fields });
  showError(formId, reply);
  await refresh();
  return reply;
}

// Reads the account again; calls that arrive while a read is on its way make one more read after
// it, not one each.
let reading = null, readAgain = false;
async function refresh() {
  if (reading) { readAgain = true; return reading; }
  reading = (async () => {
    do { readAgain = false; await readAccount(); } while (readAgain);
  })();
  try { await reading; } finally { reading = null; }
}

async function readAccount() {
  if (!me || me.role !== "trader") return;
  const reply = await post("/api/display-summary", { user: me.name });
  let next;
  if (reply.status === 404) next = { cash: "0.00", reservedCash: "0.00", holdings: [], pendingBuys: [], pendingSells: [], triggers: [], history: [] };
  else if (reply.status === 200) next = reply.body;
  else return;
  // Unchanged (the event of the page's own command, read already): the buttons stay as they are.
  if (summary && JSON.stringify(next) === JSON.stringify(summary)) return;
  summary = next;
  render();
}

function render() {
  $("#cash").textContent = summary.cash;
  $("#reserved-cash").textContent = summary.reservedCash;
  const holdings = $("#holdings tbody");
  holdings.replaceChildren(...summary.holdings.map((h) => row([h.symbol, h.shares, h.reservedShares])));
  const pending = $("#pending");
  const orders = [...summary.pendingBuys.map((o) => ({ ...o, side: "buy" })), ...summary.pendingSells.map((o) => ({ ...o, side: "sell" }))];
  pending.replaceChildren(...orders.map((order) => {
    const item = document.createElement("li");
    item.dataset.expiresAt = order.expiresAt;
    item.className = "pending-order";
    item.append(`${order.side === "buy" ? "Buy" : "Sell"} ${order.shares} ${order.symbol} at ${order.price} (${order.amount}) `);
    const countdown = document.createElement("span");
    countdown.className = "countdown";
    item.append(countdown, " ");
    const side = order.side;
    for (const [label, action] of [["Commit", "commit"], ["Cancel", "cancel"]]) {
      const button = document.createElement("button");
      button.textContent = label;
      button.className = `${action}-${side}`;
      button.onclick = () => command(`${action}-${side}`, {}, "order-form");
      item.append(button, " ");
    }
    return item;
  }));
  tick();
  const triggers = $("#triggers tbody");
  triggers.replaceChildren(...summary.triggers.map((t) => {
    const cancel = document.createElement("button");
    cancel.textContent = "Cancel";
    cancel.onclick = () => command(t.side === "buy" ? "cancel-set-buy" : "cancel-set-sell", { symbol: t.symbol }, "trigger-form");
    return row([t.side, t.symbol, t.amount, t.triggerPrice, t.state === "active" ? "waiting for the price" : "needs a trigger price", cancel]);
  }));
  $("#history tbody").replaceChildren(...historyRows(summary.history));
}

function historyRows(history) {
  return history.map((h) => row([h.transactionNum, h.kind.replaceAll("_", " "), h.symbol, h.cash, h.reservedCash, h.shares, h.at ? new Date(h.at).toLocaleTimeString() : ""]));
}

// An auditor's view of any account: the same figures as the trader's page, read only.
function renderLookup(account) {
  $("#lookup").hidden = !account;
  if (!account) return;
  $("#lookup-user").textContent = account.user;
  $("#lookup-cash").textContent = account.cash;
  $("#lookup-reserved-cash").textContent = account.reservedCash;
  $("#lookup-holdings tbody").replaceChildren(...account.holdings.map((h) => row([h.symbol, h.shares, h.reservedShares])));
  const until = (at) => new Date(at).toLocaleTimeString();
  $("#lookup-open tbody").replaceChildren(
    ...account.pendingBuys.map((o) => row(["pending buy", o.symbol, o.amount, o.price, until(o.expiresAt)])),
    ...account.pendingSells.map((o) => row(["pending sell", o.symbol, o.amount, o.price, until(o.expiresAt)])),
    ...account.triggers.map((t) => row([`${t.side} trigger`, t.symbol, t.amount, t.triggerPrice, ""])));
  $("#lookup-history tbody").replaceChildren(...historyRows(account.history));
}

// The pending orders' countdowns; an order gone past its 60 s is dropped from the page, and the
// account read again (its reserve has come back).
function tick() {
  let expired = false;
  for (const item of document.querySelectorAll("#pending li")) {
    const left = Math.ceil((Number(item.dataset.expiresAt) - Date.now()) / 1000);
    if (left <= 0) { item.remove(); expired = true; continue; }
    item.querySelector(".countdown").textContent = `${left} s left`;
  }
  if (expired) refresh();
}
setInterval(tick, 1000);

function showQuote(reply) {
  const quote = reply.body && reply.body.quote;
  if (reply.status !== 200 || !quote) { $("#quote").textContent = ""; return; }
  const left = Math.max(0, Math.round((quote.expiresAt - Date.now()) / 1000));
  $("#quote").textContent = `${quote.symbol}: ${quote.price} (${quote.cached ? "cached" : "fresh from the quote server"}, good for ${left} s)`;
}

function wireTrader() {
  $("#add-form").onsubmit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const reply = await command("add", { amount: form.amount.value.trim() }, "add-form");
    if (reply.status === 200) form.reset();
  };
  $("#quote-form").onsubmit = async (event) => {
    event.preventDefault();
    const reply = await post("/api/quote", { user: me.name, symbol: event.target.symbol.value.trim() });
    showError("quote-form", reply);
    showQuote(reply);
  };
  $("#order-form").onsubmit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const side = event.submitter ? event.submitter.value : "buy";
    const reply = await command(side, { symbol: form.symbol.value.trim(), amount: form.amount.value.trim() }, "order-form");
    showQuote(reply);
  };
  $("#trigger-form").onsubmit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const side = form.side.value;
    const step = event.submitter ? event.submitter.value : "amount";
    const fields = step === "amount"
      ? { symbol: form.symbol.value.trim(), amount: form.amount.value.trim() }
      : { symbol: form.symbol.value.trim(), amount: form.price.value.trim() };
    await command(`set-${side}-${step}`, fields, "trigger-form");
  };
}

function download(name, text) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "application/xml" }));
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
}

async function dump(user) {
  const filename = user ? `${user}.xml` : "log.xml";
  const response = await fetch("/api/dumplog", {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(user ? { user, filename, idempotencyKey: newKey() } : { filename, idempotencyKey: newKey() }),
  });
  const body = await response.text();
  if (response.status !== 200) {
    let message = body;
    try { message = JSON.parse(body).error.message; } catch {}
    $("#dump-result").textContent = `DUMPLOG refused: ${message}`;
    return;
  }
  const events = (body.match(/^\s*<(userCommand|quoteServer|accountTransaction|systemEvent|errorEvent|debugEvent)>/gm) || []).length;
  $("#dump-result").textContent = `${filename}: ${events} events`;
  download(filename, body);
}

// The auditor's check that the money and the log agree (the audit server runs it).
async function reconcile(user) {
  $("#reconciliation").hidden = true;
  $("#reconciliation-verdict").textContent = "reconciling...";
  $("#reconciliation").hidden = false;
  const response = await fetch("/api/reconciliation" + (user ? `?user=${encodeURIComponent(user)}` : ""), { credentials: "same-origin" });
  let body = {};
  try { body = await response.json(); } catch {}
  const list = $("#reconciliation-discrepancies");
  list.replaceChildren();
  if (response.status !== 200) {
    $("#reconciliation-verdict").textContent = `Reconciliation refused: ${body.error ? body.error.message : response.status}`;
    return;
  }
  const counted = `${body.accounts} account(s), ${body.ledgerMovements} ledger cash movement(s), ${body.accountTransactions} accountTransaction(s)`;
  const who = body.user || "everyone";
  if (body.discrepancies.length === 0) {
    $("#reconciliation-verdict").textContent = `${who}: the money and the log agree (${counted})`;
  } else {
    $("#reconciliation-verdict").textContent = `${who}: ${body.discrepancies.length} discrepancies (${counted}); if the user is trading now, reconcile again once they stop`;
    list.replaceChildren(...body.discrepancies.map((line) => { const item = document.createElement("li"); item.textContent = line; return item; }));
  }
}

function wireAuditor() {
  $("#lookup-form").onsubmit = async (event) => {
    event.preventDefault();
    const reply = await post("/api/display-summary", { user: event.target.user.value.trim() });
    showError("lookup-form", reply);
    renderLookup(reply.status === 200 ? reply.body : null);
  };
  $("#user-dump").onclick = () => dump($("#lookup-form").user.value.trim());
  $("#whole-dump").onclick = () => dump(null);
  $("#user-reconcile").onclick = () => reconcile($("#lookup-form").user.value.trim());
  $("#whole-reconcile").onclick = () => reconcile(null);
}

// Live updates: the server says when the account changed (another tab or client, a trigger
// firing, an order expiring), on whichever instance it happened; the page reads it again.
let events = null;
function watch() {
  if (events) { events.close(); events = null; }
  $("#live").textContent = "";
  if (!me || me.role !== "trader") return;
  events = new EventSource(`/api/events?user=${encodeURIComponent(me.name)}`);
  events.addEventListener("ready", () => { $("#live").textContent = "live"; refresh(); });
  events.addEventListener("account", () => refresh());
  // EventSource reconnects by itself (after the 2 s the server asks for).
  events.onerror = () => { $("#live").textContent = "reconnecting"; };
}

// Nothing one person saw stays on the page for the next (a shared screen).
function forget() {
  summary = null;
  renderLookup(null);
  for (const form of document.querySelectorAll("form")) form.reset();
  for (const target of document.querySelectorAll(".error, #quote, #dump-result, #cash, #reserved-cash, #reconciliation-verdict")) target.textContent = "";
  $("#reconciliation").hidden = true;
  for (const body of document.querySelectorAll("#trader tbody, #pending, #reconciliation-discrepancies")) body.replaceChildren();
}

function show(account) {
  if (!account || !me || account.name !== me.name) forget();
  me = account;
  $("#who").textContent = account ? `${account.name} (${account.role})` : "";
  $("#signout").hidden = !account;
  $("#signin").hidden = !!account;
  $("#trader").hidden = !account || account.role !== "trader";
  $("#auditor").hidden = !account || account.role === "trader";
  $("#supervisor-only").hidden = !account || account.role !== "supervisor";
  if (account && account.role === "trader") refresh();
  watch();
}

async function start() {
  wireTrader();
  wireAuditor();
  const form = $("#signin-form");
  const enter = async (path) => {
    const reply = await post(path, { name: form.name.value.trim(), password: form.password.value });
    form.querySelector(".error").textContent = reply.body.error ? reply.body.error.message : "";
    if (reply.status === 200 || reply.status === 201) { form.reset(); show(reply.body); }
  };
  form.onsubmit = (event) => { event.preventDefault(); enter("/api/auth/signin"); };
  $("#signup").onclick = () => enter("/api/auth/signup");
  $("#signout").onclick = async () => { await post("/api/auth/signout", {}); show(null); };
  const session = await fetch("/api/auth/session", { credentials: "same-origin" });
  show(session.status === 200 ? await session.json() : null);
}

start();
