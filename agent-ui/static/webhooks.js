// webhooks.js holds the admins' Webhooks page: the outgoing webhooks with the events each
// gets, a new webhook whose secret shows once, enabling and disabling, deleting after a
// confirmation, and each webhook's delivery log with redeliver and replay.

import { get, post, patch, del } from './api.js';
import { h, fill, $ } from './dom.js';
import { timeEl } from './time.js';
import { settingsTabs, openTab, fail, ok } from './settings.js';
import { copyBox, confirmDialog } from './setupkit.js';

export const isWebhooksPage = (tab) => tab === 'webhooks';

// showWebhookSettings draws the page. Returns false when the role may not see it.
export async function showWebhookSettings(tab) {
  const cur = settingsTabs.find((t) => t.id === tab);
  if (!cur || !cur.allowed()) return false;
  await openTab(cur.id, webhooksPage);
  return true;
}

// What each event type is, for the checklist.
const eventHelp = {
  'ticket.created': 'a ticket is opened',
  'ticket.updated': 'status, priority, assignee, tags or subject change',
  'message.created': 'a customer message, a reply or a note',
  'message.updated': 'a reply is sent, delivered or fails',
  'customer.updated': 'a customer is created or changed',
  'customer.merged': 'two customers are merged',
  'order.updated': 'an order is stored or changed',
  'order.action': 'an agent refunds, cancels or resends an order',
  'ticket.sla_breached': 'an SLA target is missed',
  'csat.requested': 'a satisfaction survey is sent',
  'csat.answered': 'a customer rates a ticket',
};

const stateBadge = { delivered: 'state-connected', pending: 'state-connecting', failed: 'state-error', dead: 'state-error' };

// webhooksPage draws the page; created is a webhook whose secret shows once, focus the
// element that gets the focus after a change redrew the page.
async function webhooksPage(created, focus) {
  const { webhooks: list, event_types: types } = await get('/api/v1/webhooks');
  fill($('#settings-body'),
    h('p', { class: 'muted' }, 'Parley sends each event to your URL as it happens: a POST of the event as JSON, signed with the webhook\'s secret ',
      '(header X-Parley-Signature). Failed deliveries are retried for three days. The API docs show how to check the signature.'),
    h('div', { id: 'wh-created' }, created ? createdBox(created) : null),
    h('section', { class: 'setup-section', 'aria-labelledby': 'wh-h' },
      h('h3', { id: 'wh-h', tabindex: '-1' }, 'Webhooks'),
      list.length ? h('ul', { class: 'settings-list', id: 'wh-list' }, list.map((w) => h('li', {}, webhookCard(w, types)))) :
        h('p', { class: 'muted', id: 'wh-none' }, 'No webhooks yet.')),
    createForm(types));
  if (created) $('#wh-created-h').focus();
  else if (focus) ($(focus) || $('#wh-h')).focus();
}

// createdBox shows a secret that was just made, the one time it is shown.
function createdBox(w) {
  return h('section', { class: 'card stack', 'aria-labelledby': 'wh-created-h' },
    h('h4', { id: 'wh-created-h', tabindex: '-1' }, `Secret of ${w.url} — shown only once`),
    h('p', { class: 'small' }, 'Copy it into your receiver now: it checks X-Parley-Signature with it. Parley keeps it encrypted and never shows it again; make a new one if it is lost.'),
    copyBox('Signing secret', w.secret, 'wh-secret'));
}

// focusLater is where a confirmation dialog sends the focus when it closes, after the
// browser put it back where it was: the first of the elements (or selectors) still on
// the page. A redrawn page no longer has the button that opened the dialog.
function focusLater(...targets) {
  const find = () => targets.map((t) => (typeof t === 'string' ? $(t) : t)).find((el) => el && el.isConnected);
  return { get isConnected() { return !!find(); }, focus: () => find()?.focus() };
}

function eventsText(w) {
  return w.events.includes('*') ? 'every event' : w.events.join(', ');
}

// webhookCard shows one webhook: where it goes, what it gets, its switches and its log.
function webhookCard(w, types) {
  const status = h('span', { class: 'small', role: 'status' });
  const logBox = h('div', { class: 'wh-log', id: `wh-${w.id}-log` });
  const toggle = h('button', { type: 'button', class: 'wh-toggle', onclick: async () => {
    try {
      await patch(`/api/v1/webhooks/${w.id}`, { enabled: !w.enabled });
      ok();
      await webhooksPage(null, `#wh-${w.id} .wh-toggle`);
    } catch (err) { fail(err); }
  } }, w.enabled ? 'Disable' : 'Enable');
  const newSecret = h('button', { type: 'button', onclick: (e) => confirmDialog({
    title: 'Make a new secret?',
    text: `Deliveries to ${w.url} are signed with the new secret from now on: your receiver must have it.`,
    confirm: 'Make a new secret',
    returnFocus: focusLater(e.target, '#wh-created-h'),
    onConfirm: async () => {
      const u = await patch(`/api/v1/webhooks/${w.id}`, { new_secret: true });
      ok();
      await webhooksPage(u);
    },
  }) }, 'New secret');
  const remove = h('button', { type: 'button', class: 'danger', onclick: (e) => confirmDialog({
    title: 'Delete this webhook?',
    text: `${w.url} gets no more events, and its delivery log is deleted.`,
    confirm: 'Delete webhook',
    // Cancel goes back to the button; once the page is redrawn, to the list's heading.
    returnFocus: focusLater(e.target, '#wh-h'),
    onConfirm: async () => {
      await del(`/api/v1/webhooks/${w.id}`);
      ok();
      await webhooksPage();
    },
  }) }, 'Delete');
  const details = h('details', { class: 'wh-deliveries' }, h('summary', {}, 'Delivery log'), logBox);
  details.addEventListener('toggle', () => { if (details.open) deliveryLog(w, logBox); });
  return h('article', { class: 'card stack', id: `wh-${w.id}`, 'aria-labelledby': `wh-${w.id}-h` },
    h('div', { class: 'row' },
      h('h4', { id: `wh-${w.id}-h`, class: 'wh-url', tabindex: '-1' }, w.url),
      h('span', { class: 'badge ' + (w.enabled ? 'state-connected' : 'state-disabled') }, w.enabled ? 'Enabled' : 'Disabled')),
    h('p', { class: 'small' }, 'Gets ', eventsText(w), '. Created ', timeEl(w.created_at), '.'),
    h('div', { class: 'row' }, toggle, newSecret, remove, status),
    editEvents(w, types),
    details);
}

// editEvents changes which events a webhook gets.
function editEvents(w, types) {
  const pre = `wh${w.id}`;
  const picker = eventPicker(pre, types, w.events);
  const form = h('form', { class: 'stack', 'aria-label': `Events of ${w.url}` }, picker.el, h('button', { type: 'submit' }, 'Save events'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await patch(`/api/v1/webhooks/${w.id}`, { events: picker.value() });
      ok();
      await webhooksPage(null, `#wh-${w.id}-h`);
    } catch (err) { fail(err); }
  });
  return h('details', {}, h('summary', {}, 'Change events'), form);
}

// eventPicker is a choice of every event or some: radio buttons and a checklist.
function eventPicker(pre, types, selected) {
  const all = !selected || selected.includes('*');
  const checks = types.map((t) => h('label', { class: 'check block' },
    h('input', { type: 'checkbox', name: `${pre}-type`, value: t, checked: !all && selected.includes(t), disabled: all }),
    ' ', h('code', {}, t), h('span', { class: 'muted small' }, ` — ${eventHelp[t] || ''}`)));
  const set = (everything) => { for (const c of el.querySelectorAll('input[type=checkbox]')) c.disabled = everything; };
  const el = h('fieldset', { class: 'wh-events' }, h('legend', {}, 'Events'),
    h('label', { class: 'check block' }, h('input', { type: 'radio', name: `${pre}-scope`, value: 'all', checked: all, onchange: () => set(true) }),
      ' Every event, also types added later'),
    h('label', { class: 'check block' }, h('input', { type: 'radio', name: `${pre}-scope`, value: 'some', checked: !all, onchange: () => set(false) }),
      ' Only these:'),
    h('div', { class: 'wh-checks', role: 'group', 'aria-label': 'Event types' }, checks));
  return {
    el,
    value: () => {
      if (el.querySelector(`input[name="${pre}-scope"][value=all]`).checked) return ['*'];
      return [...el.querySelectorAll(`input[name="${pre}-type"]:checked`)].map((c) => c.value);
    },
  };
}

function createForm(types) {
  const picker = eventPicker('nwh', types, ['*']);
  const form = h('form', { class: 'card stack setup-section', id: 'wh-create', 'aria-labelledby': 'wh-create-h' },
    h('h4', { id: 'wh-create-h' }, 'Add a webhook'),
    h('div', { class: 'field' }, h('label', { for: 'wh-url' }, 'URL'),
      h('input', { id: 'wh-url', name: 'url', type: 'text', inputmode: 'url', autocomplete: 'url', required: true, placeholder: 'https://hooks.example.com/parley', spellcheck: 'false', 'aria-describedby': 'wh-url-hint' }),
      h('p', { class: 'hint', id: 'wh-url-hint' }, 'Where Parley POSTs the events: an https:// address of your own system.')),
    picker.el,
    h('div', { class: 'field' }, h('label', { for: 'wh-secret-in' }, 'Secret (optional)'),
      h('input', { id: 'wh-secret-in', name: 'secret', type: 'password', autocomplete: 'new-password', 'aria-describedby': 'wh-secret-hint' }),
      h('p', { class: 'hint', id: 'wh-secret-hint' }, 'Leave it empty and Parley makes one, shown once. Yours: at least 16 characters, no spaces.')),
    h('button', { type: 'submit', class: 'primary' }, 'Add webhook'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { url: $('#wh-url').value.trim(), events: picker.value() };
    const secret = $('#wh-secret-in').value;
    if (secret) body.secret = secret;
    try {
      const w = await post('/api/v1/webhooks', body);
      ok();
      await webhooksPage(w);
    } catch (err) { fail(err); }
  });
  return form;
}

// deliveryLog shows the newest deliveries of a webhook and refreshes them every few
// seconds while the log is open and on screen.
async function deliveryLog(w, box) {
  const status = h('span', { class: 'small', role: 'status' });
  const table = h('div', { class: 'table-wrap' });
  const after = h('input', { id: `wh-${w.id}-after`, type: 'number', min: 0, value: 0, class: 'num' });
  const replay = h('form', { class: 'row', 'aria-label': 'Replay events' },
    h('label', { for: `wh-${w.id}-after` }, 'Send again every event after event id'), after,
    h('button', { type: 'submit' }, 'Replay'));
  replay.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await post(`/api/v1/webhooks/${w.id}/replay`, { after: Number(after.value) || 0 });
      status.textContent = `Queued ${r.queued} ${r.queued === 1 ? 'delivery' : 'deliveries'}` + (r.more ? `; replay after ${r.through} for more.` : '.');
      await draw();
    } catch (err) { status.textContent = err.message; }
  });
  const refresh = h('button', { type: 'button', onclick: () => draw() }, 'Refresh');
  fill(box, h('div', { class: 'row' }, refresh, status), table, replay);

  let shown = '';
  const draw = async () => {
    const { deliveries } = await get(`/api/v1/webhooks/${w.id}/deliveries?limit=50`);
    // Redrawn only when something changed, keeping the focus on the same row's button.
    const key = JSON.stringify(deliveries);
    if (key === shown) return;
    shown = key;
    const focused = table.contains(document.activeElement) ? document.activeElement.closest('tr')?.dataset.delivery : null;
    if (deliveries.length === 0) {
      fill(table, h('p', { class: 'muted', id: `wh-${w.id}-empty` }, 'No deliveries yet: they appear here as events happen.'));
      return;
    }
    fill(table, h('table', { class: 'audit wh-table', id: `wh-${w.id}-table` },
      h('caption', { class: 'visually-hidden' }, `Deliveries to ${w.url}, newest first`),
      h('thead', {}, h('tr', {}, ['Delivery', 'Event', 'State', 'Attempts', 'Answer', 'Time', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, deliveries.map((d) => deliveryRow(w, d, draw, status)))));
    if (focused) table.querySelector(`tr[data-delivery="${focused}"] button`)?.focus();
  };
  try {
    await draw();
  } catch (err) { status.textContent = err.message; }
  const timer = setInterval(async () => {
    const details = box.closest('details');
    if (!box.isConnected) { clearInterval(timer); return; }
    if (!details.open || document.hidden) return;
    try { await draw(); } catch { /* the next round tries again */ }
  }, 3000);
}

function deliveryRow(w, d, redraw, status) {
  const answer = d.status_code ? `HTTP ${d.status_code}` : (d.attempts ? 'no answer' : '—');
  const when = d.state === 'pending' && d.next_attempt_at
    ? h('span', {}, d.attempts ? 'retry ' : 'due ', timeEl(d.next_attempt_at))
    : d.last_attempt_at ? timeEl(d.last_attempt_at) : timeEl(d.created_at);
  const redeliver = h('button', { type: 'button', class: 'small', 'aria-label': `Redeliver delivery ${d.id}`, onclick: async () => {
    try {
      const n = await post(`/api/v1/webhooks/${w.id}/deliveries/${d.id}/redeliver`);
      status.textContent = `Queued delivery ${n.id}.`;
      await redraw();
    } catch (err) { status.textContent = err.message; }
  } }, 'Redeliver');
  return h('tr', { dataset: { delivery: d.id, state: d.state } },
    h('td', {}, `#${d.id}`, d.redelivery_of ? h('div', { class: 'muted small' }, `again of #${d.redelivery_of}`) : null),
    h('td', {}, h('code', {}, d.event_type), h('div', { class: 'muted small' }, `event ${d.event_id}`)),
    h('td', {}, h('span', { class: 'badge ' + (stateBadge[d.state] || '') }, d.state)),
    h('td', {}, String(d.attempts)),
    h('td', { class: 'wh-answer' }, answer, d.duration_ms ? h('span', { class: 'muted small' }, ` · ${d.duration_ms} ms`) : null,
      d.error ? h('div', { class: 'error small' }, d.error) : null,
      d.response ? h('div', { class: 'muted small wh-response' }, d.response.slice(0, 200)) : null),
    h('td', {}, when),
    h('td', {}, redeliver));
}
