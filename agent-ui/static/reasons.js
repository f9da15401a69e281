// reasons.js is the contact reason of the open ticket: the Reason control in its header
// (with "auto 87%" when the classifier chose it, and its top three to pick from when it
// was not sure), and the suggested replies above the reply box: what agents answered on
// resolved tickets of the same reason whose customers wrote something similar.

import { get, post } from './api.js';
import { h, fill, $, announce } from './dom.js';
import { state } from './state.js';
import { t as tr } from './i18n.js';

let shownFor = ''; // the ticket and reason whose suggestions are drawn

// loadReasons reads the shop's reasons and their settings into state.
export async function loadReasons() {
  const [r, s] = await Promise.allSettled([get('/api/v1/reasons'), get('/api/v1/settings/reasons')]);
  state.reasons = r.status === 'fulfilled' ? r.value.reasons : [];
  state.reasonSettings = s.status === 'fulfilled' ? s.value : {};
}

export function reasonName(id) {
  const r = (state.reasons || []).find((x) => x.id === id);
  return r ? r.name : tr('reason.unknown', { id });
}

// reasonControl is the Reason select of ticket t, saved through update, with what the
// classifier said beside it.
export function reasonControl(t, update, committed) {
  const closed = t.status === 'closed';
  const offered = (state.reasons || []).filter((r) => !r.archived || r.id === t.reason_id);
  const sel = committed(h('select', { id: 't-reason', disabled: closed },
    h('option', { value: '', selected: !t.reason_id }, state.reasonSettings && state.reasonSettings.require_on_resolve
      ? tr('reason.choose') : tr('reason.none')),
    offered.map((r) => h('option', { value: r.id, selected: r.id === t.reason_id }, r.name))),
  (v) => update({ reason_id: v ? Number(v) : null }));
  let note = null;
  if (!t.reason_id && (t.reason_suggestions || []).length && !closed) {
    note = h('span', { id: 'reason-note', class: 'reason-suggest' }, tr('reason.suggested'), ' ',
      t.reason_suggestions.map((s) => h('button', { type: 'button', class: 'chip', 'data-reason': s.reason_id,
        onclick: () => update({ reason_id: s.reason_id }) },
      tr('reason.chip', { name: reasonName(s.reason_id), percent: Math.round(s.confidence * 100) }))));
  }
  return h('span', { class: 'reason-control' }, sel, note);
}

// reasonLabel is the label of the Reason select: with "auto 87%" when the classifier
// chose the reason and nobody changed it.
export function reasonLabel(t) {
  if (!t.reason_id || t.reason_source !== 'auto') return tr('ticket.label.reason');
  return [tr('ticket.label.reason'), ' ', h('span', { class: 'reason-auto', title: tr('reason.autoHint') },
    tr('reason.auto', { percent: Math.round((t.reason_confidence || 0) * 100) }))];
}

// suggestionsEl is the place of the suggested replies of ticket t, filled by
// refreshSuggestions.
export function suggestionsEl() {
  shownFor = '';
  return h('details', { id: 'suggestions', class: 'suggestions', hidden: true },
    h('summary', { id: 'suggestions-title' }), h('ol', { id: 'suggestion-list' }));
}

// refreshSuggestions loads the suggested replies of ticket t when its reason changed
// since they were drawn.
export async function refreshSuggestions(t) {
  const box = $('#suggestions');
  const key = t.id + ':' + (t.reason_id || 0);
  if (!box || key === shownFor) return;
  shownFor = key;
  if (!t.reason_id || t.status === 'closed') {
    box.hidden = true;
    return;
  }
  let replies = [];
  try {
    replies = (await get('/api/v1/tickets/' + t.id + '/suggestions')).replies;
  } catch {
    return; // suggestions are a help, not the work: the composer works without them
  }
  if (shownFor !== key || !$('#suggestions')) return;
  box.hidden = replies.length === 0;
  fill($('#suggestions-title'), tr('suggest.title', { n: replies.length }));
  fill($('#suggestion-list'), replies.map((r) => h('li', {},
    h('p', { class: 'suggestion-text' }, r.text),
    h('p', { class: 'suggestion-meta' },
      h('a', { href: '#/tickets/' + r.ticket_id }, tr('suggest.from', { id: r.ticket_id })), ' ',
      h('button', { type: 'button', class: 'small', 'data-message': r.message_id, onclick: () => insert(t, r) }, tr('suggest.insert'))))));
}

// insert puts a suggested reply into the reply box for the agent to review, and counts
// that it was used.
function insert(t, r) {
  const ta = $('#reply-body');
  if (!ta || ta.disabled) return;
  const reply = $('#mode-reply');
  if (reply && !reply.checked) reply.click();
  ta.value = ta.value.trim() ? ta.value.replace(/\s*$/, '\n\n') + r.text : r.text;
  ta.dispatchEvent(new Event('input', { bubbles: true }));
  ta.focus();
  $('#suggestions').open = false;
  announce(tr('suggest.inserted'));
  post('/api/v1/tickets/' + t.id + '/suggestions/' + r.message_id + '/used', {}).catch(() => {});
}
