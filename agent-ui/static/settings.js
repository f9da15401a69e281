// settings.js holds the admin pages: agents, inboxes and canned responses.

import { get, post, patch, del } from './api.js';
import { h, fill, $ } from './dom.js';
import { timeEl } from './time.js';
import { state, isAdmin, isManager } from './state.js';
import { placeholders } from './canned.js';

// settingsTabs are every settings page in tab order, with the roles that may open them.
// This file draws the first three; audit.js draws the managers' pages.
export const settingsTabs = [
  { id: 'agents', name: 'Agents', allowed: isAdmin },
  { id: 'inboxes', name: 'Inboxes', allowed: isAdmin },
  { id: 'canned', name: 'Canned responses', allowed: isManager },
  { id: 'sla', name: 'SLA policies', allowed: isManager },
  { id: 'csat', name: 'CSAT survey', allowed: isAdmin },
  { id: 'audit', name: 'Audit log', allowed: isAdmin },
];

// The pages this file draws, by tab.
const ownPages = { agents: agentsPage, inboxes: inboxesPage, canned: cannedPage };

// openTab draws the settings pane with the tabs the agent's role may open, tab cur
// marked, an error line and #settings-body, and then draws the tab's page into it;
// what goes wrong shows in the error line.
export async function openTab(cur, page) {
  fill($('#settings-pane'),
    h('h2', {}, 'Settings'),
    h('nav', { class: 'tabs', 'aria-label': 'Settings sections' }, settingsTabs.filter((t) => t.allowed()).map((t) =>
      h('a', { href: '#/settings/' + t.id, 'aria-current': t.id === cur ? 'page' : null }, t.name))),
    h('p', { id: 'settings-error', class: 'error', role: 'alert' }),
    h('div', { id: 'settings-body' }, h('p', { class: 'muted' }, 'Loading…')));
  try {
    await page();
  } catch (e) {
    fail(e);
  }
}

// kindExamples are the inbox kinds an admin can add, in the order offered, each with an
// example config.
const kindExamples = {
  api: '{}',
  email: '{\n  "address": "support@shop.example",\n  "imap_host": "imap.shop.example:993",\n  "imap_user": "support@shop.example",\n  "imap_password": "…",\n  "smtp_host": "smtp.shop.example:587"\n}',
  phone: '{\n  "account_sid": "AC…",\n  "auth_token": "…",\n  "number": "+15550100"\n}',
  chat: '{\n  "origins": ["https://shop.example"]\n}',
  discord: '{\n  "bot_token": "…",\n  "guild_id": "…"\n}',
};

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
  btn.textContent = 'Really delete?';
  return false;
}

// readConfig parses an inbox's config from its text box.
function readConfig(ta) {
  try {
    return JSON.parse(ta.value || '{}');
  } catch {
    throw new Error('The config is not valid JSON.');
  }
}

function inboxChecks(name, selected, inboxes) {
  if (inboxes.length === 0) return h('p', { class: 'muted' }, 'No inboxes yet.');
  return inboxes.map((i) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name, value: i.id, checked: selected.includes(i.id) }), ` ${i.name} (${i.kind})`));
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((x) => Number(x.value));
}

function roleSelect(id, value) {
  return h('select', { id, name: 'role' }, ['agent', 'manager', 'admin'].map((r) => h('option', { value: r, selected: r === value }, r)));
}

async function agentsPage() {
  const [{ agents }, { inboxes }] = await Promise.all([get('/api/v1/agents'), get('/api/v1/inboxes')]);
  state.agents = agents;
  const rows = agents.map((a) => {
    const form = h('form', { class: 'agent-row', 'aria-label': `Agent ${a.name}` },
      h('div', {}, h('strong', {}, a.name), h('div', { class: 'muted small' }, a.email)),
      h('div', { class: 'field' }, h('label', { for: `role-${a.id}` }, 'Role'), roleSelect(`role-${a.id}`, a.role)),
      h('fieldset', { class: 'inbox-checks' }, h('legend', {}, 'Inboxes'), inboxChecks(`inboxes-${a.id}`, a.inbox_ids || [], inboxes)),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'disabled', checked: a.disabled }), ' Disabled'),
      h('button', { type: 'submit' }, 'Save'),
      h('span', { class: 'muted small', role: 'status' }));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const st = form.querySelector('[role=status]');
      try {
        await patch('/api/v1/agents/' + a.id, {
          role: field(form, 'role').value, inbox_ids: checked(form, `inboxes-${a.id}`), disabled: field(form, 'disabled').checked,
        });
        ok();
        st.textContent = 'Saved';
      } catch (err) { st.textContent = ''; fail(err); }
    });
    return h('li', {}, form);
  });
  const create = h('form', { id: 'agent-create', class: 'card stack' },
    h('h3', {}, 'Add an agent'),
    h('label', { for: 'na-name' }, 'Name'), h('input', { id: 'na-name', name: 'name', required: true, maxlength: 100 }),
    h('label', { for: 'na-email' }, 'Email'), h('input', { id: 'na-email', name: 'email', type: 'email', required: true }),
    h('label', { for: 'na-password' }, 'Password (at least 8 characters; share it with them privately)'),
    h('input', { id: 'na-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 }),
    h('label', { for: 'na-role' }, 'Role'), roleSelect('na-role', 'agent'),
    h('fieldset', { class: 'inbox-checks' }, h('legend', {}, 'Inboxes'), inboxChecks('na-inboxes', [], inboxes)),
    h('button', { type: 'submit', class: 'primary' }, 'Add agent'));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await post('/api/v1/agents', {
        name: field(create, 'name').value, email: field(create, 'email').value, password: field(create, 'password').value,
        role: field(create, 'role').value, inbox_ids: checked(create, 'na-inboxes'),
      });
      ok();
      await agentsPage();
    } catch (err) { fail(err); }
  });
  fill($('#settings-body'), h('ul', { class: 'settings-list', id: 'agent-list' }, rows), create);
}

async function inboxesPage() {
  const { inboxes } = await get('/api/v1/inboxes');
  state.inboxes = inboxes;
  const rows = inboxes.map((i) => {
    const st = i.status;
    const cfg = h('textarea', { id: `cfg-${i.id}`, name: 'config', rows: 4, spellcheck: 'false', value: JSON.stringify(i.config || {}, null, 2) });
    const result = h('span', { class: 'small', role: 'status' });
    const form = h('form', { class: 'inbox-row card stack', 'aria-label': `Inbox ${i.name}` },
      h('div', { class: 'row' },
        h('strong', {}, i.name), h('span', { class: 'badge' }, i.kind), h('span', { class: 'muted small' }, `#${i.id}`),
        st ? h('span', { class: 'badge state-' + st.state }, st.state + (st.last_error ? `: ${st.last_error}` : '')) : h('span', { class: 'muted small' }, 'no live connection')),
      h('p', { class: 'small' }, 'Secrets set: ', (i.secrets_set || []).length ? i.secrets_set.join(', ') : 'none'),
      h('label', { for: `name-${i.id}` }, 'Name'), h('input', { id: `name-${i.id}`, name: 'name', value: i.name, maxlength: 100 }),
      h('label', { for: `cfg-${i.id}` }, 'Config (JSON; secrets left out keep their stored value)'), cfg,
      h('div', { class: 'row' },
        h('button', { type: 'submit' }, 'Save'),
        i.kind !== 'api' ? h('button', { type: 'button', onclick: async () => {
          result.textContent = 'Testing…';
          try {
            const r = await post(`/api/v1/inboxes/${i.id}/test`);
            result.textContent = r.ok ? 'Connection works' : `Failed: ${r.error}`;
          } catch (err) { result.textContent = err.message; }
        } }, 'Test connection') : null,
        result));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await patch('/api/v1/inboxes/' + i.id, { name: field(form, 'name').value, config: readConfig(cfg) });
        ok();
        await inboxesPage();
      } catch (err) { fail(err); }
    });
    return h('li', {}, form);
  });
  const kind = h('select', { id: 'ni-kind', name: 'kind' }, Object.keys(kindExamples).map((k) => h('option', { value: k }, k)));
  const cfg = h('textarea', { id: 'ni-config', name: 'config', rows: 6, spellcheck: 'false', value: kindExamples.api });
  kind.addEventListener('change', () => { cfg.value = kindExamples[kind.value] || '{}'; });
  const create = h('form', { id: 'inbox-create', class: 'card stack' },
    h('h3', {}, 'Add an inbox'),
    h('label', { for: 'ni-kind' }, 'Kind'), kind,
    h('label', { for: 'ni-name' }, 'Name'), h('input', { id: 'ni-name', name: 'name', required: true, maxlength: 100 }),
    h('label', { for: 'ni-config' }, 'Config (JSON). Keys ending in password, token or secret are encrypted and never shown again. An api inbox needs none.'),
    cfg,
    h('button', { type: 'submit', class: 'primary' }, 'Add inbox'));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await post('/api/v1/inboxes', { kind: kind.value, name: field(create, 'name').value, config: readConfig(cfg) });
      ok();
      await inboxesPage();
    } catch (err) { fail(err); }
  });
  fill($('#settings-body'), h('ul', { class: 'settings-list', id: 'inbox-list' }, rows), create);
}

async function cannedPage() {
  const { canned_responses: list } = await get('/api/v1/canned-responses');
  state.canned = list;
  const rows = list.map((c) => {
    const form = h('form', { class: 'card stack', 'aria-label': `Canned response ${c.title}` },
      h('label', { for: `ct-${c.id}` }, 'Title'), h('input', { id: `ct-${c.id}`, name: 'title', value: c.title, maxlength: 100 }),
      h('label', { for: `cb-${c.id}` }, 'Body'), h('textarea', { id: `cb-${c.id}`, name: 'body', rows: 4, value: c.body }),
      h('div', { class: 'row' },
        h('button', { type: 'submit' }, 'Save'),
        h('button', { type: 'button', class: 'danger', onclick: async (e) => {
          if (!askedTwice(e.target)) return;
          try { await del('/api/v1/canned-responses/' + c.id); ok(); await cannedPage(); } catch (err) { fail(err); }
        } }, 'Delete'),
        h('span', { class: 'muted small' }, 'updated ', timeEl(c.updated_at))));
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
    h('h3', {}, 'Add a canned response'),
    h('label', { for: 'nc-title' }, 'Title'), h('input', { id: 'nc-title', name: 'title', required: true, maxlength: 100 }),
    h('label', { for: 'nc-body' }, 'Body'), h('textarea', { id: 'nc-body', name: 'body', rows: 5, required: true }),
    h('p', { class: 'muted small' }, 'Placeholders: ', placeholders.join(' '), '. The console fills them in when an agent inserts the response.'),
    h('button', { type: 'submit', class: 'primary' }, 'Add canned response'));
  create.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await post('/api/v1/canned-responses', { title: field(create, 'title').value, body: field(create, 'body').value });
      ok();
      await cannedPage();
    } catch (err) { fail(err); }
  });
  fill($('#settings-body'), list.length ? h('ul', { class: 'settings-list', id: 'canned-list' }, rows) : h('p', { class: 'muted' }, 'No canned responses yet.'), create);
}
