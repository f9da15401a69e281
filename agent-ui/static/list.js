// list.js is the inbox view: folders with live counts, filters and the ticket list.

import { get, qs } from './api.js';
import { h, fill, $ } from './dom.js';
import { ago, timeEl } from './time.js';
import { channelBadge, channelOptions } from './channels.js';
import { state, shownFolders, folderOf, listParams, matches, listOrder, customerLabel } from './state.js';
import { ticketRow } from './tickets.js';
import { renderBulkBar } from './bulk.js';
import { t as tr } from './i18n.js';

let listSeq = 0;
let loading = false;
const arrivedWhileLoading = new Map(); // ticket id -> ticket from events during a load

// loadList fetches the first page of the current folder and filters.
export async function loadList() {
  const seq = ++listSeq;
  loading = true;
  arrivedWhileLoading.clear();
  try {
    const res = await get('/api/v1/tickets' + qs({ ...listParams(), limit: 50 }));
    if (seq !== listSeq) return;
    state.tickets = res.tickets;
    state.nextCursor = res.next_cursor || '';
    remember(res.tickets);
    // Apply what the socket brought while the request was in flight.
    for (const t of arrivedWhileLoading.values()) upsert(t, false);
  } catch (e) {
    if (seq !== listSeq) return;
    state.tickets = [];
    state.nextCursor = '';
    fill($('#list-body'), h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  } finally {
    if (seq === listSeq) loading = false;
  }
  renderList();
}

export async function loadMore() {
  if (!state.nextCursor) return;
  const res = await get('/api/v1/tickets' + qs({ ...listParams(), limit: 50, cursor: state.nextCursor }));
  const seen = new Set(state.tickets.map((t) => t.id));
  state.tickets.push(...res.tickets.filter((t) => !seen.has(t.id)));
  state.nextCursor = res.next_cursor || '';
  renderList();
}

// upsert applies a ticket from a live event to the list.
export function upsert(t, render = true) {
  if (loading) arrivedWhileLoading.set(t.id, t);
  if (state.search) return;
  const i = state.tickets.findIndex((x) => x.id === t.id);
  if (matches(t)) {
    if (i >= 0) state.tickets[i] = t;
    else state.tickets.push(t);
    state.tickets.sort(listOrder());
  } else if (i >= 0) {
    state.tickets.splice(i, 1);
  }
  if (render) renderList();
}

export function renderFolders() {
  const list = $('#folder-list');
  fill(list, shownFolders().map((f) => {
    const c = counts[f.id];
    const current = !state.search && state.folder === f.id;
    return h('li', {},
      h('a', { href: '#/inbox/' + f.id, 'aria-current': current ? 'page' : null, class: 'folder', dataset: { folder: f.id } },
        h('span', {}, f.name),
        h('span', { class: 'count', 'aria-label': c == null ? null : tr('list.count', { n: c }) }, c == null ? '' : c)));
  }));
}

let counts = {};              // folder id -> the count shown
let countTimer = 0;
let lastCounts = 0;           // when the counts were last asked for
const countKeys = new Map();  // ticket id -> its status and assignee as last seen

// Counts cost a request per folder, so they are read at most every 2 seconds.
const countInterval = 2000;

// refreshCounts reloads the folder counts as soon as the last reload is 2 seconds old;
// every call until then joins the one reload.
export function refreshCounts() {
  if (countTimer) return;
  const wait = Math.max(0, lastCounts + countInterval - Date.now());
  countTimer = setTimeout(() => {
    countTimer = 0;
    lastCounts = Date.now();
    loadCounts();
  }, wait);
}

// countsChange records ticket t from an event and reports whether it can change a
// folder count: it is new to the console, or its status or assignee changed. A new
// message or a new tag changes no count.
export function countsChange(t) {
  const key = countKey(t);
  const was = countKeys.get(t.id);
  countKeys.set(t.id, key);
  return was === undefined ? t.status !== 'closed' : was !== key;
}

const countKey = (t) => `${t.status}|${t.assignee_id || 0}|${t.merged_into || 0}|${t.snoozed_until || ''}|${!!t.snooze_until_reply}`;

function remember(tickets) {
  for (const t of tickets) countKeys.set(t.id, countKey(t));
}

async function loadCounts() {
  if (!state.me) return; // signed out while the reload waited
  const next = {};
  await Promise.all(shownFolders().filter((f) => !f.noCount).map(async (f) => {
    try {
      const res = await get('/api/v1/tickets' + qs({ ...f.params, limit: 200 }));
      remember(res.tickets);
      next[f.id] = res.tickets.length + (res.next_cursor ? '+' : '');
    } catch { /* leave the count empty */ }
  }));
  if (!state.me) return;
  counts = next;
  renderFolders();
}

// resetList forgets the list and its counts, for the next agent to sign in.
export function resetList() {
  listSeq++;
  counts = {};
  countKeys.clear();
  Object.assign(state, { tickets: [], nextCursor: '', search: '', unread: new Set() });
  fill($('#list-body'));
  renderFolders();
}

export function renderList() {
  const body = $('#list-body');
  $('#list-title').textContent = state.search ? tr('list.search', { q: state.search }) : folderOf(state.folder).name;
  $('#clear-search').hidden = !state.search;
  $('#load-more').hidden = !state.nextCursor || !!state.search;
  if (state.tickets.length === 0) {
    fill(body, h('p', { class: 'empty-state', id: 'list-empty' }, tr('list.empty')));
    renderBulkBar();
    return;
  }
  fill(body, h('ul', { class: 'tickets', id: 'ticket-list' }, state.tickets.map(ticketRow)));
  renderBulkBar();
}

// markCurrent highlights the open ticket without rebuilding the list.
export function markCurrent() {
  for (const li of document.querySelectorAll('.ticket-row')) {
    const on = Number(li.dataset.id) === state.ticketID;
    li.classList.toggle('current', on);
    const a = li.querySelector('a');
    if (on) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current');
    if (on) li.classList.remove('unread');
  }
}

// refreshTimes updates the "5 minutes ago" labels.
export function refreshTimes() {
  for (const el of document.querySelectorAll('time.ago')) {
    el.textContent = ago(el.getAttribute('datetime'));
  }
}

// neighbour returns the id of the ticket after (+1) or before (-1) the open one.
export function neighbour(step) {
  const ids = [...document.querySelectorAll('#list-body .ticket-row[data-id]')].map((li) => Number(li.dataset.id));
  if (ids.length === 0) return 0;
  const i = ids.indexOf(state.ticketID);
  if (i < 0) return step > 0 ? ids[0] : ids[ids.length - 1];
  return ids[Math.max(0, Math.min(ids.length - 1, i + step))];
}

// searchFilters narrow the search results: status, channel, inbox and dates of the
// tickets and messages found. They last until the search is cleared.
const searchFilters = { status: '', channel: '', inbox: '', from: '', to: '' };

// runSearch shows what GET /api/v1/search finds in the list pane.
export async function runSearch(q) {
  if (q !== state.search) Object.assign(searchFilters, { status: '', channel: '', inbox: '', from: '', to: '' });
  state.search = q;
  listSeq++;
  const body = $('#list-body');
  $('#list-title').textContent = tr('list.search', { q });
  $('#clear-search').hidden = false;
  $('#load-more').hidden = true;
  renderFolders();
  fill(body, searchBar(q), h('p', { class: 'muted' }, tr('list.searching')));
  let res;
  try {
    res = await get('/api/v1/search' + qs({ q, ...searchFilters }));
  } catch (e) {
    fill(body, searchBar(q), h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  if (state.search !== q) return;
  const sections = [searchBar(q)];
  sections.push(h('h3', { class: 'small-heading' }, tr('list.tickets', { n: res.tickets.length })));
  sections.push(res.tickets.length ? h('ul', { class: 'tickets' }, res.tickets.map(ticketRow)) : h('p', { class: 'muted' }, tr('list.noTickets')));
  sections.push(h('h3', { class: 'small-heading' }, tr('list.messages', { n: res.messages.length })));
  sections.push(res.messages.length ? h('ul', { class: 'results' }, res.messages.map((m) =>
    h('li', { dataset: { id: m.ticket_id } }, h('a', { href: '#/tickets/' + m.ticket_id },
      h('span', { class: 'row1' }, channelBadge(m.channel), h('span', { class: 'customer' }, m.author.name || m.author.kind), timeEl(m.created_at)),
      h('span', { class: 'snippet' }, marked(snippet(m.text, q), q)),
      h('span', { class: 'num' }, tr('list.ticketNumber', { id: m.ticket_id })))))) : h('p', { class: 'muted' }, tr('list.noMessages')));
  sections.push(h('h3', { class: 'small-heading' }, tr('list.customers', { n: res.customers.length })));
  sections.push(res.customers.length ? h('ul', { class: 'results' }, res.customers.map((c) =>
    h('li', {}, h('a', { href: '#/customers/' + c.id },
      h('span', { class: 'customer' }, marked(customerLabel(c), q)),
      h('span', { class: 'snippet' }, marked((c.identities || []).map((i) => i.address).join(' · '), q)))))) : h('p', { class: 'muted' }, tr('list.noCustomers')));
  fill(body, sections);
  renderBulkBar();
}

// searchBar is the filter row above the results; a change runs the search again.
function searchBar(q) {
  const again = (key) => (ev) => {
    searchFilters[key] = ev.target.value;
    runSearch(q);
  };
  const sel = (key, label, options) => h('label', {}, h('span', { class: 'visually-hidden' }, label),
    h('select', { id: 'search-' + key, onchange: again(key) }, options));
  return h('div', { class: 'search-filters', role: 'group', 'aria-label': tr('list.narrow') },
    sel('status', tr('filters.status'), [h('option', { value: '' }, tr('list.anyStatus')),
      ['open', 'pending', 'resolved', 'closed'].map((v) => h('option', { value: v, selected: searchFilters.status === v }, tr('status.' + v)))]),
    sel('channel', tr('filters.channel'), channelOptions(searchFilters.channel)),
    sel('inbox', tr('filters.inbox'), [h('option', { value: '' }, tr('filters.allInboxes')),
      state.inboxes.map((i) => h('option', { value: String(i.id), selected: searchFilters.inbox === String(i.id) }, i.name))]),
    h('label', {}, tr('list.from'), ' ', h('input', { type: 'date', id: 'search-from', value: searchFilters.from, onchange: again('from') })),
    h('label', {}, tr('list.to'), ' ', h('input', { type: 'date', id: 'search-to', value: searchFilters.to, onchange: again('to') })));
}

// marked returns text with the words of q in <mark>, as text nodes: nothing of text is
// parsed as HTML.
function marked(text, q) {
  const words = String(q).toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 1);
  if (!words.length) return text;
  const s = String(text || '');
  const low = s.toLowerCase();
  const out = [];
  let i = 0;
  while (i < s.length) {
    let best = -1;
    let len = 0;
    for (const w of words) {
      const j = low.indexOf(w, i);
      if (j >= 0 && (best < 0 || j < best)) { best = j; len = w.length; }
    }
    if (best < 0) break;
    if (best > i) out.push(s.slice(i, best));
    out.push(h('mark', {}, s.slice(best, best + len)));
    i = best + len;
  }
  out.push(s.slice(i));
  return out;
}

function snippet(text, q) {
  const s = String(text || '').replace(/\s+/g, ' ');
  const word = String(q).split(/\s+/).find(Boolean) || '';
  const i = word ? s.toLowerCase().indexOf(word.toLowerCase()) : -1;
  const start = Math.max(0, i - 60);
  return (start > 0 ? '…' : '') + s.slice(start, start + 180) + (s.length > start + 180 ? '…' : '');
}
