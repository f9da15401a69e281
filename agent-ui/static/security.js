// security.js holds two admin settings pages: Security (requiring two-factor sign-in,
// each agent's state and its reset) and Getting started, the first-run checklist that a
// fresh install opens on and that ticks itself from what the shop has set up.

import { get, patch, del } from './api.js';
import { h, fill, $ } from './dom.js';
import { isAdmin } from './state.js';
import { settingsTabs, openTab, fail, ok } from './settings.js';

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
      ' Require two-factor sign-in for everyone'),
    h('p', { id: 'require-2fa-help', class: 'muted small' },
      'Agents without an authenticator app set one up at their next sign-in, before they get in; none can turn it off. Signed-in browsers stay signed in.'),
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), st));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await patch('/api/v1/settings/security', { require_2fa: $('#require-2fa').checked });
      ok();
      st.textContent = 'Saved';
    } catch (err) { st.textContent = ''; fail(err); }
  });
  const rows = agents.filter((a) => !a.disabled).map((a) => h('li', { class: 'row' },
    h('span', { class: 'grow' }, a.name, ' ', h('span', { class: 'muted small' }, a.email)),
    a.totp_enabled ? h('span', { class: 'badge ok' }, 'two-factor on') : h('span', { class: 'badge' }, 'password only'),
    a.totp_enabled ? h('button', { type: 'button', class: 'danger', 'aria-label': `Reset two-factor sign-in of ${a.name}`, onclick: async (e) => {
      const btn = e.target;
      if (btn.dataset.confirm !== '1') {
        btn.dataset.confirm = '1';
        btn.textContent = 'Really reset?';
        return;
      }
      try { await del(`/api/v1/agents/${a.id}/totp`); ok(); await securityPage(); } catch (err) { fail(err); }
    } }, 'Reset') : null));
  fill($('#settings-body'), form,
    h('h3', {}, 'Agents'),
    h('p', { class: 'muted small' }, 'Reset turns an agent\'s two-factor sign-in off and signs them out everywhere: for a lost phone with lost recovery codes.'),
    h('ul', { class: 'settings-list', id: 'totp-agents' }, rows));
}

// ---- Getting started ----

// steps are the checklist's items, by the id the API gives them.
const steps = {
  email: { title: 'Connect your support email', what: 'Mail to your support address becomes tickets; replies go out from it.', href: '#/settings/inboxes/new-email', action: 'Connect email' },
  chat: { title: 'Add the chat widget to your shop', what: 'Shoppers chat with you from your site and look up their orders.', href: '#/settings/inboxes/new-chat', action: 'Set up the widget' },
  phone: { title: 'Connect Twilio', what: 'SMS, WhatsApp and calls to your number land here too.', href: '#/settings/inboxes/new-phone', action: 'Connect Twilio' },
  orders: { title: 'Connect your shop', what: 'Agents see each customer\'s orders next to the conversation.', href: '#/settings/sources', action: 'Connect the shop' },
  team: { title: 'Invite your team', what: 'Colleagues get a link to choose their own password.', href: '#/settings/agents', action: 'Invite people' },
};

async function setupPage() {
  const s = await get('/api/v1/setup');
  const done = s.items.filter((i) => i.done).length;
  const items = s.items.map((it) => {
    const step = steps[it.id] || { title: it.id, what: '', href: '#/settings', action: 'Open' };
    return h('li', { class: 'setup-item' + (it.done ? ' done' : ''), dataset: { item: it.id, done: String(it.done) } },
      h('span', { class: 'tick', 'aria-hidden': 'true' }, it.done ? '✓' : ''),
      h('div', { class: 'grow' },
        h('strong', {}, step.title), h('span', { class: 'visually-hidden' }, it.done ? ' (done)' : ' (to do)'),
        h('div', { class: 'muted small' }, step.what)),
      it.done ? h('span', { class: 'small ok-text' }, 'Done') : h('a', { href: step.href, class: 'button' }, step.action));
  });
  const toggle = h('button', { type: 'button', id: 'setup-dismiss', onclick: async () => {
    try {
      await patch('/api/v1/setup', { dismissed: !s.dismissed });
      ok();
      await setupPage();
      $('#setup-dismiss').focus();
    } catch (err) { fail(err); }
  } }, s.dismissed ? 'Show this checklist at sign-in again' : 'Dismiss the checklist');
  fill($('#settings-body'),
    h('p', { id: 'setup-progress', role: 'status' }, `${done} of ${s.items.length} done.`,
      s.first_run ? ' Parley has no inbox yet: start with one of the channels below.' : ''),
    h('ol', { class: 'setup-list', id: 'setup-list' }, items),
    h('p', { class: 'muted small' }, 'Each step ticks itself once it is set up. This page stays under Settings → Getting started.'),
    toggle);
}

// The checklist ticks itself when the admin comes back to it from another tab or window.
window.addEventListener('focus', () => {
  if ($('#setup-list') && location.hash === '#/settings/start') setupPage().catch(() => {});
});
