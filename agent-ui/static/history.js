// history.js shows what happened: a ticket's SLA due times with the live warning before a
// breach, the ticket's event history (who changed what, when) and a customer's full
// timeline across every channel.

import { get, qs } from './api.js';
import { h, fill, $, labelled, statusBadge, money } from './dom.js';
import { timeEl, stamp, localZone } from './time.js';
import { channelBadge, channelName, channelOptions } from './channels.js';
import { agentName, inboxName } from './state.js';
import { direction, author } from './thread.js';
import { statusName } from './orders.js';
import { t as tr, tn } from './i18n.js';

// ---- one ticket: SLA and history ----

let slaSeq = 0;

// ticketExtras returns the SLA line, the breach-warning banner and the History disclosure
// of ticket t, and starts loading its SLA.
export function ticketExtras(t) {
  const details = h('details', { id: 'ticket-history', class: 'ticket-history' },
    h('summary', {}, tr('hist.title')),
    h('ol', { id: 'history-list', class: 'events' }),
    h('a', { href: `#/customers/${t.customer_id}/history`, class: 'small' }, tr('hist.fullHistory')));
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
    if (done) return h('span', { class: 'sla-target met' }, tn('sla.met', { target: label, time: timeEl(done) }));
    if (!due) return null;
    const late = breach || new Date(due) < new Date();
    return h('span', { class: 'sla-target' + (late ? ' breached' : '') }, tn(late ? 'sla.wasDue' : 'sla.due', { target: label, time: timeEl(due) }),
      late ? [' ', tr('sla.breachedMark')] : null);
  };
  fill(line, h('span', { class: 'sla-policy' }, tr('sla.label'), ' ', s.policy.name), ' ',
    target(tr('sla.firstResponse'), s.first_response_due, s.first_response_at, 'first_response'), ' ',
    target(tr('sla.resolution'), s.resolution_due, s.resolved_at, 'resolution'));
  line.hidden = false;
}

// targetName names an SLA target (sla.target.<target>); an unknown one keeps its id.
const targetName = (x) => (['first_response', 'resolution'].includes(x) ? tr('sla.target.' + x) : x);

// onLiveEvent applies sla.warning, ticket.sla_breached, csat.answered and ticket.updated
// frames to the open ticket: a banner before and at a breach, fresh due times and history.
export function onLiveEvent(type, d) {
  if (!d) return;
  const id = type === 'ticket.updated' ? d.id : d.ticket_id;
  if (!openTicketIs(id)) return;
  const banner = $('#sla-warning');
  if (type === 'sla.warning') {
    const mins = Math.max(0, Math.round((new Date(d.due_at) - Date.now()) / 60000));
    fill(banner, h('strong', {}, tr('sla.warning')), ' ', tn('sla.warningText', { target: targetName(d.target), n: mins, time: timeEl(d.due_at) }));
    banner.hidden = false;
    banner.dataset.target = d.target;
    banner.classList.remove('breached');
  } else if (type === 'ticket.sla_breached') {
    fill(banner, h('strong', {}, tr('sla.breached')), ' ', tn('sla.breachedText', { target: targetName(d.target), time: timeEl(d.due_at) }));
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
  if (!list.firstChild) fill(list, h('li', { class: 'muted' }, tr('app.loading')));
  let res;
  try {
    res = await get(`/api/v1/tickets/${id}/events`);
  } catch (e) {
    if (my === historySeq && openTicketIs(id)) fill(list, h('li', { class: 'error' }, e.message));
    return;
  }
  if (my !== historySeq || !openTicketIs(id)) return;
  const events = res.events || [];
  fill(list, events.length ? events.map(eventItem) : h('li', { class: 'muted' }, tr('hist.empty')));
}

function eventItem(ev) {
  return h('li', { class: 'event', dataset: { type: ev.type } },
    timeEl(ev.at), ' ', h('strong', { class: 'actor' }, actorName(ev.actor)), ' ', describe(ev));
}

function actorName(a) {
  if (!a) return tr('hist.system');
  // A rule's changes say so, by the rule's name (a deleted rule by its number).
  if (a.kind === 'rule') return tr('hist.rule', { name: a.name || '#' + a.id });
  if (a.name) return a.name;
  if (a.kind === 'agent') return agentName(a.id);
  if (a.kind === 'customer') return tr('hist.theCustomer');
  return 'Parley';
}

// fieldName names a ticket's field in a change (hist.field.<name>); an unknown one keeps its id.
const fieldKeys = { status: 'status', priority: 'priority', assignee_id: 'assignee', assignee: 'assignee', tags: 'tags', subject: 'subject', inbox_id: 'inbox' };
const fieldName = (k) => (fieldKeys[k] ? tr('hist.field.' + fieldKeys[k]) : k);

function show(field, v) {
  if (v == null || v === '' || (Array.isArray(v) && v.length === 0)) return tr('hist.none');
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
      return d.subject ? tr('hist.openedSubject', { subject: d.subject }) : tr('hist.opened');
    case 'ticket.updated': {
      const ch = Object.entries(ev.changes || {});
      if (!ch.length) {
        // The customer timeline's events carry the ticket as it became, without the change.
        if (!d.status) return tr('hist.updated');
        return d.assignee_id ? tr('hist.updatedAssigned', { status: d.status, agent: agentName(d.assignee_id) }) : tr('hist.updatedUnassigned', { status: d.status });
      }
      return ch.map(([k, [from, to]]) => {
        if (k === 'assignee_id' || k === 'assignee') return to == null || to === 0 ? tr('hist.unassigned') : tr('hist.assigned', { agent: show(k, to) });
        return tr('hist.changed', { field: fieldName(k), from: show(k, from), to: show(k, to) });
      }).join('; ');
    }
    case 'message.created':
      return d.direction === 'in' ? tr('hist.wrote', { channel: channelName(d.channel) }) : d.direction === 'note' ? tr('hist.note') : tr('hist.replied', { channel: channelName(d.channel) });
    case 'message.updated':
      return tr(d.error ? 'hist.messageError' : 'hist.messageStatus', { status: d.status || tr('hist.messageUpdated'), error: d.error });
    case 'ticket.sla_breached':
      return tr('hist.missed', { target: targetName(d.target), time: stamp(d.due_at) });
    case 'csat.answered': {
      const v = { rating: d.rating, channel: d.channel ? channelName(d.channel) : '', comment: d.comment };
      return tr(d.channel ? (d.comment ? 'hist.ratedByComment' : 'hist.ratedBy') : (d.comment ? 'hist.ratedComment' : 'hist.rated'), v);
    }
    case 'ticket.merged':
      return d.into ? tr('hist.mergedInto', { id: d.into }) : tr('hist.mergedTickets');
    case 'customer.merged':
      return tr('hist.mergedCustomers');
    case 'order.action':
      return orderAction(d);
    default:
      return ev.type;
  }
}

// orderAction words an order.action event: "refunded order 1001: $24.00 — succeeded" (or "failed (why)").
function orderAction(a) {
  const number = a.order_number || '';
  const verb = ['cancel', 'refund', 'resend_confirmation'].includes(a.kind) ? tr('hist.order.' + a.kind, { number })
    : a.kind ? tr('hist.order.other', { kind: a.kind, number }) : tr('hist.order.acted', { number });
  const amount = a.amount ? `: ${money(a.amount, a.currency)}` : '';
  return `${verb}${amount} — ${a.status || tr('orderAction.pending')}${a.status === 'failed' && a.error ? ` (${a.error})` : ''}`;
}

// ---- one customer: the full timeline ----

// kinds are the kinds of entry of the timeline; each one's name is the catalogue's.
const kinds = ['message', 'ticket', 'order', 'event'];
let timelineSeq = 0;

// showHistory renders customer id's full history into the wide pane.
export async function showHistory(id) {
  const pane = $('#settings-pane');
  const form = h('form', { id: 'history-filters', class: 'report-filters' },
    h('div', { class: 'field grow' }, h('label', { for: 'h-q' }, tr('timeline.search')),
      h('input', { id: 'h-q', name: 'q', type: 'search', maxlength: 200, autocomplete: 'off', placeholder: tr('timeline.searchHint') })),
    labelled('h-channel', tr('filters.channel'), h('select', { id: 'h-channel', name: 'channel' }, channelOptions())),
    labelled('h-from', tr('list.from'), h('input', { id: 'h-from', name: 'from', type: 'date' })),
    labelled('h-to', tr('list.to'), h('input', { id: 'h-to', name: 'to', type: 'date' })),
    h('fieldset', { class: 'kinds' }, h('legend', {}, tr('timeline.show')),
      kinds.map((k) => h('label', {}, h('input', { type: 'checkbox', name: 'kinds', value: k, checked: true }), ' ', tr('timeline.kind.' + k)))),
    h('button', { type: 'submit', class: 'primary' }, tr('timeline.filter')));
  fill(pane, h('div', { id: 'customer-history', class: 'history-page' },
    h('a', { href: '#/customers/' + id, class: 'small' }, tr('timeline.back')),
    h('h2', { id: 'history-title' }, tr('timeline.title', { name: tr('customer.unknown', { id }) })),
    h('p', { id: 'history-ids', class: 'muted small' }),
    form,
    h('p', { id: 'history-error', class: 'error', role: 'alert' }),
    h('ol', { id: 'timeline', class: 'timeline', 'aria-labelledby': 'history-title' }),
    h('p', { id: 'timeline-status', class: 'muted small', role: 'status' }),
    h('button', { type: 'button', id: 'timeline-more', class: 'more', hidden: true }, tr('list.loadMore'))));
  form.addEventListener('submit', (e) => { e.preventDefault(); loadTimeline(id, form); });
  get('/api/v1/customers/' + id).then((c) => {
    if (!$('#customer-history')) return;
    $('#history-title').textContent = tr('timeline.title', { name: c.name || tr('customer.unknown', { id: c.id }) });
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
    status.textContent = tr('timeline.pickKind');
    more.hidden = true;
    return;
  }
  status.textContent = tr('app.loading');
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
      status.textContent = n === 0 ? tr('timeline.none') : '';
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
        head(channelBadge(t.channel), h('span', { class: 'dir' }, tr('timeline.ticketOpened')), ticketLink(t.id), statusBadge(t.status)),
        h('div', {}, t.subject || tr('ticket.untitled')));
    }
    case 'order': {
      const o = it.order;
      return h('li', { class: 'tl tl-order' },
        head(h('span', { class: 'dir' }, tr('timeline.order')), h('strong', {}, o.number), h('span', { class: 'badge' }, statusName(o.status))),
        h('div', {}, money(o.total, o.currency)));
    }
    case 'event': {
      const ev = it.event || {};
      return h('li', { class: 'tl tl-event', dataset: { type: ev.type } },
        head(h('span', { class: 'dir' }, tr(ev.type === 'csat.answered' ? 'timeline.csat' : 'timeline.change')), ticketLink(ev.ticket_id || (ev.data && ev.data.ticket_id))),
        h('div', {}, h('strong', {}, actorName(ev.actor)), ' ', describe(ev)));
    }
    default:
      return h('li', { class: 'tl muted' }, head(it.kind));
  }
}
