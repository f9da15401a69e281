// slash.js finds canned responses from the reply box: "/" at the start of a line or
// after a space opens a list of them, filtered by what follows as the agent types, with
// a preview of the chosen one with its placeholders filled in. Up and down choose, Enter
// or Tab puts it in place of the "/…", Esc closes the list.

import { h, fill, announce } from './dom.js';
import { state } from './state.js';
import { fillPlaceholders } from './canned.js';
import { insert } from './format.js';
import { t as tr } from './i18n.js';

let ta = null;
let pop = null;     // the list and the preview, above the text box
let matches = [];
let active = 0;
let start = -1;     // where the "/" is
let hint = () => {};

// attachSlash gives text box area its canned-response finder; onMissing(list) is told
// the placeholders left to fill by hand. It must be added before the box's other
// keydown listeners, so that Enter and Esc work the open list first.
export function attachSlash(area, onMissing) {
  ta = area;
  hint = onMissing;
  pop = h('div', { id: 'canned-pop', class: 'canned-pop', hidden: true },
    h('ul', { id: 'canned-list', role: 'listbox', 'aria-label': tr('canned.list') }),
    h('div', { id: 'canned-preview', class: 'canned-preview', 'aria-live': 'polite' }));
  const controls = (area.getAttribute('aria-controls') || '').split(' ').filter(Boolean);
  area.setAttribute('aria-controls', [...controls, 'canned-list'].join(' '));
  area.setAttribute('aria-autocomplete', 'list');
  area.addEventListener('input', update);
  area.addEventListener('keydown', keys);
  area.addEventListener('click', update);
  area.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== ta) close(); }, 150));
  return pop;
}

// query returns what follows a "/" that starts a word at the caret, or null.
function query() {
  const before = ta.value.slice(0, ta.selectionStart);
  const at = before.lastIndexOf('/');
  if (at < 0 || (at > 0 && !/\s/.test(before[at - 1]))) return null;
  const q = before.slice(at + 1);
  if (q.length > 40 || /[\n/]/.test(q) || /\s\s/.test(q)) return null;
  start = at;
  return q;
}

// context is what the placeholders are filled from: only the open ticket's own
// customer and orders.
function context() {
  const t = state.ticket;
  const customer = state.customer && t && state.customer.id === t.customer_id ? state.customer : null;
  return { customer, ticket: t, agent: state.me, orders: customer ? state.orders : [] };
}

function update() {
  const q = query();
  if (q == null || !state.canned.length) {
    close();
    return;
  }
  const low = q.toLowerCase().trim();
  matches = state.canned.filter((c) => !low || c.title.toLowerCase().includes(low) || c.body.toLowerCase().includes(low)).slice(0, 8);
  if (!matches.length) {
    close();
    return;
  }
  const wasHidden = pop.hidden;
  active = Math.min(active, matches.length - 1);
  if (wasHidden) active = 0;
  render();
  pop.hidden = false;
  ta.setAttribute('aria-expanded', 'true');
  if (wasHidden) announce(tr('canned.matches', { n: matches.length }));
}

function render() {
  fill(pop.querySelector('ul'), matches.map((c, i) => h('li', { id: 'canned-opt-' + c.id, role: 'option', class: i === active ? 'active' : null,
    'aria-selected': String(i === active), onmousedown: (e) => { e.preventDefault(); choose(i); } }, c.title)));
  ta.setAttribute('aria-activedescendant', 'canned-opt-' + matches[active].id);
  const { text, missing } = fillPlaceholders(matches[active].body, context());
  fill(pop.querySelector('#canned-preview'),
    h('p', { class: 'preview-title' }, matches[active].title),
    h('p', { class: 'preview-text' }, text),
    missing.length ? h('p', { class: 'muted small' }, tr('composer.fillIn', { names: missing.join(', ') })) : null);
}

function close() {
  if (!pop || pop.hidden) return;
  pop.hidden = true;
  matches = [];
  ta.setAttribute('aria-expanded', 'false');
  ta.removeAttribute('aria-activedescendant');
}

function choose(i) {
  const c = matches[i];
  if (!c) return;
  const { text, missing } = fillPlaceholders(c.body, context());
  close();
  ta.setSelectionRange(start, ta.selectionStart);
  insert(ta, text);
  hint(missing);
  announce(tr('canned.inserted', { title: c.title }));
}

function keys(e) {
  if (!pop || pop.hidden || e.ctrlKey || e.metaKey || e.altKey) return;
  switch (e.key) {
    case 'ArrowDown':
    case 'ArrowUp':
      active = (active + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
      render();
      announce(matches[active].title);
      break;
    case 'Enter':
    case 'Tab':
      choose(active);
      break;
    case 'Escape':
      close();
      break;
    default:
      return;
  }
  e.preventDefault();
  e.stopImmediatePropagation();
}
