// mentions.js offers the agents' names while an agent writes "@" in an internal note:
// a list under the reply box, worked with the arrow keys, Enter or Tab to take a name,
// Esc to close it. The server notifies the agent an @name names (docs/console.md).

import { h, fill, announce } from './dom.js';
import { state } from './state.js';
import { t as tr } from './i18n.js';

let ta = null;      // the reply box the list belongs to
let list = null;    // the list element, under the reply box
let matches = [];   // the agents offered
let active = 0;
let start = -1;     // where the "@" of the name being written is
let taken = false;  // a key took a name: the text that key would type is not typed

// attachMentions gives reply box area its list of names. It must be called before any
// other keydown listener is added to area, so that Enter and Esc work the list first.
export function attachMentions(area) {
  ta = area;
  list = h('ul', { id: 'mention-list', class: 'mention-list', role: 'listbox', 'aria-label': tr('mention.list'), hidden: true });
  area.setAttribute('aria-autocomplete', 'list');
  area.setAttribute('aria-controls', 'mention-list');
  area.addEventListener('input', update);
  area.addEventListener('keydown', keys);
  // A browser that types a key's text apart from its keydown (as automation may) asks
  // first: the Enter or Tab that took a name types nothing.
  area.addEventListener('beforeinput', (e) => {
    if (taken && (e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph' || e.data === '\t')) e.preventDefault();
    taken = false;
  });
  area.addEventListener('keyup', () => { taken = false; });
  area.addEventListener('blur', () => setTimeout(close, 150));
  return list;
}

// query returns the name being written after an "@" at the caret of a note, or null.
function query() {
  if (!ta || !document.getElementById('mode-note')?.checked) return null;
  const before = ta.value.slice(0, ta.selectionStart);
  const at = before.lastIndexOf('@');
  if (at < 0 || (at > 0 && !/\s/.test(before[at - 1]))) return null;
  const q = before.slice(at + 1);
  if (q.length > 40 || /[\n@]/.test(q) || /\s\S*\s/.test(q)) return null; // at most two words
  start = at;
  return q;
}

function update() {
  const q = query();
  if (q == null) {
    close();
    return;
  }
  const low = q.toLowerCase();
  matches = state.agents.filter((a) => !a.disabled && a.id !== state.me.id && a.name &&
    (a.name.toLowerCase().startsWith(low) || a.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(low)))).slice(0, 8);
  if (matches.length === 0) {
    close();
    return;
  }
  active = 0;
  render();
  if (list.hidden) announce(tr('mention.matches', { n: matches.length }));
  list.hidden = false;
}

function render() {
  fill(list, matches.map((a, i) => h('li', { id: 'mention-' + a.id, role: 'option', class: i === active ? 'active' : null,
    'aria-selected': String(i === active), dataset: { id: String(a.id) },
    onmousedown: (e) => { e.preventDefault(); choose(i); } }, a.name)));
  ta.setAttribute('aria-activedescendant', 'mention-' + matches[active].id);
}

function close() {
  if (!list || list.hidden) return;
  list.hidden = true;
  matches = [];
  ta.removeAttribute('aria-activedescendant');
}

// choose puts the chosen agent's name after the "@", and a space after it.
function choose(i) {
  const a = matches[i];
  if (!a) return;
  const end = ta.selectionStart;
  const text = '@' + a.name + ' ';
  ta.value = ta.value.slice(0, start) + text + ta.value.slice(end);
  const caret = start + text.length;
  ta.setSelectionRange(caret, caret);
  close();
  ta.dispatchEvent(new Event('input', { bubbles: true })); // drafts and typing see it
  announce(tr('mention.done', { name: a.name }));
}

function keys(e) {
  if (!list || list.hidden || e.ctrlKey || e.metaKey || e.altKey) return;
  switch (e.key) {
    case 'ArrowDown':
    case 'ArrowUp':
      active = (active + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
      render();
      announce(matches[active].name);
      break;
    case 'Enter':
    case 'Tab':
      choose(active);
      taken = true;
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
