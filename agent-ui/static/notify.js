// notify.js is the agent's notifications: the bell in the top bar with the unread count
// in its name, the notification centre it opens, the browser's desktop notifications
// (once the agent opted in on the profile page and the browser allowed them) and a short
// sound (notify.wav, a chime of two tones written by a script, served from here).
//
// Notifications are the server's (GET /api/v1/notifications); new ones arrive on the
// socket as "notification" frames, for this agent alone.

import { get, post } from './api.js';
import { h, fill, $, announce } from './dom.js';
import { timeEl } from './time.js';
import { t as tr } from './i18n.js';

let items = [];       // the newest notifications, newest first
let unread = 0;
let prefs = { desktop: false, sound: false };
let loaded = false;
let seq = 0;           // the number of the newest load; an answer to an older one is dropped
let loading = false;   // a load is waiting for its answer

// kindText names a kind of notification (notify.kind.<kind>); an unknown one keeps its id.
const kinds = ['assigned', 'customer_replied', 'sla_warning', 'mention', 'snooze_ended'];
const kindText = (kind) => (kinds.includes(kind) ? tr('notify.kind.' + kind) : '');

// line is what one notification says, in words.
function line(n) {
  const who = n.actor && n.actor.name ? n.actor.name : '';
  switch (n.kind) {
    case 'mention': return who ? tr('notify.mentionedBy', { name: who, text: n.text }) : tr('notify.mentioned', { text: n.text });
    case 'assigned': return who ? tr('notify.assignedBy', { name: who }) : kindText('assigned');
    case 'customer_replied': return who ? tr('notify.repliedBy', { name: who, text: n.text }) : tr('notify.customerReplied', { text: n.text });
    default: return n.text || kindText(n.kind) || n.kind;
  }
}

// initBell puts the bell and its panel in the top bar; once per page.
export function initBell() {
  const nav = $('.topnav');
  if (!nav || $('#bell')) return;
  const bell = h('button', { type: 'button', id: 'bell', class: 'bell', 'aria-haspopup': 'dialog', 'aria-expanded': 'false',
    'aria-controls': 'notify-panel', title: tr('notify.title') }, bellIcon(), h('span', { id: 'bell-count', class: 'bell-count', 'aria-hidden': 'true', hidden: true }));
  const panel = h('div', { id: 'notify-panel', class: 'notify-panel', role: 'dialog', 'aria-labelledby': 'notify-title', hidden: true },
    h('div', { class: 'notify-head' },
      h('h2', { id: 'notify-title', tabindex: '-1' }, tr('notify.title')),
      h('button', { type: 'button', id: 'notify-read-all', class: 'link', onclick: readAll }, tr('notify.readAll')),
      h('button', { type: 'button', id: 'notify-close', class: 'link', onclick: () => showPanel(false) }, tr('app.close'))),
    h('ul', { id: 'notify-list', class: 'notify-list' }));
  nav.prepend(h('span', { class: 'bell-wrap' }, bell, panel));
  bell.addEventListener('click', () => showPanel($('#notify-panel').hidden));
  $('#notify-panel').addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      showPanel(false);
    }
  });
  // A click elsewhere closes the panel, as a menu would.
  document.addEventListener('click', (e) => {
    const panel = $('#notify-panel');
    if (!panel.hidden && !panel.contains(e.target) && !bell.contains(e.target)) showPanel(false, false);
  });
  renderBell();
}

// loadNotifications reads the agent's notifications and choices: after sign-in and after
// a reconnect (a socket's resume replays stored events, not notifications).
export async function loadNotifications() {
  const my = ++seq;
  loading = true;
  try {
    const [res, prof] = await Promise.all([get('/api/v1/notifications?limit=50'), loaded ? null : get('/api/v1/me/profile')]);
    if (my !== seq) return;
    items = res.notifications || [];
    unread = res.unread || 0;
    if (prof) setNotifyPrefs(prof.notifications);
    loaded = true;
  } catch { /* the bell keeps what it had */ } finally {
    if (my === seq) loading = false;
  }
  if (my !== seq) return;
  renderBell();
  renderPanel();
}

// setNotifyPrefs takes the agent's choices of desktop notifications and sound.
export function setNotifyPrefs(n) {
  prefs = { desktop: !!(n && n.desktop), sound: !!(n && n.sound) };
}

// forgetNotifications drops the agent's notifications at sign-out.
export function forgetNotifications() {
  seq++;
  loading = false;
  items = [];
  unread = 0;
  loaded = false;
  prefs = { desktop: false, sound: false };
  const panel = $('#notify-panel');
  if (panel) panel.hidden = true;
  renderBell();
}

// onNotification shows a notification that arrived on the socket.
export function onNotification(n) {
  if (!n || !n.id || items.some((x) => x.id === n.id)) return;
  items.unshift(n);
  items = items.slice(0, 100);
  if (!n.read_at) unread++;
  renderBell();
  renderPanel();
  announce(tr('notification.new', { text: line(n), id: n.ticket_id }));
  desktop(n);
  chime();
}

function renderBell() {
  const bell = $('#bell');
  if (!bell) return;
  bell.setAttribute('aria-label', unread === 0 ? tr('notify.bellNone') : tr('notify.bellUnread', { n: unread }));
  const count = $('#bell-count');
  count.textContent = unread > 99 ? '99+' : String(unread);
  count.hidden = unread === 0;
}

// showPanel opens or closes the notification centre. Opening moves focus into it;
// closing gives it back to the bell (unless the agent clicked elsewhere).
function showPanel(open, refocus = true) {
  const panel = $('#notify-panel');
  const bell = $('#bell');
  panel.hidden = !open;
  bell.setAttribute('aria-expanded', String(open));
  if (open) {
    renderPanel();
    $('#notify-title').focus();
    loadNotifications();
  } else if (refocus && (panel.contains(document.activeElement) || document.activeElement === document.body)) {
    bell.focus();
  }
}

function renderPanel() {
  const panel = $('#notify-panel');
  if (!panel || panel.hidden) return;
  const list = $('#notify-list');
  $('#notify-read-all').disabled = unread === 0;
  if (items.length === 0) {
    fill(list, h('li', { class: 'muted notify-empty' }, tr('notify.empty')));
    return;
  }
  fill(list, items.map((n) => h('li', { class: 'notify-item' + (n.read_at ? '' : ' unread'), dataset: { id: String(n.id) } },
    h('a', { href: '#/tickets/' + n.ticket_id, onclick: (e) => openItem(e, n) },
      h('span', { class: 'notify-kind' }, kindText(n.kind) || n.kind, n.read_at ? null : h('span', { class: 'visually-hidden' }, ' ', tr('notify.unread'))),
      h('span', { class: 'notify-subject' }, `#${n.ticket_id} ${n.subject || ''}`),
      h('span', { class: 'notify-text' }, line(n)),
      timeEl(n.created_at)))));
}

// openItem marks a notification read and opens its ticket.
function openItem(e, n) {
  e.preventDefault();
  markRead([n.id]);
  showPanel(false, false);
  location.hash = '#/tickets/' + n.ticket_id;
}

async function markRead(ids) {
  // A load on its way (opening the panel starts one) would answer with what was unread
  // before and put the count back: it is dropped, and asked again once this is done.
  const reload = loading;
  seq++;
  loading = false;
  const now = new Date().toISOString();
  for (const n of items) {
    if ((!ids || ids.includes(n.id)) && !n.read_at) n.read_at = now;
  }
  try {
    const res = await post('/api/v1/notifications/read', ids ? { ids } : { all: true });
    unread = res.unread;
  } catch {
    unread = items.filter((n) => !n.read_at).length;
  }
  renderBell();
  renderPanel();
  if (reload) loadNotifications();
}

// readAll marks every notification read; the focus stays in the panel.
export async function readAll() {
  await markRead(null);
  announce(tr('notification.allRead'));
  $('#notify-title').focus();
}

// desktop shows a browser notification when the agent opted in, the browser allows it,
// and the console is not what the agent looks at.
function desktop(n) {
  if (!prefs.desktop || !('Notification' in window) || Notification.permission !== 'granted') return;
  if (!document.hidden && document.hasFocus()) return;
  try {
    const dn = new Notification(`${kindText(n.kind) || 'Parley'}: #${n.ticket_id} ${n.subject || ''}`, { body: line(n), tag: 'parley-' + n.id });
    dn.onclick = () => {
      window.focus();
      markRead([n.id]);
      location.hash = '#/tickets/' + n.ticket_id;
      dn.close();
    };
  } catch { /* a browser that shows notifications only from a service worker */ }
}

let audio = null;

// chime plays the notification sound when the agent chose it. A browser that blocks
// sound before the page was used stays silent.
function chime() {
  if (!prefs.sound) return;
  audio = audio || new Audio('notify.wav');
  audio.currentTime = 0;
  audio.play().catch(() => {});
}

// askDesktopPermission asks the browser to allow desktop notifications; it must run in a
// click. It returns the browser's answer: "granted", "denied", "default" or
// "unsupported".
export async function askDesktopPermission() {
  if (!('Notification' in window)) return 'unsupported';
  if (Notification.permission !== 'default') return Notification.permission;
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

// bellIcon is the bell's picture, drawn without parsing any markup.
export function bellIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}
