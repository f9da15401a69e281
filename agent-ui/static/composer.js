// composer.js is the reply box of the open ticket: a reply on the customer's channel or an
// internal note, canned responses with their placeholders filled in, drafts that survive
// switching tickets, the question before sending when another agent replied meanwhile,
// and on WhatsApp the 24-hour window with its templates (whatsapp.js).

import { post } from './api.js';
import { h, fill, $, announce } from './dom.js';
import { channelName } from './channels.js';
import { state, agentName } from './state.js';
import { fillPlaceholders } from './canned.js';
import { showMessage, scrollToEnd, mailAddress } from './thread.js';
import { sendTyping } from './presence.js';
import { whatsAppEl, showWhatsApp, templateMode, sendTemplate, resetTemplate, noticeWhatsApp, windowClosedByServer } from './whatsapp.js';

const drafts = new Map(); // ticket id -> {text, mode, cc}: drafts survive switching tickets
let mode = 'reply';
let conflict = null;      // {name} of an agent who replied while this agent was typing
let ccEdited = false;     // the agent changed the Cc of the reply: it is sent as written

// composerEl is the reply box of ticket t with its draft. A conflict belonged to the
// ticket shown before.
export function composerEl(t) {
  const draft = drafts.get(t.id) || { text: '', mode: 'reply' };
  mode = draft.mode;
  conflict = null;
  ccEdited = draft.cc != null;
  const closed = t.status === 'closed';
  const cc = h('input', { id: 'reply-cc', type: 'text', disabled: closed, autocomplete: 'off',
    value: ccEdited ? draft.cc : participantsText(t), placeholder: 'name@example.com, …' });
  cc.addEventListener('input', () => { ccEdited = true; });
  const ta = h('textarea', { id: 'reply-body', rows: 4, maxlength: 20000, disabled: closed, value: draft.text });
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
    h('div', { class: 'cc-row', id: 'cc-row' }, h('label', { for: 'reply-cc' }, 'Cc'), cc),
    whatsAppEl(t, () => applyMode()),
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

// saveDraft keeps what the agent wrote on the open ticket for when it opens again.
export function saveDraft() {
  const ta = $('#reply-body');
  if (state.ticketID && ta) drafts.set(state.ticketID, { text: ta.value, mode, cc: ccEdited ? $('#reply-cc').value : null });
}

// forgetDrafts drops every draft, which must not greet whoever signs in next.
export function forgetDrafts() {
  drafts.clear();
  conflict = null;
}

// replyLabel names the channel a reply goes out on: the server answers on the channel of
// the customer's latest message, not the one the ticket began on.
function replyLabel() {
  return 'Reply by ' + channelName(replyChannel());
}

function replyChannel() {
  const last = state.messages.findLast((m) => m.direction === 'in');
  return last ? last.channel : state.ticket.channel;
}

// participantsText is the Cc a reply on ticket t gets unless the agent changes it.
function participantsText(t) {
  return (t.participants || []).map((a) => mailAddress(/[,;<>"]/.test(a.name || '')
    ? { name: '"' + a.name.replaceAll('"', '') + '"', address: a.address } : a)).join(', ');
}

// splitAddresses splits a Cc line at the commas and semicolons between addresses, not
// those inside a quoted name ("O'Brien, Kate" <kate@example.com>).
function splitAddresses(s) {
  const out = [];
  let cur = '';
  let quoted = false;
  let angle = false;
  for (const c of s) {
    if (c === '"') quoted = !quoted;
    else if (c === '<' && !quoted) angle = true;
    else if (c === '>' && !quoted) angle = false;
    if ((c === ',' || c === ';') && !quoted && !angle) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

// noticeMessage follows a message of the open ticket that arrived: a customer's may
// change the channel of the reply, and another agent's reply while this one has a draft
// is asked about before sending.
export function noticeMessage(type, m) {
  if (m.direction === 'in') {
    $('#reply-channel').textContent = replyLabel();
    noticeWhatsApp(m);
    showCC();
    showTemplates(false);
  }
  if (type === 'message.created' && m.direction === 'out' && m.author && m.author.kind === 'agent' && m.author.id !== state.me.id) {
    const ta = $('#reply-body');
    if (ta && ta.value.trim() !== '') conflict = { name: m.author.name || agentName(m.author.id) };
  }
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
  showCC();
  const picker = showTemplates(focus);
  if (focus && !picker) $('#reply-body').focus();
}

// showTemplates puts the template picker in place of the text box while a WhatsApp
// reply must be a template (the 24-hour window closed). It returns whether it does.
function showTemplates(focus) {
  if (!$('#reply') || !state.ticket) return false;
  const picker = showWhatsApp(replyChannel(), mode);
  $('#reply-body').hidden = picker;
  $('#canned-select').disabled = picker || state.ticket.status === 'closed';
  if (picker) {
    $('#send').textContent = 'Send template';
    if (focus && $('#wa-template')) $('#wa-template').focus();
  }
  return picker;
}

// showCC shows the Cc of a reply by email, with the ticket's participants while the
// agent has not changed it.
function showCC() {
  const row = $('#cc-row');
  if (!row || !state.ticket) return;
  row.hidden = mode !== 'reply' || replyChannel() !== 'email';
  if (!ccEdited) $('#reply-cc').value = participantsText(state.ticket);
}

// applyMode draws the box for the mode it is in: reply or note.
export function applyMode() {
  setMode(mode, false);
}

// focusReply switches the box to a reply or a note and puts the cursor in it (r, n).
export function focusReply(m) {
  if (!state.ticket || !$('#reply')) return;
  setMode(m, true);
}

function onInput() {
  if (mode !== 'reply' || !state.ticketID) return;
  sendTyping();
}

async function send(confirmed) {
  const ta = $('#reply-body');
  const body = ta.value.trim();
  const err = $('#reply-error');
  err.textContent = '';
  if (templateMode(replyChannel(), mode)) {
    sendTemplateReply();
    return;
  }
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
  const req = { body, internal: mode === 'note' };
  // An unchanged Cc is left to the server: the ticket's participants as they are now.
  if (mode === 'reply' && !$('#cc-row').hidden && ccEdited) req.cc = splitAddresses($('#reply-cc').value);
  try {
    const m = await post(`/api/v1/tickets/${ticketID}/messages`, req);
    if (state.ticketID !== ticketID) return;
    ta.value = '';
    drafts.delete(ticketID);
    conflict = null;
    ccEdited = false;
    showCC(); // the ticket's new participants may have come before this answer
    fill($('#reply-conflict'));
    $('#reply-hint').textContent = '';
    showMessage(m);
    announce(req.internal ? 'Note added' : 'Reply sent');
  } catch (e) {
    err.textContent = e.message;
    // WhatsApp's window closed while the agent wrote: the draft stays, and a template
    // is offered instead.
    if (e.code === 'conflict' && mode === 'reply' && replyChannel() === 'whatsapp' && state.ticketID === ticketID) windowClosedByServer();
  } finally {
    btn.disabled = state.ticket && state.ticket.status === 'closed';
  }
}

async function sendTemplateReply() {
  const ticketID = state.ticketID;
  const btn = $('#send');
  const err = $('#reply-error');
  btn.disabled = true;
  try {
    const m = await sendTemplate(ticketID);
    if (state.ticketID !== ticketID) return;
    resetTemplate();
    showMessage(m);
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
      scrollToEnd();
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
