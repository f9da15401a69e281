// orders.js is the orders panel of the customer sidebar: the customer's orders newest
// first, a plain-text summary for the reply box, live updates, and the actions an agent
// can take on a Shopify order (cancel, refund, resend the confirmation). Every action
// goes through a confirmation step that says exactly what will happen, and is sent with
// an idempotency key made when that step opens, so a double click or a retry after a
// network error acts once.

import { get, post, qs } from './api.js';
import { h, fill, $, money } from './dom.js';
import { timeEl } from './time.js';
import { channelName } from './channels.js';
import { state, agentName } from './state.js';

export const statusNames = {
  pending: 'Pending', paid: 'Paid', fulfilled: 'Fulfilled', shipped: 'Shipped', delivered: 'Delivered',
  cancelled: 'Cancelled', refunded: 'Refunded', partially_refunded: 'Partially refunded',
};

const kindNames = { cancel: 'Cancel', refund: 'Refund', resend_confirmation: 'Resend confirmation' };

// view holds what the panel shows beyond the order itself, per order number: the open
// confirmation step, the last result and the action history. It survives re-rendering,
// so a live order.updated never drops a half-filled refund.
const view = new Map();
let seq = 0;
let actionSeen = () => {};

// whenAction sets who hears of every order action the panel learns of: loaded with an
// order's history, answered to a confirmation or arrived live. The app hands them to the
// thread, which shows those taken on the open ticket.
export function whenAction(fn) { actionSeen = fn; }

function viewOf(number) {
  let v = view.get(number);
  if (!v) view.set(number, (v = { step: null, result: null, actions: null }));
  return v;
}

const path = (number) => '/api/v1/orders/' + encodeURIComponent(number);

// isShopify reports whether the order came from a Shopify source, the only kind Parley
// can act on.
const isShopify = (o) => Number(o.source_id) > 0;

// loadOrders fetches the customer's orders into #orders; current() says whether the
// customer is still the one shown when the answer arrives.
export async function loadOrders(customerID, current) {
  const my = ++seq;
  // The steps of the previous customer's orders go now, not when the answer comes: an
  // order.updated may show an order first, and a step the agent opens on it must stay.
  view.clear();
  let res;
  try {
    res = await get('/api/v1/orders' + qs({ customer_id: customerID, limit: 10 }));
  } catch (e) {
    if (my === seq && current()) fill($('#orders'), h('p', { class: 'muted' }, 'Orders are not available: ' + e.message));
    return;
  }
  if (my !== seq || !current()) return;
  state.orders = sortOrders(res.orders || []);
  render();
  for (const o of state.orders) if (isShopify(o)) loadActions(o.number);
}

function sortOrders(list) {
  return list.sort((a, b) => new Date(b.placed_at) - new Date(a.placed_at) || (a.number < b.number ? 1 : -1));
}

function render() {
  const el = $('#orders');
  if (!el) return;
  fill(el, state.orders.length === 0
    ? h('p', { class: 'muted', id: 'orders-empty' }, 'No orders yet for this customer.')
    : h('ul', { class: 'orders' }, state.orders.map(orderEl)));
}

// rerender replaces one order's element, keeping the focus where it was when it can.
function rerender(number) {
  const o = state.orders.find((x) => x.number === number);
  const old = findEl(number);
  if (!o || !old) return;
  const focused = document.activeElement && old.contains(document.activeElement) ? document.activeElement.dataset.focus : '';
  const el = orderEl(o);
  old.replaceWith(el);
  if (focused) {
    const f = el.querySelector(`[data-focus="${focused}"]`);
    if (f) f.focus();
  }
}

function findEl(number) {
  return [...document.querySelectorAll('#orders li.order')].find((li) => li.dataset.number === number);
}

function dateOf(t) {
  const d = new Date(t);
  return isNaN(d) ? '' : d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

// httpsURL returns u when it is an https URL, else "": shop data decides no link target.
function httpsURL(u) {
  try {
    const url = new URL(String(u || ''));
    return url.protocol === 'https:' ? url.href : '';
  } catch {
    return '';
  }
}

function orderEl(o) {
  const v = viewOf(o.number);
  const href = httpsURL(o.tracking_url);
  return h('li', { class: 'order', dataset: { number: o.number } },
    h('div', { class: 'row1' },
      h('strong', { class: 'order-number' }, o.number), ' ',
      h('span', { class: 'badge order-status st-' + o.status }, statusNames[o.status] || o.status),
      h('span', { class: 'total' }, money(o.total, o.currency))),
    h('div', { class: 'muted small' }, h('time', { datetime: o.placed_at, title: when(o.placed_at) }, dateOf(o.placed_at)),
      o.refunded ? ` · refunded ${money(o.refunded, o.currency)}` : ''),
    o.items && o.items.length ? h('ul', { class: 'items' }, o.items.slice(0, 20).map((it) =>
      h('li', {}, `${it.quantity} × ${it.name || it.sku}`, h('span', { class: 'muted' }, ' ' + money(it.unit_price, o.currency))))) : null,
    o.tracking_number || href ? h('div', { class: 'small tracking' }, `${o.carrier || 'Tracking'}: `,
      href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, o.tracking_number || 'track the parcel') : o.tracking_number) : null,
    h('div', { class: 'order-buttons' },
      h('button', { type: 'button', class: 'small insert-summary', dataset: { focus: 'summary' }, onclick: () => insertSummary(o) }, 'Insert summary'),
      isShopify(o) ? actionButtons(o, v) : null),
    v.step ? stepEl(o, v) : null,
    v.result ? h('p', { class: 'small order-result ' + (v.result.ok ? 'ok' : 'error'), role: v.result.ok ? 'status' : 'alert' }, v.result.text) : null,
    isShopify(o) ? historyEl(o, v) : null);
}

function actionButtons(o, v) {
  const remaining = Math.max(0, o.total - (o.refunded || 0));
  const btn = (kind, label, disabled, title) => h('button', {
    type: 'button', class: 'small action-' + kind, dataset: { focus: 'open-' + kind }, disabled: disabled || !!v.step,
    title, 'aria-expanded': String(!!v.step && v.step.kind === kind), onclick: () => openStep(o, kind),
  }, label);
  return [
    btn('cancel', 'Cancel…', ['cancelled', 'refunded'].includes(o.status), 'Cancel the order in Shopify'),
    btn('refund', 'Refund…', remaining === 0, remaining === 0 ? 'Nothing left to refund' : 'Refund all or part of the order in Shopify'),
    btn('resend_confirmation', 'Resend confirmation…', false, 'Send the order confirmation email again'),
  ];
}

// ticketFor returns the open ticket when it is the order's customer's: the ticket an
// action is recorded on.
function ticketFor(o) {
  const t = state.ticket;
  return t && t.customer_id === o.customer_id ? t : null;
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}

// openStep opens the confirmation step of an action with a fresh idempotency key.
function openStep(o, kind) {
  const v = viewOf(o.number);
  v.result = null;
  v.step = { kind, key: newKey(), mode: 'full', qty: {}, reason: '', busy: false, sent: false, error: '' };
  rerender(o.number);
  const first = findEl(o.number)?.querySelector('.order-step input, .order-step .confirm');
  if (first) first.focus();
}

function closeStep(number) {
  const v = viewOf(number);
  v.step = null;
  rerender(number);
}

// refundPlan is what a refund step would refund: the amount in minor units, the chosen
// lines and a description for the confirmation.
function refundPlan(o, step) {
  const remaining = Math.max(0, o.total - (o.refunded || 0));
  if (step.mode === 'full') {
    return { amount: remaining, items: null, what: o.refunded ? 'everything not refunded yet' : 'the whole order, shipping included' };
  }
  const items = [];
  const words = [];
  let amount = 0;
  for (const it of o.items || []) {
    const q = step.qty[it.line_item_id] || 0;
    if (q > 0) {
      items.push({ line_item_id: it.line_item_id, quantity: q });
      words.push(`${q} × ${it.name || it.sku}`);
      amount += q * it.unit_price;
    }
  }
  return { amount: Math.min(amount, remaining), items, what: words.join(', ') };
}

// stepEl is the confirmation step: the choices of the action and one sentence saying
// exactly what the confirm button will do, with the amount.
function stepEl(o, v) {
  const s = v.step;
  const locked = s.busy || s.sent;
  let body = [];
  let sentence = '';
  let confirm = '';
  let ready = true;
  if (s.kind === 'refund') {
    const plan = refundPlan(o, s);
    const refundable = (o.items || []).filter((it) => it.line_item_id);
    body.push(h('fieldset', { class: 'refund-mode' },
      h('legend', {}, 'Refund'),
      h('label', {}, h('input', { type: 'radio', name: 'refund-mode-' + o.number, value: 'full', checked: s.mode === 'full', disabled: locked,
        dataset: { focus: 'mode-full' }, onchange: () => { s.mode = 'full'; rerender(o.number); } }),
      ` Everything left: ${money(Math.max(0, o.total - (o.refunded || 0)), o.currency)}`),
      h('label', {}, h('input', { type: 'radio', name: 'refund-mode-' + o.number, value: 'items', checked: s.mode === 'items',
        disabled: locked || refundable.length === 0, dataset: { focus: 'mode-items' }, onchange: () => { s.mode = 'items'; rerender(o.number); } }),
      refundable.length ? ' Chosen items' : ' Chosen items (this order has no line ids)')));
    if (s.mode === 'items') {
      body.push(h('ul', { class: 'refund-items' }, refundable.map((it, i) => h('li', {},
        h('label', { for: `rq-${o.number}-${i}` }, `${it.name || it.sku} (${money(it.unit_price, o.currency)} each, ${it.quantity} bought)`),
        h('input', { id: `rq-${o.number}-${i}`, type: 'number', class: 'qty', min: 0, max: it.quantity, step: 1, disabled: locked,
          value: String(s.qty[it.line_item_id] || 0), dataset: { focus: 'qty-' + i, line: it.line_item_id },
          onchange: (e) => {
            const n = Math.floor(Number(e.target.value));
            s.qty[it.line_item_id] = Number.isFinite(n) ? Math.max(0, Math.min(it.quantity, n)) : 0;
            rerender(o.number);
          } })))));
    }
    ready = plan.amount > 0;
    sentence = ready
      ? `This refunds ${money(plan.amount, o.currency)} of order ${o.number} (${plan.what}) to the customer's original payment method in Shopify.`
      : 'Choose at least one item to refund.';
    confirm = ready ? `Refund ${money(plan.amount, o.currency)}` : 'Refund';
  } else if (s.kind === 'cancel') {
    sentence = `This cancels order ${o.number} (${money(o.total, o.currency)}) in Shopify, and Shopify emails the customer that it was cancelled. ` +
      'It refunds nothing by itself: use Refund for the money.';
    confirm = `Cancel order ${o.number}`;
  } else {
    const t = ticketFor(o);
    ready = !!t;
    sentence = t
      ? `This sends the summary of order ${o.number} (items, totals, tracking) to the customer as a reply on ticket #${t.id}, by ${channelName(t.channel)}. No money moves.`
      : 'Open a ticket of this customer first: the confirmation is sent as a reply on it.';
    confirm = 'Send the summary';
  }
  if (s.kind !== 'resend_confirmation') {
    body.push(h('label', { for: 'reason-' + o.number, class: 'small' }, 'Reason (optional, kept with the action)'),
      h('input', { id: 'reason-' + o.number, type: 'text', maxlength: 500, value: s.reason, disabled: locked, dataset: { focus: 'reason' },
        oninput: (e) => { s.reason = e.target.value; } }));
  }
  return h('div', { class: 'order-step', role: 'group', 'aria-label': `${kindNames[s.kind]} order ${o.number}` },
    body,
    h('p', { class: 'step-sentence' }, sentence),
    s.error ? h('p', { class: 'error small step-error', role: 'alert' }, s.error) : null,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary confirm', disabled: !ready || s.busy, dataset: { focus: 'confirm' },
        onclick: (e) => { e.currentTarget.disabled = true; runAction(o.number); } },
      s.busy ? 'Working…' : s.sent ? 'Try again' : confirm),
      ' ',
      h('button', { type: 'button', class: 'back-step', disabled: s.busy, dataset: { focus: 'back' }, onclick: () => closeStep(o.number) }, 'Back')));
}

// runAction sends the open step's action once. The button is disabled before the request
// leaves and the idempotency key stays with the step, so a second click or a retry after
// a lost answer cannot act twice. An answer of the server ends the step: success closes
// it; a refusal shows why and the next confirmation gets a new key.
async function runAction(number) {
  const o = state.orders.find((x) => x.number === number);
  const v = viewOf(number);
  const s = v.step;
  if (!o || !s || s.busy) return;
  const body = { action: s.kind, idempotency_key: s.key };
  const t = ticketFor(o);
  if (t) body.ticket_id = t.id;
  if (s.reason.trim() && s.kind !== 'resend_confirmation') body.reason = s.reason.trim();
  if (s.kind === 'refund') {
    const plan = refundPlan(o, s);
    if (plan.amount <= 0) return;
    // A full refund leaves the amount to the server, which then refunds the shipping
    // line too; for chosen items the amount confirmed is the amount refunded.
    if (plan.items) {
      body.items = plan.items;
      body.amount = plan.amount;
    }
  }
  s.busy = true;
  s.sent = true;
  s.error = '';
  rerender(number);
  let res;
  try {
    res = await post(path(number) + '/actions', body);
  } catch (e) {
    s.busy = false;
    if (e.status === 0 || e.status >= 500) {
      // The shop may have acted: keep the key and the choices, and offer a retry.
      s.error = e.message + ' Try again: it will not act twice.';
    } else {
      s.sent = false;
      s.key = newKey();
      s.error = e.message;
    }
    if (v.step === s) rerender(number);
    return;
  }
  s.busy = false;
  const a = res.action;
  if (res.order) replaceOrder(res.order);
  addAction(a);
  if (a.status === 'succeeded') {
    v.step = null;
    v.result = { ok: true, text: resultText(a) };
  } else {
    s.sent = false;
    s.key = newKey();
    s.error = `Not done: ${a.error || 'the shop gave no reason'}`;
    v.result = null;
  }
  rerender(number);
}

function resultText(a) {
  if (a.kind === 'refund') return `Refunded ${money(a.amount, a.currency)} in Shopify.`;
  if (a.kind === 'cancel') return 'Cancelled in Shopify.';
  return `Order summary sent to the customer on ticket #${a.ticket_id}.`;
}

function replaceOrder(o) {
  const i = state.orders.findIndex((x) => x.number === o.number);
  if (i >= 0) state.orders[i] = o;
}

async function loadActions(number) {
  const my = seq;
  let res;
  try {
    res = await get(path(number) + '/actions');
  } catch {
    return; // the history is a convenience; the order still shows
  }
  if (my !== seq) return;
  const v = viewOf(number);
  const live = v.actions || [];
  v.actions = [];
  for (const a of [...(res.actions || []), ...live]) addAction(a, false);
  rerender(number);
}

// addAction records an action in its order's history (newest first, once per id) and
// passes it on to the thread.
function addAction(a, show = true) {
  if (!a || !a.order_number) return;
  const v = viewOf(a.order_number);
  if (!v.actions) v.actions = [];
  const i = v.actions.findIndex((x) => x.id === a.id);
  if (i >= 0) v.actions[i] = a; else v.actions.push(a);
  v.actions.sort((x, y) => new Date(y.created_at) - new Date(x.created_at) || y.id - x.id);
  actionSeen(a);
  if (show) rerender(a.order_number);
}

export function actionLine(a) {
  const who = a.actor && a.actor.kind === 'agent' ? agentName(a.actor.id) : 'Parley';
  const amount = a.amount ? ' ' + money(a.amount, a.currency) : '';
  const status = a.status === 'succeeded' ? 'done' : a.status === 'failed' ? 'failed' : a.status;
  return `${kindNames[a.kind] || a.kind}${amount} — ${status} · ${who}`;
}

function historyEl(o, v) {
  const list = v.actions || [];
  if (list.length === 0) return null;
  return h('details', { class: 'order-history', open: true },
    h('summary', { class: 'small' }, `Actions (${list.length})`),
    h('ul', { class: 'actions small' }, list.map((a) => h('li', { class: 'action st-' + a.status, dataset: { id: a.id } },
      actionLine(a), ' ', timeEl(a.created_at),
      a.ticket_id ? [' · ', h('a', { href: '#/tickets/' + a.ticket_id }, '#' + a.ticket_id)] : null,
      a.status === 'failed' && a.error ? h('div', { class: 'error' }, a.error) : null))));
}

// summaryText is an order as plain text for a reply: what the customer can check.
export function summaryText(o) {
  const lines = [`Order ${o.number} — ${statusNames[o.status] || o.status}`, `Placed: ${dateOf(o.placed_at)}`];
  for (const it of o.items || []) lines.push(`${it.quantity} × ${it.name || it.sku} — ${money(it.unit_price * it.quantity, o.currency)}`);
  lines.push(`Subtotal: ${money(o.subtotal, o.currency)}`);
  if (o.shipping) lines.push(`Shipping: ${money(o.shipping, o.currency)}`);
  if (o.tax) lines.push(`Tax: ${money(o.tax, o.currency)}`);
  if (o.discount) lines.push(`Discount: −${money(o.discount, o.currency)}`);
  lines.push(`Total: ${money(o.total, o.currency)}`);
  if (o.refunded) lines.push(`Refunded: ${money(o.refunded, o.currency)}`);
  if (o.tracking_number || httpsURL(o.tracking_url)) {
    lines.push(`Tracking: ${[o.carrier, o.tracking_number, httpsURL(o.tracking_url)].filter(Boolean).join(' ')}`);
  }
  return lines.join('\n');
}

// insertSummary puts the order's summary at the cursor of the reply box.
function insertSummary(o) {
  const ta = $('#reply-body');
  if (!ta || ta.disabled) {
    const el = findEl(o.number);
    const v = viewOf(o.number);
    v.result = { ok: false, text: 'Open a ticket of this customer to insert the summary into a reply.' };
    if (el) rerender(o.number);
    return;
  }
  const start = ta.selectionStart ?? ta.value.length;
  const end = ta.selectionEnd ?? ta.value.length;
  const before = ta.value.slice(0, start);
  const text = (before && !before.endsWith('\n') ? '\n' : '') + summaryText(o) + '\n';
  ta.setRangeText(text, start, end, 'end');
  ta.focus();
  ta.dispatchEvent(new Event('input'));
}

// onOrderEvent applies order.updated and order.action frames to the panel of the
// customer shown.
export function onOrderEvent(type, d) {
  if (!d || !state.customer) return;
  if (type === 'order.action') {
    addAction(d);
    return;
  }
  const c = state.customer;
  const i = state.orders.findIndex((x) => x.number === d.number);
  if (d.customer_id !== c.id) {
    // The order moved to another customer (a merge, a corrected email).
    if (i >= 0) {
      state.orders.splice(i, 1);
      render();
    }
    return;
  }
  if (i >= 0) {
    state.orders[i] = d;
    sortOrders(state.orders);
    if (state.orders[i] === d && findEl(d.number)) {
      rerender(d.number);
      return;
    }
  } else {
    state.orders.push(d);
    sortOrders(state.orders);
    if (state.orders.length > 10) state.orders.length = 10;
  }
  render();
  if (isShopify(d) && !viewOf(d.number).actions) loadActions(d.number);
}
