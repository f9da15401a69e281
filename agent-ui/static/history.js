// history.js shows what happened: a ticket's SLA due times with the live warning before a
// breach, the ticket's event history (who changed what, when) and a customer's full
// timeline across every channel.

import { get, qs } from './api.js';
import { h, fill, $, labelled, statusBadge, money } from './dom.js';
import { timeEl, stamp, localZone } from './time.js';
import { channelBadge, channelName, channelOptions } from './channels.js';
import { agentName, inboxName } from './state.js';
import { direction, author } from './thread.js';

// ---- one ticket: SLA and history ----

let slaSeq = 0;

// ticketExtras returns the SLA line, the breach-warning banner and the History disclosure
// of ticket t, and starts loading its SLA.
export function ticketExtras(t) {
  const details = h('details', { id: 'ticket-history', class: 'ticket-history' },
    h('summary', {}, 'History'),
    h('ol', { id: 'history-list', class: 'events' }),
    h('a', { href: `#/customers/${t.customer_id}/history`, class: 'small' }, 'The customer’s full history'));
  details.addEventListener('toggle', () => { if (details.open) loadTicketHistory(t.id); });
  const el = h('div', { class: 'ticket-extras', id: 'ticket-extras', dataset: { ticket: t.id } },
    h('div', { id: 'sla-warning', class: 'sla-warning', role: 'alert', hidden: true }),
    h('p', { id: 'ticket-sla', class: 'ticket-sla small', hidden: true }),
    details);
  loadSLA(t.id);
  return el;
}

function openTicketIs(id) {
  const el = $('#ticket-extras');
  return !!el && Number(el.dataset.ticket) === id;
}

async function loadSLA(id) {
  const my = ++slaSeq;
  let s;
  try {
    s = await get(`/api/v1/tickets/${id}/sla`);
  } catch {
    return; // no SLA information is not worth an error on the ticket
  }
  if (my !== slaSeq || !openTicketIs(id)) return;
  const line = $('#ticket-sla');
  if (!s.policy) {
    line.hidden = true;
    return;
  }
  const target = (label, due, done, name) => {
    const breach = (s.breaches || []).find((b) => b.target === name);
    if (done) return h('span', { class: 'sla-target met' }, `${label}: met `, timeEl(done));
    if (!due) return null;
    const late = breach || new Date(due) < new Date();
    return h('span', { class: 'sla-target' + (late ? ' breached' : '') }, `${label} ${late ? 'was due' : 'due'} `, timeEl(due),
      late ? ' — breached' : null);
  };
  fill(line, h('span', { class: 'sla-policy' }, 'SLA: ', s.policy.name), ' ',
    target('First response', s.first_response_due, s.first_response_at, 'first_response'), ' ',
    target('Resolution', s.resolution_due, s.resolved_at, 'resolution'));
  line.hidden = false;
}

const targetNames = { first_response: 'first response', resolution: 'resolution' };

// onLiveEvent applies sla.warning, ticket.sla_breached, csat.answered and ticket.updated
// frames to the open ticket: a banner before and at a breach, fresh due times and history.
export function onLiveEvent(type, d) {
  if (!d) return;
  const id = type === 'ticket.updated' ? d.id : d.ticket_id;
  if (!openTicketIs(id)) return;
  const banner = $('#sla-warning');
  if (type === 'sla.warning') {
    const mins = Math.max(0, Math.round((new Date(d.due_at) - Date.now()) / 60000));
    fill(banner, h('strong', {}, 'SLA warning: '), `the ${targetNames[d.target] || d.target} target is due in ${mins} minute${mins === 1 ? '' : 's'} (`,
      timeEl(d.due_at), ').');
    banner.hidden = false;
    banner.dataset.target = d.target;
    banner.classList.remove('breached');
  } else if (type === 'ticket.sla_breached') {
    fill(banner, h('strong', {}, 'SLA breached: '), `the ${targetNames[d.target] || d.target} target was due `, timeEl(d.due_at), '.');
    banner.hidden = false;
    banner.classList.add('breached');
  }
  const done = ['resolved', 'closed'].includes(d.status) || (banner.dataset.target === 'first_response' && d.first_response_at);
  if (type === 'ticket.updated' && done && !banner.classList.contains('breached')) {
    banner.hidden = true; // answered or resolved in time: the warning no longer applies
  }
  loadSLA(id);
  const details = $('#ticket-history');
  if (details && details.open) loadTicketHistory(id);
}

let historySeq = 0;

async function loadTicketHistory(id) {
  const my = ++historySeq;
  const list = $('#history-list');
  if (!list.firstChild) fill(list, h('li', { class: 'muted' }, 'Loading…'));
  let res;
  try {
    res = await get(`/api/v1/tickets/${id}/events`);
  } catch (e) {
    if (my === historySeq && openTicketIs(id)) fill(list, h('li', { class: 'error' }, e.message));
    return;
  }
  if (my !== historySeq || !openTicketIs(id)) return;
  const events = res.events || [];
  fill(list, events.length ? events.map(eventItem) : h('li', { class: 'muted' }, 'No history yet.'));
}

function eventItem(ev) {
  return h('li', { class: 'event', dataset: { type: ev.type } },
    timeEl(ev.at), ' ', h('strong', { class: 'actor' }, actorName(ev.actor)), ' ', describe(ev));
}

function actorName(a) {
  if (!a) return 'System';
  // A rule's changes say so, by the rule's name (a deleted rule by its number).
  if (a.kind === 'rule') return `Rule “${a.name || '#' + a.id}”`;
  if (a.name) return a.name;
  if (a.kind === 'agent') return agentName(a.id);
  if (a.kind === 'customer') return 'The customer';
  return 'Parley';
}

const fieldNames = { status: 'status', priority: 'priority', assignee_id: 'assignee', assignee: 'assignee', tags: 'tags', subject: 'subject', inbox_id: 'inbox' };

function show(field, v) {
  if (v == null || v === '' || (Array.isArray(v) && v.length === 0)) return 'none';
  if (field === 'assignee_id' || field === 'assignee') return typeof v === 'number' ? agentName(v) : String(v);
  if (field === 'inbox_id') return inboxName(v);
  return Array.isArray(v) ? v.join(', ') : String(v);
}

// describe says in words what an event did, for the ticket history and the customer
// timeline. Everything from the event becomes text.
export function describe(ev) {
  const d = ev.data || {};
  switch (ev.type) {
    case 'ticket.created':
      return 'opened the ticket' + (d.subject ? `: ${d.subject}` : '');
    case 'ticket.updated': {
      const ch = Object.entries(ev.changes || {});
      if (!ch.length) {
        // The customer timeline's events carry the ticket as it became, without the change.
        if (!d.status) return 'updated the ticket';
        return `updated the ticket: status ${d.status}, ${d.assignee_id ? `assigned to ${agentName(d.assignee_id)}` : 'unassigned'}`;
      }
      return ch.map(([k, [from, to]]) => {
        if (k === 'assignee_id' || k === 'assignee') return to == null || to === 0 ? 'unassigned the ticket' : `assigned it to ${show(k, to)}`;
        return `changed ${fieldNames[k] || k} from ${show(k, from)} to ${show(k, to)}`;
      }).join('; ');
    }
    case 'message.created':
      return d.direction === 'in' ? `wrote by ${channelName(d.channel)}` : d.direction === 'note' ? 'added an internal note' : `replied by ${channelName(d.channel)}`;
    case 'message.updated':
      return `message ${d.status || 'updated'}${d.error ? `: ${d.error}` : ''}`;
    case 'ticket.sla_breached':
      return `missed the ${targetNames[d.target] || d.target} target (due ${stamp(d.due_at)})`;
    case 'csat.answered':
      return `rated the service ${d.rating}/5${d.channel ? ` by ${channelName(d.channel)}` : ''}${d.comment ? `: “${d.comment}”` : ''}`;
    case 'ticket.merged':
      return d.into ? `merged the ticket into #${d.into}` : 'merged tickets';
    case 'customer.merged':
      return 'merged customers';
    case 'order.action':
      return orderAction(d);
    default:
      return ev.type;
  }
}

const actionVerbs = { cancel: 'cancelled order', refund: 'refunded order', resend_confirmation: 'resent the confirmation of order' };

// orderAction words an order.action event: "refunded order 1001: $24.00 — succeeded" (or "failed (why)").
function orderAction(a) {
  const verb = actionVerbs[a.kind] || `${a.kind || 'acted on'} order`;
  const amount = a.amount ? `: ${money(a.amount, a.currency)}` : '';
  return `${verb} ${a.order_number || ''}${amount} — ${a.status || 'pending'}${a.status === 'failed' && a.error ? ` (${a.error})` : ''}`;
}

// ---- one customer: the full timeline ----

const kinds = [['message', 'Messages'], ['ticket', 'Tickets'], ['order', 'Orders'], ['event', 'Status changes, assignments and CSAT']];
let timelineSeq = 0;

// showHistory renders customer id's full history into the wide pane.
export async function showHistory(id) {
  const pane = $('#settings-pane');
  const form = h('form', { id: 'history-filters', class: 'report-filters' },
    h('div', { class: 'field grow' }, h('label', { for: 'h-q' }, 'Search'),
      h('input', { id: 'h-q', name: 'q', type: 'search', maxlength: 200, autocomplete: 'off', placeholder: 'Words in messages' })),
    labelled('h-channel', 'Channel', h('select', { id: 'h-channel', name: 'channel' }, channelOptions())),
    labelled('h-from', 'From', h('input', { id: 'h-from', name: 'from', type: 'date' })),
    labelled('h-to', 'To', h('input', { id: 'h-to', name: 'to', type: 'date' })),
    h('fieldset', { class: 'kinds' }, h('legend', {}, 'Show'),
      kinds.map(([k, label]) => h('label', {}, h('input', { type: 'checkbox', name: 'kinds', value: k, checked: true }), ' ' + label))),
    h('button', { type: 'submit', class: 'primary' }, 'Filter'));
  fill(pane, h('div', { id: 'customer-history', class: 'history-page' },
    h('a', { href: '#/customers/' + id, class: 'small' }, '← Customer'),
    h('h2', { id: 'history-title' }, `Customer #${id}: full history`),
    h('p', { id: 'history-ids', class: 'muted small' }),
    form,
    h('p', { id: 'history-error', class: 'error', role: 'alert' }),
    h('ol', { id: 'timeline', class: 'timeline', 'aria-labelledby': 'history-title' }),
    h('p', { id: 'timeline-status', class: 'muted small', role: 'status' }),
    h('button', { type: 'button', id: 'timeline-more', class: 'more', hidden: true }, 'Load more')));
  form.addEventListener('submit', (e) => { e.preventDefault(); loadTimeline(id, form); });
  get('/api/v1/customers/' + id).then((c) => {
    if (!$('#customer-history')) return;
    $('#history-title').textContent = `${c.name || `Customer #${c.id}`}: full history`;
    $('#history-ids').textContent = (c.identities || []).map((i) => i.address).join(' · ');
  }).catch((e) => { if ($('#history-error')) $('#history-error').textContent = e.message; });
  await loadTimeline(id, form);
}

async function loadTimeline(id, form) {
  const my = ++timelineSeq;
  const v = (n) => form.elements.namedItem(n).value.trim();
  const picked = [...form.querySelectorAll('input[name=kinds]:checked')].map((x) => x.value);
  const params = { channel: v('channel'), from: v('from'), to: v('to'), q: v('q'), kinds: picked.length === kinds.length ? '' : picked.join(',') };
  // Dates are the agent's own days.
  if (params.from || params.to) params.tz = localZone();
  const list = $('#timeline');
  const status = $('#timeline-status');
  const more = $('#timeline-more');
  $('#history-error').textContent = '';
  fill(list);
  if (!picked.length) {
    status.textContent = 'Pick at least one kind of entry.';
    more.hidden = true;
    return;
  }
  status.textContent = 'Loading…';
  let cursor = '';
  let n = 0;
  const page = async () => {
    more.disabled = true;
    try {
      const res = await get(`/api/v1/customers/${id}/timeline` + qs({ ...params, limit: 50, cursor }));
      if (my !== timelineSeq) return;
      const items = res.timeline || [];
      list.append(...items.map(timelineItem));
      n += items.length;
      cursor = res.next_cursor || '';
      more.hidden = !cursor;
      status.textContent = n === 0 ? 'Nothing matches.' : '';
    } catch (e) {
      if (my !== timelineSeq) return;
      status.textContent = '';
      $('#history-error').textContent = e.message;
    } finally {
      more.disabled = false;
    }
  };
  more.onclick = page;
  await page();
}

function ticketLink(id) {
  return id ? h('a', { href: '#/tickets/' + id, class: 'num' }, '#' + id) : null;
}

function timelineItem(it) {
  const head = (...c) => h('div', { class: 'tl-head' }, timeEl(it.at), ...c);
  switch (it.kind) {
    case 'message': {
      const m = it.message;
      return h('li', { class: `tl tl-message dir-${m.direction}` },
        head(channelBadge(m.channel), h('span', { class: 'dir' }, direction(m)), h('strong', {}, author(m)), ticketLink(m.ticket_id)),
        h('div', { class: 'text' }, m.text || ''));
    }
    case 'ticket': {
      const t = it.ticket;
      return h('li', { class: 'tl tl-ticket' },
        head(channelBadge(t.channel), h('span', { class: 'dir' }, 'Ticket opened'), ticketLink(t.id), statusBadge(t.status)),
        h('div', {}, t.subject || '(no subject)'));
    }
    case 'order': {
      const o = it.order;
      return h('li', { class: 'tl tl-order' },
        head(h('span', { class: 'dir' }, 'Order'), h('strong', {}, o.number), h('span', { class: 'badge' }, o.status)),
        h('div', {}, money(o.total, o.currency)));
    }
    case 'event': {
      const ev = it.event || {};
      return h('li', { class: 'tl tl-event', dataset: { type: ev.type } },
        head(h('span', { class: 'dir' }, ev.type === 'csat.answered' ? 'CSAT' : 'Change'), ticketLink(ev.ticket_id || (ev.data && ev.data.ticket_id))),
        h('div', {}, h('strong', {}, actorName(ev.actor)), ' ', describe(ev)));
    }
    default:
      return h('li', { class: 'tl muted' }, head(it.kind));
  }
}
