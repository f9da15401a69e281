// tickets.js draws a ticket as a row of a list: the inbox, search results and the
// tickets behind a number of the reports. A row links to the ticket and is marked unread
// or current by the list (list.js markCurrent).

import { get } from './api.js';
import { h, statusBadge } from './dom.js';
import { timeEl } from './time.js';
import { channelBadge } from './channels.js';
import { state, agentName, customerName } from './state.js';
import { snoozeText } from './snooze.js';
import { t as tr } from './i18n.js';

// ticketRow is ticket t as a row: channel, customer, last activity, subject, number,
// status, priority when high, assignee and tags.
export function ticketRow(t) {
  const unread = state.unread.has(t.id);
  const current = t.id === state.ticketID;
  return h('li', { class: 'ticket-row' + (unread ? ' unread' : '') + (current ? ' current' : ''), dataset: { id: t.id } },
    h('input', { type: 'checkbox', class: 'pick', dataset: { id: t.id }, checked: state.picked.has(t.id), 'aria-label': tr('list.select', { id: t.id }) }),
    h('a', { href: '#/tickets/' + t.id, 'aria-current': current ? 'true' : null },
      h('span', { class: 'row1' },
        channelBadge(t.channel),
        h('span', { class: 'customer', dataset: { customer: t.customer_id } }, customerName(t.customer_id, get)),
        timeEl(t.last_message_at)),
      h('span', { class: 'subject' }, unread ? h('span', { class: 'visually-hidden' }, tr('list.unread'), ' ') : null,
        t.subject || tr('ticket.untitled')),
      h('span', { class: 'row3' },
        h('span', { class: 'num' }, '#' + t.id),
        statusBadge(t.status),
        t.snoozed_until || t.snooze_until_reply ? h('span', { class: 'badge snoozed', title: snoozeText(t) }, tr('list.snoozed')) : null,
        t.priority === 'high' || t.priority === 'urgent' ? h('span', { class: 'badge pr-' + t.priority }, tr('priority.' + t.priority)) : null,
        t.assignee_id ? h('span', { class: 'assignee' }, agentName(t.assignee_id)) : h('span', { class: 'assignee muted' }, tr('ticket.unassigned')),
        (t.tags || []).map((tag) => h('span', { class: 'tag' }, tag)))));
}
