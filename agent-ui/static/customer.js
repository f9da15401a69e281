// customer.js is the customer sidebar: identities across channels, notes, past tickets
// and orders.

import { get, patch, post, qs } from './api.js';
import { h, fill, $, statusBadge } from './dom.js';
import { timeEl } from './time.js';
import { channelBadge } from './channels.js';
import { state, rememberCustomer, customerLabel } from './state.js';
import { loadOrders } from './orders.js';
import { proofsEl } from './proofs.js';
import { t as tr, tn } from './i18n.js';

let seq = 0;

// identityLabel names a kind of identity (identity.<kind>); an unknown one keeps its id.
const identityKinds = ['email', 'phone', 'discord', 'chat', 'shop'];
const identityLabel = (kind) => (identityKinds.includes(kind) ? tr('identity.' + kind) : kind);

// renderCustomer loads customer id into el. currentTicket is left out of past tickets.
export async function renderCustomer(id, el, currentTicket = 0) {
  const my = ++seq;
  fill(el, h('p', { class: 'muted pad' }, tr('customer.loading')));
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
      h('h2', { id: 'cust-name' }, customerLabel(c)),
      c.merged_into ? h('p', { class: 'muted' }, tn('customer.mergedInto', { customer: h('a', { href: '#/customers/' + c.merged_into }, '#' + c.merged_into) })) : null,
      h('ul', { class: 'identities', id: 'identities', 'aria-label': tr('customer.identities') }, identities(c)),
      h('p', { class: 'small' }, h('a', { href: `#/customers/${c.id}`, id: 'customer-page-link' }, tr('customer.page')), ' · ',
        h('a', { href: `#/customers/${c.id}/history`, id: 'customer-history-link' }, tr('customer.history'))),
      // A visitor who proved an email in Track my order: one click links it to that customer.
      c.merged_into ? null : proofsEl(c.id, (into) => renderCustomer(into.id, el, currentTicket)),
      notesForm(c)),
    h('section', { class: 'card', 'aria-labelledby': 'past-title' },
      h('h3', { id: 'past-title' }, tr('customer.tickets')),
      h('div', { id: 'past-tickets' }, h('p', { class: 'muted' }, tr('app.loading')))),
    h('section', { class: 'card', 'aria-labelledby': 'orders-title' },
      h('h3', { id: 'orders-title' }, tr('customer.orders')),
      h('div', { id: 'orders' }, h('p', { class: 'muted' }, tr('app.loading')))));
  loadPast(c.id, currentTicket, my);
  loadOrders(c.id, () => my === seq);
}

function identities(c) {
  const list = c.identities || [];
  if (list.length === 0) return [h('li', { class: 'muted' }, tr('customer.noContact'))];
  const phoneInbox = state.inboxes.some((i) => i.kind === 'phone' && i.enabled !== false);
  return list.map((i) => h('li', {},
    h('span', { class: 'id-kind' }, identityLabel(i.kind)),
    h('span', { class: 'id-addr' }, i.address),
    i.verified ? h('span', { class: 'badge ok', title: tr('customer.verifiedTitle') }, tr('customer.verified')) : null,
    i.kind === 'phone' && phoneInbox ? h('button', { type: 'button', class: 'link small call', 'aria-label': tr('customer.callLabel', { phone: i.address }),
      onclick: (e) => callCustomer(c, i.address, e.currentTarget) }, tr('customer.call')) : null));
}

// callCustomer starts a click-to-call: Twilio rings the agent's own phone (from the
// profile), then the customer; the call shows in the thread as it goes.
async function callCustomer(c, phone, button) {
  const status = $('#call-status') || h('p', { id: 'call-status', class: 'small', role: 'status' });
  if (!status.isConnected) $('#identities').after(status);
  button.disabled = true;
  status.className = 'small';
  status.textContent = tr('customer.callingFirst', { phone });
  try {
    const res = await post(`/api/v1/customers/${c.id}/call`, { phone });
    status.textContent = tr('customer.calling', { phone });
    if (res.ticket_id && res.ticket_id !== state.ticketID) status.append(' ', h('a', { href: '#/tickets/' + res.ticket_id }, tr('customer.callTicket')));
  } catch (e) {
    status.className = 'small error';
    status.textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

function notesForm(c) {
  const status = h('span', { class: 'muted small', id: 'notes-status', role: 'status' });
  const ta = h('textarea', { id: 'cust-notes', rows: 3, maxlength: 10000, value: c.notes || '' });
  ta.addEventListener('input', () => { status.textContent = tr('customer.notSaved'); });
  return h('form', { class: 'notes', onsubmit: async (e) => {
    e.preventDefault();
    status.textContent = tr('app.saving');
    try {
      const nc = await patch('/api/v1/customers/' + c.id, { notes: ta.value });
      if (state.customer && state.customer.id === nc.id) state.customer = nc;
      status.textContent = tr('app.saved');
    } catch (err) {
      status.textContent = err.message;
    }
  } },
  h('label', { for: 'cust-notes' }, tr('customer.notes')),
  ta,
  h('div', { class: 'row' }, h('button', { type: 'submit' }, tr('customer.saveNotes')), ' ', status));
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
    ? h('p', { class: 'muted' }, tr(currentTicket ? 'customer.noOtherTickets' : 'customer.noTickets'))
    : h('ul', { class: 'past' }, others.map((t) => h('li', {},
      h('a', { href: '#/tickets/' + t.id }, channelBadge(t.channel), ' ', h('span', {}, `#${t.id} ${t.subject || tr('ticket.untitled')}`)),
      ' ', statusBadge(t.status), ' ', timeEl(t.last_message_at)))));
}

// onCustomerEvent refreshes the customer's name in the list, and the sidebar when the
// shown customer changed elsewhere.
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
    if (ta && document.activeElement !== ta && ($('#notes-status').textContent !== tr('customer.notSaved'))) ta.value = data.notes || '';
  }
}
