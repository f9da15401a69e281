// ticket.js is the open ticket: it loads it, draws its header with the controls (status,
// priority, assignee, tags, Resolve) and puts the parts under the header together: the
// collision warnings (presence.js), the SLA line and history (history.js), the thread
// (thread.js) and the reply box (composer.js), with the customer beside it (customer.js).

import { get, patch } from './api.js';
import { h, fill, $, labelled, announce } from './dom.js';
import { timeEl } from './time.js';
import { channelBadge } from './channels.js';
import { state, inboxName } from './state.js';
import { upsert, markCurrent } from './list.js';
import { renderCustomer } from './customer.js';
import { ticketExtras } from './history.js';
import { threadPage, useThread, threadEl, scrollToEnd, showMessage } from './thread.js';
import { composerEl, applyMode, saveDraft, forgetDrafts, noticeMessage } from './composer.js';
import { collisionsEl, renderCollisions, sendViewing } from './presence.js';
import { forgetImages, forgetEmail } from './email.js';
import { snoozeControl, snoozeState } from './snooze.js';
import { ticketTools } from './split.js';
import { t as tr, tn } from './i18n.js';
import { reasonControl, reasonLabel, suggestionsEl, refreshSuggestions } from './reasons.js';

let openSeq = 0;
let confirmClose = false; // the "Closing is final" question is showing
// arrived holds the live events of the ticket being opened that came while it loaded:
// its thread page may have been read before them, so they are applied once it is drawn.
let arrived = [];

// openTicket loads a ticket with the newest page of its thread and shows it.
export async function openTicket(id) {
  const seq = ++openSeq;
  saveDraft();
  arrived = [];
  state.ticketID = id;
  state.unread.delete(id);
  // The sidebar still holds the previous ticket's customer until the new one loads:
  // canned responses must not name them.
  state.customer = null;
  state.orders = [];
  forgetImages();
  markCurrent();
  const pane = $('#ticket-pane');
  fill(pane, h('p', { class: 'muted pad' }, tr('app.loading')));
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
  useThread(page);
  confirmClose = false;
  renderTicket();
  for (const [kind, type, x] of arrived.splice(0)) {
    if (kind !== 'ticket') onMessage(type, x);
    else if (x.updated_at >= state.ticket.updated_at) onTicket(x); // not older than what was read
  }
  sendViewing();
  renderCustomer(t.customer_id, $('#side-pane'), t.id);
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
    h('p', {}, tn('ticket.selectHint', { key: h('kbd', {}, 'j') }))));
  fill($('#side-pane'));
  markCurrent();
}

// forgetSession drops what belongs to the agent who signed out: the open ticket and the
// drafts, which must not greet whoever signs in next at this screen.
export function forgetSession() {
  openSeq++;
  forgetDrafts();
  forgetEmail();
  confirmClose = false;
  Object.assign(state, { ticketID: 0, ticket: null, messages: [], customer: null, orders: [] });
  fill($('#ticket-pane'));
  fill($('#side-pane'));
}

function renderTicket() {
  const t = state.ticket;
  fill($('#ticket-pane'),
    h('div', { class: 'ticket-top' },
      h('button', { type: 'button', class: 'link back', onclick: () => { location.hash = '#/inbox/' + state.folder; } }, tr('ticket.back')),
      h('header', { class: 'ticket-head', id: 'ticket-head' }),
      collisionsEl(),
      ticketExtras(t),
      h('p', { id: 'ticket-error', class: 'error', role: 'alert' })),
    threadEl(),
    suggestionsEl(),
    composerEl(t));
  renderHead();
  renderCollisions();
  applyMode();
  scrollToEnd();
}

function renderHead() {
  const t = state.ticket;
  const head = $('#ticket-head');
  if (!head) return;
  // The head is built anew: focus goes back to the control the agent used, or to the one
  // that took its place (Resolve and Reopen swap), not to the page.
  const active = document.activeElement;
  const had = active && head.contains(active) ? active.id : '';
  const closed = t.status === 'closed';
  // Only agents who can see the ticket's inbox may be assigned; the API refuses others.
  const canSee = (a) => a.role === 'manager' || a.role === 'admin' || (a.inbox_ids || []).includes(t.inbox_id);
  const agents = state.agents.filter((a) => a.id === t.assignee_id || (!a.disabled && canSee(a)));
  fill(head,
    h('div', { class: 'title-row' },
      h('h2', { id: 'ticket-subject', tabindex: '-1' }, t.subject || tr('ticket.untitled')),
      snoozeControl(t, async (change, words) => {
        if (await update(change)) announce(words === 'off' ? tr('ticket.unsnoozed', { id: t.id }) : tr('ticket.snoozed', { id: t.id, until: words }));
      }),
      t.status === 'resolved' || closed
        ? h('button', { type: 'button', id: 'reopen', disabled: closed, onclick: () => update({ status: 'open' }) }, tr('ticket.reopen'))
        : h('button', { type: 'button', id: 'resolve', class: 'primary', onclick: resolveCurrent, title: tr('app.shortcut', { key: 'e' }) }, tr('ticket.resolve'))),
    h('p', { class: 'meta' },
      h('span', { class: 'num' }, '#' + t.id), ' · ', channelBadge(t.channel), ' · ', inboxName(t.inbox_id),
      ' · ', tn('ticket.opened', { time: timeEl(t.created_at) }),
      snoozeState(t) ? [' · ', snoozeState(t)] : null,
      t.linked_ticket_id ? [' · ', tn('ticket.follows', { ticket: h('a', { href: '#/tickets/' + t.linked_ticket_id }, '#' + t.linked_ticket_id) })] : null,
      t.merged_into ? [' · ', tn('ticket.mergedInto', { ticket: h('a', { href: '#/tickets/' + t.merged_into }, '#' + t.merged_into) })] : null,
      ' ', sideToggle(), ' ', ticketTools(t, () => openTicket(t.id))),
    h('div', { class: 'controls' },
      labelled('t-status', tr('ticket.label.status'), committed(h('select', { id: 't-status', disabled: closed },
        ['open', 'pending', 'resolved', 'closed'].map((s) => h('option', { value: s, selected: s === t.status }, tr('status.' + s)))), changeStatus)),
      labelled('t-priority', tr('ticket.label.priority'), committed(h('select', { id: 't-priority', disabled: closed },
        ['low', 'normal', 'high', 'urgent'].map((p) => h('option', { value: p, selected: p === t.priority }, tr('priority.' + p)))), (v) => update({ priority: v }))),
      labelled('t-assignee', tr('ticket.label.assignee'), committed(h('select', { id: 't-assignee', disabled: closed },
        h('option', { value: '', selected: !t.assignee_id }, tr('ticket.unassigned')),
        agents.map((a) => h('option', { value: a.id, selected: a.id === t.assignee_id }, a.id === state.me.id ? tr('ticket.me', { name: a.name }) : a.name))),
      (v) => update({ assignee_id: v ? Number(v) : null }))),
      // Without teams (or the ticket's team gone) there is nothing to choose: no control.
      (state.teams || []).length === 0 && !t.team_id ? null : labelled('t-team', tr('ticket.label.team'), committed(h('select', { id: 't-team', disabled: closed },
        h('option', { value: '', selected: !t.team_id }, tr('ticket.noTeam')),
        (state.teams || []).map((tm) => h('option', { value: tm.id, selected: tm.id === t.team_id }, tm.name))),
      (v) => update({ team_id: v ? Number(v) : null }))),
      labelled('t-reason', reasonLabel(t), reasonControl(t, update, committed)),
      labelled('t-tags', tr('ticket.label.tags'), h('input', { id: 't-tags', type: 'text', disabled: closed, value: (t.tags || []).join(', '),
        placeholder: tr('ticket.tagsHint'), autocomplete: 'off', onchange: (e) => update({ tags: parseTags(e.target.value) }) })),
    ),
    confirmClose && !closed ? h('div', { id: 'close-confirm', class: 'confirm', role: 'alert' },
      h('p', {}, tr('ticket.closeWarning')),
      h('button', { type: 'button', id: 'confirm-close', class: 'danger', onclick: () => { confirmClose = false; update({ status: 'closed' }); } }, tr('ticket.close')),
      ' ',
      h('button', { type: 'button', id: 'cancel-close', onclick: () => { confirmClose = false; renderHead(); $('#t-status').focus(); } }, tr('app.cancel'))) : null);
  refreshSuggestions(t);
  if (confirmClose && $('#confirm-close')) {
    $('#confirm-close').focus();
    return;
  }
  const swapped = { resolve: 'reopen', reopen: 'resolve', 'confirm-close': 't-status', 'cancel-close': 't-status' };
  const back = had && (document.getElementById(had) || document.getElementById(swapped[had]));
  if (back && !back.disabled) back.focus();
  else if (had && $('#ticket-subject')) $('#ticket-subject').focus();
}

// sideToggle is the button that shows the customer panel where it is a drawer (narrower
// than 1360 px, see app.css); the panel stays open from ticket to ticket until closed.
function sideToggle() {
  const open = document.body.classList.contains('side-open');
  return h('button', { type: 'button', id: 'side-toggle', class: 'link side-toggle', 'aria-controls': 'side-pane',
    'aria-expanded': String(open), onclick: () => showSide(!document.body.classList.contains('side-open')) },
  tr(open ? 'ticket.hideCustomer' : 'ticket.showCustomer'));
}

// showSide opens or closes the customer drawer. Opening moves focus into it; closing
// gives it back to the button.
export function showSide(open) {
  document.body.classList.toggle('side-open', open);
  const b = $('#side-toggle');
  if (b) {
    b.setAttribute('aria-expanded', String(open));
    b.textContent = tr(open ? 'ticket.hideCustomer' : 'ticket.showCustomer');
  }
  const pane = $('#side-pane');
  if (open && pane && getComputedStyle(pane).position === 'absolute') {
    pane.tabIndex = -1;
    pane.focus();
  } else if (!open && b && pane && pane.contains(document.activeElement)) b.focus();
}

// committed saves a select's choice once the agent has made it: at once when it was
// picked with the mouse, but after arrow keys only on Enter or when focus leaves, so
// that arrowing from High to Urgent does not save High on the way.
function committed(sel, save) {
  const saved = sel.value;
  let keyed = false;
  const commit = () => {
    keyed = false;
    if (sel.value !== saved) save(sel.value);
  };
  sel.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      commit();
    } else if (e.key.startsWith('Arrow') || e.key === 'Home' || e.key === 'End' || e.key.length === 1) {
      keyed = true;
    }
  });
  sel.addEventListener('change', () => { if (!keyed) commit(); });
  sel.addEventListener('blur', () => { if (keyed) commit(); });
  return sel;
}

// changeStatus saves a new status at once, except "closed": that cannot be undone, so
// the select goes back until the agent confirms.
function changeStatus(v) {
  if (v !== 'closed') {
    update({ status: v });
    return;
  }
  confirmClose = true;
  renderHead();
}

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
  // A shortcut may come while the next ticket loads: it acts on the one shown only.
  if (!t || t.id !== state.ticketID || !$('#ticket-error')) return;
  $('#ticket-error').textContent = '';
  try {
    const nt = await patch('/api/v1/tickets/' + t.id, change);
    if (state.ticket && state.ticket.id === nt.id) state.ticket = nt;
    if (change.status) announce(tr('ticket.now.' + nt.status, { id: nt.id }));
    upsert(nt);
    markCurrent();
  } catch (e) {
    const el = $('#ticket-error');
    if (el) el.textContent = e.message;
    renderHead();
    return false;
  }
  renderHead();
  return true;
}

// assignCurrentToMe assigns the open ticket to the agent (shortcut a).
export function assignCurrentToMe() {
  const t = state.ticket;
  if (t && t.status !== 'closed' && t.assignee_id !== state.me.id) {
    update({ assignee_id: state.me.id }).then(() => announce(tr('ticket.assignedToYou', { id: t.id })));
  }
}

// pendCurrent sets the open ticket to pending (shortcut p).
export function pendCurrent() {
  if (state.ticket && !['pending', 'closed'].includes(state.ticket.status)) update({ status: 'pending' });
}

// resolveCurrent resolves the open ticket (shortcut e).
export function resolveCurrent() {
  if (state.ticket && !['resolved', 'closed'].includes(state.ticket.status)) update({ status: 'resolved' });
}

// onMessage applies message.created and message.updated events: a message of another
// ticket may make it unread; one of the open ticket goes into the thread and may change
// the reply box.
export function onMessage(type, m) {
  if (!m || m.ticket_id !== state.ticketID) {
    if (type === 'message.created' && m && m.direction === 'in') state.unread.add(m.ticket_id);
    return;
  }
  if (!state.ticket || state.ticket.id !== m.ticket_id) {
    arrived.push(['message', type, m]); // the ticket is loading
    return;
  }
  if (type === 'message.created' && m.direction === 'in' && document.hidden) state.unread.add(m.ticket_id);
  const fresh = type === 'message.created' && !state.messages.some((x) => x.id === m.id);
  if (showMessage(m)) noticeMessage(type, m);
  if (fresh && m.direction === 'in') announce(tr('message.new', { name: m.author && m.author.name ? m.author.name : tr('message.theCustomer') }));
}

// onTicket applies ticket.created and ticket.updated events to the open ticket.
export function onTicket(t) {
  if (t.id === state.ticketID && (!state.ticket || state.ticket.id !== t.id)) {
    arrived.push(['ticket', '', t]); // the ticket is loading
    return;
  }
  if (!state.ticket || t.id !== state.ticket.id) return;
  state.ticket = t;
  // Do not pull a control from under the agent's hands: while they are in a field of the
  // head, it is drawn anew when they leave it, once the focus has landed where they went
  // (drawn during the blur, the head would take away the element about to get it).
  // Anything else focused there (the heading, where an opened ticket puts the focus, or a
  // button) gets it back from renderHead.
  const el = document.activeElement;
  if (el && el.closest && el.closest('#ticket-head') && el.matches('input, select, textarea')) {
    el.addEventListener('blur', () => setTimeout(() => { if (state.ticket === t) renderHead(); }), { once: true });
  } else {
    renderHead();
  }
  applyMode();
}
