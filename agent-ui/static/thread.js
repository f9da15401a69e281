// thread.js is the thread of the open ticket: its messages across channels, oldest first,
// read a page at a time from the newest, with their delivery status and attachments, and
// the actions taken on orders from the ticket among them in time order.

import { get, qs } from './api.js';
import { h, $, bytes, money } from './dom.js';
import { timeEl } from './time.js';
import { channelBadge } from './channels.js';
import { state, agentName } from './state.js';
import { emailBody } from './email.js';
import { t as tr } from './i18n.js';

// A thread is read from its end, a page at a time.
const pageSize = 100;
let olderCursor = ''; // where the earlier messages of the open ticket continue

// threadPage loads the page of messages before cursor ('' for the newest), oldest first.
export async function threadPage(id, cursor) {
  const res = await get(`/api/v1/tickets/${id}/messages` + qs({ order: 'desc', limit: pageSize, cursor }));
  return { messages: res.messages.reverse(), cursor: res.next_cursor || '' };
}

// useThread makes the first page of a ticket's thread the open one.
export function useThread(page) {
  state.messages = page.messages;
  olderCursor = page.cursor;
}

// threadEl is the open thread, with "Load earlier messages" when there are more.
export function threadEl() {
  return h('ol', { id: 'thread', class: 'thread', 'aria-label': tr('thread.label'), tabindex: '0' },
    h('li', { id: 'earlier', class: 'earlier', hidden: !olderCursor },
      h('button', { type: 'button', id: 'load-earlier', class: 'link', onclick: loadEarlier }, tr('thread.earlier'))),
    state.messages.map(renderMessage));
}

// scrollToEnd brings the newest entry of the thread into view.
export function scrollToEnd() {
  const last = $('#thread').lastElementChild;
  if (last) last.scrollIntoView({ block: 'nearest' });
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

// showMessage puts a new or changed message of the open ticket into the thread, and
// reports whether the thread is on screen.
export function showMessage(m) {
  const i = state.messages.findIndex((x) => x.id === m.id);
  // The answer to the POST of a reply says "queued", and may arrive after the live
  // message.updated that says it was sent: a status never goes back to queued.
  if (i >= 0 && m.status === 'queued' && state.messages[i].status !== 'queued') m = { ...m, status: state.messages[i].status, error: state.messages[i].error };
  if (i >= 0) state.messages[i] = m; else state.messages.push(m);
  const thread = $('#thread');
  if (!thread) return false;
  const old = document.getElementById('m' + m.id);
  const el = renderMessage(m);
  if (old) old.replaceWith(el);
  else {
    thread.append(el);
    el.scrollIntoView({ block: 'nearest' });
  }
  return true;
}

const directions = ['in', 'out', 'note'];
const deliveries = ['queued', 'sent', 'delivered', 'failed', 'received'];

// direction names the kind of message m: from the customer (or someone copied on the
// ticket), a reply or an internal note.
export function direction(m) {
  if (m.author && m.author.kind === 'participant') return tr('thread.copied');
  return directions.includes(m.direction) ? tr('thread.dir.' + m.direction) : m.direction;
}

// author names who wrote message m.
export function author(m) {
  return m.author && m.author.name ? m.author.name : tr(m.direction === 'in' ? 'thread.customer' : 'thread.agent');
}

function renderMessage(m) {
  return h('li', { class: `msg dir-${m.direction}`, id: 'm' + m.id, dataset: { id: m.id, at: m.created_at } },
    h('div', { class: 'msg-head' },
      channelBadge(m.channel),
      h('span', { class: 'dir' }, direction(m)),
      h('strong', { class: 'author' }, author(m)),
      m.via ? h('span', { class: 'via' }, tr('thread.via', { address: mailAddress(m.via) })) : null,
      timeEl(m.created_at),
      m.direction === 'out' ? delivery(m) : null),
    mailAddresses(m),
    body(m),
    m.attachments && m.attachments.length ? h('ul', { class: 'attachments', 'aria-label': tr('thread.attachments') }, m.attachments.map((a) =>
      h('li', {}, h('a', { href: '/api/v1/attachments/' + a.id, download: a.filename || tr('thread.attachment') }, a.filename || tr('thread.attachment')),
        ' ', h('span', { class: 'muted' }, `${a.content_type || ''} ${bytes(a.size || 0)}`),
        // A call's recording or voicemail plays here, beside its transcript (the text).
        /^audio\//.test(a.content_type || '') ? h('audio', { controls: true, preload: 'none', class: 'recording',
          src: '/api/v1/attachments/' + a.id, 'aria-label': tr('thread.play', { name: a.filename || tr('thread.theRecording') }) }) : null))) : null);
}

// mailAddress shows an address of a mail as "Name <address>".
export function mailAddress(a) {
  return a.name ? `${a.name} <${a.address}>` : a.address;
}

// mailAddresses is the From, To, Cc and Bcc of an email, for the thread.
function mailAddresses(m) {
  // Bcc is only on agents' replies: who got the mail blind, which the customer never saw.
  const rows = [['from', m.from ? [m.from] : []], ['to', m.to || []], ['cc', m.cc || []], ['bcc', m.bcc || []]].filter(([, list]) => list.length);
  if (!rows.length) return null;
  return h('div', { class: 'msg-addresses' }, rows.map(([field, list]) =>
    h('div', { class: 'addr-' + field }, h('span', { class: 'addr-label' }, tr('mail.' + field), ' '), list.map(mailAddress).join(', '))));
}

function delivery(m) {
  const label = deliveries.includes(m.status) ? tr('delivery.' + m.status) : m.status;
  return h('span', { class: 'delivery st-' + m.status },
    m.status === 'failed' && m.error ? `${label}: ${m.error}` : label);
}

// body is a message's text, or its email HTML in a sandboxed frame with the text behind a switch.
function body(m) {
  const text = h('div', { class: 'text' }, m.text || '');
  return m.html ? emailBody(m, text) : text;
}

// showOrderAction shows an action on an order (order.action) in the thread of the ticket
// it was taken from, in time order among the messages, once per action.
export function showOrderAction(a) {
  const thread = $('#thread');
  if (!thread || !a || a.ticket_id !== state.ticketID) return;
  const id = 'oa' + a.id;
  const el = h('li', { class: `msg dir-event order-action st-${a.status}`, id, dataset: { at: a.created_at } },
    h('div', { class: 'msg-head' },
      h('span', { class: 'dir' }, tr('thread.orderAction')),
      h('strong', { class: 'author' }, a.actor && a.actor.kind === 'agent' ? agentName(a.actor.id) : 'Parley'),
      timeEl(a.created_at)),
    h('div', { class: 'text' }, orderActionText(a)));
  const old = document.getElementById(id);
  if (old) {
    old.replaceWith(el);
    return;
  }
  placeInThread(thread, el);
}

const orderActionKinds = ['cancel', 'refund', 'resend_confirmation'];

function orderActionText(a) {
  const number = a.order_number;
  const action = a.kind === 'refund' && a.amount ? tr('orderAction.refundAmount', { number, amount: money(a.amount, a.currency) })
    : orderActionKinds.includes(a.kind) ? tr('orderAction.' + a.kind, { number }) : `${a.kind} ${number}`;
  const outcome = a.status === 'succeeded' ? tr('orderAction.done') : a.status === 'failed' ? tr('orderAction.failed', { error: a.error || tr('orderAction.noReason') })
    : a.status === 'pending' ? tr('orderAction.pending') : a.status;
  return `${action} — ${outcome}`;
}
