// customer.js is the customer sidebar: identities across channels, notes, past tickets
// and orders.

import { get, patch, qs } from './api.js';
import { h, fill, $, channelBadge, statusBadge, timeEl, money, safeURL } from './dom.js';
import { state, rememberCustomer } from './state.js';

let seq = 0;

const identityLabel = { email: 'Email', phone: 'Phone', discord: 'Discord', chat: 'Chat visitor', shop: 'Shop account' };

// renderCustomer loads customer id into el. currentTicket is left out of past tickets.
export async function renderCustomer(id, el, currentTicket = 0) {
  const my = ++seq;
  fill(el, h('p', { class: 'muted pad' }, 'Loading customer…'));
  let c;
  try {
    c = await get('/api/v1/customers/' + id);
  } catch (e) {
    if (my === seq) fill(el, h('p', { class: 'error pad', role: 'alert' }, e.message));
    return;
  }
  if (my !== seq) return;
  state.customer = c;
  state.orders = [];
  rememberCustomer(c);
  fill(el,
    h('section', { class: 'card', 'aria-labelledby': 'cust-name' },
      h('h2', { id: 'cust-name' }, c.name || `Customer #${c.id}`),
      c.merged_into ? h('p', { class: 'muted' }, 'Merged into ', h('a', { href: '#/customers/' + c.merged_into }, '#' + c.merged_into)) : null,
      h('ul', { class: 'identities', id: 'identities', 'aria-label': 'Identities' }, identities(c)),
      notesForm(c)),
    h('section', { class: 'card', 'aria-labelledby': 'past-title' },
      h('h3', { id: 'past-title' }, 'Tickets'),
      h('div', { id: 'past-tickets' }, h('p', { class: 'muted' }, 'Loading…'))),
    h('section', { class: 'card', 'aria-labelledby': 'orders-title' },
      h('h3', { id: 'orders-title' }, 'Orders'),
      h('div', { id: 'orders' }, h('p', { class: 'muted' }, 'Loading…'))));
  loadPast(c.id, currentTicket, my);
  loadOrders(c.id, my);
}

function identities(c) {
  const list = c.identities || [];
  if (list.length === 0) return [h('li', { class: 'muted' }, 'No contact details')];
  return list.map((i) => h('li', {},
    h('span', { class: 'id-kind' }, identityLabel[i.kind] || i.kind),
    h('span', { class: 'id-addr' }, i.address),
    i.verified ? h('span', { class: 'badge ok', title: 'Verified' }, 'verified') : null));
}

function notesForm(c) {
  const status = h('span', { class: 'muted small', id: 'notes-status', role: 'status' });
  const ta = h('textarea', { id: 'cust-notes', rows: 3, maxlength: 10000, value: c.notes || '' });
  ta.addEventListener('input', () => { status.textContent = 'Not saved'; });
  return h('form', { class: 'notes', onsubmit: async (e) => {
    e.preventDefault();
    status.textContent = 'Saving…';
    try {
      const nc = await patch('/api/v1/customers/' + c.id, { notes: ta.value });
      if (state.customer && state.customer.id === nc.id) state.customer = nc;
      status.textContent = 'Saved';
    } catch (err) {
      status.textContent = err.message;
    }
  } },
  h('label', { for: 'cust-notes' }, 'Notes'),
  ta,
  h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save notes'), ' ', status));
}

async function loadPast(id, currentTicket, my) {
  let res;
  try {
    res = await get('/api/v1/tickets' + qs({ customer_id: id, limit: 20 }));
  } catch (e) {
    if (my === seq) fill($('#past-tickets'), h('p', { class: 'error' }, e.message));
    return;
  }
  if (my !== seq) return;
  const others = res.tickets.filter((t) => t.id !== currentTicket);
  fill($('#past-tickets'), others.length === 0
    ? h('p', { class: 'muted' }, currentTicket ? 'No other tickets.' : 'No tickets.')
    : h('ul', { class: 'past' }, others.map((t) => h('li', {},
      h('a', { href: '#/tickets/' + t.id }, channelBadge(t.channel), ' ', h('span', {}, `#${t.id} ${t.subject || '(no subject)'}`)),
      ' ', statusBadge(t.status), ' ', timeEl(t.last_message_at)))));
}

async function loadOrders(id, my) {
  let res;
  try {
    res = await get('/api/v1/orders' + qs({ customer_id: id, limit: 10 }));
  } catch (e) {
    if (my === seq) fill($('#orders'), h('p', { class: 'muted' }, 'Orders are not available: ' + e.message));
    return;
  }
  if (my !== seq) return;
  state.orders = res.orders || [];
  fill($('#orders'), state.orders.length === 0
    ? h('p', { class: 'muted', id: 'orders-empty' }, 'No orders yet for this customer.')
    : h('ul', { class: 'orders' }, state.orders.map(order)));
}

function order(o) {
  return h('li', { class: 'order' },
    h('div', { class: 'row1' }, h('strong', {}, o.number), ' ', h('span', { class: 'badge' }, o.status),
      h('span', { class: 'total' }, money(o.total, o.currency))),
    h('div', { class: 'muted small' }, timeEl(o.placed_at), o.refunded ? ` · refunded ${money(o.refunded, o.currency)}` : ''),
    o.items && o.items.length ? h('ul', { class: 'items' }, o.items.slice(0, 10).map((it) =>
      h('li', {}, `${it.quantity} × ${it.name || it.sku}`, h('span', { class: 'muted' }, ' ' + money(it.unit_price, o.currency))))) : null,
    o.tracking_number ? h('div', { class: 'small' }, `${o.carrier || 'Tracking'}: `,
      o.tracking_url && safeURL(o.tracking_url) !== '#'
        ? h('a', { href: o.tracking_url, target: '_blank', rel: 'noopener noreferrer' }, o.tracking_number)
        : o.tracking_number) : null);
}

// onCustomerEvent refreshes the sidebar when the shown customer changed elsewhere.
export function onCustomerEvent(type, data) {
  if (!data) return;
  if (type === 'customer.updated') rememberCustomer(data);
  const c = state.customer;
  if (!c) return;
  if (type === 'customer.updated' && data.id === c.id) {
    state.customer = data;
    const ul = $('#identities');
    if (ul) fill(ul, identities(data));
    const ta = $('#cust-notes');
    // Never overwrite what the agent is typing.
    if (ta && document.activeElement !== ta && ($('#notes-status').textContent !== 'Not saved')) ta.value = data.notes || '';
  }
  if (type === 'order.updated' && data.customer_id === c.id) loadOrders(c.id, seq);
}
