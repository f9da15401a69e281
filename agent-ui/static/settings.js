// settings.js holds the settings frame and tabs, and the admin pages of agents and canned
// responses.

import { get, post, patch, del } from './api.js';
import { h, fill, $ } from './dom.js';
import { timeEl } from './time.js';
import { state, isAdmin, isManager } from './state.js';
import { placeholders } from './canned.js';
import { inviteSection } from './invite.js';
import { t as tr, tn } from './i18n.js';

// settingsTabs are every settings page in tab order, with the roles that may open them.
// This file draws agents and canned responses; inboxsetup.js the inboxes, sources.js the
// order sources, audit.js the managers' pages, security.js security and getting started.
export const settingsTabs = [
  { id: 'agents', allowed: isAdmin },
  { id: 'inboxes', allowed: isAdmin },
  { id: 'sources', allowed: isAdmin },
  { id: 'webhooks', allowed: isAdmin }, // webhooks.js
  { id: 'canned', allowed: isManager },
  { id: 'teams', allowed: isManager }, // teams.js
  { id: 'macros', allowed: () => !!state.me }, // macros.js
  { id: 'rules', allowed: isManager }, // rules.js
  { id: 'reasons', allowed: isManager }, // reasonsetup.js
  { id: 'sla', allowed: isManager },
  { id: 'csat', allowed: isAdmin },
  { id: 'audit', allowed: isAdmin },
  { id: 'security', allowed: isAdmin },
  { id: 'start', allowed: isAdmin },
];
// A tab's name is the catalogue's (settings.tab.<id>), read when it is shown.
for (const tab of settingsTabs) Object.defineProperty(tab, 'name', { get: () => tr('settings.tab.' + tab.id) });

// The pages this file draws, by tab.
const ownPages = { agents: agentsPage, canned: cannedPage };

// openTab draws the settings pane with the tabs the agent's role may open, tab cur
// marked, an error line and #settings-body, and then draws the tab's page into it;
// what goes wrong shows in the error line.
export async function openTab(cur, page) {
  fill($('#settings-pane'),
    h('h2', {}, tr('settings.title')),
    h('nav', { class: 'tabs', 'aria-label': tr('settings.sections') }, settingsTabs.filter((t) => t.allowed()).map((t) =>
      h('a', { href: '#/settings/' + t.id, 'aria-current': t.id === cur ? 'page' : null }, t.name))),
    h('p', { id: 'settings-error', class: 'error', role: 'alert' }),
    h('div', { id: 'settings-body' }, h('p', { class: 'muted' }, tr('app.loading'))));
  try {
    await page();
  } catch (e) {
    fail(e);
  }
}

// showSettings renders the tab into the settings pane. Returns false when the agent's
// role may not see any settings.
export async function showSettings(tab) {
  const allowed = settingsTabs.filter((t) => t.allowed() && Object.hasOwn(ownPages, t.id));
  if (allowed.length === 0) return false;
  const cur = allowed.find((t) => t.id === tab) || allowed[0];
  await openTab(cur.id, ownPages[cur.id]);
  return true;
}

// field returns a form control by name; form.name would be the form's own attribute.
export function field(form, name) { return form.elements.namedItem(name); }

// fail shows what went wrong on a settings page, and ok clears it. A page that finishes
// after the agent left it has no error line to write to.
export function fail(e) { const el = $('#settings-error'); if (el) el.textContent = e.message; }
export function ok() { const el = $('#settings-error'); if (el) el.textContent = ''; }

// askedTwice makes a Delete button ask first: the first click turns it into "Really
// delete?" and returns false; the second returns true.
export function askedTwice(btn) {
  if (btn.dataset.confirm === '1') return true;
  btn.dataset.confirm = '1';
  btn.textContent = tr('settings.reallyDelete');
  // A name set for the button says what it deletes; it must start with what it shows.
  const name = btn.getAttribute('aria-label');
  if (name) btn.setAttribute('aria-label', tr('settings.reallyDeleteName', { name }));
  return false;
}

function inboxChecks(name, selected, inboxes) {
  if (inboxes.length === 0) return h('p', { class: 'muted' }, tr('settings.noInboxes'));
  return inboxes.map((i) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name, value: i.id, checked: selected.includes(i.id) }), ' ', tr('settings.inboxCheck', { name: i.name, kind: i.kind })));
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((x) => Number(x.value));
}

function roleSelect(id, value) {
  return h('select', { id, name: 'role' }, ['agent', 'manager', 'admin'].map((r) => h('option', { value: r, selected: r === value }, tr('role.' + r))));
}

async function agentsPage() {
  const [{ agents }, { inboxes }] = await Promise.all([get('/api/v1/agents'), get('/api/v1/inboxes')]);
  state.agents = agents;
  const rows = agents.map((a) => {
    const form = h('form', { class: 'agent-row', 'aria-label': tr('agents.row', { name: a.name }) },
      h('div', {}, h('strong', {}, a.name), h('div', { class: 'muted small' }, a.email)),
      h('div', { class: 'field' }, h('label', { for: `role-${a.id}` }, tr('agents.role')), roleSelect(`role-${a.id}`, a.role)),
      h('fieldset', { class: 'inbox-checks' }, h('legend', {}, tr('agents.inboxes')), inboxChecks(`inboxes-${a.id}`, a.inbox_ids || [], inboxes)),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'disabled', checked: a.disabled }), ' ', tr('agents.disabled')),
      h('button', { type: 'submit', 'aria-label': tr('app.saveName', { name: a.name }) }, tr('app.save')),
      h('span', { class: 'muted small', role: 'status' }));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const st = form.querySelector('[role=status]');
      try {
        await patch('/api/v1/agents/' + a.id, {
          role: field(form, 'role').value, inbox_ids: checked(form, `inboxes-${a.id}`), disabled: field(form, 'disabled').checked,
        });
        ok();
        st.textContent = tr('app.saved');
      } catch (err) { st.textContent = ''; fail(err); }
    });
    return h('li', {}, form);
  });
  // New agents are invited: they choose their own password (invite.js).
  const invite = await inviteSection(inboxes, agentsPage);
  fill($('#settings-body'), h('ul', { class: 'settings-list', id: 'agent-list' }, rows), invite);
}

async function cannedPage() {
  const { canned_responses: list } = await get('/api/v1/canned-responses');
  state.canned = list;
  const rows = list.map((c) => {
    const form = h('form', { class: 'card stack', 'aria-label': tr('canned.row', { title: c.title }) },
      h('label', { for: `ct-${c.id}` }, tr('canned.title')), h('input', { id: `ct-${c.id}`, name: 'title', value: c.title, maxlength: 100 }),
      h('label', { for: `cb-${c.id}` }, tr('canned.body')), h('textarea', { id: `cb-${c.id}`, name: 'body', rows: 4, value: c.body }),
      h('div', { class: 'row' },
        h('button', { type: 'submit', 'aria-label': tr('app.saveName', { name: c.title }) }, tr('app.save')),
        h('button', { type: 'button', class: 'danger', 'aria-label': tr('app.deleteName', { name: c.title }), onclick: async (e) => {
          if (!askedTwice(e.target)) return;
          try { await del('/api/v1/canned-responses/' + c.id); ok(); await cannedPage(); } catch (err) { fail(err); }
        } }, tr('app.delete')),
        h('span', { class: 'muted small' }, tn('canned.updated', { time: timeEl(c.updated_at) }))));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await patch('/api/v1/canned-responses/' + c.id, { title: field(form, 'title').value, body: field(form, 'body').value });
        ok();
        await cannedPage();
      } catch (err) { fail(err); }
    });
    return h('li', {}, form);
  });
  const create = h('form', { id: 'canned-create', class: 'card stack' },
    h('h3', {}, tr('canned.add')),
    h('label', { for: 'nc-title' }, tr('canned.title')), h('input', { id: 'nc-title', name: 'title', required: true, maxlength: 100 }),
    h('label', { for: 'nc-body' }, tr('canned.body')), h('textarea', { id: 'nc-body', name: 'body', rows: 5, required: true }),
    h('p', { class: 'muted small' }, tr('canned.placeholders', { list: placeholders.join(' ') })),
    h('button', { type: 'submit', class: 'primary' }, tr('canned.create')));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await post('/api/v1/canned-responses', { title: field(create, 'title').value, body: field(create, 'body').value });
      ok();
      await cannedPage();
    } catch (err) { fail(err); }
  });
  fill($('#settings-body'), list.length ? h('ul', { class: 'settings-list', id: 'canned-list' }, rows) : h('p', { class: 'muted' }, tr('canned.none')), create);
}
