// rules.js holds the managers' Automation rules page: the rules in the order they run
// (move up and down), a form to create or edit one (trigger, conditions and actions as
// form controls), a dry run of the last 30 days shown before a rule is turned on,
// turning rules off, and deleting after a confirmation.

import { reasonName } from './reasons.js';
import { get, post, patch, del } from './api.js';
import { h, fill, $, $$, announce } from './dom.js';
import { state } from './state.js';
import { settingsTabs, openTab, fail, ok } from './settings.js';
import { confirmDialog } from './setupkit.js';
import { t as tr, tn } from './i18n.js';

export const isRulesPage = (tab) => tab === 'rules';

// showRuleSettings draws the page. Returns false when the role may not see it.
export async function showRuleSettings(tab) {
  const cur = settingsTabs.find((t) => t.id === tab);
  if (!cur || !cur.allowed()) return false;
  await openTab(cur.id, () => rulesPage());
  return true;
}

// The words for the triggers, condition fields, operators and actions the API names are
// the catalogue's (rules.trigger.<event>, rules.field.<field>, rules.op.<op>,
// rules.action.<type>); one the console does not know shows as the API names it.
const triggers = ['ticket.created', 'message.received', 'ticket.updated', 'sla.warning', 'sla.breached', 'order.updated',
  'time.pending', 'time.no_customer_reply'];
const fields = ['ticket.inbox_id', 'ticket.assignee_id', 'ticket.channel', 'ticket.status', 'ticket.priority', 'ticket.tags',
  'ticket.subject', 'message.text', 'ticket.business_hours', 'customer.identity_kinds', 'customer.email_domain', 'customer.orders',
  'customer.lifetime_value', 'order.status', 'order.total', 'order.age_hours', 'order.carrier', 'ticket.reason', 'ticket.reason_confidence'];
const ops = ['is', 'is_not', 'has', 'has_not', 'contains', 'not_contains', 'eq', 'gt', 'gte', 'lt', 'lte', 'in', 'not_in'];
const actionTypes = ['assign_agent', 'assign_team', 'set_status', 'set_priority', 'add_tags', 'remove_tags', 'add_note', 'send_canned',
  'send_webhook', 'snooze', 'resolve'];
// A timed trigger's name has {hours} in it: "…" in the list, the rule's hours in its summary.
const triggerName = (t, hours = '…') => (triggers.includes(t) ? tr('rules.trigger.' + t, { hours }) : t);
const fieldName = (f) => (fields.includes(f) ? tr('rules.field.' + f) : f);
const opName = (o) => (ops.includes(o) ? tr('rules.op.' + o) : o);
const actionName = (a) => (actionTypes.includes(a) ? tr('rules.action.' + a) : a);
const timed = (t) => t.startsWith('time.');
const statuses = ['open', 'pending', 'resolved', 'closed'];
const priorities = ['low', 'normal', 'high', 'urgent'];
const channels = ['email', 'sms', 'whatsapp', 'voice', 'chat', 'discord', 'api'];
const kinds = ['email', 'phone', 'discord', 'chat', 'shop'];

// opts are the choices the page offers, loaded with it.
let opts = { triggers: [], fields: {}, actions: [], webhooks: [], canned: [], teams: [], policies: [] };

async function load() {
  const [rules, canned, teams, policies] = await Promise.all([
    get('/api/v1/rules'),
    get('/api/v1/canned-responses').catch(() => ({ canned_responses: [] })),
    get('/api/v1/teams').catch(() => ({ teams: [] })),
    get('/api/v1/sla-policies').catch(() => ({ sla_policies: [] })),
  ]);
  opts = { triggers: rules.triggers, fields: rules.fields, actions: rules.actions, webhooks: rules.webhooks,
    canned: canned.canned_responses || [], teams: teams.teams || [], policies: policies.sla_policies || [] };
  return rules.rules;
}

// rulesPage draws the page; focus lists selectors of elements to focus afterwards, the
// first one on the page wins.
async function rulesPage(...focus) {
  const rules = await load();
  fill($('#settings-body'),
    h('p', { class: 'muted' }, tr('rules.intro')),
    h('section', { class: 'setup-section', 'aria-labelledby': 'rules-h' },
      h('h3', { id: 'rules-h', tabindex: '-1' }, tr('rules.title')),
      rules.length ? h('ol', { class: 'settings-list', id: 'rules-list' }, rules.map((r, i) => h('li', {}, ruleCard(r, i, rules.length))))
        : h('p', { class: 'muted', id: 'rules-none' }, tr('rules.none'))),
    h('div', { id: 'rule-editor' }, editor(null)));
  if (focus.length) (focus.map((f) => $(f)).find(Boolean) || $('#rules-h')).focus();
}

// describeRule is the rule in sentences: When, If (when it has conditions), Then, and
// Then stop (when it stops the run).
function describeRule(r) {
  const cond = (c) => tr('rules.condition', { field: fieldName(c.field), op: opName(c.op), value: valueText(c) });
  const all = r.conditions.all.map(cond).join('; ');
  const any = r.conditions.any.map(cond).join('; ');
  const sentences = [tr('rules.when', { trigger: triggerName(r.trigger.event, r.trigger.hours || '') })];
  if (all && any) sentences.push(tr('rules.ifAllAny', { all, any }));
  else if (all) sentences.push(tr('rules.ifAll', { all }));
  else if (any) sentences.push(tr('rules.ifAny', { any }));
  sentences.push(tr('rules.then', { actions: r.actions.map(actionText).join('; ') }));
  if (r.stop) sentences.push(tr('rules.thenStop'));
  return sentences.join(' ');
}

// word is the catalogue's word for a value of the API (status.open), or the value.
function word(prefix, known, v) { return known.includes(v) ? tr(prefix + v) : v; }

function valueText(c) {
  if (c.field === 'ticket.inbox_id') return (state.inboxes.find((i) => i.id === c.value) || {}).name || tr('inbox.unknown', { id: c.value });
  if (c.field === 'ticket.assignee_id') return c.value ? agentLabel(c.value) : tr('rules.nobody');
  if (c.field === 'ticket.reason') return c.value ? reasonName(c.value) : tr('rules.noReason');
  if (c.field === 'ticket.business_hours') return (opts.policies.find((p) => p.id === c.value) || {}).name || tr('rules.policyN', { id: c.value });
  const shown = { 'ticket.status': () => tr('status.' + c.value), 'ticket.priority': () => tr('priority.' + c.value),
    'ticket.channel': () => tr('channel.' + c.value), 'customer.identity_kinds': () => tr('identity.' + c.value) }[c.field];
  const known = { 'ticket.status': statuses, 'ticket.priority': priorities, 'ticket.channel': channels, 'customer.identity_kinds': kinds }[c.field];
  return tr('rules.quoted', { value: shown && known.includes(c.value) ? shown() : c.value });
}

function agentLabel(id) { return (state.agents.find((a) => a.id === id) || {}).name || tr('agent.unknown', { id }); }

function actionText(a) {
  switch (a.type) {
    case 'assign_agent': return a.agent_id ? tr('rules.do.assign', { agent: agentLabel(a.agent_id) }) : tr('rules.do.unassign');
    case 'assign_team': return a.team_id ? tr('rules.do.assignTeam', { team: (opts.teams.find((t) => t.id === a.team_id) || {}).name || a.team_id }) : tr('rules.do.noTeam');
    case 'set_status': return tr('rules.do.setStatus', { status: word('status.', statuses, a.status).toLowerCase() });
    case 'set_priority': return tr('rules.do.setPriority', { priority: word('priority.', priorities, a.priority).toLowerCase() });
    case 'add_tags': return tr('rules.do.addTags', { tags: a.tags.join(', ') });
    case 'remove_tags': return tr('rules.do.removeTags', { tags: a.tags.join(', ') });
    case 'add_note': return tr('rules.do.note', { text: a.text.slice(0, 60) });
    case 'send_canned': return tr('rules.do.canned', { title: (opts.canned.find((c) => c.id === a.canned_id) || {}).title || a.canned_id });
    case 'send_webhook': return tr('rules.do.webhook', { url: (opts.webhooks.find((w) => w.id === a.webhook_id) || {}).url || tr('rules.webhookN', { id: a.webhook_id }) });
    case 'snooze':
      if (a.hours && a.until_reply) return tr('rules.do.snoozeHoursReply', { hours: a.hours });
      if (a.hours) return tr('rules.do.snoozeHours', { hours: a.hours });
      return tr(a.until_reply ? 'rules.do.snoozeReply' : 'rules.do.snooze');
    case 'resolve': return tr('rules.do.resolve');
  }
  return a.type;
}

// ruleCard shows one rule with its switches.
function ruleCard(r, i, n) {
  const id = `rule-${r.id}`;
  const dry = h('div', { class: 'rule-dry', id: `${id}-dry`, 'aria-live': 'polite' });
  const move = (to, dir) => h('button', { type: 'button', class: `rule-${dir}`, disabled: to < 1 || to > n,
    'aria-label': tr(dir === 'up' ? 'rules.moveUpLabel' : 'rules.moveDownLabel', { name: r.name }),
    onclick: async () => {
      try {
        await patch(`/api/v1/rules/${r.id}`, { position: to });
        ok();
        announce(tr(dir === 'up' ? 'rule.movedUp' : 'rule.movedDown', { name: r.name, position: to, count: n }));
        const other = dir === 'up' ? 'down' : 'up';
        await rulesPage(`#${id} .rule-${dir}:not([disabled])`, `#${id} .rule-${other}:not([disabled])`, `#${id}-h`);
      } catch (err) { fail(err); }
    } }, tr(dir === 'up' ? 'rules.moveUp' : 'rules.moveDown'));
  const toggle = r.enabled
    ? h('button', { type: 'button', class: 'rule-toggle', 'aria-label': tr('rules.turnOffLabel', { name: r.name }), onclick: async () => {
      try {
        await patch(`/api/v1/rules/${r.id}`, { enabled: false });
        ok();
        announce(tr('rule.off', { name: r.name }));
        await rulesPage(`#${id} .rule-toggle`);
      } catch (err) { fail(err); }
    } }, tr('rules.turnOff'))
    : h('button', { type: 'button', class: 'rule-toggle', 'aria-label': tr('rules.dryRunOnLabel', { name: r.name }), onclick: async () => {
      try {
        const res = await post(`/api/v1/rules/${r.id}/dry-run`);
        ok();
        showDryRun(dry, res, async () => {
          await patch(`/api/v1/rules/${r.id}`, { enabled: true });
          announce(tr('rule.on', { name: r.name }));
          await rulesPage(`#${id} .rule-toggle`);
        }, r.name);
      } catch (err) { fail(err); }
    } }, tr('rules.dryRunOn'));
  const edit = h('button', { type: 'button', class: 'rule-edit', 'aria-label': tr('rules.editLabel', { name: r.name }), onclick: () => {
    fill($('#rule-editor'), editor(r));
    $('#rule-form-h').focus();
  } }, tr('rules.edit'));
  const remove = h('button', { type: 'button', class: 'danger', 'aria-label': tr('app.deleteName', { name: r.name }), onclick: (e) => confirmDialog({
    title: tr('rules.deleteTitle'),
    text: tr('rules.deleteText', { name: r.name }),
    confirm: tr('rules.deleteConfirm'),
    returnFocus: e.target,
    onConfirm: async () => {
      await del(`/api/v1/rules/${r.id}`);
      ok();
      announce(tr('rule.deleted', { name: r.name }));
      await rulesPage('#rules-h');
    },
  }) }, tr('app.delete'));
  return h('article', { class: 'card stack', id, 'aria-labelledby': `${id}-h`, dataset: { rule: r.id } },
    h('div', { class: 'row' },
      h('span', { class: 'muted' }, `${i + 1}.`),
      h('h4', { id: `${id}-h`, class: 'rule-name', tabindex: '-1' }, r.name),
      h('span', { class: 'badge ' + (r.enabled ? 'state-connected' : 'state-disabled') }, tr(r.enabled ? 'rules.on' : 'rules.off')),
      r.stop ? h('span', { class: 'badge' }, tr('rules.stops')) : null),
    h('p', { class: 'small rule-summary' }, describeRule(r)),
    h('div', { class: 'row' }, move(i, 'up'), move(i + 2, 'down'), toggle, edit, remove),
    dry);
}

// showDryRun shows what a dry run found in box; with turnOn, a button that turns the
// rule on after the manager saw it.
function showDryRun(box, res, turnOn, name) {
  const n = res.matches.length;
  const summary = tr(res.truncated ? 'rules.dryMatchesNewest' : 'rules.dryMatches', { n, checked: res.checked });
  fill(box,
    h('h5', { class: 'rule-dry-h', tabindex: '-1' }, tr('rule.dryRun', { summary })),
    n ? h('ul', { class: 'rule-matches' }, res.matches.slice(0, 50).map((m) =>
      h('li', { dataset: { ticket: m.id } }, h('a', { href: `#/ticket/${m.id}` }, `#${m.id}`), ' ', m.subject || tr('ticket.untitled'), ' ',
        h('span', { class: 'muted small' }, word('status.', statuses, m.status))))) : null,
    n > 50 ? h('p', { class: 'muted small' }, tr('rules.andMore', { n: n - 50 })) : null,
    turnOn ? h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary rule-turn-on', onclick: async () => { try { await turnOn(); } catch (err) { fail(err); } } }, tr('rules.turnOn', { name })),
      h('button', { type: 'button', onclick: () => { fill(box); box.closest('article')?.querySelector('.rule-toggle')?.focus(); } }, tr('rules.notNow'))) : null);
  announce(tr('rule.dryRun', { summary }));
  box.querySelector('.rule-dry-h').focus();
}

// ---- the editor ----

let rowSeq = 0;

function select(id, label, options, value, attrs = {}) {
  return h('span', { class: 'field inline' }, h('label', { for: id, class: 'visually-hidden' }, label),
    h('select', { id, ...attrs }, options.map(([v, text]) => h('option', { value: v, selected: String(v) === String(value) }, text))));
}

function input(id, label, value, attrs = {}) {
  return h('span', { class: 'field inline' }, h('label', { for: id, class: 'visually-hidden' }, label),
    h('input', { id, value: value ?? '', ...attrs }));
}

// valueControl is the value of a condition on field, as the field's kind wants it.
function valueControl(id, field, value) {
  const label = tr('rules.valueOf', { field: fieldName(field) });
  switch (field) {
    case 'ticket.inbox_id': return select(id, label, state.inboxes.map((i) => [i.id, i.name]), value);
    case 'ticket.assignee_id': return select(id, label, [[0, tr('rules.valueNobody')], ...state.agents.map((a) => [a.id, a.name])], value ?? 0);
    case 'ticket.business_hours': return select(id, label, opts.policies.map((p) => [p.id, p.name]), value);
    case 'ticket.reason': return select(id, label, [[0, tr('rules.valueNone')], ...(state.reasons || []).filter((r) => !r.archived || r.id === value).map((r) => [r.id, r.name])], value ?? 0);
    case 'ticket.channel': return select(id, label, channels.map((c) => [c, tr('channel.' + c)]), value);
    case 'ticket.status': return select(id, label, statuses.map((s) => [s, tr('status.' + s)]), value);
    case 'ticket.priority': return select(id, label, priorities.map((p) => [p, tr('priority.' + p)]), value);
    case 'customer.identity_kinds': return select(id, label, kinds.map((k) => [k, tr('identity.' + k)]), value);
  }
  const num = ['customer.orders', 'customer.lifetime_value', 'order.total', 'order.age_hours', 'ticket.reason_confidence'].includes(field);
  return input(id, label, value, num ? { type: 'number', min: 0, step: 1, class: 'num' } : { type: 'text' });
}

function readValue(field, el) {
  const numeric = ['ticket.inbox_id', 'ticket.assignee_id', 'ticket.business_hours', 'ticket.reason', 'ticket.reason_confidence',
    'customer.orders', 'customer.lifetime_value', 'order.total', 'order.age_hours'];
  return numeric.includes(field) ? Number(el.value) : el.value;
}

// conditionRow is one condition: field, operator, value and a Remove button.
function conditionRow(c) {
  const n = ++rowSeq;
  const choices = Object.keys(opts.fields);
  const field = c ? c.field : 'ticket.subject';
  const row = h('li', { class: 'rule-cond row', dataset: { n } });
  const draw = (f, op, value) => {
    const fieldOps = opts.fields[f] || [];
    fill(row,
      select(`cf-${n}`, tr('rules.fieldLabel'), choices.map((x) => [x, fieldName(x)]), f, { class: 'cond-field', onchange: (e) => { draw(e.target.value); $(`#cf-${n}`).focus(); } }),
      select(`co-${n}`, tr('rules.operatorLabel'), fieldOps.map((o) => [o, opName(o)]), op || fieldOps[0], { class: 'cond-op' }),
      h('span', { class: 'cond-value' }, valueControl(`cv-${n}`, f, value)),
      h('button', { type: 'button', class: 'small', 'aria-label': tr('rules.removeCondition'), onclick: () => {
        const list = row.parentElement;
        row.remove();
        (list.closest('fieldset').querySelector('.add-cond')).focus();
      } }, tr('rules.remove')));
  };
  draw(field, c && c.op, c && c.value);
  return row;
}

function readConditions(list) {
  return $$('li.rule-cond', list).map((row) => {
    const n = row.dataset.n;
    const field = $(`#cf-${n}`).value;
    return { field, op: $(`#co-${n}`).value, value: readValue(field, $(`#cv-${n}`)) };
  });
}

// actionRow is one action: its type and what it needs.
function actionRow(a) {
  const n = ++rowSeq;
  const row = h('li', { class: 'rule-action row', dataset: { n } });
  const draw = (type, a = {}) => {
    // A control's label names its action: "Agent of the Assign to an agent action".
    const label = (key) => tr(key, { action: actionName(type) });
    let params = null;
    switch (type) {
      case 'assign_agent': params = select(`ap-${n}`, label('rules.param.agent'), [[0, tr('rules.unassignOption')], ...state.agents.map((x) => [x.id, x.name])], a.agent_id ?? ''); break;
      case 'assign_team': params = select(`ap-${n}`, label('rules.param.team'), [[0, tr('ticket.noTeam')], ...opts.teams.map((x) => [x.id, x.name])], a.team_id ?? ''); break;
      case 'set_status': params = select(`ap-${n}`, label('rules.param.status'), statuses.map((s) => [s, tr('status.' + s)]), a.status); break;
      case 'set_priority': params = select(`ap-${n}`, label('rules.param.priority'), priorities.map((p) => [p, tr('priority.' + p)]), a.priority); break;
      case 'add_tags': case 'remove_tags': params = input(`ap-${n}`, label('rules.param.tags'), (a.tags || []).join(', '), { type: 'text', placeholder: tr('rules.tagsHint') }); break;
      case 'add_note': params = h('span', { class: 'field inline' }, h('label', { for: `ap-${n}`, class: 'visually-hidden' }, label('rules.param.text')),
        h('textarea', { id: `ap-${n}`, rows: 2, value: a.text || '', placeholder: tr('rules.noteHint') })); break;
      case 'send_canned': params = select(`ap-${n}`, label('rules.param.canned'), opts.canned.map((c) => [c.id, c.title]), a.canned_id); break;
      case 'send_webhook': params = select(`ap-${n}`, label('rules.param.webhook'), opts.webhooks.map((w) => [w.id, w.url]), a.webhook_id); break;
      case 'snooze': params = h('span', {}, tn('rules.snoozeFor', {
        hours: input(`ap-${n}`, label('rules.param.hours'), a.hours || 24, { type: 'number', min: 0, step: 1, class: 'num' }),
        reply: h('label', { class: 'check' }, h('input', { type: 'checkbox', id: `au-${n}`, checked: !!a.until_reply }), ' ', tr('rules.orUntilReply')) })); break;
    }
    fill(row,
      select(`at-${n}`, tr('rules.actionLabel'), opts.actions.map((x) => [x, actionName(x)]), type, { class: 'action-type', onchange: (e) => { draw(e.target.value); $(`#at-${n}`).focus(); } }),
      params,
      h('button', { type: 'button', class: 'small', 'aria-label': tr('rules.removeAction'), onclick: () => {
        const list = row.parentElement;
        row.remove();
        list.closest('fieldset').querySelector('.add-action').focus();
      } }, tr('rules.remove')));
  };
  draw(a ? a.type : 'add_tags', a || {});
  return row;
}

function readActions(list) {
  return $$('li.rule-action', list).map((row) => {
    const n = row.dataset.n;
    const type = $(`#at-${n}`).value;
    const p = $(`#ap-${n}`);
    switch (type) {
      case 'assign_agent': return { type, agent_id: Number(p.value) };
      case 'assign_team': return { type, team_id: Number(p.value) };
      case 'set_status': return { type, status: p.value };
      case 'set_priority': return { type, priority: p.value };
      case 'add_tags': case 'remove_tags': return { type, tags: p.value.split(',').map((s) => s.trim()).filter(Boolean) };
      case 'add_note': return { type, text: p.value };
      case 'send_canned': return { type, canned_id: Number(p.value) };
      case 'send_webhook': return { type, webhook_id: Number(p.value) };
      case 'snooze': return { type, hours: Number(p.value) || 0, until_reply: $(`#au-${n}`).checked };
    }
    return { type };
  });
}

// editor is the form of a new rule (r null) or of rule r.
function editor(r) {
  const trig = r ? r.trigger.event : 'ticket.created';
  const hours = h('span', { id: 'rule-hours-field', class: 'field inline', hidden: !timed(trig) },
    h('label', { for: 'rule-hours' }, tr('rules.hours')), h('input', { id: 'rule-hours', type: 'number', min: 1, step: 1, class: 'num', value: r ? r.trigger.hours || 48 : 48 }));
  const all = h('ul', { class: 'rule-conds', id: 'rule-all' }, (r ? r.conditions.all : []).map(conditionRow));
  const any = h('ul', { class: 'rule-conds', id: 'rule-any' }, (r ? r.conditions.any : []).map(conditionRow));
  const actions = h('ul', { class: 'rule-actions', id: 'rule-actions' }, (r ? r.actions : [null]).map(actionRow));
  const dry = h('div', { class: 'rule-dry', id: 'rule-form-dry', 'aria-live': 'polite' });
  const group = (id, legend, list, hint) => h('fieldset', { class: 'rule-group', id }, h('legend', {}, legend),
    h('p', { class: 'hint' }, hint), list,
    h('button', { type: 'button', class: 'add-cond', onclick: () => { const row = conditionRow(null); list.append(row); row.querySelector('select').focus(); } }, tr('rules.addCondition')));
  const body = () => ({
    name: $('#rule-name').value,
    trigger: timed($('#rule-trigger').value) ? { event: $('#rule-trigger').value, hours: Number($('#rule-hours').value) } : { event: $('#rule-trigger').value },
    conditions: { all: readConditions(all), any: readConditions(any) },
    actions: readActions(actions),
    stop: $('#rule-stop').checked,
  });
  const form = h('form', { class: 'card stack setup-section', id: 'rule-form', 'aria-labelledby': 'rule-form-h', novalidate: true },
    h('h4', { id: 'rule-form-h', tabindex: '-1' }, r ? tr('rules.editTitle', { name: r.name }) : tr('rules.addTitle')),
    h('div', { class: 'field' }, h('label', { for: 'rule-name' }, tr('rules.name')), h('input', { id: 'rule-name', required: true, maxlength: 100, value: r ? r.name : '' })),
    h('div', { class: 'row' },
      h('span', { class: 'field inline' }, h('label', { for: 'rule-trigger' }, tr('rules.whenLabel')),
        h('select', { id: 'rule-trigger', onchange: (e) => { hours.hidden = !timed(e.target.value); } },
          opts.triggers.map((t) => h('option', { value: t, selected: t === trig }, triggerName(t))))),
      hours),
    group('rule-all-group', tr('rules.allLegend'), all, tr('rules.allHint')),
    group('rule-any-group', tr('rules.anyLegend'), any, tr('rules.anyHint')),
    h('fieldset', { class: 'rule-group', id: 'rule-actions-group' }, h('legend', {}, tr('rules.thenLegend')), actions,
      h('button', { type: 'button', class: 'add-action', onclick: () => { const row = actionRow(null); actions.append(row); row.querySelector('select').focus(); } }, tr('rules.addAction'))),
    h('label', { class: 'check block' }, h('input', { type: 'checkbox', id: 'rule-stop', checked: r ? r.stop : false }), ' ', tr('rules.stopHere')),
    h('p', { class: 'hint' }, r ? '' : tr('rules.newOff')),
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'primary' }, tr(r ? 'rules.save' : 'rules.add')),
      h('button', { type: 'button', id: 'rule-dry-run', onclick: async () => {
        try {
          const res = await post('/api/v1/rules/dry-run', body());
          ok();
          showDryRun(dry, res, null);
        } catch (err) { fail(err); announce(err.message); }
      } }, tr('rules.dryRun')),
      r ? h('button', { type: 'button', onclick: () => { fill($('#rule-editor'), editor(null)); $(`#rule-${r.id}-h`)?.focus(); } }, tr('app.cancel')) : null),
    dry);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const saved = r ? await patch(`/api/v1/rules/${r.id}`, body()) : await post('/api/v1/rules', body());
      ok();
      announce(tr(saved.enabled ? 'rule.saved' : 'rule.savedOff', { name: saved.name }));
      await rulesPage(`#rule-${saved.id}-h`);
    } catch (err) { fail(err); announce(err.message); }
  });
  return form;
}
