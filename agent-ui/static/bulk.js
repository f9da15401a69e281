// bulk.js is the list's selection and bulk bar: pick tickets (a checkbox each,
// shift-click for a range, all in view), then change them in one request
// (POST /api/v1/tickets/bulk): status, priority, assignee, tags, or merge.

import { post } from './api.js';
import { h, fill, $ } from './dom.js';
import { state } from './state.js';
import { bulkMacroEl } from './macromenu.js';
import { t as tr } from './i18n.js';

let lastPicked = 0; // the ticket id of the last checkbox clicked, for shift-click ranges
let reload = () => {};

// initBulk wires the selection into the list; after a change, onChanged reloads it.
export function initBulk(onChanged) {
  reload = onChanged;
  $('#list-body').addEventListener('click', (ev) => {
    const box = ev.target.closest && ev.target.closest('input.pick');
    if (!box) return;
    const id = Number(box.dataset.id);
    if (ev.shiftKey && lastPicked && lastPicked !== id) pickRange(lastPicked, id, box.checked);
    else toggle(id, box.checked);
    lastPicked = id;
    renderBulkBar();
  });
}

// pickCurrent selects or unselects the open ticket (shortcut x), as its checkbox does.
export function pickCurrent() {
  const id = state.ticketID;
  if (!id || !shownIDs().includes(id)) return;
  toggle(id, !state.picked.has(id));
  lastPicked = id;
  syncBoxes();
  renderBulkBar();
}

function shownIDs() {
  return [...document.querySelectorAll('#list-body input.pick')].map((b) => Number(b.dataset.id));
}

function toggle(id, on) {
  if (on) state.picked.add(id); else state.picked.delete(id);
}

function pickRange(from, to, on) {
  const ids = shownIDs();
  const a = ids.indexOf(from);
  const b = ids.indexOf(to);
  if (a < 0 || b < 0) return toggle(to, on);
  for (const id of ids.slice(Math.min(a, b), Math.max(a, b) + 1)) toggle(id, on);
  syncBoxes();
}

function syncBoxes() {
  for (const box of document.querySelectorAll('#list-body input.pick')) box.checked = state.picked.has(Number(box.dataset.id));
}

// forgetGone drops from the selection the tickets no longer shown.
function forgetGone() {
  const shown = new Set(shownIDs());
  for (const id of state.picked) if (!shown.has(id)) state.picked.delete(id);
}

// renderBulkBar shows the bar while tickets are picked; the list calls it after each
// render.
export function renderBulkBar() {
  forgetGone();
  const bar = $('#bulk-bar');
  const n = state.picked.size;
  bar.hidden = n === 0;
  if (n === 0) {
    fill(bar);
    return;
  }
  const choose = (id, label, options, apply) => h('select', { id, 'aria-label': label, onchange: (ev) => {
    const v = ev.target.value;
    ev.target.value = '';
    if (v !== '') apply(v);
  } }, h('option', { value: '' }, label), options.map(([v, text]) => h('option', { value: v }, text)));
  const tag = h('input', { id: 'bulk-tag', type: 'text', placeholder: tr('bulk.tag'), 'aria-label': tr('bulk.tagLabel'), maxlength: 50 });
  const withTag = (key) => () => {
    const t = tag.value.trim();
    if (t) send({ [key]: [t] });
  };
  const agents = [['me', tr('bulk.assignMe')], ['none', tr('bulk.unassign')],
    ...state.agents.filter((a) => !a.disabled && (!state.me || a.id !== state.me.id)).map((a) => [String(a.id), tr('bulk.assignTo', { name: a.name })])];
  fill(bar,
    h('span', { id: 'bulk-count', role: 'status' }, tr('bulk.count', { n })),
    h('button', { type: 'button', class: 'link', id: 'bulk-all', onclick: () => { for (const id of shownIDs()) state.picked.add(id); syncBoxes(); renderBulkBar(); } }, tr('bulk.all')),
    h('button', { type: 'button', class: 'link', id: 'bulk-clear', onclick: clearPicked }, tr('bulk.clear')),
    h('div', { class: 'bulk-actions' },
      choose('bulk-set-status', tr('bulk.status'), ['open', 'pending', 'resolved', 'closed'].map((s) => [s, tr('status.' + s)]), (v) => send({ status: v })),
      choose('bulk-set-priority', tr('bulk.priority'), ['low', 'normal', 'high', 'urgent'].map((p) => [p, tr('priority.' + p)]), (v) => send({ priority: v })),
      choose('bulk-set-assignee', tr('bulk.assign'), agents, (v) => send({ assignee_id: v === 'none' ? null : v === 'me' ? state.me.id : Number(v) })),
      (state.teams || []).length ? choose('bulk-set-team', tr('bulk.team'), [['none', tr('ticket.noTeam')], ...state.teams.map((t) => [String(t.id), t.name])],
        (v) => send({ team_id: v === 'none' ? null : Number(v) })) : null,
      bulkMacroEl(send),
      tag,
      h('button', { type: 'button', id: 'bulk-add-tag', onclick: withTag('add_tags') }, tr('bulk.addTag')),
      h('button', { type: 'button', id: 'bulk-remove-tag', onclick: withTag('remove_tags') }, tr('bulk.removeTag')),
      n > 1 ? h('button', { type: 'button', id: 'bulk-merge', onclick: merge }, tr('bulk.merge')) : null));
}

function clearPicked() {
  state.picked.clear();
  syncBoxes();
  renderBulkBar();
}

// merge folds the picked tickets into the oldest of them, once the agent confirms.
function merge() {
  const ids = [...state.picked].sort((a, b) => a - b);
  if (!confirm(tr('bulk.mergeConfirm', { n: ids.length - 1, into: ids[0] }))) return;
  send({ merge_into: ids[0] });
}

async function send(change) {
  const ids = [...state.picked];
  const out = $('#bulk-status');
  out.classList.remove('error');
  out.textContent = tr('app.working');
  let res;
  try {
    res = await post('/api/v1/tickets/bulk', { ticket_ids: ids, ...change });
  } catch (e) {
    out.textContent = e.message;
    out.classList.add('error');
    return;
  }
  const failed = res.errors || [];
  state.picked.clear();
  for (const f of failed) state.picked.add(f.ticket_id); // what failed stays picked, to try again
  await reload();
  renderBulkBar();
  const n = res.tickets.length;
  const macro = change.macro_id ? (state.macros.find((m) => m.id === change.macro_id) || { name: tr('bulk.theMacro') }).name : '';
  const done = change.merge_into ? tr('bulk.merged', { into: change.merge_into }) : macro ? tr('bulk.applied', { macro, n }) : tr('bulk.changed', { n });
  out.textContent = failed.length ? tr('bulk.notChanged', { done, failures: failed.map((f) => `#${f.ticket_id}: ${f.error.message}`).join('; ') }) : done;
  out.classList.toggle('error', failed.length > 0);
}
