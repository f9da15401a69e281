// composer.js is the reply box of the open ticket: a reply on the customer's channel or an
// internal note, To, Cc and Bcc of a mail, canned responses with their placeholders filled
// in (also found with "/", slash.js), drafts that survive switching tickets and reloads
// (drafts.js), the question before sending when another agent replied meanwhile, and on
// WhatsApp the 24-hour window with its templates (whatsapp.js). Its row of tools holds
// the formatting of an email reply (format.js), emoji (emoji.js), files (attach.js) and
// Send with its menu (sendmenu.js).

import { get, post } from './api.js';
import { h, fill, $, announce } from './dom.js';
import { channelName } from './channels.js';
import { state, agentName } from './state.js';
import { fillPlaceholders } from './canned.js';
import { showMessage, scrollToEnd, mailAddress } from './thread.js';
import { sendTyping } from './presence.js';
import { attachMentions } from './mentions.js';
import { composerMacroEl } from './macromenu.js';
import { whatsAppEl, showWhatsApp, templateMode, sendTemplate, resetTemplate, noticeWhatsApp, windowClosedByServer } from './whatsapp.js';
import { attachEl, filesEl, showAttach, useFiles, currentFiles, dropOn, pasteOn, postWithFiles } from './attach.js';
import { formatEl, formatKeys } from './format.js';
import { emojiEl } from './emoji.js';
import { sendEl, sendLabel, sendChoice } from './sendmenu.js';
import { attachSlash } from './slash.js';
import { getDraft, putDraft, dropDraft, forgetMemoryDrafts } from './drafts.js';
import { t as tr } from './i18n.js';

let mode = 'reply';
let conflict = null;      // {name} of an agent who replied while this agent was typing
let ccEdited = false;     // the agent changed the Cc of the reply: it is sent as written
let ccAsked = false;      // the agent opened the Cc of a mail that had nobody copied
let bccAsked = false;     // the agent opened the Bcc

// composerEl is the reply box of ticket t with its draft. A conflict belonged to the
// ticket shown before.
export function composerEl(t) {
  const draft = getDraft(t.id) || { text: '', mode: 'reply' };
  mode = draft.mode;
  conflict = null;
  ccEdited = draft.cc != null;
  ccAsked = false;
  bccAsked = !!draft.bcc;
  useFiles(draft.files);
  const closed = t.status === 'closed';
  const cc = h('input', { id: 'reply-cc', type: 'text', disabled: closed, autocomplete: 'off',
    value: ccEdited ? draft.cc : participantsText(t), placeholder: tr('composer.addressHint') });
  cc.addEventListener('input', () => { ccEdited = true; });
  cc.addEventListener('input', saveDraft);
  const bcc = h('input', { id: 'reply-bcc', type: 'text', disabled: closed, autocomplete: 'off',
    value: draft.bcc || '', placeholder: tr('composer.addressHint'), 'aria-describedby': 'bcc-note' });
  bcc.addEventListener('input', saveDraft);
  const ta = h('textarea', { id: 'reply-body', rows: 2, maxlength: 20000, disabled: closed, value: draft.text });
  const mentionList = attachMentions(ta); // first: its keys come before the composer's
  const cannedPop = attachSlash(ta, showMissing);
  formatKeys(ta, formatting);
  pasteOn(ta);
  ta.addEventListener('input', saveDraft);
  ta.addEventListener('input', onInput);
  ta.addEventListener('input', () => grow(ta));
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
        h('legend', { class: 'visually-hidden' }, tr('composer.messageType')),
        h('label', {}, h('input', { type: 'radio', name: 'mode', value: 'reply', id: 'mode-reply', checked: mode === 'reply' }),
          ' ', h('span', { id: 'reply-channel' }, replyLabel()), h('span', { id: 'reply-to', class: 'reply-to' })),
        h('label', {}, h('input', { type: 'radio', name: 'mode', value: 'note', id: 'mode-note', checked: mode === 'note' }), ' ', tr('composer.note')),
        h('button', { type: 'button', id: 'add-cc', class: 'link small', 'aria-controls': 'cc-row', 'aria-expanded': 'false', onclick: askCC }, tr('mail.ccLabel')),
        h('button', { type: 'button', id: 'add-bcc', class: 'link small', 'aria-controls': 'bcc-row', 'aria-expanded': 'false', onclick: askBCC }, tr('mail.bccLabel'))),
      h('div', { class: 'canned-row' },
        h('label', { for: 'canned-select' }, tr('composer.canned')),
        h('select', { id: 'canned-select', disabled: closed, onchange: insertCanned },
          h('option', { value: '' }, tr(state.canned.length ? 'composer.insertCanned' : 'composer.noCanned')),
          state.canned.map((c) => h('option', { value: c.id }, c.title)))),
      composerMacroEl(closed, macroApplied)),
    h('p', { class: 'note-label', id: 'note-label' }, tr('composer.noteHint')),
    h('div', { class: 'cc-row', id: 'cc-row' }, h('label', { for: 'reply-cc' }, tr('mail.ccLabel')), cc),
    h('div', { class: 'cc-row', id: 'bcc-row', hidden: true }, h('label', { for: 'reply-bcc' }, tr('mail.bccLabel')), bcc,
      h('span', { id: 'bcc-note', class: 'muted small' }, tr('composer.bccNote'))),
    whatsAppEl(t, () => applyMode()),
    h('label', { for: 'reply-body', id: 'reply-label', class: 'visually-hidden' }, tr('composer.replyLabel')),
    h('div', { class: 'reply-body-wrap' }, cannedPop, ta),
    mentionList,
    filesEl(),
    h('p', { id: 'reply-hint', class: 'muted small' }),
    h('div', { id: 'reply-conflict', class: 'conflict', role: 'alert' }),
    h('p', { id: 'reply-error', class: 'error', role: 'alert' }),
    h('div', { class: 'reply-actions' },
      h('div', { class: 'reply-tools' }, formatEl(ta, closed), emojiEl(ta, closed), attachEl(closed, canAttach, saveDraft)),
      closed ? h('span', { class: 'muted' }, tr('composer.closed')) : null,
      sendEl(closed, () => send(false), () => mode)));
  dropOn(form);
  form.addEventListener('change', (e) => {
    if (e.target.name === 'mode') {
      setMode(e.target.value, true);
      saveDraft();
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    send(false);
  });
  return form;
}

// grow makes the reply box as tall as what is written in it, up to the limit app.css
// sets, so the thread keeps the screen until the agent writes more than a few lines.
function grow(ta) {
  ta.style.height = 'auto';
  ta.style.height = ta.scrollHeight + 2 + 'px';
}

// saveDraft keeps what the agent wrote on the open ticket for when it opens again.
// It is kept across reloads too (drafts.js), without its files.
export function saveDraft() {
  const ta = $('#reply-body');
  if (state.ticketID && ta) {
    putDraft(state.ticketID, { text: ta.value, mode, cc: ccEdited ? $('#reply-cc').value : null,
      bcc: $('#reply-bcc').value.trim(), files: [...currentFiles()] });
  }
}

// forgetDrafts drops every draft held in memory, which must not greet whoever signs in
// next; signing out also deletes the stored ones (app.js, forgetStoredDrafts).
export function forgetDrafts() {
  forgetMemoryDrafts();
  useFiles([]);
  customerEmail.clear();
  conflict = null;
}

// formatting reports whether the box writes an email reply, which takes formatting.
function formatting() {
  return mode === 'reply' && !!state.ticket && replyChannel() === 'email' && !templateMode(replyChannel(), mode);
}

// canAttach reports whether files may go with what the box writes: a note, or a reply
// by email.
function canAttach() {
  return mode === 'note' || (!!state.ticket && replyChannel() === 'email');
}

// showMissing names the placeholders of a canned response left to fill by hand.
function showMissing(missing) {
  $('#reply-hint').textContent = missing.length ? tr('composer.fillIn', { names: missing.join(', ') }) : '';
}

// replyTo is the address a reply by email goes to: where the customer last wrote from,
// else the customer's email address, looked up once per customer.
const customerEmail = new Map(); // customer id -> email address, '' while asked or for none
function replyTo() {
  const last = state.messages.findLast((m) => m.direction === 'in' && m.channel === 'email' && m.author && m.author.kind === 'customer');
  if (last && last.from) return last.from.address;
  const t = state.ticket;
  if (!customerEmail.has(t.customer_id)) {
    customerEmail.set(t.customer_id, '');
    get('/api/v1/customers/' + t.customer_id).then((c) => {
      const id = (c.identities || []).find((x) => x.kind === 'email');
      customerEmail.set(t.customer_id, id ? id.address : '');
      if (state.ticket && state.ticket.id === t.id) showCC();
    }).catch(() => customerEmail.delete(t.customer_id));
  }
  return customerEmail.get(t.customer_id);
}

// replyLabel names the channel a reply goes out on: the server answers on the channel of
// the customer's latest message, not the one the ticket began on.
function replyLabel() {
  return tr('composer.replyBy', { channel: channelName(replyChannel()) });
}

function replyChannel() {
  const last = state.messages.findLast((m) => m.direction === 'in');
  const ch = last ? last.channel : state.ticket.channel;
  return ch === 'voice' ? 'sms' : ch; // a call is answered by text message (the server says so too)
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
  $('#reply-label').textContent = tr(mode === 'note' ? 'composer.note' : 'composer.replyLabel');
  $('#send').textContent = sendLabel(mode);
  showCC();
  $('#format-bar').hidden = !formatting();
  showAttach(state.ticket.status === 'closed');
  if ($('#reply-body').value) grow($('#reply-body')); // a draft brought back
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
    $('#send').textContent = tr('composer.sendTemplate');
    if (focus && $('#wa-template')) $('#wa-template').focus();
  }
  return picker;
}

// showCC shows the Cc of a reply by email, with the ticket's participants while the
// agent has not changed it.
// A mail with nobody copied keeps the row folded behind a "Cc" button, so the thread
// keeps the height.
function showCC() {
  const row = $('#cc-row');
  if (!row || !state.ticket) return;
  const mail = mode === 'reply' && replyChannel() === 'email';
  if (!ccEdited) $('#reply-cc').value = participantsText(state.ticket);
  row.hidden = !mail || !(ccAsked || ccEdited || $('#reply-cc').value !== '');
  $('#add-cc').hidden = !mail || !row.hidden;
  $('#add-cc').setAttribute('aria-expanded', String(!row.hidden));
  const brow = $('#bcc-row');
  brow.hidden = !mail || !(bccAsked || $('#reply-bcc').value.trim() !== '');
  $('#add-bcc').hidden = !mail || !brow.hidden;
  $('#add-bcc').setAttribute('aria-expanded', String(!brow.hidden));
  const to = mail ? replyTo() : '';
  $('#reply-to').textContent = to ? tr('composer.to', { address: to }) : '';
  $('#reply-to').title = to;
}

function askBCC() {
  bccAsked = true;
  showCC();
  $('#reply-bcc').focus();
}

function askCC() {
  ccAsked = true;
  showCC();
  $('#reply-cc').focus();
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
  const files = canAttach() ? [...currentFiles()] : [];
  if (!body && !files.length) {
    err.textContent = tr(mode === 'note' ? 'composer.writeNote' : 'composer.writeReply');
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
  if (mode === 'reply' && !$('#bcc-row').hidden && $('#reply-bcc').value.trim()) req.bcc = splitAddresses($('#reply-bcc').value);
  const status = sendChoice();
  if (status) req.status = status;
  const path = `/api/v1/tickets/${ticketID}/messages`;
  try {
    const m = files.length ? await postWithFiles(path, req, files) : await post(path, req);
    if (state.ticketID !== ticketID) return;
    ta.value = '';
    grow(ta);
    useFiles([]);
    $('#reply-bcc').value = '';
    bccAsked = false;
    dropDraft(ticketID);
    conflict = null;
    ccEdited = false;
    showCC(); // the ticket's new participants may have come before this answer
    fill($('#reply-conflict'));
    $('#reply-hint').textContent = '';
    showMessage(m);
    announce(tr(req.internal ? 'reply.noteAdded' : 'reply.sent'));
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
    const m = await sendTemplate(ticketID, sendChoice());
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
    h('p', {}, tr('composer.conflict', { name: conflict.name })),
    h('button', { type: 'button', id: 'send-anyway', class: 'primary', onclick: () => { conflict = null; fill(box); send(true); } }, tr('composer.sendAnyway')),
    ' ',
    h('button', { type: 'button', id: 'review', onclick: () => {
      conflict = null;
      fill(box);
      scrollToEnd();
      $('#reply-body').focus();
    } }, tr('composer.review')));
  $('#send-anyway').focus();
}

// macroApplied takes the answer of a macro applied from the menu: its note joins the
// thread, and its reply, filled in by the server, goes into the reply box for review.
function macroApplied(res) {
  if (res.note) showMessage(res.note);
  if (!res.body) return;
  setMode('reply', false);
  const ta = $('#reply-body');
  const start = ta.selectionStart ?? ta.value.length;
  const end = ta.selectionEnd ?? ta.value.length;
  ta.setRangeText(res.body, start, end, 'end');
  ta.focus();
  ta.dispatchEvent(new Event('input'));
  const missing = [...new Set(res.body.match(/\{\{\s*[a-z_.]+\s*\}\}/g) || [])];
  $('#reply-hint').textContent = missing.length ? tr('composer.fillIn', { names: missing.join(', ') }) : tr('composer.reviewMacro');
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
  $('#reply-hint').textContent = missing.length ? tr('composer.fillIn', { names: missing.join(', ') }) : '';
}
