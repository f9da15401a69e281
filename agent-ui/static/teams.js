// teams.js holds the managers' Teams page (teams, their members and auto-assignment
// mode; the auto-assignment of each inbox, the capacities per channel and per agent, and
// when an offline agent's tickets go back to the queue) and the agent's availability in
// the top bar (available, away, offline).

import { get, post, patch, del, api } from './api.js';
import { h, fill, $, announce } from './dom.js';
import { state } from './state.js';
import { settingsTabs, openTab, fail, ok, field, askedTwice } from './settings.js';
import { t as tr } from './i18n.js';

const put = (path, body) => api('PUT', path, body);

export const isTeamsPage = (tab) => tab === 'teams';

// showTeamSettings draws the page. Returns false when the role may not see it.
export async function showTeamSettings(tab) {
  const cur = settingsTabs.find((t) => t.id === tab);
  if (!cur || !cur.allowed()) return false;
  await openTab(cur.id, teamsPage);
  return true;
}

// The auto-assignment modes and the channels with a capacity; their words are the
// catalogue's (teams.mode.<mode>, channel.<channel>).
const modes = ['off', 'round_robin', 'least_loaded'];
const channels = ['chat', 'email', 'sms', 'whatsapp', 'voice', 'discord', 'api'];

function modeSelect(id, value) {
  return h('select', { id, name: 'assignment' }, modeOptions(value));
}

function modeOptions(value) {
  return modes.map((v) => h('option', { value: v, selected: v === value }, tr('teams.mode.' + v)));
}

function memberChecks(name, selected) {
  const agents = state.agents.filter((a) => !a.disabled);
  if (agents.length === 0) return h('p', { class: 'muted' }, tr('teams.noAgents'));
  return agents.map((a) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name, value: a.id, checked: selected.includes(a.id) }), ' ' + a.name));
}

function checkedIDs(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((x) => Number(x.value));
}

async function teamsPage() {
  const [{ teams }, { agents }, { inboxes }, settings, workflow] = await Promise.all([
    get('/api/v1/teams'), get('/api/v1/agents'), get('/api/v1/inboxes'), get('/api/v1/assignment'), get('/api/v1/settings/workflow')]);
  state.agents = agents;
  state.teams = teams;
  const rows = teams.map((t) => {
    const form = h('form', { class: 'card stack', 'aria-label': tr('teams.row', { name: t.name }), dataset: { team: t.id } },
      h('label', { for: `tn-${t.id}` }, tr('teams.name')), h('input', { id: `tn-${t.id}`, name: 'name', value: t.name, maxlength: 100 }),
      h('fieldset', { class: 'inbox-checks' }, h('legend', {}, tr('teams.members')), memberChecks(`members-${t.id}`, t.agent_ids)),
      h('label', { for: `ta-${t.id}` }, tr('teams.assignment')), modeSelect(`ta-${t.id}`, t.assignment),
      h('div', { class: 'row' },
        h('button', { type: 'submit', 'aria-label': tr('app.saveName', { name: t.name }) }, tr('app.save')),
        h('button', { type: 'button', class: 'danger', 'aria-label': tr('app.deleteName', { name: t.name }), onclick: async (e) => {
          if (!askedTwice(e.target)) return;
          try { await del('/api/v1/teams/' + t.id); ok(); announce(tr('team.deleted', { name: t.name })); await teamsPage(); $('#nt-name').focus(); } catch (err) { fail(err); }
        } }, tr('app.delete')),
        h('span', { class: 'muted small', role: 'status' })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const st = form.querySelector('[role=status]');
      try {
        await patch('/api/v1/teams/' + t.id, { name: field(form, 'name').value, agent_ids: checkedIDs(form, `members-${t.id}`),
          assignment: field(form, 'assignment').value });
        ok();
        st.textContent = tr('app.saved');
        announce(tr('team.saved', { name: field(form, 'name').value }));
      } catch (err) { st.textContent = ''; fail(err); }
    });
    return h('li', {}, form);
  });
  const create = h('form', { id: 'team-create', class: 'card stack' },
    h('h3', {}, tr('teams.addTitle')),
    h('label', { for: 'nt-name' }, tr('teams.name')), h('input', { id: 'nt-name', name: 'name', required: true, maxlength: 100 }),
    h('fieldset', { class: 'inbox-checks' }, h('legend', {}, tr('teams.members')), memberChecks('nt-members', [])),
    h('label', { for: 'nt-assignment' }, tr('teams.assignment')), modeSelect('nt-assignment', 'off'),
    h('button', { type: 'submit', class: 'primary' }, tr('teams.add')));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const t = await post('/api/v1/teams', { name: field(create, 'name').value, agent_ids: checkedIDs(create, 'nt-members'),
        assignment: field(create, 'assignment').value });
      ok();
      announce(tr('team.added', { name: t.name }));
      await teamsPage();
      const added = document.querySelector(`form[data-team="${t.id}"] input`);
      if (added) added.focus();
    } catch (err) { fail(err); }
  });
  fill($('#settings-body'),
    h('h3', {}, tr('settings.tab.teams')),
    teams.length ? h('ul', { class: 'settings-list', id: 'teams-list' }, rows) : h('p', { class: 'muted' }, tr('teams.none')),
    create,
    workflowForm(workflow),
    assignmentForm(settings, inboxes, agents));
}

// workflowForm is the choice whether replying to an unassigned ticket makes it the
// replier's (PATCH /api/v1/settings/workflow); it saves when ticked or unticked.
function workflowForm(w) {
  const box = h('input', { type: 'checkbox', id: 'assign-on-reply', checked: !!w.assign_on_reply });
  const st = h('span', { class: 'muted small', role: 'status', id: 'workflow-status' });
  box.addEventListener('change', async () => {
    try {
      const out = await patch('/api/v1/settings/workflow', { assign_on_reply: box.checked });
      box.checked = out.assign_on_reply;
      st.textContent = tr('app.saved');
      ok();
    } catch (err) { st.textContent = ''; box.checked = !box.checked; fail(err); }
  });
  return h('section', { class: 'card stack', 'aria-labelledby': 'workflow-title' },
    h('h3', { id: 'workflow-title' }, tr('teams.repliesTitle')),
    h('label', { class: 'check' }, box, ' ', tr('teams.assignOnReply')), st);
}

// assignmentForm is the settings of auto-assignment: a mode per inbox (a ticket in a
// team follows its team's mode instead), capacities and the offline limit.
function assignmentForm(s, inboxes, agents) {
  const overrides = s.agents.map((a) => ({ agent_id: a.agent_id, capacity: { ...a.capacity } }));
  const overrideList = h('ul', { id: 'capacity-overrides', class: 'plain-list' });
  const drawOverrides = () => fill(overrideList, overrides.flatMap((o) => Object.entries(o.capacity).map(([ch, n]) => {
    const name = (agents.find((a) => a.id === o.agent_id) || { name: tr('agent.unknown', { id: o.agent_id }) }).name;
    const channel = channels.includes(ch) ? tr('channel.' + ch) : ch;
    return h('li', {}, tr('teams.capacityLine', { name, n, channel }), ' ',
      h('button', { type: 'button', class: 'link', 'aria-label': tr('teams.removeCapacity', { channel, name }), onclick: () => {
        delete o.capacity[ch];
        drawOverrides();
        $('#ov-agent').focus();
      } }, tr('teams.remove')));
  })));
  drawOverrides();
  const form = h('form', { id: 'assignment-form', class: 'card stack', 'aria-labelledby': 'assignment-title' },
    h('h3', { id: 'assignment-title' }, tr('teams.assignment')),
    h('p', { class: 'muted small' }, tr('teams.assignmentHint')),
    h('fieldset', {}, h('legend', {}, tr('teams.inboxes')),
      inboxes.map((i) => h('div', { class: 'field' },
        h('label', { for: `ia-${i.id}` }, i.name), h('select', { id: `ia-${i.id}`, name: `inbox-${i.id}`, 'data-inbox': i.id },
          modeOptions((s.inboxes.find((x) => x.inbox_id === i.id) || { mode: 'off' }).mode))))),
    h('fieldset', {}, h('legend', {}, tr('teams.capacity')),
      channels.map((ch) => h('div', { class: 'field' },
        h('label', { for: `cap-${ch}` }, tr('channel.' + ch)),
        h('input', { id: `cap-${ch}`, name: `cap-${ch}`, type: 'number', min: 0, max: 1000, value: String(s.capacity[ch] ?? '') })))),
    h('fieldset', {}, h('legend', {}, tr('teams.capacityOne')),
      overrideList,
      h('div', { class: 'row' },
        h('label', { for: 'ov-agent' }, tr('teams.agent')),
        h('select', { id: 'ov-agent' }, agents.filter((a) => !a.disabled).map((a) => h('option', { value: a.id }, a.name))),
        h('label', { for: 'ov-channel' }, tr('teams.channel')),
        h('select', { id: 'ov-channel' }, channels.map((v) => h('option', { value: v }, tr('channel.' + v)))),
        h('label', { for: 'ov-n' }, tr('teams.tickets')),
        h('input', { id: 'ov-n', type: 'number', min: 0, max: 1000, value: '5' }),
        h('button', { type: 'button', id: 'ov-add', onclick: () => {
          const id = Number($('#ov-agent').value);
          if (!id) return;
          let o = overrides.find((x) => x.agent_id === id);
          if (!o) overrides.push(o = { agent_id: id, capacity: {} });
          o.capacity[$('#ov-channel').value] = Number($('#ov-n').value);
          drawOverrides();
          announce(tr('team.capacityAdded'));
        } }, tr('teams.addCapacity')))),
    h('div', { class: 'field' },
      h('label', { for: 'offline-minutes' }, tr('teams.offlineMinutes')),
      h('input', { id: 'offline-minutes', name: 'offline_minutes', type: 'number', min: 0, max: 10080, value: String(s.offline_minutes) })),
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'primary' }, tr('teams.saveAssignment')),
      h('span', { class: 'muted small', role: 'status', id: 'assignment-status' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const capacity = {};
    for (const ch of channels) {
      const v = $('#cap-' + ch).value;
      if (v !== '') capacity[ch] = Number(v);
    }
    const body = {
      offline_minutes: Number($('#offline-minutes').value || 0),
      capacity,
      inboxes: [...form.querySelectorAll('select[data-inbox]')].map((sel) => ({ inbox_id: Number(sel.dataset.inbox), mode: sel.value })),
      agents: overrides.filter((o) => Object.keys(o.capacity).length > 0),
    };
    try {
      await put('/api/v1/assignment', body);
      ok();
      $('#assignment-status').textContent = tr('app.saved');
      announce(tr('team.assignmentSaved'));
    } catch (err) { $('#assignment-status').textContent = ''; fail(err); }
  });
  return form;
}

// initAvailability puts in the top bar the choice of the agent's availability: only available
// agents get tickets by auto-assignment; without a socket an agent is offline anyway.
export function initAvailability() {
  let sel = $('#my-availability');
  if (!sel) {
    sel = h('select', { id: 'my-availability', class: 'availability' },
      ['available', 'away', 'offline'].map((v) => h('option', { value: v }, tr('availability.' + v))));
    sel.addEventListener('change', async () => {
      const v = sel.value;
      try {
        const { agent } = await put('/api/v1/me/availability', { availability: v });
        state.me.availability = agent.availability;
        sel.dataset.state = agent.availability;
        announce(tr('availability.now', { availability: tr('availability.' + agent.availability).toLowerCase() }));
      } catch (e) {
        sel.value = state.me.availability || 'available';
        announce(e.message);
      }
    });
    $('#me-name').before(h('label', { for: 'my-availability', class: 'visually-hidden' }, tr('availability.label')), sel);
  }
  sel.value = state.me.availability || 'available';
  sel.dataset.state = sel.value;
}
