// sendmenu.js is the Send button of the reply box and the menu beside it: send and leave
// the ticket as it is, send and set it pending, or send and resolve it. The choice made
// in the menu sends at once and is remembered for this agent in this browser, so the
// main button (and Ctrl+Enter) then does the same: "Send and resolve".

import { h, fill, $, announce } from './dom.js';
import { state } from './state.js';
import { t as tr } from './i18n.js';

// choices name their labels by key, for a reply and for a note.
const choices = [
  { status: '', reply: 'send.reply', note: 'send.note' },
  { status: 'pending', reply: 'send.replyPending', note: 'send.notePending' },
  { status: 'resolved', reply: 'send.replyResolve', note: 'send.noteResolve' },
];

const storeKey = () => 'parley.sendAs.' + (state.me ? state.me.id : 0);

// sendChoice is the status the agent chose to send with: '', 'pending' or 'resolved'.
export function sendChoice() {
  let v = '';
  try { v = localStorage.getItem(storeKey()) || ''; } catch { /* storage off */ }
  return choices.some((c) => c.status === v) ? v : '';
}

function remember(status) {
  try {
    if (status) localStorage.setItem(storeKey(), status);
    else localStorage.removeItem(storeKey());
  } catch { /* storage off: the choice lasts this page */ }
}

// sendLabel is what the main button says in mode ('reply' or 'note').
export function sendLabel(mode) {
  const c = choices.find((x) => x.status === sendChoice()) || choices[0];
  return tr(mode === 'note' ? c.note : c.reply);
}

let sendWith = () => {};
let modeOf = () => 'reply';

// sendEl is the Send button and its menu; send(status) sends, mode() is the box's mode.
export function sendEl(disabled, send, mode) {
  sendWith = send;
  modeOf = mode;
  const menu = h('ul', { id: 'send-menu', class: 'send-menu', role: 'menu', 'aria-labelledby': 'send-more', hidden: true });
  menu.addEventListener('keydown', menuKeys);
  menu.addEventListener('focusout', (e) => {
    if (!menu.contains(e.relatedTarget) && e.relatedTarget !== $('#send-more')) closeMenu(false);
  });
  const more = h('button', { type: 'button', id: 'send-more', class: 'primary split-more', disabled,
    'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-controls': 'send-menu', 'aria-label': tr('send.more'), title: tr('send.more') });
  more.addEventListener('click', () => (menu.hidden ? openMenu(0) : closeMenu(true)));
  more.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      openMenu(e.key === 'ArrowUp' ? -1 : 0);
    }
  });
  return h('div', { class: 'split-send' },
    h('button', { type: 'submit', id: 'send', class: 'primary split-main', disabled }, sendLabel(mode())),
    more, menu);
}

// openMenu shows the menu with the focus on item at (-1: the last).
function openMenu(at) {
  const menu = $('#send-menu');
  const cur = sendChoice();
  fill(menu, choices.map((c) => h('li', { role: 'menuitemradio', tabindex: '-1', 'aria-checked': String(c.status === cur),
    dataset: { status: c.status }, onclick: () => pick(c.status) }, tr(modeOf() === 'note' ? c.note : c.reply))));
  menu.hidden = false;
  $('#send-more').setAttribute('aria-expanded', 'true');
  const items = [...menu.children];
  items[at < 0 ? items.length - 1 : at].focus();
}

function closeMenu(back) {
  const menu = $('#send-menu');
  if (!menu || menu.hidden) return;
  menu.hidden = true;
  $('#send-more').setAttribute('aria-expanded', 'false');
  if (back) $('#send-more').focus();
}

function pick(status) {
  remember(status);
  closeMenu(false);
  const btn = $('#send');
  if (btn) btn.textContent = sendLabel(modeOf());
  announce(tr('send.buttonReads', { label: sendLabel(modeOf()) }));
  sendWith(status);
}

function menuKeys(e) {
  const items = [...$('#send-menu').children];
  const i = items.indexOf(document.activeElement);
  switch (e.key) {
    case 'ArrowDown': items[(i + 1) % items.length].focus(); break;
    case 'ArrowUp': items[(i - 1 + items.length) % items.length].focus(); break;
    case 'Home': items[0].focus(); break;
    case 'End': items[items.length - 1].focus(); break;
    case 'Enter':
    case ' ':
      if (i >= 0) pick(items[i].dataset.status);
      break;
    case 'Escape':
      e.stopPropagation();
      closeMenu(true);
      break;
    case 'Tab':
      closeMenu(false);
      return;
    default: return;
  }
  e.preventDefault();
}
