// ticket.js is the conversation view: the thread across channels, the reply box with
// notes and canned responses, the ticket controls and the collision warnings.

import { get, post, patch, qs } from './api.js';
import { h, fill, $, channelBadge, channelName, timeEl, when, bytes, money } from './dom.js';
import { state, agentName, inboxName } from './state.js';
import { upsert, markCurrent } from './list.js';
import { renderCustomer } from './customer.js';
import { fillPlaceholders } from './canned.js';
import { ticketExtras } from './history.js';

let live = null;          // the socket, to send typing and viewing
let openSeq = 0;
const drafts = new Map(); // ticket id -> {text, mode}: drafts survive switching tickets
let mode = 'reply';
let conflict = null;      // {name} of an agent who replied while this agent was typing
let lastTyping = 0;
let olderCursor = '';     // where the earlier messages of the open ticket continue
let confirmClose = false; // the "Closing is final" question is showing
const remoteShown = new Set(); // message ids whose remote images the agent chose to load

// A thread is read from its end, a page at a time.
const pageSize = 100;

export function useSocket(l) { live = l; }

// openTicket loads a ticket with its whole thread and shows it.
export async function openTicket(id) {
  const seq = ++openSeq;
  saveDraft();
  state.ticketID = id;
  state.unread.delete(id);
  // The sidebar still holds the previous ticket's customer until the new one loads:
  // canned responses must not name them.
  state.customer = null;
  state.orders = [];
  inlineImages.clear();
  markCurrent();
  const pane = $('#ticket-pane');
  fill(pane, h('p', { class: 'muted pad' }, 'Loading…'));
  let t, page;
  try {
    [t, page] = await Promise.all([get('/api/v1/tickets/' + id), threadPage(id, '')]);
  } catch (e) {
    if (seq !== openSeq) return;
    state.ticket = null;
    fill(pane, h('p', { class: 'error pad', role: 'alert' }, e.message));
    fill($('#side-pane'));
    return;
  }
  if (seq !== openSeq) return;
  state.ticket = t;
  state.messages = page.messages;
  olderCursor = page.cursor;
  conflict = null;
  confirmClose = false;
  renderTicket();
  sendViewing();
  renderCustomer(t.customer_id, $('#side-pane'), t.id);
}

// threadPage loads the page of messages before cursor ('' for the newest), oldest first.
async function threadPage(id, cursor) {
  const res = await get(`/api/v1/tickets/${id}/messages` + qs({ order: 'desc', limit: pageSize, cursor }));
  return { messages: res.messages.reverse(), cursor: res.next_cursor || '' };
}

// loadEarlier adds the page before the oldest message shown, keeping the agent's place.
async function loadEarlier() {
  const id = state.ticketID;
  const btn = $('#load-earlier');
  btn.disabled = true;
  let page;
  try {
    page = await threadPage(id, olderCursor);
  } catch (e) {
    if (state.ticketID === id) $('#ticket-error').textContent = e.message;
    return;
  } finally {
    btn.disabled = false;
  }
  if (state.ticketID !== id) return;
  const known = new Set(state.messages.map((m) => m.id));
  const older = page.messages.filter((m) => !known.has(m.id));
  state.messages.unshift(...older);
  olderCursor = page.cursor;
  const thread = $('#thread');
  const height = thread.scrollHeight;
  for (const m of older) placeInThread(thread, renderMessage(m));
  thread.scrollTop += thread.scrollHeight - height;
  $('#earlier').hidden = !olderCursor;
}

// placeInThread inserts a message or an order action in time order; messages of the
// same moment keep the order of their ids.
function placeInThread(thread, el) {
  const at = new Date(el.dataset.at);
  const id = Number(el.dataset.id) || 0;
  const next = [...thread.children].find((li) => {
    const t = new Date(li.dataset.at);
    return t > at || (id > 0 && +t === +at && Number(li.dataset.id) > id);
  });
  thread.insertBefore(el, next || null);
}

export function closeTicket() {
  saveDraft();
  openSeq++;
  const was = state.ticketID;
  state.ticketID = 0;
  if (was) sendViewing();
  state.ticket = null;
  state.messages = [];
  fill($('#ticket-pane'), h('div', { class: 'empty-state' },
    h('p', {}, 'Select a ticket, or press ', h('kbd', {}, 'j'), ' to open the first one.')));
  fill($('#side-pane'));
  markCurrent();
}

// forgetSession drops what belongs to the agent who signed out: the open ticket and the
// drafts, which must not greet whoever signs in next at this screen.
export function forgetSession() {
  openSeq++;
  drafts.clear();
  remoteShown.clear();
  inlineImages.clear();
  conflict = null;
  confirmClose = false;
  Object.assign(state, { ticketID: 0, ticket: null, messages: [], customer: null, orders: [] });
  fill($('#ticket-pane'));
  fill($('#side-pane'));
}

function saveDraft() {
  const ta = $('#reply-body');
  if (state.ticketID && ta) drafts.set(state.ticketID, { text: ta.value, mode });
}

function renderTicket() {
  const t = state.ticket;
  const pane = $('#ticket-pane');
  const draft = drafts.get(t.id) || { text: '', mode: 'reply' };
  mode = draft.mode;
  fill(pane,
    h('div', { class: 'ticket-top' },
      h('button', { type: 'button', class: 'link back', onclick: () => { location.hash = '#/inbox/' + state.folder; } }, '← Back to list'),
      h('header', { class: 'ticket-head', id: 'ticket-head' }),
      h('div', { id: 'collisions', class: 'collisions', role: 'status', 'aria-live': 'polite' }),
      ticketExtras(t),
      h('p', { id: 'ticket-error', class: 'error', role: 'alert' })),
    h('ol', { id: 'thread', class: 'thread', 'aria-label': 'Messages', tabindex: '0' },
      h('li', { id: 'earlier', class: 'earlier', hidden: !olderCursor },
        h('button', { type: 'button', id: 'load-earlier', class: 'link', onclick: loadEarlier }, 'Load earlier messages')),
      state.messages.map(renderMessage)),
    replyForm(draft.text));
  renderHead();
  renderCollisions();
  setMode(mode, false);
  const thread = $('#thread');
  const last = thread.lastElementChild;
  if (last) last.scrollIntoView({ block: 'nearest' });
}

function renderHead() {
  const t = state.ticket;
  const head = $('#ticket-head');
  if (!head) return;
  const closed = t.status === 'closed';
  // Only agents who can see the ticket's inbox may be assigned; the API refuses others.
  const canSee = (a) => a.role === 'manager' || a.role === 'admin' || (a.inbox_ids || []).includes(t.inbox_id);
  const agents = state.agents.filter((a) => a.id === t.assignee_id || (!a.disabled && canSee(a)));
  fill(head,
    h('h2', { id: 'ticket-subject' }, t.subject || '(no subject)'),
    h('p', { class: 'meta' },
      h('span', { class: 'num' }, '#' + t.id), ' · ', channelBadge(t.channel), ' · ', inboxName(t.inbox_id),
      ' · opened ', timeEl(t.created_at),
      t.linked_ticket_id ? [' · follows ', h('a', { href: '#/tickets/' + t.linked_ticket_id }, '#' + t.linked_ticket_id)] : null,
      t.merged_into ? [' · merged into ', h('a', { href: '#/tickets/' + t.merged_into }, '#' + t.merged_into)] : null),
    h('div', { class: 'controls' },
      field('t-status', 'Status', h('select', { id: 't-status', disabled: closed, onchange: changeStatus },
        ['open', 'pending', 'resolved', 'closed'].map((s) => h('option', { value: s, selected: s === t.status }, cap(s))))),
      field('t-priority', 'Priority', h('select', { id: 't-priority', disabled: closed, onchange: (e) => update({ priority: e.target.value }) },
        ['low', 'normal', 'high', 'urgent'].map((p) => h('option', { value: p, selected: p === t.priority }, cap(p))))),
      field('t-assignee', 'Assignee', h('select', { id: 't-assignee', disabled: closed, onchange: (e) => update({ assignee_id: e.target.value ? Number(e.target.value) : null }) },
        h('option', { value: '', selected: !t.assignee_id }, 'Unassigned'),
        agents.map((a) => h('option', { value: a.id, selected: a.id === t.assignee_id }, a.id === state.me.id ? `${a.name} (me)` : a.name)))),
      field('t-tags', 'Tags', h('input', { id: 't-tags', type: 'text', disabled: closed, value: (t.tags || []).join(', '),
        placeholder: 'comma, separated', autocomplete: 'off', onchange: (e) => update({ tags: parseTags(e.target.value) }) })),
      t.status === 'resolved' || closed
        ? h('button', { type: 'button', id: 'reopen', disabled: closed, onclick: () => update({ status: 'open' }) }, 'Reopen')
        : h('button', { type: 'button', id: 'resolve', class: 'primary', onclick: resolveCurrent, title: 'Shortcut: e' }, 'Resolve')),
    confirmClose && !closed ? h('div', { id: 'close-confirm', class: 'confirm', role: 'alert' },
      h('p', {}, 'Closing is final: the customer’s next message opens a new ticket.'),
      h('button', { type: 'button', id: 'confirm-close', class: 'danger', onclick: () => { confirmClose = false; update({ status: 'closed' }); } }, 'Close ticket'),
      ' ',
      h('button', { type: 'button', id: 'cancel-close', onclick: () => { confirmClose = false; renderHead(); $('#t-status').focus(); } }, 'Cancel')) : null);
  if (confirmClose && $('#confirm-close')) $('#confirm-close').focus();
}

// changeStatus saves a new status at once, except "closed": that cannot be undone, so
// the select goes back until the agent confirms.
function changeStatus(e) {
  if (e.target.value !== 'closed') {
    update({ status: e.target.value });
    return;
  }
  confirmClose = true;
  renderHead();
}

function field(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

function parseTags(s) {
  const seen = new Set();
  for (const p of s.split(',')) {
    const tag = p.trim().toLowerCase();
    if (tag) seen.add(tag);
  }
  return [...seen];
}

async function update(change) {
  const t = state.ticket;
  if (!t) return;
  $('#ticket-error').textContent = '';
  try {
    const nt = await patch('/api/v1/tickets/' + t.id, change);
    if (state.ticket && state.ticket.id === nt.id) state.ticket = nt;
    upsert(nt);
    markCurrent();
  } catch (e) {
    const el = $('#ticket-error');
    if (el) el.textContent = e.message;
  }
  renderHead();
}

// resolveCurrent resolves the open ticket (shortcut e).
export function resolveCurrent() {
  if (state.ticket && !['resolved', 'closed'].includes(state.ticket.status)) update({ status: 'resolved' });
}

const dirLabel = { in: 'Customer', out: 'Reply', note: 'Internal note' };
const deliveryLabel = { queued: 'Queued', sent: 'Sent', delivered: 'Delivered', failed: 'Failed', received: 'Received' };

function renderMessage(m) {
  const who = m.author && m.author.name ? m.author.name : (m.direction === 'in' ? 'Customer' : 'Agent');
  return h('li', { class: `msg dir-${m.direction}`, id: 'm' + m.id, dataset: { id: m.id, at: m.created_at } },
    h('div', { class: 'msg-head' },
      channelBadge(m.channel),
      h('span', { class: 'dir' }, dirLabel[m.direction] || m.direction),
      h('strong', { class: 'author' }, who),
      timeEl(m.created_at, when),
      m.direction === 'out' ? delivery(m) : null),
    body(m),
    m.attachments && m.attachments.length ? h('ul', { class: 'attachments', 'aria-label': 'Attachments' }, m.attachments.map((a) =>
      h('li', {}, h('a', { href: '/api/v1/attachments/' + a.id, download: a.filename || 'attachment' }, a.filename || 'attachment'),
        ' ', h('span', { class: 'muted' }, `${a.content_type || ''} ${bytes(a.size || 0)}`)))) : null);
}

function delivery(m) {
  const label = deliveryLabel[m.status] || m.status;
  return h('span', { class: 'delivery st-' + m.status },
    m.status === 'failed' && m.error ? `${label}: ${m.error}` : label);
}

// emailDoc wraps prepared HTML for a sandboxed frame. The frame has no allow-scripts and
// no allow-same-origin (only popups, so links open in a new tab), and its own CSP forbids
// every fetch but data: images and, when the agent asked for them, https: images.
function emailDoc(html, remote) {
  return '<!doctype html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:${remote ? ' https:' : ''}; style-src 'unsafe-inline'">` +
    '<meta name="referrer" content="no-referrer"><base target="_blank">' +
    '</head><body>' + html + '</body></html>';
}

const inlineImages = new Map(); // attachment id -> promise of a data: URL, or '' when unusable
const attachmentPath = /^\/api\/v1\/attachments\/(\d+)$/;
const inlineTypes = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];
const maxInline = 5 << 20;

// inlineImage fetches an attachment with the console's session and returns it as a data:
// URL: the frame has no origin, so it could not send the session cookie itself.
function inlineImage(id) {
  if (!inlineImages.has(id)) {
    inlineImages.set(id, fetch('/api/v1/attachments/' + id, { credentials: 'same-origin' })
      .then((res) => (res.ok ? res.blob() : null))
      .then((blob) => {
        if (!blob || blob.size > maxInline || !inlineTypes.includes(blob.type.split(';')[0].trim())) return '';
        return new Promise((resolve) => {
          const r = new FileReader();
          r.onload = () => resolve(String(r.result));
          r.onerror = () => resolve('');
          r.readAsDataURL(blob);
        });
      })
      .catch(() => ''));
  }
  return inlineImages.get(id);
}

// prepareEmail readies sanitized HTML for its frame: links open a new tab without opener
// or referrer, inline images become data: URLs and remote images are left out unless
// remote is true, so that a tracking pixel learns nothing. It also counts the remote
// images, for the button that loads them. DOMParser builds an inert document: nothing in
// it loads or runs.
async function prepareEmail(html, remote) {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  for (const el of doc.body.querySelectorAll('meta, base, link')) el.remove();
  for (const a of doc.body.querySelectorAll('a[href]')) {
    if (!/^(https?|mailto|tel):/i.test(a.getAttribute('href').trim())) a.removeAttribute('href');
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  }
  let remotes = 0;
  const waits = [];
  for (const img of doc.body.querySelectorAll('img')) {
    img.removeAttribute('srcset');
    const src = (img.getAttribute('src') || '').trim();
    const inline = attachmentPath.exec(src);
    if (inline) {
      waits.push(inlineImage(inline[1]).then((url) => { if (url) img.src = url; else img.removeAttribute('src'); }));
    } else if (/^https?:\/\//i.test(src)) {
      remotes++;
      if (!remote) img.removeAttribute('src');
    } else if (!/^data:image\//i.test(src)) {
      img.removeAttribute('src'); // cid: links not yet pointed at an attachment, relative paths
    }
  }
  await Promise.all(waits);
  return { html: doc.body.innerHTML, remotes };
}

function body(m) {
  const text = h('div', { class: 'text' }, m.text || '');
  if (!m.html) return text;
  const lines = (m.text || '').split('\n').length;
  const frame = h('iframe', {
    class: 'email-frame', sandbox: 'allow-popups allow-popups-to-escape-sandbox', referrerpolicy: 'no-referrer',
    title: 'Message from ' + (m.author && m.author.name ? m.author.name : 'the customer'),
  });
  frame.style.height = Math.min(640, Math.max(120, lines * 22 + 60)) + 'px';
  // An iframe loads about:blank when inserted; only the message's own document counts.
  frame.addEventListener('load', () => { if (frame.srcdoc) frame.dataset.loaded = 'true'; });
  const images = h('button', { type: 'button', class: 'link small load-images', hidden: true }, 'Load remote images');
  const show = async () => {
    const remote = remoteShown.has(m.id);
    const doc = await prepareEmail(m.html, remote);
    frame.dataset.loaded = 'false';
    frame.dataset.remote = remote ? 'shown' : doc.remotes ? 'blocked' : 'none';
    frame.srcdoc = emailDoc(doc.html, remote);
    images.hidden = remote || doc.remotes === 0;
  };
  images.addEventListener('click', () => {
    remoteShown.add(m.id);
    show();
  });
  show();
  text.hidden = true;
  const toggle = h('button', { type: 'button', class: 'link small', 'aria-pressed': 'false' }, 'Show plain text');
  toggle.addEventListener('click', () => {
    const plain = text.hidden;
    text.hidden = !plain;
    frame.hidden = plain;
    toggle.textContent = plain ? 'Show formatted' : 'Show plain text';
    toggle.setAttribute('aria-pressed', String(plain));
  });
  return h('div', { class: 'html-body' }, frame, text, h('div', { class: 'email-actions' }, toggle, images));
}

// onMessage applies message.created and message.updated events.
export function onMessage(type, m) {
  if (!m || m.ticket_id !== state.ticketID) {
    if (type === 'message.created' && m && m.direction === 'in') state.unread.add(m.ticket_id);
    return;
  }
  if (type === 'message.created' && m.direction === 'in' && document.hidden) state.unread.add(m.ticket_id);
  const i = state.messages.findIndex((x) => x.id === m.id);
  if (i >= 0) state.messages[i] = m; else state.messages.push(m);
  const thread = $('#thread');
  if (!thread) return;
  const old = document.getElementById('m' + m.id);
  const el = renderMessage(m);
  if (old) old.replaceWith(el);
  else {
    thread.append(el);
    el.scrollIntoView({ block: 'nearest' });
  }
  if (m.direction === 'in') $('#reply-channel').textContent = replyLabel();
  if (type === 'message.created' && m.direction === 'out' && m.author && m.author.kind === 'agent' && m.author.id !== state.me.id) {
    const ta = $('#reply-body');
    if (ta && ta.value.trim() !== '') conflict = { name: m.author.name || agentName(m.author.id) };
  }
}

// onTicket applies ticket.created and ticket.updated events to the open ticket.
export function onTicket(t) {
  if (!state.ticket || t.id !== state.ticket.id) return;
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('#ticket-head');
  state.ticket = t;
  // Do not pull a control from under the agent's hands.
  if (!focused) renderHead();
  setMode(mode, false);
}

function replyForm(text) {
  const t = state.ticket;
  const closed = t.status === 'closed';
  const ta = h('textarea', { id: 'reply-body', rows: 4, maxlength: 20000, disabled: closed, value: text });
  ta.addEventListener('input', onInput);
  ta.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      $('#reply').requestSubmit();
    } else if (e.key === 'Escape') {
      ta.blur();
    }
  });
  const form = h('form', { id: 'reply', class: 'reply', novalidate: true },
    h('div', { class: 'reply-top' },
      h('fieldset', { class: 'modes' },
        h('legend', { class: 'visually-hidden' }, 'Message type'),
        h('label', {}, h('input', { type: 'radio', name: 'mode', value: 'reply', id: 'mode-reply', checked: mode === 'reply' }),
          ' ', h('span', { id: 'reply-channel' }, replyLabel())),
        h('label', {}, h('input', { type: 'radio', name: 'mode', value: 'note', id: 'mode-note', checked: mode === 'note' }), ' Internal note')),
      h('div', { class: 'canned-row' },
        h('label', { for: 'canned-select' }, 'Canned'),
        h('select', { id: 'canned-select', disabled: closed, onchange: insertCanned },
          h('option', { value: '' }, state.canned.length ? 'Insert a canned response…' : 'No canned responses'),
          state.canned.map((c) => h('option', { value: c.id }, c.title))))),
    h('p', { class: 'note-label', id: 'note-label' }, 'Internal note: only agents see it; it is never sent to the customer.'),
    h('label', { for: 'reply-body', id: 'reply-label', class: 'visually-hidden' }, 'Reply to the customer'),
    ta,
    h('p', { id: 'reply-hint', class: 'muted small' }),
    h('div', { id: 'reply-conflict', class: 'conflict', role: 'alert' }),
    h('p', { id: 'reply-error', class: 'error', role: 'alert' }),
    h('div', { class: 'reply-actions' },
      closed ? h('span', { class: 'muted' }, 'This ticket is closed.') : null,
      h('button', { type: 'submit', id: 'send', class: 'primary', disabled: closed }, 'Send reply')));
  form.addEventListener('change', (e) => {
    if (e.target.name === 'mode') setMode(e.target.value, true);
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    send(false);
  });
  return form;
}

// replyLabel names the channel a reply goes out on: the server answers on the channel of
// the customer's latest message, not the one the ticket began on.
function replyLabel() {
  const last = state.messages.findLast((m) => m.direction === 'in');
  return 'Reply by ' + channelName(last ? last.channel : state.ticket.channel);
}

function setMode(m, focus) {
  mode = m === 'note' ? 'note' : 'reply';
  const form = $('#reply');
  if (!form) return;
  form.classList.toggle('is-note', mode === 'note');
  $('#mode-' + mode).checked = true;
  $('#note-label').hidden = mode !== 'note';
  $('#reply-label').textContent = mode === 'note' ? 'Internal note' : 'Reply to the customer';
  $('#send').textContent = mode === 'note' ? 'Add note' : 'Send reply';
  if (focus) $('#reply-body').focus();
}

// focusReply switches the box to a reply or a note and puts the cursor in it (r, n).
export function focusReply(m) {
  if (!state.ticket || !$('#reply')) return;
  setMode(m, true);
}

function onInput() {
  if (mode !== 'reply' || !state.ticketID || !live) return;
  const now = Date.now();
  if (now - lastTyping > 2500) {
    lastTyping = now;
    live.send({ type: 'typing', ticket_id: state.ticketID });
  }
}

// sendViewing tells the other agents which ticket is open here; 0 means none. The hub
// remembers it and tells agents who connect later, so it is sent only on a change and
// after a reconnect.
export function sendViewing() {
  if (!live) return;
  live.send({ type: 'viewing', ticket_id: state.ticketID || 0 });
}

async function send(confirmed) {
  const ta = $('#reply-body');
  const body = ta.value.trim();
  const err = $('#reply-error');
  err.textContent = '';
  if (!body) {
    err.textContent = mode === 'note' ? 'Write the note first.' : 'Write a reply first.';
    ta.focus();
    return;
  }
  if (mode === 'reply' && conflict && !confirmed) {
    showConflict();
    return;
  }
  const ticketID = state.ticketID;
  const btn = $('#send');
  btn.disabled = true;
  try {
    const m = await post(`/api/v1/tickets/${ticketID}/messages`, { body, internal: mode === 'note' });
    if (state.ticketID !== ticketID) return;
    ta.value = '';
    drafts.delete(ticketID);
    conflict = null;
    fill($('#reply-conflict'));
    $('#reply-hint').textContent = '';
    onMessage('message.created', m);
  } catch (e) {
    err.textContent = e.message;
  } finally {
    btn.disabled = state.ticket && state.ticket.status === 'closed';
  }
}

function showConflict() {
  const box = $('#reply-conflict');
  fill(box,
    h('p', {}, `${conflict.name} replied meanwhile — send anyway?`),
    h('button', { type: 'button', id: 'send-anyway', class: 'primary', onclick: () => { conflict = null; fill(box); send(true); } }, 'Send anyway'),
    ' ',
    h('button', { type: 'button', id: 'review', onclick: () => {
      conflict = null;
      fill(box);
      const last = $('#thread').lastElementChild;
      if (last) last.scrollIntoView({ block: 'nearest' });
      $('#reply-body').focus();
    } }, 'Review first'));
  $('#send-anyway').focus();
}

function insertCanned(e) {
  const id = Number(e.target.value);
  e.target.value = '';
  const c = state.canned.find((x) => x.id === id);
  if (!c) return;
  // Only the open ticket's own customer may fill {{customer.name}} and {{order.number}}.
  const t = state.ticket;
  const customer = state.customer && t && state.customer.id === t.customer_id ? state.customer : null;
  const { text, missing } = fillPlaceholders(c.body, {
    customer, ticket: t, agent: state.me, orders: customer ? state.orders : [],
  });
  const ta = $('#reply-body');
  const start = ta.selectionStart ?? ta.value.length;
  const end = ta.selectionEnd ?? ta.value.length;
  ta.setRangeText(text, start, end, 'end');
  ta.focus();
  ta.dispatchEvent(new Event('input'));
  $('#reply-hint').textContent = missing.length ? `Fill in by hand: ${missing.join(', ')}` : '';
}

// onCollision records a typing or viewing frame of another agent. Viewing lasts until the
// agent views another ticket, views none (ticket 0) or goes offline; typing fades after
// a few seconds without a new frame.
export function onCollision(type, d) {
  if (!d) return;
  const now = Date.now();
  if (!d.agent_id && d.customer_id && d.ticket_id && type === 'typing') {
    // The shopper typing in the chat widget.
    let m = state.collisions.get(d.ticket_id);
    if (!m) state.collisions.set(d.ticket_id, (m = new Map()));
    m.set('customer', { name: 'The customer', viewing: false, typing: now + 6000, customer: true });
    renderCollisions();
    return;
  }
  if (!d.agent_id || d.agent_id === state.me.id) return;
  if (type === 'viewing') {
    for (const [tid, m] of state.collisions) {
      if (tid !== d.ticket_id) m.delete(d.agent_id);
    }
  }
  if (d.ticket_id) {
    let m = state.collisions.get(d.ticket_id);
    if (!m) state.collisions.set(d.ticket_id, (m = new Map()));
    const c = m.get(d.agent_id) || { name: '', viewing: false, typing: 0 };
    c.name = d.agent_name || agentName(d.agent_id);
    // Typing implies viewing: the typist has the ticket open.
    c.viewing = true;
    if (type === 'typing') c.typing = now + 6000;
    m.set(d.agent_id, c);
  }
  renderCollisions();
}

// agentGone forgets what an agent who went offline was viewing.
export function agentGone(agentID) {
  for (const m of state.collisions.values()) m.delete(agentID);
  renderCollisions();
}

// renderCollisions shows who else has the open ticket, dropping expired entries.
export function renderCollisions() {
  const now = Date.now();
  for (const [tid, m] of state.collisions) {
    if (m.size === 0) state.collisions.delete(tid);
  }
  const box = $('#collisions');
  if (!box) return;
  const m = state.collisions.get(state.ticketID);
  const lines = [];
  if (m) {
    for (const [key, c] of m) {
      if (c.customer) {
        if (c.typing > now) lines.push(h('p', { class: 'typing customer' }, 'The customer is typing…'));
        else m.delete(key);
        continue;
      }
      lines.push(c.typing > now
        ? h('p', { class: 'typing' }, `${c.name} is typing a reply`)
        : h('p', { class: 'viewing' }, `${c.name} is viewing`));
    }
  }
  // Replace only on change, so screen readers do not hear the same news every second.
  const text = lines.map((l) => l.textContent).join('|');
  if (box.dataset.text !== text) {
    box.dataset.text = text;
    fill(box, lines);
  }
}

// onThreadAction shows an action on an order (order.action) in the thread of the ticket
// it was taken from, in time order among the messages, once per action.
export function onThreadAction(a) {
  const thread = $('#thread');
  if (!thread || !a || a.ticket_id !== state.ticketID) return;
  const id = 'oa' + a.id;
  const el = h('li', { class: `msg dir-event order-action st-${a.status}`, id, dataset: { at: a.created_at } },
    h('div', { class: 'msg-head' },
      h('span', { class: 'dir' }, 'Order action'),
      h('strong', { class: 'author' }, a.actor && a.actor.kind === 'agent' ? agentName(a.actor.id) : 'Parley'),
      timeEl(a.created_at, when)),
    h('div', { class: 'text' }, orderActionText(a)));
  const old = document.getElementById(id);
  if (old) {
    old.replaceWith(el);
    return;
  }
  placeInThread(thread, el);
}

const orderActionVerbs = { cancel: 'Cancel order', refund: 'Refund order', resend_confirmation: 'Send the summary of order' };

function orderActionText(a) {
  const amount = a.kind === 'refund' && a.amount ? ` (${money(a.amount, a.currency)})` : '';
  const outcome = a.status === 'succeeded' ? 'done' : a.status === 'failed' ? `failed: ${a.error || 'no reason given'}` : a.status;
  return `${orderActionVerbs[a.kind] || a.kind} ${a.order_number}${amount} — ${outcome}`;
}
