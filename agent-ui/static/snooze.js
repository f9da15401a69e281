// snooze.js is the Snooze menu of the open ticket: later today, tomorrow morning, next
// week, a chosen date and time, or until the customer replies, and Unsnooze. A snoozed
// ticket leaves the lists until then (PATCH /api/v1/tickets/{id} with snoozed_until and
// snooze_until_reply); the server brings it back. The shortcut z opens the menu.

import { h, $, $$ } from './dom.js';
import { t as tr, locale } from './i18n.js';

// snoozeTimes are the menu's times, from now: later today is three hours on, tomorrow
// morning and next week (Monday) at 9:00 local time.
export function snoozeTimes(now = new Date()) {
  const later = new Date(now.getTime() + 3 * 3600 * 1000);
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  tomorrow.setHours(9, 0, 0, 0);
  const week = new Date(now);
  week.setDate(now.getDate() + (((8 - now.getDay()) % 7) || 7));
  week.setHours(9, 0, 0, 0);
  return { later, tomorrow, week };
}

const fmt = (d) => d.toLocaleString(locale(), { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

// snoozeText says how a ticket is snoozed, or '' when it is not.
export function snoozeText(t) {
  if (t.snoozed_until && t.snooze_until_reply) return tr('snooze.untilOrReply', { time: fmt(new Date(t.snoozed_until)) });
  if (t.snoozed_until) return tr('snooze.until', { time: fmt(new Date(t.snoozed_until)) });
  if (t.snooze_until_reply) return tr('snooze.untilReply');
  return '';
}

// snoozeControl is the Snooze button of ticket t with its menu; save sends the change
// (ticket.js's update) and resolves when it is stored.
export function snoozeControl(t, save) {
  const closed = t.status === 'closed';
  const snoozed = !!(t.snoozed_until || t.snooze_until_reply);
  const { later, tomorrow, week } = snoozeTimes();
  const pick = (change, words) => async () => {
    close(false);
    await save(change, words);
    const b = $('#snooze-button');
    if (b) b.focus();
  };
  const item = (id, label, fn) => h('li', { role: 'none' }, h('button', { type: 'button', role: 'menuitem', id, tabindex: '-1', onclick: fn }, label));
  const custom = h('form', { id: 'snooze-custom', class: 'snooze-custom', hidden: true },
    h('label', { for: 'snooze-at' }, tr('snooze.label')),
    h('input', { id: 'snooze-at', type: 'datetime-local', required: true }),
    h('button', { type: 'submit', id: 'snooze-at-go' }, tr('snooze.go')));
  custom.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $('#snooze-at').value;
    const d = v ? new Date(v) : null;
    if (!d || isNaN(d) || d <= new Date()) {
      $('#snooze-at').setCustomValidity(tr('snooze.future'));
      $('#snooze-at').reportValidity();
      return;
    }
    pick({ snoozed_until: d.toISOString(), snooze_until_reply: false }, tr('snooze.wordsTime', { time: fmt(d) }))();
  });
  custom.addEventListener('input', () => $('#snooze-at').setCustomValidity(''));
  custom.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      custom.hidden = true;
      $('#snooze-button').focus();
    }
  });
  const menu = h('ul', { id: 'snooze-menu', class: 'menu', role: 'menu', 'aria-labelledby': 'snooze-button', hidden: true },
    item('snooze-later', tr('snooze.later', { time: fmt(later) }), pick({ snoozed_until: later.toISOString(), snooze_until_reply: false }, tr('snooze.wordsTime', { time: fmt(later) }))),
    item('snooze-tomorrow', tr('snooze.tomorrow', { time: fmt(tomorrow) }), pick({ snoozed_until: tomorrow.toISOString(), snooze_until_reply: false }, tr('snooze.wordsTime', { time: fmt(tomorrow) }))),
    item('snooze-week', tr('snooze.week', { time: fmt(week) }), pick({ snoozed_until: week.toISOString(), snooze_until_reply: false }, tr('snooze.wordsTime', { time: fmt(week) }))),
    item('snooze-reply', tr('snooze.reply'), pick({ snoozed_until: null, snooze_until_reply: true }, tr('snooze.wordsReply'))),
    item('snooze-custom-open', tr('snooze.custom'), () => {
      close(false);
      custom.hidden = false;
      $('#snooze-at').focus();
    }),
    snoozed ? item('snooze-off', tr('snooze.off'), pick({ snoozed_until: null, snooze_until_reply: false }, 'off')) : null);
  menu.addEventListener('keydown', menuKeys);
  const button = h('button', { type: 'button', id: 'snooze-button', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
    'aria-controls': 'snooze-menu', disabled: closed, title: tr('app.shortcut', { key: 'z' }), onclick: () => (menu.hidden ? openSnoozeMenu() : close(true)) },
  tr(snoozed ? 'snooze.buttonSnoozed' : 'snooze.button'));
  return h('div', { class: 'snooze' }, button, menu, custom);
}

// snoozeState says, in the ticket's meta line, how ticket t is snoozed; null when it is not.
export function snoozeState(t) {
  const text = snoozeText(t);
  return text ? h('span', { id: 'snooze-state', class: 'snooze-state' }, text) : null;
}

// openSnoozeMenu opens the menu of the open ticket with its first item focused.
export function openSnoozeMenu() {
  const menu = $('#snooze-menu');
  const b = $('#snooze-button');
  if (!menu || !b || b.disabled) return false;
  menu.hidden = false;
  b.setAttribute('aria-expanded', 'true');
  const first = $('[role=menuitem]', menu);
  if (first) first.focus();
  document.addEventListener('click', outside, true);
  return true;
}

function outside(e) {
  const wrap = $('#snooze-menu')?.parentElement;
  if (!wrap || !wrap.contains(e.target)) close(false);
}

function close(refocus) {
  document.removeEventListener('click', outside, true);
  const menu = $('#snooze-menu');
  const b = $('#snooze-button');
  if (menu) menu.hidden = true;
  if (b) {
    b.setAttribute('aria-expanded', 'false');
    if (refocus) b.focus();
  }
}

// menuKeys moves through the menu with the arrow keys, Home and End; Esc and Tab close it.
function menuKeys(e) {
  const items = $$('[role=menuitem]', e.currentTarget);
  const i = items.indexOf(document.activeElement);
  let next = -1;
  switch (e.key) {
    case 'ArrowDown': next = (i + 1) % items.length; break;
    case 'ArrowUp': next = (i - 1 + items.length) % items.length; break;
    case 'Home': next = 0; break;
    case 'End': next = items.length - 1; break;
    case 'Escape':
      e.preventDefault();
      e.stopPropagation();
      close(true);
      return;
    case 'Tab':
      close(false);
      return;
    default: return;
  }
  e.preventDefault();
  items[next].focus();
}
