// macros.js holds the Macros page: an agent's own macros and, for managers, the shared
// ones, each reply text with the placeholders of canned responses and changes to the
// ticket. The menus that apply them are in macromenu.js.

import { get, post, patch, del } from './api.js';
import { loadMacros } from './macromenu.js';
import { h, fill, $, announce } from './dom.js';
import { state, isManager } from './state.js';
import { placeholders } from './canned.js';
import { settingsTabs, openTab, fail, ok, field, askedTwice } from './settings.js';
import { t as tr } from './i18n.js';

export const isMacrosPage = (tab) => tab === 'macros';

// showMacroSettings draws the page. Returns false when the role may not see it.
export async function showMacroSettings(tab) {
  const cur = settingsTabs.find((t) => t.id === tab);
  if (!cur || !cur.allowed()) return false;
  await openTab(cur.id, macrosPage);
  return true;
}

const statuses = [['', tr('macros.noChange')], ...['open', 'pending', 'resolved', 'closed'].map((s) => [s, tr('status.' + s)])];
const priorities = [['', tr('macros.noChange')], ...['low', 'normal', 'high', 'urgent'].map((p) => [p, tr('priority.' + p)])];

function options(list, value) {
  return list.map(([v, t]) => h('option', { value: v, selected: v === value }, t));
}

function assigneeValue(a) {
  if (a.assign_to_me) return 'me';
  if (a.assignee_id === 0) return 'none';
  return a.assignee_id ? String(a.assignee_id) : '';
}

function teamValue(a) {
  if (a.team_id === 0) return 'none';
  return a.team_id ? String(a.team_id) : '';
}

// macroForm is the form of a new (m null) or stored macro.
function macroForm(m, onSaved) {
  const p = m ? String(m.id) : 'new';
  const a = m ? m.actions : {};
  const mine = !m || !m.shared || isManager();
  const form = h('form', { class: 'card stack macro-form', id: `macro-${p}`, 'aria-label': m ? tr('macros.row', { name: m.name }) : tr('macros.new') },
    m ? null : h('h3', {}, tr('macros.addTitle')),
    h('label', { for: `mn-${p}` }, tr('macros.name')), h('input', { id: `mn-${p}`, name: 'name', value: m ? m.name : '', required: true, maxlength: 100, disabled: !mine }),
    h('label', { for: `mb-${p}` }, tr('macros.body')),
    h('textarea', { id: `mb-${p}`, name: 'body', rows: 4, value: m ? m.body : '', disabled: !mine, 'aria-describedby': `mh-${p}` }),
    h('p', { class: 'muted small', id: `mh-${p}` }, tr('macros.placeholders', { list: placeholders.join(' ') })),
    h('div', { class: 'controls' },
      h('div', { class: 'field' }, h('label', { for: `ms-${p}` }, tr('ticket.label.status')), h('select', { id: `ms-${p}`, name: 'status', disabled: !mine }, options(statuses, a.status || ''))),
      h('div', { class: 'field' }, h('label', { for: `mp-${p}` }, tr('ticket.label.priority')), h('select', { id: `mp-${p}`, name: 'priority', disabled: !mine }, options(priorities, a.priority || ''))),
      h('div', { class: 'field' }, h('label', { for: `ma-${p}` }, tr('ticket.label.assignee')), h('select', { id: `ma-${p}`, name: 'assignee', disabled: !mine },
        options([['', tr('macros.noChange')], ['me', tr('macros.applier')], ['none', tr('bulk.unassign')],
          ...state.agents.filter((x) => !x.disabled).map((x) => [String(x.id), x.name])], assigneeValue(a)))),
      h('div', { class: 'field' }, h('label', { for: `mt-${p}` }, tr('ticket.label.team')), h('select', { id: `mt-${p}`, name: 'team', disabled: !mine },
        options([['', tr('macros.noChange')], ['none', tr('ticket.noTeam')], ...(state.teams || []).map((t) => [String(t.id), t.name])], teamValue(a))))),
    h('label', { for: `mat-${p}` }, tr('macros.addTags')), h('input', { id: `mat-${p}`, name: 'add_tags', value: (a.add_tags || []).join(', '), placeholder: tr('ticket.tagsHint'), disabled: !mine }),
    h('label', { for: `mrt-${p}` }, tr('macros.removeTags')), h('input', { id: `mrt-${p}`, name: 'remove_tags', value: (a.remove_tags || []).join(', '), placeholder: tr('ticket.tagsHint'), disabled: !mine }),
    h('label', { for: `mno-${p}` }, tr('composer.note')), h('textarea', { id: `mno-${p}`, name: 'note', rows: 2, value: a.note || '', disabled: !mine }),
    isManager() ? h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'shared', checked: m ? m.shared : false }), ' ', tr('view.sharedWithAll')) : null,
    h('div', { class: 'row' },
      mine ? h('button', { type: 'submit', class: m ? null : 'primary' }, tr(m ? 'app.save' : 'macros.add')) : h('span', { class: 'muted small' }, tr('macros.sharedByManager')),
      m && mine ? h('button', { type: 'button', class: 'danger', 'aria-label': tr('app.deleteName', { name: m.name }), onclick: async (e) => {
        if (!askedTwice(e.target)) return;
        try { await del('/api/v1/macros/' + m.id); ok(); announce(tr('macro.deleted', { name: m.name })); await onSaved(); $('#mn-new').focus(); } catch (err) { fail(err); }
      } }, tr('app.delete')) : null,
      h('span', { class: 'muted small', role: 'status' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const tags = (name) => field(form, name).value.split(',').map((x) => x.trim()).filter(Boolean);
    const actions = {};
    if (field(form, 'status').value) actions.status = field(form, 'status').value;
    if (field(form, 'priority').value) actions.priority = field(form, 'priority').value;
    const as = field(form, 'assignee').value;
    if (as === 'me') actions.assign_to_me = true;
    else if (as === 'none') actions.assignee_id = 0;
    else if (as) actions.assignee_id = Number(as);
    const tm = field(form, 'team').value;
    if (tm === 'none') actions.team_id = 0;
    else if (tm) actions.team_id = Number(tm);
    if (tags('add_tags').length) actions.add_tags = tags('add_tags');
    if (tags('remove_tags').length) actions.remove_tags = tags('remove_tags');
    if (field(form, 'note').value.trim()) actions.note = field(form, 'note').value;
    const body = { name: field(form, 'name').value, body: field(form, 'body').value, actions };
    if (field(form, 'shared')) body.shared = field(form, 'shared').checked;
    try {
      const saved = m ? await patch('/api/v1/macros/' + m.id, body) : await post('/api/v1/macros', body);
      ok();
      announce(tr('macro.saved', { name: saved.name }));
      await onSaved();
      // Focus stays on the macro just saved, redrawn with the page.
      const again = document.getElementById(`mn-${saved.id}`);
      if (again) again.focus();
    } catch (err) { fail(err); }
  });
  return form;
}

async function macrosPage() {
  const [list, { agents }, { teams }] = await Promise.all([loadMacros(), get('/api/v1/agents'), get('/api/v1/teams')]);
  state.agents = agents;
  state.teams = teams;
  const mine = list.filter((m) => !m.shared);
  const shared = list.filter((m) => m.shared);
  const section = (title, items, id) => [h('h3', {}, title), items.length
    ? h('ul', { class: 'settings-list', id }, items.map((m) => h('li', {}, macroForm(m, macrosPage))))
    : h('p', { class: 'muted' }, tr('macros.none'))];
  fill($('#settings-body'), section(tr('macros.shared'), shared, 'macro-shared'), section(tr('macros.mine'), mine, 'macro-mine'),
    macroForm(null, macrosPage));
}
