// audit.js holds the managers' settings pages: SLA policies (managers), the CSAT survey
// (admins) and the audit log (admins).

import { get, post, patch, del, qs } from './api.js';
import { h, fill, $, labelled } from './dom.js';
import { timeEl, localZone, zoneSelect } from './time.js';
import { channels } from './channels.js';
import { state } from './state.js';
import { settingsTabs, openTab, field, fail, ok, askedTwice } from './settings.js';
import { t as tr } from './i18n.js';

// The pages this file draws, by tab.
const pages = { sla: slaPage, csat: csatPage, audit: auditPage };

export const isManagerPage = (tab) => Object.hasOwn(pages, tab);

// showManagerSettings renders page tab. Returns false when the role may not open it.
export async function showManagerSettings(tab) {
  const cur = settingsTabs.find((p) => p.id === tab);
  if (!cur || !isManagerPage(tab) || !cur.allowed()) return false;
  await openTab(cur.id, pages[tab]);
  return true;
}

// ---- SLA policies ----

// days are the week's days with their names (day.<id>).
const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, tr('day.' + d)]);
const priorities = ['urgent', 'high', 'normal', 'low'];
const datePattern = /^\d{4}-\d{2}-\d{2}$/;

async function slaPage() {
  const { sla_policies: list } = await get('/api/v1/sla-policies');
  const rows = list.map((p) => h('li', {}, policyForm(p)));
  fill($('#settings-body'),
    h('p', { class: 'muted' }, tr('policy.intro')),
    list.length ? h('ul', { class: 'settings-list', id: 'sla-list' }, rows) : h('p', { class: 'muted', id: 'sla-empty' }, tr('policy.none')),
    policyForm(null));
}

// policyForm edits policy p, or creates one when p is null.
function policyForm(p) {
  const isNew = !p;
  const v = p || { name: '', inbox_id: null, priorities: [], first_response_minutes: 60, resolution_minutes: 480, warn_minutes: 15, schedule: { timezone: localZone(), hours: {}, holidays: [] } };
  const pre = isNew ? 'np' : 'p' + v.id;
  const sched = v.schedule || { timezone: 'UTC', hours: {}, holidays: [] };
  const status = h('span', { class: 'muted small', role: 'status' });
  const form = h('form', { class: 'card stack sla-form', id: isNew ? 'sla-create' : null, 'aria-label': isNew ? tr('policy.new') : tr('policy.row', { name: v.name }) },
    isNew ? h('h3', {}, tr('policy.addTitle')) : null,
    h('div', { class: 'grid2' },
      h('div', {}, h('label', { for: pre + '-name' }, tr('policy.name')), h('input', { id: pre + '-name', name: 'name', required: true, maxlength: 100, value: v.name })),
      h('div', {}, h('label', { for: pre + '-inbox' }, tr('filters.inbox')),
        h('select', { id: pre + '-inbox', name: 'inbox' }, h('option', { value: '' }, tr('policy.everyInbox')),
          state.inboxes.map((i) => h('option', { value: i.id, selected: i.id === v.inbox_id }, i.name))))),
    h('fieldset', {}, h('legend', {}, tr('policy.priorities')),
      priorities.map((x) => h('label', {}, h('input', { type: 'checkbox', name: 'priorities', value: x, checked: (v.priorities || []).includes(x) }), ' ', tr('priority.' + x)))),
    h('div', { class: 'grid3' },
      num(pre + '-fr', 'first_response_minutes', tr('policy.firstResponse'), v.first_response_minutes),
      num(pre + '-res', 'resolution_minutes', tr('policy.resolution'), v.resolution_minutes),
      num(pre + '-warn', 'warn_minutes', tr('policy.warn'), v.warn_minutes)),
    h('label', { for: pre + '-tz' }, tr('policy.timeZone')), zoneSelect(pre + '-tz', 'timezone', sched.timezone || 'UTC'),
    hoursEditor(pre, sched.hours || {}),
    h('label', { for: pre + '-hol' }, tr('policy.holidays')),
    h('textarea', { id: pre + '-hol', name: 'holidays', rows: 3, value: (sched.holidays || []).join('\n'), placeholder: '2026-12-25' }),
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: isNew ? 'primary' : null }, tr(isNew ? 'policy.add' : 'app.save')),
      isNew ? null : h('button', { type: 'button', class: 'danger', onclick: (e) => remove(e, v.id) }, tr('app.delete')),
      status));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let body;
    try { body = readPolicy(form); } catch (err) { fail(err); return; }
    try {
      if (isNew) await post('/api/v1/sla-policies', body);
      else await patch('/api/v1/sla-policies/' + v.id, body);
      ok();
      await slaPage();
    } catch (err) { status.textContent = ''; fail(err); }
  });
  return form;
}

async function remove(e, id) {
  if (!askedTwice(e.target)) return;
  try { await del('/api/v1/sla-policies/' + id); ok(); await slaPage(); } catch (err) { fail(err); }
}

function num(id, name, label, value) {
  return h('div', {}, h('label', { for: id }, label), h('input', { id, name, type: 'number', min: 1, max: 525600, step: 1, required: true, value }));
}

// hoursEditor edits the weekly business hours: any number of from–to spans per day.
function hoursEditor(pre, hours) {
  return h('fieldset', { class: 'hours' },
    h('legend', {}, tr('policy.hours')),
    days.map(([d, name], i) => {
      const spans = h('span', { class: 'spans' }, (hours[d] || []).map((s) => span(pre, d, name, s)));
      return h('div', { class: 'day-row', dataset: { day: d } },
        h('span', { class: 'day-name' }, name), spans,
        h('button', { type: 'button', class: 'link small', onclick: () => spans.append(span(pre, d, name, ['09:00', '17:00'])) }, tr('policy.addHours')),
        i === 0 ? h('button', { type: 'button', class: 'link small', onclick: (e) => copyToWeekdays(e.target.closest('fieldset'), pre) }, tr('policy.copy')) : null);
    }));
}

function span(pre, day, name, [from, to]) {
  const el = h('span', { class: 'span' },
    h('input', { type: 'time', class: 'from', value: from, 'aria-label': tr('policy.from', { day: name }), required: true }), '–',
    h('input', { type: 'time', class: 'to', value: to, 'aria-label': tr('policy.to', { day: name }), required: true }),
    h('button', { type: 'button', class: 'link', 'aria-label': tr('policy.removeHours', { day: name }), onclick: () => el.remove() }, '×'));
  return el;
}

function copyToWeekdays(fs, pre) {
  const mon = readSpans(fs.querySelector('[data-day="mon"]'));
  for (const [d, name] of days.slice(1, 5)) {
    fill(fs.querySelector(`[data-day="${d}"] .spans`), mon.map((s) => span(pre, d, name, s)));
  }
}

function readSpans(row) {
  return [...row.querySelectorAll('.span')].map((s) => [s.querySelector('.from').value, s.querySelector('.to').value]);
}

function readPolicy(form) {
  const hours = {};
  for (const row of form.querySelectorAll('.day-row')) {
    const spans = readSpans(row);
    for (const [a, b] of spans) {
      if (!a || !b || a >= b) throw new Error(tr('policy.badHours', { day: row.querySelector('.day-name').textContent }));
    }
    if (spans.length) hours[row.dataset.day] = spans;
  }
  const holidays = field(form, 'holidays').value.split(/[\s,]+/).filter(Boolean);
  const bad = holidays.find((d) => !datePattern.test(d));
  if (bad) throw new Error(tr('policy.badDate', { date: bad }));
  const inbox = field(form, 'inbox').value;
  return {
    name: field(form, 'name').value.trim(),
    inbox_id: inbox ? Number(inbox) : null,
    priorities: [...form.querySelectorAll('input[name=priorities]:checked')].map((x) => x.value),
    first_response_minutes: Number(field(form, 'first_response_minutes').value),
    resolution_minutes: Number(field(form, 'resolution_minutes').value),
    warn_minutes: Number(field(form, 'warn_minutes').value),
    schedule: { timezone: field(form, 'timezone').value, hours, holidays },
  };
}

// ---- CSAT ----

async function csatPage() {
  const s = await get('/api/v1/settings/csat');
  const status = h('span', { class: 'muted small', role: 'status', id: 'csat-status' });
  const form = h('form', { id: 'csat-form', class: 'card stack' },
    h('p', {}, tr('csat.intro')),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'enabled', id: 'csat-enabled', checked: !!s.enabled }), ' ', tr('csat.enabled')),
    h('fieldset', {}, h('legend', {}, tr('csat.channels')),
      channels.filter((c) => c.survey).map((c) => h('label', {},
        h('input', { type: 'checkbox', name: 'channels', value: c.id, checked: (s.channels || []).includes(c.id) }), ' ', c.survey))),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, tr('app.save')), status));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await patch('/api/v1/settings/csat', {
        enabled: field(form, 'enabled').checked,
        channels: [...form.querySelectorAll('input[name=channels]:checked')].map((x) => x.value),
      });
      ok();
      status.textContent = tr('app.saved');
    } catch (err) { status.textContent = ''; fail(err); }
  });
  fill($('#settings-body'), form);
}

// ---- audit log ----

const auditTypes = ['auth.login', 'auth.login_failed', 'auth.logout', 'agent.created', 'agent.updated', 'inbox.created', 'inbox.updated',
  'settings.updated', 'export', 'customer.merged', 'customer.unmerged', 'ticket.merged', 'order.action', 'sla_policy.changed',
  'token.created', 'token.revoked', 'webhook.created', 'webhook.updated', 'webhook.deleted', 'webhook.redelivered',
  'webhook.replayed'];

async function auditPage() {
  const form = h('form', { id: 'audit-filters', class: 'report-filters' },
    // The types are the log's own names (auth.login), the same in every language.
    labelled('a-type', tr('audit.type'),
      h('select', { id: 'a-type', name: 'type' }, h('option', { value: '' }, tr('audit.everyType')),
        auditTypes.map((t) => h('option', { value: t, translate: 'no' }, t)))),
    labelled('a-actor', tr('audit.who'),
      h('select', { id: 'a-actor', name: 'actor_id' }, h('option', { value: '' }, tr('audit.anyone')), state.agents.map((a) => h('option', { value: a.id }, a.name)))),
    labelled('a-from', tr('audit.from'), h('input', { id: 'a-from', name: 'from', type: 'date' })),
    labelled('a-to', tr('audit.to'), h('input', { id: 'a-to', name: 'to', type: 'date' })),
    h('button', { type: 'submit', class: 'primary' }, tr('audit.filter')),
    h('a', { id: 'audit-export', class: 'button', href: '/api/v1/audit.csv', download: '' }, tr('audit.export')));
  const body = h('tbody', { id: 'audit-rows' });
  const status = h('p', { class: 'muted small', role: 'status', id: 'audit-status' });
  const more = h('button', { type: 'button', class: 'more', id: 'audit-more', hidden: true }, tr('list.loadMore'));
  fill($('#settings-body'), form,
    h('div', { class: 'table-wrap card' }, h('table', { class: 'audit' },
      h('thead', {}, h('tr', {}, ['audit.col.when', 'audit.col.what', 'audit.col.who', 'audit.col.ip', 'audit.col.details'].map((x) => h('th', { scope: 'col' }, tr(x))))), body)),
    status, more);
  let cursor = '';
  let params = {};
  let my = 0;
  const page = async () => {
    const mine = my;
    more.disabled = true;
    try {
      const res = await get('/api/v1/audit' + qs({ ...params, limit: 100, cursor }));
      if (mine !== my) return;
      body.append(...(res.entries || []).map(auditRow));
      cursor = res.next_cursor || '';
      more.hidden = !cursor;
      status.textContent = body.childElementCount ? '' : tr('audit.none');
      ok();
    } catch (err) { if (mine === my) fail(err); } finally { more.disabled = false; }
  };
  const apply = () => {
    my++;
    params = {};
    for (const k of ['type', 'actor_id', 'from', 'to']) params[k] = field(form, k).value;
    $('#audit-export').setAttribute('href', '/api/v1/audit.csv' + qs(params));
    fill(body);
    cursor = '';
    return page();
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
  more.addEventListener('click', page);
  await apply();
}

function auditRow(e) {
  const a = e.actor || {};
  let who = a.name;
  if (a.kind === 'rule') who = tr('hist.rule', { name: a.name || '#' + a.id });
  else if (!who) who = a.kind === 'agent' ? tr('agent.unknown', { id: a.id }) : a.kind === 'customer' ? tr('hist.theCustomer') : tr('hist.system');
  const data = e.data && typeof e.data === 'object' ? Object.entries(e.data) : [];
  // The type and the details are the log's data as stored: names of the API, not language.
  return h('tr', { dataset: { type: e.type } },
    h('td', {}, timeEl(e.at)),
    h('td', { translate: 'no' }, h('code', {}, e.type)),
    h('td', {}, who),
    h('td', {}, e.ip || ''),
    h('td', { class: 'details', translate: 'no' }, data.map(([k, v]) => h('span', { class: 'kv' }, `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`))));
}
