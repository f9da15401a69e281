// format.js is the formatting toolbar of an email reply: bold, italic, bulleted and
// numbered lists and links, written into the text box as light markup (**bold**,
// _italic_, "- " and "1. " lines, [text](https://…)) that the server renders as the
// mail's HTML part, keeping its text part readable. Ctrl+B and Ctrl+I work in the box
// while the toolbar shows. Replies by other channels and notes are sent as typed.

import { h, announce } from './dom.js';
import { t as tr } from './i18n.js';

// tools name their label and the letter on the button by key.
const tools = [
  { id: 'fmt-bold', label: 'format.bold', key: 'b', cls: 'icon-bold', text: 'format.boldGlyph', run: (ta) => wrap(ta, '**', tr('format.boldText')) },
  { id: 'fmt-italic', label: 'format.italic', key: 'i', cls: 'icon-italic', text: 'format.italicGlyph', run: (ta) => wrap(ta, '_', tr('format.italicText')) },
  { id: 'fmt-bullets', label: 'format.bullets', cls: 'icon-bullets', run: (ta) => lines(ta, () => '- ') },
  { id: 'fmt-numbers', label: 'format.numbers', cls: 'icon-numbers', run: (ta) => lines(ta, (i) => `${i + 1}. `) },
  { id: 'fmt-link', label: 'format.linkButton', cls: 'icon-link', run: (ta) => link(ta) },
];

// formatEl is the toolbar for text box ta. It is one stop of the Tab key; the arrow keys
// move between its buttons.
export function formatEl(ta, disabled) {
  const bar = h('div', { id: 'format-bar', class: 'format-bar', role: 'toolbar', 'aria-label': tr('format.bar'), 'aria-controls': 'reply-body' },
    tools.map((t, i) => h('button', { type: 'button', id: t.id, class: 'tool ' + t.cls, disabled, tabindex: i === 0 ? '0' : '-1',
      'aria-label': tr(t.label), title: t.key ? tr('format.withKey', { label: tr(t.label), key: t.key.toUpperCase() }) : tr(t.label),
      'aria-keyshortcuts': t.key ? 'Control+' + t.key.toUpperCase() : null,
      onclick: () => { t.run(ta); ta.focus(); } }, t.text ? tr(t.text) : null)));
  bar.addEventListener('keydown', (e) => {
    const buttons = [...bar.querySelectorAll('button')];
    const i = buttons.indexOf(document.activeElement);
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[e.key];
    if (i < 0 || next == null) return;
    e.preventDefault();
    const to = buttons[(next + buttons.length) % buttons.length];
    buttons.forEach((b) => { b.tabIndex = b === to ? 0 : -1; });
    to.focus();
  });
  return bar;
}

// formatKeys handles Ctrl+B and Ctrl+I in ta while on() is true.
export function formatKeys(ta, on) {
  ta.addEventListener('keydown', (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey || !on()) return;
    const t = tools.find((x) => x.key && x.key === e.key.toLowerCase());
    if (!t) return;
    e.preventDefault();
    t.run(ta);
  });
}

// insert replaces the selection of ta with text, on the box's undo history where the
// browser keeps one, and selects from selStart to selEnd of the inserted text.
export function insert(ta, text, selStart = text.length, selEnd = selStart) {
  const start = ta.selectionStart;
  ta.focus();
  if (!document.execCommand || !document.execCommand('insertText', false, text)) {
    ta.setRangeText(text, start, ta.selectionEnd, 'end');
    ta.dispatchEvent(new Event('input', { bubbles: true }));
  }
  ta.setSelectionRange(start + selStart, start + selEnd);
}

// wrap puts mark around the selection, or around a word to type over.
function wrap(ta, mark, placeholder) {
  const sel = ta.value.slice(ta.selectionStart, ta.selectionEnd);
  // A selection ending with a space (a double-clicked word) keeps the space outside.
  const inner = sel.replace(/\s+$/, '');
  const tail = sel.slice(inner.length);
  if (inner) {
    insert(ta, mark + inner + mark + tail, mark.length, mark.length + inner.length);
  } else {
    insert(ta, mark + placeholder + mark, mark.length, mark.length + placeholder.length);
  }
  announce(tr(mark === '**' ? 'format.bold' : 'format.italic'));
}

// lines starts each selected line (or the caret's line) with prefix(i).
function lines(ta, prefix) {
  const v = ta.value;
  const start = v.lastIndexOf('\n', ta.selectionStart - 1) + 1;
  let end = v.indexOf('\n', Math.max(ta.selectionEnd - (ta.selectionEnd > ta.selectionStart && v[ta.selectionEnd - 1] === '\n' ? 1 : 0), start));
  if (end < 0) end = v.length;
  ta.setSelectionRange(start, end);
  const out = v.slice(start, end).split('\n').map((l, i) => prefix(i) + l.replace(/^(\s*)([-*]|\d+[.)])\s+/, '$1')).join('\n');
  insert(ta, out, out.length);
  announce(tr('format.list'));
}

// link makes the selection the text of a link and selects the address to type, or makes
// a selected address a link.
function link(ta) {
  const sel = ta.value.slice(ta.selectionStart, ta.selectionEnd).trim();
  if (/^https?:\/\/\S+$/.test(sel)) {
    insert(ta, `[${sel}](${sel})`, 1, 1 + sel.length);
  } else {
    const text = sel || tr('format.linkText');
    const out = `[${text}](https://)`;
    if (sel) insert(ta, out, text.length + 3, out.length - 1);
    else insert(ta, out, 1, 1 + text.length);
  }
  announce(tr('format.link'));
}
