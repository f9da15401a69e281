// security.js holds two admin settings pages: Security (requiring two-factor sign-in,
// each agent's state and its reset) and Getting started, the first-run checklist that a
// fresh install opens on and that ticks itself from what the shop has set up.

import { get, patch, del } from './api.js';
import { h, fill, $ } from './dom.js';
import { isAdmin } from './state.js';
import { settingsTabs, openTab, fail, ok } from './settings.js';
import { t as tr } from './i18n.js';

const pages = { security: securityPage, start: setupPage };

export const isAccountAdminPage = (tab) => Object.hasOwn(pages, tab);

// showAccountAdminPage renders page tab. Returns false when the role may not open it.
export async function showAccountAdminPage(tab) {
  const cur = settingsTabs.find((p) => p.id === tab);
  if (!cur || !isAccountAdminPage(tab) || !cur.allowed()) return false;
  await openTab(cur.id, pages[tab]);
  return true;
}

// firstRunHash returns where an admin signing in to a fresh install should land: the
// checklist while the shop has no inbox and no admin put it away; else ''.
export async function firstRunHash() {
  if (!isAdmin()) return '';
  try {
    const s = await get('/api/v1/setup');
    return s.first_run && !s.dismissed ? '#/settings/start' : '';
  } catch {
    return '';
  }
}

// ---- Security ----

async function securityPage() {
  const [sec, { agents }] = await Promise.all([get('/api/v1/settings/security'), get('/api/v1/agents')]);
  const st = h('span', { class: 'small', role: 'status', id: 'security-status' });
  const form = h('form', { id: 'security-form', class: 'card stack' },
    h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'require-2fa', checked: sec.require_2fa, 'aria-describedby': 'require-2fa-help' }),
      ' ', tr('security.require')),
    h('p', { id: 'require-2fa-help', class: 'muted small' }, tr('security.requireHelp')),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, tr('app.save')), st));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await patch('/api/v1/settings/security', { require_2fa: $('#require-2fa').checked });
      ok();
      st.textContent = tr('app.saved');
    } catch (err) { st.textContent = ''; fail(err); }
  });
  const rows = agents.filter((a) => !a.disabled).map((a) => h('li', { class: 'row' },
    h('span', { class: 'grow' }, a.name, ' ', h('span', { class: 'muted small' }, a.email)),
    a.totp_enabled ? h('span', { class: 'badge ok' }, tr('security.totpOn')) : h('span', { class: 'badge' }, tr('security.passwordOnly')),
    a.totp_enabled ? h('button', { type: 'button', class: 'danger', 'aria-label': tr('security.resetLabel', { name: a.name }), onclick: async (e) => {
      const btn = e.target;
      if (btn.dataset.confirm !== '1') {
        btn.dataset.confirm = '1';
        btn.textContent = tr('security.reallyReset');
        return;
      }
      try { await del(`/api/v1/agents/${a.id}/totp`); ok(); await securityPage(); } catch (err) { fail(err); }
    } }, tr('security.reset')) : null));
  fill($('#settings-body'), form,
    h('h3', {}, tr('settings.tab.agents')),
    h('p', { class: 'muted small' }, tr('security.resetHint')),
    h('ul', { class: 'settings-list', id: 'totp-agents' }, rows));
}

// ---- Getting started ----

// steps are the checklist's items, by the id the API gives them: where each leads, and
// the keys of its title, what it does and its button.
const steps = {
  email: { title: 'start.email.title', what: 'start.email.what', href: '#/settings/inboxes/new-email', action: 'start.email.action' },
  chat: { title: 'start.chat.title', what: 'start.chat.what', href: '#/settings/inboxes/new-chat', action: 'start.chat.action' },
  phone: { title: 'start.phone.title', what: 'start.phone.what', href: '#/settings/inboxes/new-phone', action: 'start.phone.action' },
  orders: { title: 'start.orders.title', what: 'start.orders.what', href: '#/settings/sources', action: 'start.orders.action' },
  team: { title: 'start.team.title', what: 'start.team.what', href: '#/settings/agents', action: 'start.team.action' },
};

async function setupPage() {
  const s = await get('/api/v1/setup');
  const done = s.items.filter((i) => i.done).length;
  const items = s.items.map((it) => {
    const step = steps[it.id];
    const title = step ? tr(step.title) : it.id;
    return h('li', { class: 'setup-item' + (it.done ? ' done' : ''), dataset: { item: it.id, done: String(it.done) } },
      h('span', { class: 'tick', 'aria-hidden': 'true' }, it.done ? '✓' : ''),
      h('div', { class: 'grow' },
        h('strong', {}, title), h('span', { class: 'visually-hidden' }, ' ', tr(it.done ? 'start.isDone' : 'start.toDo')),
        h('div', { class: 'muted small' }, step ? tr(step.what) : '')),
      it.done ? h('span', { class: 'small ok-text' }, tr('start.done'))
        : h('a', { href: step ? step.href : '#/settings', class: 'button' }, tr(step ? step.action : 'start.open')));
  });
  const toggle = h('button', { type: 'button', id: 'setup-dismiss', onclick: async () => {
    try {
      await patch('/api/v1/setup', { dismissed: !s.dismissed });
      ok();
      await setupPage();
      $('#setup-dismiss').focus();
    } catch (err) { fail(err); }
  } }, tr(s.dismissed ? 'start.showAgain' : 'start.dismiss'));
  fill($('#settings-body'),
    h('p', { id: 'setup-progress', role: 'status' }, tr('start.progress', { done, n: s.items.length }),
      s.first_run ? [' ', tr('start.firstRun')] : ''),
    h('ol', { class: 'setup-list', id: 'setup-list' }, items),
    h('p', { class: 'muted small' }, tr('start.hint', { settings: tr('settings.title'), tab: tr('settings.tab.start') })),
    toggle);
}

// The checklist ticks itself when the admin comes back to it from another tab or window.
window.addEventListener('focus', () => {
  if ($('#setup-list') && location.hash === '#/settings/start') setupPage().catch(() => {});
});
