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
import { t as tr } from './i18n.js';

export const isRulesPage = (tab) => tab === 'rules';

// showRuleSettings draws the page. Returns false when the role may not see it.
export async function showRuleSettings(tab) {
  const cur = settingsTabs.find((t) => t.id === tab);
  if (!cur || !cur.allowed()) return false;
  await openTab(cur.id, () => rulesPage());
  return true;
}

const triggerNames = {
  'ticket.created': 'A ticket is created',
  'message.received': 'The customer sends a message',
  'ticket.updated': 'A ticket is changed',
  'sla.warning': 'An SLA target is about to be missed',
  'sla.breached': 'An SLA target is missed',
  'order.updated': 'An order of the customer changes',
  'time.pending': 'A ticket is pending for … hours',
  'time.no_customer_reply': 'The customer has not answered our reply for … hours',
};
const timed = (t) => t.startsWith('time.');

const fieldNames = {
  'ticket.inbox_id': 'Inbox', 'ticket.assignee_id': 'Assignee', 'ticket.channel': 'Channel', 'ticket.status': 'Status',
  'ticket.priority': 'Priority', 'ticket.tags': 'Tags', 'ticket.subject': 'Subject', 'message.text': 'Customer’s message',
  'ticket.business_hours': 'Business hours of SLA policy', 'customer.identity_kinds': 'Customer’s identities',
  'customer.email_domain': 'Customer’s email domain', 'customer.orders': 'Customer’s number of orders',
  'customer.lifetime_value': 'Customer’s lifetime value (minor units)', 'order.status': 'Latest order’s status',
  'order.total': 'Latest order’s total (minor units)', 'order.age_hours': 'Latest order’s age in hours', 'order.carrier': 'Latest order’s carrier',
  'ticket.reason': 'Contact reason', 'ticket.reason_confidence': 'Contact reason’s confidence (%)',
};
const opNames = {
  is: 'is', is_not: 'is not', has: 'has', has_not: 'does not have', contains: 'contains', not_contains: 'does not contain',
  eq: '=', gt: '>', gte: '≥', lt: '<', lte: '≤', in: 'is within', not_in: 'is outside',
};
const actionNames = {
  assign_agent: 'Assign to an agent', assign_team: 'Assign to a team', set_status: 'Set the status', set_priority: 'Set the priority',
  add_tags: 'Add tags', remove_tags: 'Remove tags', add_note: 'Add an internal note', send_canned: 'Reply with a canned response',
  send_webhook: 'Send the event to a webhook', snooze: 'Snooze', resolve: 'Resolve',
};
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
    h('p', { class: 'muted' }, 'Rules act on tickets by themselves: when their trigger happens and the ticket meets their conditions, ',
      'they take their actions, in this order, top first. A rule that says “stop here” ends the run for that event. ',
      'Every change a rule makes shows in the ticket’s history under the rule’s name.'),
    h('section', { class: 'setup-section', 'aria-labelledby': 'rules-h' },
      h('h3', { id: 'rules-h', tabindex: '-1' }, 'Rules'),
      rules.length ? h('ol', { class: 'settings-list', id: 'rules-list' }, rules.map((r, i) => h('li', {}, ruleCard(r, i, rules.length))))
        : h('p', { class: 'muted', id: 'rules-none' }, 'No rules yet.')),
    h('div', { id: 'rule-editor' }, editor(null)));
  if (focus.length) (focus.map((f) => $(f)).find(Boolean) || $('#rules-h')).focus();
}

function describeRule(r) {
  const trig = (triggerNames[r.trigger.event] || r.trigger.event).replace('…', String(r.trigger.hours || ''));
  const cond = (c) => `${fieldNames[c.field] || c.field} ${opNames[c.op] || c.op} ${valueText(c)}`;
  const parts = [];
  if (r.conditions.all.length) parts.push('all of: ' + r.conditions.all.map(cond).join('; '));
  if (r.conditions.any.length) parts.push('any of: ' + r.conditions.any.map(cond).join('; '));
  return `When: ${trig}. ${parts.length ? 'If ' + parts.join(', and ') + '. ' : ''}Then: ${r.actions.map(actionText).join('; ')}.${r.stop ? ' Then stop.' : ''}`;
}

function valueText(c) {
  if (c.field === 'ticket.inbox_id') return (state.inboxes.find((i) => i.id === c.value) || {}).name || `inbox ${c.value}`;
  if (c.field === 'ticket.assignee_id') return c.value ? agentLabel(c.value) : 'nobody';
  if (c.field === 'ticket.reason') return c.value ? reasonName(c.value) : 'none';
  if (c.field === 'ticket.business_hours') return (opts.policies.find((p) => p.id === c.value) || {}).name || `policy ${c.value}`;
  return `“${c.value}”`;
}

function agentLabel(id) { return (state.agents.find((a) => a.id === id) || {}).name || `agent ${id}`; }

function actionText(a) {
  switch (a.type) {
    case 'assign_agent': return a.agent_id ? `assign to ${agentLabel(a.agent_id)}` : 'unassign';
    case 'assign_team': return a.team_id ? `assign to team ${(opts.teams.find((t) => t.id === a.team_id) || {}).name || a.team_id}` : 'take out of its team';
    case 'set_status': return `set status ${a.status}`;
    case 'set_priority': return `set priority ${a.priority}`;
    case 'add_tags': return `add tags ${a.tags.join(', ')}`;
    case 'remove_tags': return `remove tags ${a.tags.join(', ')}`;
    case 'add_note': return `add a note “${a.text.slice(0, 60)}”`;
    case 'send_canned': return `reply with “${(opts.canned.find((c) => c.id === a.canned_id) || {}).title || a.canned_id}”`;
    case 'send_webhook': return `send to ${(opts.webhooks.find((w) => w.id === a.webhook_id) || {}).url || 'webhook ' + a.webhook_id}`;
    case 'snooze': return `snooze${a.hours ? ` for ${a.hours} h` : ''}${a.until_reply ? ' until the customer replies' : ''}`;
    case 'resolve': return 'resolve';
  }
  return a.type;
}

// ruleCard shows one rule with its switches.
function ruleCard(r, i, n) {
  const id = `rule-${r.id}`;
  const dry = h('div', { class: 'rule-dry', id: `${id}-dry`, 'aria-live': 'polite' });
  const move = (to, dir) => h('button', { type: 'button', class: `rule-${dir}`, disabled: to < 1 || to > n, 'aria-label': `Move ${dir}: ${r.name}`,
    onclick: async () => {
      try {
        await patch(`/api/v1/rules/${r.id}`, { position: to });
        ok();
        announce(tr('rule.moved', { name: r.name, direction: dir, position: to, count: n }));
        const other = dir === 'up' ? 'down' : 'up';
        await rulesPage(`#${id} .rule-${dir}:not([disabled])`, `#${id} .rule-${other}:not([disabled])`, `#${id}-h`);
      } catch (err) { fail(err); }
    } }, dir === 'up' ? 'Move up' : 'Move down');
  const toggle = r.enabled
    ? h('button', { type: 'button', class: 'rule-toggle', 'aria-label': `Turn off ${r.name}`, onclick: async () => {
      try {
        await patch(`/api/v1/rules/${r.id}`, { enabled: false });
        ok();
        announce(tr('rule.off', { name: r.name }));
        await rulesPage(`#${id} .rule-toggle`);
      } catch (err) { fail(err); }
    } }, 'Turn off')
    : h('button', { type: 'button', class: 'rule-toggle', 'aria-label': `Dry run and turn on ${r.name}`, onclick: async () => {
      try {
        const res = await post(`/api/v1/rules/${r.id}/dry-run`);
        ok();
        showDryRun(dry, res, async () => {
          await patch(`/api/v1/rules/${r.id}`, { enabled: true });
          announce(tr('rule.on', { name: r.name }));
          await rulesPage(`#${id} .rule-toggle`);
        }, r.name);
      } catch (err) { fail(err); }
    } }, 'Dry run and turn on…');
  const edit = h('button', { type: 'button', class: 'rule-edit', 'aria-label': `Edit ${r.name}`, onclick: () => {
    fill($('#rule-editor'), editor(r));
    $('#rule-form-h').focus();
  } }, 'Edit');
  const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${r.name}`, onclick: (e) => confirmDialog({
    title: 'Delete this rule?',
    text: `“${r.name}” stops acting on tickets. What it did stays in the tickets’ history.`,
    confirm: 'Delete rule',
    returnFocus: e.target,
    onConfirm: async () => {
      await del(`/api/v1/rules/${r.id}`);
      ok();
      announce(tr('rule.deleted', { name: r.name }));
      await rulesPage('#rules-h');
    },
  }) }, 'Delete');
  return h('article', { class: 'card stack', id, 'aria-labelledby': `${id}-h`, dataset: { rule: r.id } },
    h('div', { class: 'row' },
      h('span', { class: 'muted' }, `${i + 1}.`),
      h('h4', { id: `${id}-h`, class: 'rule-name', tabindex: '-1' }, r.name),
      h('span', { class: 'badge ' + (r.enabled ? 'state-connected' : 'state-disabled') }, r.enabled ? 'On' : 'Off'),
      r.stop ? h('span', { class: 'badge' }, 'Stops here') : null),
    h('p', { class: 'small rule-summary' }, describeRule(r)),
    h('div', { class: 'row' }, move(i, 'up'), move(i + 2, 'down'), toggle, edit, remove),
    dry);
}

// showDryRun shows what a dry run found in box; with turnOn, a button that turns the
// rule on after the manager saw it.
function showDryRun(box, res, turnOn, name) {
  const n = res.matches.length;
  const summary = `${n} of ${res.checked} tickets of the last 30 days match${res.truncated ? ' (only the newest were checked)' : ''}.`;
  fill(box,
    h('h5', { class: 'rule-dry-h', tabindex: '-1' }, 'Dry run: ', summary),
    n ? h('ul', { class: 'rule-matches' }, res.matches.slice(0, 50).map((m) =>
      h('li', { dataset: { ticket: m.id } }, h('a', { href: `#/ticket/${m.id}` }, `#${m.id}`), ' ', m.subject || '(no subject)', ' ',
        h('span', { class: 'muted small' }, m.status)))) : null,
    n > 50 ? h('p', { class: 'muted small' }, `and ${n - 50} more.`) : null,
    turnOn ? h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary rule-turn-on', onclick: async () => { try { await turnOn(); } catch (err) { fail(err); } } }, `Turn on ${name}`),
      h('button', { type: 'button', onclick: () => { fill(box); box.closest('article')?.querySelector('.rule-toggle')?.focus(); } }, 'Not now')) : null);
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
  const label = `Value of the ${fieldNames[field] || field} condition`;
  switch (field) {
    case 'ticket.inbox_id': return select(id, label, state.inboxes.map((i) => [i.id, i.name]), value);
    case 'ticket.assignee_id': return select(id, label, [[0, 'Nobody'], ...state.agents.map((a) => [a.id, a.name])], value ?? 0);
    case 'ticket.business_hours': return select(id, label, opts.policies.map((p) => [p.id, p.name]), value);
    case 'ticket.reason': return select(id, label, [[0, 'None'], ...(state.reasons || []).filter((r) => !r.archived || r.id === value).map((r) => [r.id, r.name])], value ?? 0);
    case 'ticket.channel': return select(id, label, channels.map((c) => [c, c]), value);
    case 'ticket.status': return select(id, label, statuses.map((s) => [s, s]), value);
    case 'ticket.priority': return select(id, label, priorities.map((p) => [p, p]), value);
    case 'customer.identity_kinds': return select(id, label, kinds.map((k) => [k, k]), value);
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
  const fields = Object.keys(opts.fields);
  const field = c ? c.field : 'ticket.subject';
  const row = h('li', { class: 'rule-cond row', dataset: { n } });
  const draw = (f, op, value) => {
    const ops = opts.fields[f] || [];
    fill(row,
      select(`cf-${n}`, 'Field', fields.map((x) => [x, fieldNames[x] || x]), f, { class: 'cond-field', onchange: (e) => { draw(e.target.value); $(`#cf-${n}`).focus(); } }),
      select(`co-${n}`, 'Operator', ops.map((o) => [o, opNames[o] || o]), op || ops[0], { class: 'cond-op' }),
      h('span', { class: 'cond-value' }, valueControl(`cv-${n}`, f, value)),
      h('button', { type: 'button', class: 'small', 'aria-label': 'Remove this condition', onclick: () => {
        const list = row.parentElement;
        row.remove();
        (list.closest('fieldset').querySelector('.add-cond')).focus();
      } }, 'Remove'));
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
    const label = (what) => `${what} of the ${actionNames[type] || type} action`;
    let params = null;
    switch (type) {
      case 'assign_agent': params = select(`ap-${n}`, label('Agent'), [[0, 'Nobody (unassign)'], ...state.agents.map((x) => [x.id, x.name])], a.agent_id ?? ''); break;
      case 'assign_team': params = select(`ap-${n}`, label('Team'), [[0, 'No team'], ...opts.teams.map((x) => [x.id, x.name])], a.team_id ?? ''); break;
      case 'set_status': params = select(`ap-${n}`, label('Status'), statuses.map((s) => [s, s]), a.status); break;
      case 'set_priority': params = select(`ap-${n}`, label('Priority'), priorities.map((p) => [p, p]), a.priority); break;
      case 'add_tags': case 'remove_tags': params = input(`ap-${n}`, label('Tags, separated by commas'), (a.tags || []).join(', '), { type: 'text', placeholder: 'tags, separated by commas' }); break;
      case 'add_note': params = h('span', { class: 'field inline' }, h('label', { for: `ap-${n}`, class: 'visually-hidden' }, label('Text')),
        h('textarea', { id: `ap-${n}`, rows: 2, value: a.text || '', placeholder: 'Note text; {{customer.first_name}} and the other placeholders work' })); break;
      case 'send_canned': params = select(`ap-${n}`, label('Canned response'), opts.canned.map((c) => [c.id, c.title]), a.canned_id); break;
      case 'send_webhook': params = select(`ap-${n}`, label('Webhook'), opts.webhooks.map((w) => [w.id, w.url]), a.webhook_id); break;
      case 'snooze': params = h('span', {}, input(`ap-${n}`, label('Hours'), a.hours || 24, { type: 'number', min: 0, step: 1, class: 'num' }), ' hours ',
        h('label', { class: 'check' }, h('input', { type: 'checkbox', id: `au-${n}`, checked: !!a.until_reply }), ' or until the customer replies')); break;
    }
    fill(row,
      select(`at-${n}`, 'Action', opts.actions.map((x) => [x, actionNames[x] || x]), type, { class: 'action-type', onchange: (e) => { draw(e.target.value); $(`#at-${n}`).focus(); } }),
      params,
      h('button', { type: 'button', class: 'small', 'aria-label': 'Remove this action', onclick: () => {
        const list = row.parentElement;
        row.remove();
        list.closest('fieldset').querySelector('.add-action').focus();
      } }, 'Remove'));
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
    h('label', { for: 'rule-hours' }, 'Hours'), h('input', { id: 'rule-hours', type: 'number', min: 1, step: 1, class: 'num', value: r ? r.trigger.hours || 48 : 48 }));
  const all = h('ul', { class: 'rule-conds', id: 'rule-all' }, (r ? r.conditions.all : []).map(conditionRow));
  const any = h('ul', { class: 'rule-conds', id: 'rule-any' }, (r ? r.conditions.any : []).map(conditionRow));
  const actions = h('ul', { class: 'rule-actions', id: 'rule-actions' }, (r ? r.actions : [null]).map(actionRow));
  const dry = h('div', { class: 'rule-dry', id: 'rule-form-dry', 'aria-live': 'polite' });
  const group = (id, legend, list, hint) => h('fieldset', { class: 'rule-group', id }, h('legend', {}, legend),
    h('p', { class: 'hint' }, hint), list,
    h('button', { type: 'button', class: 'add-cond', onclick: () => { const row = conditionRow(null); list.append(row); row.querySelector('select').focus(); } }, 'Add condition'));
  const body = () => ({
    name: $('#rule-name').value,
    trigger: timed($('#rule-trigger').value) ? { event: $('#rule-trigger').value, hours: Number($('#rule-hours').value) } : { event: $('#rule-trigger').value },
    conditions: { all: readConditions(all), any: readConditions(any) },
    actions: readActions(actions),
    stop: $('#rule-stop').checked,
  });
  const form = h('form', { class: 'card stack setup-section', id: 'rule-form', 'aria-labelledby': 'rule-form-h', novalidate: true },
    h('h4', { id: 'rule-form-h', tabindex: '-1' }, r ? `Edit “${r.name}”` : 'Add a rule'),
    h('div', { class: 'field' }, h('label', { for: 'rule-name' }, 'Name'), h('input', { id: 'rule-name', required: true, maxlength: 100, value: r ? r.name : '' })),
    h('div', { class: 'row' },
      h('span', { class: 'field inline' }, h('label', { for: 'rule-trigger' }, 'When'),
        h('select', { id: 'rule-trigger', onchange: (e) => { hours.hidden = !timed(e.target.value); } },
          opts.triggers.map((t) => h('option', { value: t, selected: t === trig }, triggerNames[t] || t)))),
      hours),
    group('rule-all-group', 'If all of these hold', all, 'Leave empty to act on every ticket of the trigger.'),
    group('rule-any-group', 'And at least one of these (if any)', any, 'Optional.'),
    h('fieldset', { class: 'rule-group', id: 'rule-actions-group' }, h('legend', {}, 'Then'), actions,
      h('button', { type: 'button', class: 'add-action', onclick: () => { const row = actionRow(null); actions.append(row); row.querySelector('select').focus(); } }, 'Add action')),
    h('label', { class: 'check block' }, h('input', { type: 'checkbox', id: 'rule-stop', checked: r ? r.stop : false }), ' Stop here: later rules do not run for the same event'),
    h('p', { class: 'hint' }, r ? '' : 'A new rule is saved turned off: run it dry, then turn it on from the list.'),
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'primary' }, r ? 'Save rule' : 'Add rule'),
      h('button', { type: 'button', id: 'rule-dry-run', onclick: async () => {
        try {
          const res = await post('/api/v1/rules/dry-run', body());
          ok();
          showDryRun(dry, res, null);
        } catch (err) { fail(err); announce(err.message); }
      } }, 'Dry run'),
      r ? h('button', { type: 'button', onclick: () => { fill($('#rule-editor'), editor(null)); $(`#rule-${r.id}-h`)?.focus(); } }, 'Cancel') : null),
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
