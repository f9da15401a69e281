// orders.js is the orders panel of the customer sidebar: the customer's orders newest
// first, a plain-text summary for the reply box, live updates, and the actions an agent
// can take on a Shopify order (cancel, refund, resend the confirmation). Every action
// goes through a confirmation step that says exactly what will happen, and is sent with
// an idempotency key made when that step opens, so a double click or a retry after a
// network error acts once.

import { get, post, qs } from './api.js';
import { h, fill, $, money } from './dom.js';
import { timeEl, when } from './time.js';
import { channelName } from './channels.js';
import { state, agentName } from './state.js';
import { t as tr, locale } from './i18n.js';

// statusName and kindName name an order's status and an action's kind by the catalogue
// (order.status.<status>, order.kind.<kind>); an unknown one keeps its id.
const statuses = ['pending', 'paid', 'fulfilled', 'shipped', 'delivered', 'cancelled', 'refunded', 'partially_refunded'];
export const statusName = (s) => (statuses.includes(s) ? tr('order.status.' + s) : s);
const kinds = ['cancel', 'refund', 'resend_confirmation'];
const kindName = (k) => (kinds.includes(k) ? tr('order.kind.' + k) : k);

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
    if (my === seq && current()) fill($('#orders'), h('p', { class: 'muted' }, tr('order.unavailable', { error: e.message })));
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
    ? h('p', { class: 'muted', id: 'orders-empty' }, tr('order.none'))
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
  return isNaN(d) ? '' : d.toLocaleDateString(locale(), { year: 'numeric', month: 'short', day: 'numeric' });
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
      h('span', { class: 'badge order-status st-' + o.status }, statusName(o.status)),
      h('span', { class: 'total' }, money(o.total, o.currency))),
    h('div', { class: 'muted small' }, h('time', { datetime: o.placed_at, title: when(o.placed_at) }, dateOf(o.placed_at)),
      o.refunded ? [' · ', tr('order.refundedAmount', { amount: money(o.refunded, o.currency) })] : ''),
    o.items && o.items.length ? h('ul', { class: 'items' }, o.items.slice(0, 20).map((it) =>
      h('li', {}, `${it.quantity} × ${it.name || it.sku}`, h('span', { class: 'muted' }, ' ' + money(it.unit_price, o.currency))))) : null,
    o.tracking_number || href ? h('div', { class: 'small tracking' }, `${o.carrier || tr('order.tracking')}: `,
      href ? h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, o.tracking_number || tr('order.trackParcel')) : o.tracking_number) : null,
    h('div', { class: 'order-buttons' },
      h('button', { type: 'button', class: 'small insert-summary', dataset: { focus: 'summary' }, onclick: () => insertSummary(o) }, tr('order.insertSummary')),
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
    btn('cancel', tr('order.cancelButton'), ['cancelled', 'refunded'].includes(o.status), tr('order.cancelTitle')),
    btn('refund', tr('order.refundButton'), remaining === 0, tr(remaining === 0 ? 'order.nothingLeft' : 'order.refundTitle')),
    btn('resend_confirmation', tr('order.resendButton'), false, tr('order.resendTitle')),
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
    return { amount: remaining, items: null, what: tr(o.refunded ? 'order.everythingLeft' : 'order.wholeOrder') };
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
      h('legend', {}, tr('order.refundLegend')),
      h('label', {}, h('input', { type: 'radio', name: 'refund-mode-' + o.number, value: 'full', checked: s.mode === 'full', disabled: locked,
        dataset: { focus: 'mode-full' }, onchange: () => { s.mode = 'full'; rerender(o.number); } }),
      ' ', tr('order.refundAll', { amount: money(Math.max(0, o.total - (o.refunded || 0)), o.currency) })),
      h('label', {}, h('input', { type: 'radio', name: 'refund-mode-' + o.number, value: 'items', checked: s.mode === 'items',
        disabled: locked || refundable.length === 0, dataset: { focus: 'mode-items' }, onchange: () => { s.mode = 'items'; rerender(o.number); } }),
      ' ', tr(refundable.length ? 'order.refundItems' : 'order.refundItemsNone'))));
    if (s.mode === 'items') {
      body.push(h('ul', { class: 'refund-items' }, refundable.map((it, i) => h('li', {},
        h('label', { for: `rq-${o.number}-${i}` }, tr('order.itemLine', { name: it.name || it.sku, price: money(it.unit_price, o.currency), n: it.quantity })),
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
      ? tr('order.refundSentence', { amount: money(plan.amount, o.currency), number: o.number, what: plan.what })
      : tr('order.chooseItem');
    confirm = ready ? tr('order.refundConfirm', { amount: money(plan.amount, o.currency) }) : tr('order.refund');
  } else if (s.kind === 'cancel') {
    sentence = tr('order.cancelSentence', { number: o.number, amount: money(o.total, o.currency) });
    confirm = tr('order.cancelConfirm', { number: o.number });
  } else {
    const t = ticketFor(o);
    ready = !!t;
    sentence = t
      ? tr('order.resendSentence', { number: o.number, ticket: t.id, channel: channelName(t.channel) })
      : tr('order.resendNeedsTicket');
    confirm = tr('order.resendConfirm');
  }
  if (s.kind !== 'resend_confirmation') {
    body.push(h('label', { for: 'reason-' + o.number, class: 'small' }, tr('order.reason')),
      h('input', { id: 'reason-' + o.number, type: 'text', maxlength: 500, value: s.reason, disabled: locked, dataset: { focus: 'reason' },
        oninput: (e) => { s.reason = e.target.value; } }));
  }
  return h('div', { class: 'order-step', role: 'group', 'aria-label': tr('order.step.' + s.kind, { number: o.number }) },
    body,
    h('p', { class: 'step-sentence' }, sentence),
    s.error ? h('p', { class: 'error small step-error', role: 'alert' }, s.error) : null,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary confirm', disabled: !ready || s.busy, dataset: { focus: 'confirm' },
        onclick: (e) => { e.currentTarget.disabled = true; runAction(o.number); } },
      s.busy ? tr('app.working') : s.sent ? tr('order.tryAgain') : confirm),
      ' ',
      h('button', { type: 'button', class: 'back-step', disabled: s.busy, dataset: { focus: 'back' }, onclick: () => closeStep(o.number) }, tr('order.back'))));
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
      s.error = tr('order.retryHint', { error: e.message });
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
    s.error = tr('order.notDone', { error: a.error || tr('order.shopNoReason') });
    v.result = null;
  }
  rerender(number);
}

function resultText(a) {
  if (a.kind === 'refund') return tr('order.refunded', { amount: money(a.amount, a.currency) });
  if (a.kind === 'cancel') return tr('order.cancelled');
  return tr('order.summarySent', { ticket: a.ticket_id });
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
  const status = a.status === 'succeeded' ? tr('order.done') : a.status === 'failed' ? tr('order.failed') : a.status;
  return `${kindName(a.kind)}${amount} — ${status} · ${who}`;
}

function historyEl(o, v) {
  const list = v.actions || [];
  if (list.length === 0) return null;
  return h('details', { class: 'order-history', open: true },
    h('summary', { class: 'small' }, tr('order.actions', { n: list.length })),
    h('ul', { class: 'actions small' }, list.map((a) => h('li', { class: 'action st-' + a.status, dataset: { id: a.id } },
      actionLine(a), ' ', timeEl(a.created_at),
      a.ticket_id ? [' · ', h('a', { href: '#/tickets/' + a.ticket_id }, '#' + a.ticket_id)] : null,
      a.status === 'failed' && a.error ? h('div', { class: 'error' }, a.error) : null))));
}

// summaryText is an order as plain text for a reply: what the customer can check.
export function summaryText(o) {
  const amount = (minor) => ({ amount: money(minor, o.currency) });
  const lines = [tr('order.summary.title', { number: o.number, status: statusName(o.status) }), tr('order.summary.placed', { date: dateOf(o.placed_at) })];
  for (const it of o.items || []) lines.push(`${it.quantity} × ${it.name || it.sku} — ${money(it.unit_price * it.quantity, o.currency)}`);
  lines.push(tr('order.summary.subtotal', amount(o.subtotal)));
  if (o.shipping) lines.push(tr('order.summary.shipping', amount(o.shipping)));
  if (o.tax) lines.push(tr('order.summary.tax', amount(o.tax)));
  if (o.discount) lines.push(tr('order.summary.discount', amount(o.discount)));
  lines.push(tr('order.summary.total', amount(o.total)));
  if (o.refunded) lines.push(tr('order.summary.refunded', amount(o.refunded)));
  if (o.tracking_number || httpsURL(o.tracking_url)) {
    lines.push(tr('order.summary.tracking', { tracking: [o.carrier, o.tracking_number, httpsURL(o.tracking_url)].filter(Boolean).join(' ') }));
  }
  return lines.join('\n');
}

// insertSummary puts the order's summary at the cursor of the reply box.
function insertSummary(o) {
  const ta = $('#reply-body');
  if (!ta || ta.disabled) {
    const el = findEl(o.number);
    const v = viewOf(o.number);
    v.result = { ok: false, text: tr('order.openTicketFirst') };
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
