// webhooks.js holds the admins' Webhooks page: the outgoing webhooks with the events each
// gets, a new webhook whose secret shows once, enabling and disabling, deleting after a
// confirmation, and each webhook's delivery log with redeliver and replay.

import { get, post, patch, del } from './api.js';
import { h, fill, $ } from './dom.js';
import { timeEl } from './time.js';
import { settingsTabs, openTab, fail, ok } from './settings.js';
import { copyBox, confirmDialog } from './setupkit.js';
import { t as tr, tn } from './i18n.js';

export const isWebhooksPage = (tab) => tab === 'webhooks';

// showWebhookSettings draws the page. Returns false when the role may not see it.
export async function showWebhookSettings(tab) {
  const cur = settingsTabs.find((t) => t.id === tab);
  if (!cur || !cur.allowed()) return false;
  await openTab(cur.id, webhooksPage);
  return true;
}

// The event types the checklist says what they are of (webhooks.event.<type>).
const described = ['ticket.created', 'ticket.updated', 'message.created', 'message.updated', 'customer.updated', 'customer.merged',
  'order.updated', 'order.action', 'ticket.sla_breached', 'csat.requested', 'csat.answered'];

// A delivery's state: its badge's class, and its word (webhooks.state.<state>).
const stateBadge = { delivered: 'state-connected', pending: 'state-connecting', failed: 'state-error', dead: 'state-error' };

// webhooksPage draws the page; created is a webhook whose secret shows once, focus the
// element that gets the focus after a change redrew the page.
async function webhooksPage(created, focus) {
  const { webhooks: list, event_types: types } = await get('/api/v1/webhooks');
  fill($('#settings-body'),
    h('p', { class: 'muted' }, tr('webhooks.intro')),
    h('div', { id: 'wh-created' }, created ? createdBox(created) : null),
    h('section', { class: 'setup-section', 'aria-labelledby': 'wh-h' },
      h('h3', { id: 'wh-h', tabindex: '-1' }, tr('settings.tab.webhooks')),
      list.length ? h('ul', { class: 'settings-list', id: 'wh-list' }, list.map((w) => h('li', {}, webhookCard(w, types)))) :
        h('p', { class: 'muted', id: 'wh-none' }, tr('webhooks.none'))),
    createForm(types));
  if (created) $('#wh-created-h').focus();
  else if (focus) ($(focus) || $('#wh-h')).focus();
}

// createdBox shows a secret that was just made, the one time it is shown.
function createdBox(w) {
  return h('section', { class: 'card stack', 'aria-labelledby': 'wh-created-h' },
    h('h4', { id: 'wh-created-h', tabindex: '-1' }, tr('webhooks.secretOnce', { url: w.url })),
    h('p', { class: 'small' }, tr('webhooks.secretHelp')),
    copyBox(tr('webhooks.signingSecret'), w.secret, 'wh-secret'));
}

// focusLater is where a confirmation dialog sends the focus when it closes, after the
// browser put it back where it was: the first of the elements (or selectors) still on
// the page. A redrawn page no longer has the button that opened the dialog.
function focusLater(...targets) {
  const find = () => targets.map((t) => (typeof t === 'string' ? $(t) : t)).find((el) => el && el.isConnected);
  return { get isConnected() { return !!find(); }, focus: () => find()?.focus() };
}

function eventsText(w) {
  return w.events.includes('*') ? tr('webhooks.everyEvent') : w.events.join(', ');
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
  } }, tr(w.enabled ? 'webhooks.disable' : 'webhooks.enable'));
  const newSecret = h('button', { type: 'button', onclick: (e) => confirmDialog({
    title: tr('webhooks.newSecretTitle'),
    text: tr('webhooks.newSecretText', { url: w.url }),
    confirm: tr('webhooks.newSecretConfirm'),
    returnFocus: focusLater(e.target, '#wh-created-h'),
    onConfirm: async () => {
      const u = await patch(`/api/v1/webhooks/${w.id}`, { new_secret: true });
      ok();
      await webhooksPage(u);
    },
  }) }, tr('webhooks.newSecret'));
  const remove = h('button', { type: 'button', class: 'danger', onclick: (e) => confirmDialog({
    title: tr('webhooks.deleteTitle'),
    text: tr('webhooks.deleteText', { url: w.url }),
    confirm: tr('webhooks.deleteConfirm'),
    // Cancel goes back to the button; once the page is redrawn, to the list's heading.
    returnFocus: focusLater(e.target, '#wh-h'),
    onConfirm: async () => {
      await del(`/api/v1/webhooks/${w.id}`);
      ok();
      await webhooksPage();
    },
  }) }, tr('app.delete'));
  const details = h('details', { class: 'wh-deliveries' }, h('summary', {}, tr('webhooks.log')), logBox);
  details.addEventListener('toggle', () => { if (details.open) deliveryLog(w, logBox); });
  return h('article', { class: 'card stack', id: `wh-${w.id}`, 'aria-labelledby': `wh-${w.id}-h` },
    h('div', { class: 'row' },
      h('h4', { id: `wh-${w.id}-h`, class: 'wh-url', tabindex: '-1' }, w.url),
      h('span', { class: 'badge ' + (w.enabled ? 'state-connected' : 'state-disabled') }, tr(w.enabled ? 'webhooks.enabled' : 'webhooks.disabled'))),
    h('p', { class: 'small' }, tn('webhooks.gets', { events: eventsText(w), time: timeEl(w.created_at) })),
    h('div', { class: 'row' }, toggle, newSecret, remove, status),
    editEvents(w, types),
    details);
}

// editEvents changes which events a webhook gets.
function editEvents(w, types) {
  const pre = `wh${w.id}`;
  const picker = eventPicker(pre, types, w.events);
  const form = h('form', { class: 'stack', 'aria-label': tr('webhooks.eventsOf', { url: w.url }) }, picker.el, h('button', { type: 'submit' }, tr('webhooks.saveEvents')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await patch(`/api/v1/webhooks/${w.id}`, { events: picker.value() });
      ok();
      await webhooksPage(null, `#wh-${w.id}-h`);
    } catch (err) { fail(err); }
  });
  return h('details', {}, h('summary', {}, tr('webhooks.changeEvents')), form);
}

// eventPicker is a choice of every event or some: radio buttons and a checklist.
function eventPicker(pre, types, selected) {
  const all = !selected || selected.includes('*');
  const checks = types.map((t) => h('label', { class: 'check block' },
    h('input', { type: 'checkbox', name: `${pre}-type`, value: t, checked: !all && selected.includes(t), disabled: all }),
    ' ', h('code', {}, t), h('span', { class: 'muted small' }, ' — ', described.includes(t) ? tr('webhooks.event.' + t) : '')));
  const set = (everything) => { for (const c of el.querySelectorAll('input[type=checkbox]')) c.disabled = everything; };
  const el = h('fieldset', { class: 'wh-events' }, h('legend', {}, tr('webhooks.events')),
    h('label', { class: 'check block' }, h('input', { type: 'radio', name: `${pre}-scope`, value: 'all', checked: all, onchange: () => set(true) }),
      ' ', tr('webhooks.allEvents')),
    h('label', { class: 'check block' }, h('input', { type: 'radio', name: `${pre}-scope`, value: 'some', checked: !all, onchange: () => set(false) }),
      ' ', tr('webhooks.someEvents')),
    h('div', { class: 'wh-checks', role: 'group', 'aria-label': tr('webhooks.eventTypes') }, checks));
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
    h('h4', { id: 'wh-create-h' }, tr('webhooks.addTitle')),
    h('div', { class: 'field' }, h('label', { for: 'wh-url' }, tr('webhooks.url')),
      h('input', { id: 'wh-url', name: 'url', type: 'text', inputmode: 'url', autocomplete: 'url', required: true, placeholder: tr('webhooks.urlExample'), spellcheck: 'false', 'aria-describedby': 'wh-url-hint' }),
      h('p', { class: 'hint', id: 'wh-url-hint' }, tr('webhooks.urlHint'))),
    picker.el,
    h('div', { class: 'field' }, h('label', { for: 'wh-secret-in' }, tr('webhooks.secret')),
      h('input', { id: 'wh-secret-in', name: 'secret', type: 'password', autocomplete: 'new-password', 'aria-describedby': 'wh-secret-hint' }),
      h('p', { class: 'hint', id: 'wh-secret-hint' }, tr('webhooks.secretHint'))),
    h('button', { type: 'submit', class: 'primary' }, tr('webhooks.add')));
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
  const replay = h('form', { class: 'row', 'aria-label': tr('webhooks.replayEvents') },
    h('label', { for: `wh-${w.id}-after` }, tr('webhooks.replayAfter')), after,
    h('button', { type: 'submit' }, tr('webhooks.replay')));
  replay.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await post(`/api/v1/webhooks/${w.id}/replay`, { after: Number(after.value) || 0 });
      status.textContent = r.more ? tr('webhooks.queuedMore', { n: r.queued, through: r.through }) : tr('webhooks.queued', { n: r.queued });
      await draw();
    } catch (err) { status.textContent = err.message; }
  });
  const refresh = h('button', { type: 'button', onclick: () => draw() }, tr('webhooks.refresh'));
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
      fill(table, h('p', { class: 'muted', id: `wh-${w.id}-empty` }, tr('webhooks.noDeliveries')));
      return;
    }
    fill(table, h('table', { class: 'audit wh-table', id: `wh-${w.id}-table` },
      h('caption', { class: 'visually-hidden' }, tr('webhooks.deliveriesTo', { url: w.url })),
      h('thead', {}, h('tr', {}, ['webhooks.col.delivery', 'webhooks.col.event', 'webhooks.col.state', 'webhooks.col.attempts', 'webhooks.col.answer',
        'webhooks.col.time'].map((c) => h('th', { scope: 'col' }, tr(c))), h('th', { scope: 'col' }))),
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
  const answer = d.status_code ? tr('webhooks.http', { code: d.status_code }) : (d.attempts ? tr('webhooks.noAnswer') : '—');
  const when = d.state === 'pending' && d.next_attempt_at
    ? h('span', {}, tn(d.attempts ? 'webhooks.retry' : 'webhooks.due', { time: timeEl(d.next_attempt_at) }))
    : d.last_attempt_at ? timeEl(d.last_attempt_at) : timeEl(d.created_at);
  const redeliver = h('button', { type: 'button', class: 'small', 'aria-label': tr('webhooks.redeliverLabel', { id: d.id }), onclick: async () => {
    try {
      const n = await post(`/api/v1/webhooks/${w.id}/deliveries/${d.id}/redeliver`);
      status.textContent = tr('webhooks.redelivered', { id: n.id });
      await redraw();
    } catch (err) { status.textContent = err.message; }
  } }, tr('webhooks.redeliver'));
  return h('tr', { dataset: { delivery: d.id, state: d.state } },
    h('td', {}, `#${d.id}`, d.redelivery_of ? h('div', { class: 'muted small' }, tr('webhooks.againOf', { id: d.redelivery_of })) : null),
    h('td', {}, h('code', {}, d.event_type), h('div', { class: 'muted small' }, tr('webhooks.eventN', { id: d.event_id }))),
    h('td', {}, h('span', { class: 'badge ' + (stateBadge[d.state] || '') }, stateBadge[d.state] ? tr('webhooks.state.' + d.state) : d.state)),
    h('td', {}, String(d.attempts)),
    h('td', { class: 'wh-answer' }, answer, d.duration_ms ? h('span', { class: 'muted small' }, ' · ', tr('webhooks.ms', { ms: d.duration_ms })) : null,
      d.error ? h('div', { class: 'error small' }, d.error) : null,
      d.response ? h('div', { class: 'muted small wh-response' }, d.response.slice(0, 200)) : null),
    h('td', {}, when),
    h('td', {}, redeliver));
}
