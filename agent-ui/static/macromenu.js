// macromenu.js holds the macro menus of the composer and the bulk bar. In the composer a
// macro makes its changes at once and puts its reply in the reply box for review, as
// Zendesk and Help Scout do; in the bulk bar it changes every picked ticket and, when
// asked, sends its reply to each. The Macros page is macros.js.

import { get, post } from './api.js';
import { h, $, announce } from './dom.js';
import { state } from './state.js';
import { t as tr } from './i18n.js';

// loadMacros reads the macros the agent may use into state.macros.
export async function loadMacros() {
  try {
    state.macros = (await get('/api/v1/macros')).macros;
  } catch {
    state.macros = [];
  }
  return state.macros;
}

// composerMacroEl is the composer's macro menu: choosing one applies its changes to the
// open ticket at once and puts its reply, placeholders filled in, in the reply box.
// onApplied gets the answer ({ticket, note, body}).
export function composerMacroEl(disabled, onApplied) {
  const list = state.macros || [];
  // Without macros the composer keeps its room; Settings → Macros makes them.
  if (list.length === 0) return null;
  const sel = h('select', { id: 'macro-select', disabled },
    h('option', { value: '' }, tr(list.length ? 'macro.apply' : 'macro.none')),
    list.map((m) => h('option', { value: m.id }, m.name)));
  chosen(sel, async (v) => {
    const id = Number(v);
    const m = list.find((x) => x.id === id);
    const t = state.ticket;
    if (!m || !t) return;
    try {
      const res = await post(`/api/v1/tickets/${t.id}/macros/${m.id}`, {});
      onApplied(res);
      announce(tr(res.body ? 'macro.appliedWithReply' : 'macro.applied', { name: m.name }));
    } catch (e) {
      const err = $('#reply-error');
      if (err) err.textContent = e.message;
    }
  });
  return h('div', { class: 'canned-row' }, h('label', { for: 'macro-select' }, tr('macro.label')), sel);
}

// bulkMacroEl is the bulk bar's macro menu, with whether to send the macros' replies.
// apply gets the change for POST /api/v1/tickets/bulk.
export function bulkMacroEl(apply) {
  const list = state.macros || [];
  if (list.length === 0) return null;
  const send = h('input', { type: 'checkbox', id: 'bulk-macro-send', checked: true });
  const sel = h('select', { id: 'bulk-macro', 'aria-label': tr('macro.apply') },
    h('option', { value: '' }, tr('macro.apply')), list.map((m) => h('option', { value: m.id }, m.name)));
  chosen(sel, (v) => apply({ macro_id: Number(v), send: send.checked }));
  return [sel, h('label', { class: 'check small' }, send, ' ', tr('bulk.macroSend'))];
}

// chosen calls fn with a select's choice once the agent has made it: at once when picked
// with the mouse, but after arrow keys only on Enter, so that arrowing through the list
// applies nothing on the way. The select then goes back to its prompt.
function chosen(sel, fn) {
  let keyed = false;
  const go = () => {
    keyed = false;
    const v = sel.value;
    sel.value = '';
    if (v !== '') fn(v);
  };
  sel.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      go();
    } else if (e.key.startsWith('Arrow') || e.key === 'Home' || e.key === 'End' || e.key.length === 1) {
      keyed = true;
    }
  });
  sel.addEventListener('change', () => { if (!keyed) go(); });
  sel.addEventListener('blur', () => { keyed = false; sel.value = ''; });
}
