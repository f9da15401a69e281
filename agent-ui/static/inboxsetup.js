// inboxsetup.js holds the admins' inbox pages: the list of inboxes, a setup form per
// channel kind (no JSON to write; the JSON stays as "Advanced"), and each inbox's page:
// what to paste at the provider, the connection test step by step, members, disable,
// enable and delete.
//
// Routes: #/settings/inboxes (the list), #/settings/inboxes/new-<kind> (a new inbox),
// #/settings/inboxes/<id> (one inbox).

import { get, post, patch, del } from './api.js';
import { h, fill, $ } from './dom.js';
import { zoneSelect, localZone } from './time.js';
import { state } from './state.js';
import { settingsTabs, openTab, fail, ok } from './settings.js';
import { copyBox, testSteps, confirmDialog } from './setupkit.js';
import { signInBlock } from './oauthsignin.js';
import { t as tr, tn, locale } from './i18n.js';

export const isSetupPage = (tab) => tab === 'inboxes';

// showInboxSettings draws the inbox pages. Returns false when the role may not see them.
export async function showInboxSettings(tab, sub) {
  const cur = settingsTabs.find((t) => t.id === tab);
  if (!cur || !cur.allowed()) return false;
  let page = listPage;
  if (sub && sub.startsWith('new-') && kinds[sub.slice(4)]) page = () => newPage(sub.slice(4));
  else if (Number(sub) > 0) page = () => inboxPage(Number(sub));
  await openTab(cur.id, page);
  return true;
}

// kinds are the channel kinds an admin can add, in the order offered; each one's name
// and what it is are the catalogue's (inboxes.kind.<kind>, inboxes.about.<kind>).
const kinds = Object.fromEntries(['email', 'phone', 'chat', 'discord', 'api'].map((k) => [k, {
  get name() { return tr('inboxes.kind.' + k); },
  get about() { return tr('inboxes.about.' + k); },
}]));

// ---- the list ----

async function listPage() {
  const [{ inboxes }, { inboxes: archived }] = await Promise.all([get('/api/v1/inboxes'), get('/api/v1/inboxes?archived=true')]);
  state.inboxes = inboxes;
  const rows = inboxes.map((i) => h('li', { class: 'inbox-item' },
    h('a', { href: `#/settings/inboxes/${i.id}`, class: 'inbox-link' }, h('strong', {}, i.name)),
    h('span', { class: 'badge' }, kinds[i.kind] ? kinds[i.kind].name : i.kind),
    stateBadge(i)));
  fill($('#settings-body'),
    h('section', { class: 'setup-section', 'aria-labelledby': 'inboxes-h' },
      h('h3', { id: 'inboxes-h' }, tr('inboxes.title')),
      inboxes.length ? h('ul', { class: 'settings-list inbox-items', id: 'inbox-list' }, rows) : h('p', { class: 'muted' }, tr('inboxes.none'))),
    h('section', { class: 'setup-section', 'aria-labelledby': 'add-h' },
      h('h3', { id: 'add-h' }, tr('inboxes.add')),
      h('ul', { class: 'kind-choices', id: 'inbox-kinds' }, Object.entries(kinds).map(([k, v]) =>
        h('li', {}, h('a', { class: 'kind-choice', href: `#/settings/inboxes/new-${k}`, id: `add-${k}` },
          h('strong', {}, v.name), h('span', { class: 'muted small' }, v.about)))))),
    archived.length ? h('details', { class: 'setup-section', id: 'archived-inboxes' },
      h('summary', {}, tr('inboxes.deleted', { n: archived.length })),
      h('p', { class: 'muted small' }, tr('inboxes.deletedHint')),
      h('ul', { class: 'settings-list' }, archived.map((i) => h('li', {},
        tr('inboxes.deletedOn', { name: i.name, kind: i.kind, date: new Date(i.deleted_at).toLocaleDateString(locale()) }))))) : null);
}

// stateBadge shows whether an inbox runs: disabled, or its live connection's state.
function stateBadge(i) {
  if (!i.enabled) return h('span', { class: 'badge state-disabled' }, tr('inboxes.state.disabled'));
  const st = i.status;
  if (!st) return h('span', { class: 'badge' }, tr(i.config && i.config.demo ? 'inboxes.state.demo' : 'inboxes.state.ready'));
  const known = ['connected', 'connecting', 'disconnected', 'error'];
  return h('span', { class: 'badge state-' + st.state }, known.includes(st.state) ? tr('inboxes.state.' + st.state) : st.state);
}

// ---- a new inbox ----

async function newPage(kind) {
  const inboxes = state.inboxes.length ? state.inboxes : (await get('/api/v1/inboxes')).inboxes;
  const form = kindForm(kind, null, inboxes);
  // A new inbox's name starts as the kind's usual one (setup.defaultName.<kind>).
  const name = h('input', { id: 'in-name', name: 'name', required: true, maxlength: 100, value: tr('setup.defaultName.' + kind) });
  const status = h('p', { class: 'small', role: 'status' });
  const el = h('form', { class: 'card stack setup-form', id: 'inbox-setup', 'aria-labelledby': 'setup-h', novalidate: true },
    h('h3', { id: 'setup-h', tabindex: '-1' }, tr('setup.newTitle', { kind: kinds[kind].name })),
    h('p', { class: 'muted' }, kinds[kind].about),
    h('label', { for: 'in-name' }, tr('setup.newName')), name,
    form.el,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, tr(kind === 'discord' ? 'setup.connectBot' : 'setup.saveInbox')),
      h('a', { href: '#/settings/inboxes' }, tr('app.cancel'))),
    status);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = tr('app.saving');
    try {
      const config = form.read();
      const res = await post('/api/v1/inboxes', { kind, name: name.value, config });
      ok();
      created = { id: res.id, secrets: res.generated_secrets || null };
      location.hash = `#/settings/inboxes/${res.id}`;
    } catch (err) { status.textContent = ''; fail(err); }
  });
  fill($('#settings-body'), h('p', {}, h('a', { href: '#/settings/inboxes' }, tr('setup.allInboxes'))), el);
  $('#setup-h').focus();
}

// created remembers what the create answer showed once (a chat's generated identity
// secret), for the inbox page that follows it.
let created = null;

// ---- one inbox ----

async function inboxPage(id) {
  const [inbox, { inboxes }] = await Promise.all([get(`/api/v1/inboxes/${id}`), get('/api/v1/inboxes')]);
  state.inboxes = inboxes;
  const once = created && created.id === id ? created : null;
  created = null;
  const head = h('div', { class: 'inbox-head' },
    h('h3', { id: 'inbox-h', tabindex: '-1' }, inbox.name),
    h('span', { class: 'badge' }, kinds[inbox.kind] ? kinds[inbox.kind].name : inbox.kind),
    h('span', { id: 'inbox-state', role: 'status' }, stateBadge(inbox)));
  fill($('#settings-body'),
    h('p', {}, h('a', { href: '#/settings/inboxes' }, tr('setup.allInboxes'))),
    head,
    once && once.secrets ? secretsOnce(once.secrets) : null,
    h('div', { class: 'inbox-page' },
      h('div', { class: 'inbox-main' },
        nextSteps(inbox),
        inbox.kind !== 'api' && inbox.kind !== 'chat' ? testPanel(inbox) : null,
        settingsForm(inbox, inboxes),
        advanced(inbox)),
      h('div', { class: 'inbox-side' },
        lifecycle(inbox),
        membersPanel(inbox))));
  $('#inbox-h').focus();
  watchState(inbox);
  if (inbox.kind !== 'api' && inbox.kind !== 'chat' && inbox.enabled) runTest(inbox);
}

// watchState reloads the inbox's state every second for half a minute, or until it is
// connected, so the page shows the connection being made (after a save, a new token, an
// enable) and why it failed, until the page is left.
let watching = 0;
function watchState(inbox) {
  if (!inbox.enabled || !(inbox.kind === 'email' || inbox.kind === 'discord')) return;
  const shown = location.hash;
  const run = ++watching;
  let left = 30;
  const tick = async () => {
    if (location.hash !== shown || run !== watching || left-- <= 0) return;
    try {
      const cur = await get(`/api/v1/inboxes/${inbox.id}`);
      const el = $('#inbox-state');
      if (!el || run !== watching) return;
      const st = cur.status;
      fill(el, stateBadge(cur), st && st.last_error && st.state !== 'connected' ? h('span', { class: 'small error' }, ' ' + st.last_error) : null);
      if (!st || st.state !== 'connected') setTimeout(tick, 1000);
    } catch { /* the next page shows the state */ }
  };
  setTimeout(tick, 300);
}

// secretsOnce shows the secrets Parley generated, which no later page shows again.
function secretsOnce(secrets) {
  return h('div', { class: 'card once', role: 'alert' },
    h('strong', {}, tr('setup.secretOnce')),
    Object.entries(secrets).map(([k, v]) => copyBox(k === 'identity_secret' ? tr('setup.identitySecret') : k, v, 'secret-' + k)));
}

// ---- what to do next, per kind ----

function nextSteps(inbox) {
  const box = h('section', { class: 'card stack', id: 'next-steps', 'aria-labelledby': 'next-h' },
    h('h4', { id: 'next-h' }, tr('setup.connectIt')), h('p', { class: 'muted' }, tr('app.loading')));
  if (inbox.kind === 'email') {
    fill(box, h('h4', { id: 'next-h' }, tr('setup.connectIt')),
      h('p', {}, tn('setup.email.reads', { mailbox: h('strong', {}, inbox.config.imap_mailbox || 'INBOX'), address: h('strong', {}, inbox.config.address) })),
      h('p', { class: 'muted small' }, tr('setup.email.testBelow')));
    return box;
  }
  // load asks again: after the admin changed something at the provider (turned an
  // intent on, invited the bot), "Check again" redraws the steps without a reload.
  const load = (focus) => get(`/api/v1/inboxes/${inbox.id}/setup`).then((s) => {
    if (!box.isConnected) return;
    const draw = { phone: phoneSteps, chat: chatSteps, discord: discordSteps, api: apiSteps }[inbox.kind];
    fill(box, h('h4', { id: 'next-h', tabindex: '-1' }, tr('setup.connectIt')), draw ? draw(s, inbox, () => load(true)) : null);
    if (focus) $('#next-h').focus();
  }).catch((err) => { if (box.isConnected) fill(box, h('h4', { id: 'next-h' }, tr('setup.connectIt')), h('p', { class: 'error' }, err.message)); });
  load(false);
  return box;
}

function phoneSteps(s) {
  return [
    h('p', {}, tr('setup.phone.paste')),
    s.webhooks.map((w, i) => copyBox(w.setting, w.url, 'hook-' + i)),
    h('p', { class: 'muted small' }, tr('setup.phone.whatsapp', { test: tr('setup.test') })),
  ];
}

function chatSteps(s, inbox) {
  const tabs = h('div', { class: 'snippets', id: 'snippets' });
  const buttons = s.snippets.map((sn, i) => h('button', { type: 'button', role: 'tab', id: 'sn-tab-' + i, 'aria-selected': i === 0 ? 'true' : 'false',
    'aria-controls': 'sn-panel', onclick: () => showSnippet(i) }, sn.language));
  const panel = h('div', { id: 'sn-panel', role: 'tabpanel' });
  const showSnippet = (i) => {
    buttons.forEach((b, j) => b.setAttribute('aria-selected', i === j ? 'true' : 'false'));
    panel.setAttribute('aria-labelledby', 'sn-tab-' + i);
    fill(panel, copyBox(tr('setup.chat.sign', { language: s.snippets[i].language }), s.snippets[i].code, 'snippet', true));
  };
  fill(tabs, h('div', { role: 'tablist', 'aria-label': tr('setup.chat.snippetLanguage'), class: 'row' }, buttons), panel);
  showSnippet(0);
  return [
    h('p', {}, tn('setup.chat.paste', { tag: h('code', {}, '</body>') })),
    copyBox(tr('setup.chat.embed'), s.embed, 'embed'),
    h('p', {}, tn('setup.chat.signedIn', { env: h('code', {}, 'PARLEY_IDENTITY_SECRET') })),
    copyBox(tr('setup.chat.embedSigned'), s.embed_signed_in, 'embed-signed', true),
    tabs,
    h('p', { class: 'muted small' }, tr('setup.chat.origins', { origins: (inbox.config.allowed_origins || []).join(', ') || tr('setup.chat.noOrigin') })),
  ];
}

function discordSteps(s, inbox, again) {
  const out = [h('p', {}, tn('setup.discord.bot', { bot: h('strong', {}, s.bot) }))];
  const againButton = () => h('button', { type: 'button', id: 'setup-again', onclick: again }, tr('setup.discord.again'));
  if (!s.message_content_intent) {
    out.push(h('div', { class: 'warn stack', role: 'alert', id: 'intent-off' },
      h('p', {}, h('strong', {}, tr('setup.discord.intentOff')), ' ', s.intent_fix), h('p', {}, againButton())));
  } else {
    out.push(h('p', { id: 'intent-on' }, tr('setup.discord.intentOn')));
  }
  out.push(h('p', {}, tr('setup.discord.invite')), copyBox(tr('setup.discord.inviteLink'), s.invite_url, 'invite'),
    h('p', {}, h('a', { href: s.invite_url, target: '_blank', rel: 'noopener noreferrer' }, tr('setup.discord.openInvite'))));
  if (!s.guilds.length) {
    out.push(h('p', { class: 'muted', id: 'no-guilds' }, tr('setup.discord.noGuilds'), ' '),
      s.message_content_intent ? againButton() : null);
    return out;
  }
  const form = h('form', { id: 'discord-channels', class: 'stack' },
    h('p', {}, tr('setup.discord.pick')),
    s.guilds.map((g) => h('fieldset', {}, h('legend', {}, g.name),
      g.error ? h('p', { class: 'error small' }, g.error) : null,
      g.channels.length ? g.channels.map((c) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'support', value: c.id, checked: c.support }), ' #' + c.name)) : h('p', { class: 'muted small' }, tr('setup.discord.noChannels')))),
    s.missing_channel_ids.length ? h('p', { class: 'error small' }, tr('setup.discord.missing', { ids: s.missing_channel_ids.join(', ') })) : null,
    h('div', { class: 'row' }, h('button', { type: 'submit' }, tr('setup.discord.save')), h('span', { class: 'small', role: 'status' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const st = form.querySelector('[role=status]');
    const ids = [...form.querySelectorAll('input[name=support]:checked')].map((x) => x.value);
    try {
      const cfg = { ...inbox.config, support_channel_ids: ids };
      await patch(`/api/v1/inboxes/${inbox.id}`, { config: cfg });
      inbox.config = cfg;
      ok();
      st.textContent = tr('app.saved');
      watchState(inbox);
    } catch (err) { st.textContent = ''; fail(err); }
  });
  out.push(form);
  return out;
}

function apiSteps(s) {
  return [
    h('p', {}, tn('setup.api.send', { profile: h('a', { href: '#/profile' }, tr('setup.api.profile')), command: h('code', {}, 'parley token create') })),
    copyBox(tr('setup.api.url'), s.ingest_url, 'ingest-url'),
    copyBox(tr('setup.api.example'), s.example, 'api-example', true),
    h('p', { class: 'muted small' }, tr('setup.api.dedupe')),
  ];
}

// ---- the connection test ----

function testPanel(inbox) {
  return h('section', { class: 'card stack', id: 'test-panel', 'aria-labelledby': 'test-h' },
    h('h4', { id: 'test-h' }, tr('setup.testTitle')),
    h('div', { class: 'row' }, h('button', { type: 'button', id: 'test-button', onclick: () => runTest(inbox) }, tr('setup.test')),
      h('span', { class: 'small', id: 'test-result', role: 'status' })),
    h('ol', { class: 'test-steps', id: 'test-steps' }));
}

async function runTest(inbox) {
  const result = $('#test-result');
  if (!result) return;
  result.textContent = tr('setup.testing');
  fill($('#test-steps'));
  try {
    const r = await post(`/api/v1/inboxes/${inbox.id}/test`);
    if (!$('#test-result')) return;
    result.textContent = tr(r.ok ? 'setup.works' : 'setup.failed');
    result.className = 'small ' + (r.ok ? 'ok-text' : 'error');
    fill($('#test-steps'), r.steps ? testSteps(r.steps) : h('li', {}, r.error || ''));
  } catch (err) { result.textContent = err.message; }
}

// ---- settings forms, one per kind ----

function settingsForm(inbox, inboxes) {
  const form = kindForm(inbox.kind, inbox, inboxes);
  const status = h('span', { class: 'small', role: 'status' });
  const name = h('input', { id: 'in-name', name: 'name', required: true, maxlength: 100, value: inbox.name });
  const el = h('form', { class: 'card stack setup-form', id: 'inbox-settings', 'aria-labelledby': 'settings-h', novalidate: true },
    h('h4', { id: 'settings-h' }, tr('settings.title')),
    h('label', { for: 'in-name' }, tr('setup.name')), name,
    form.el,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, tr('app.save')), status));
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = tr('app.saving');
    try {
      const body = { name: name.value };
      if (inbox.kind !== 'api') body.config = form.read();
      const saved = await patch(`/api/v1/inboxes/${inbox.id}`, body);
      Object.assign(inbox, saved);
      ok();
      status.textContent = tr('app.saved');
      $('#inbox-h').textContent = saved.name;
      fill($('#inbox-state'), stateBadge(saved));
      watchState(saved);
    } catch (err) { status.textContent = ''; fail(err); }
  });
  return el;
}

// kindForm returns the controls of a kind's settings and a read() that turns them into
// the inbox's config; in is the inbox being edited, or null for a new one.
function kindForm(kind, inbox, inboxes) {
  const cfg = (inbox && inbox.config) || {};
  const secrets = (inbox && inbox.secrets_set) || [];
  switch (kind) {
    case 'email': return emailForm(cfg, secrets, inbox);
    case 'phone': return phoneForm(cfg, secrets);
    case 'chat': return chatForm(cfg, inboxes);
    case 'discord': return discordForm(cfg, secrets);
    default: return { el: h('p', { class: 'muted' }, tr('setup.api.noSettings')), read: () => ({}) };
  }
}

// input makes a labelled text input; hint is a line under it that the input names as
// its description.
function input(id, label, attrs = {}, hint = '') {
  const hintEl = hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null;
  const el = h('input', { id, name: id, 'aria-describedby': hint ? id + '-hint' : null, ...attrs });
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), el, hintEl), el };
}

// select makes a labelled select of options [value, text, attributes of the option].
function select(id, label, options, value) {
  const el = h('select', { id, name: id }, options.map(([v, t, attrs]) => h('option', { value: v, selected: v === value, ...attrs }, t)));
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), el), el };
}

function secretHint(secrets, key) {
  return secrets.includes(key) ? tr('setup.secretKept') : '';
}

// providers fill the servers of a mailbox; "custom" leaves them to the admin. A
// provider's name and how to get its password are the catalogue's
// (setup.provider.<id>, setup.providerHelp.<id>).
const providers = {
  gmail: { imap: ['imap.gmail.com', 993, 'tls'], smtp: ['smtp.gmail.com', 587, 'starttls'], auth: 'mx.google.com' },
  microsoft: { imap: ['outlook.office365.com', 993, 'tls'], smtp: ['smtp.office365.com', 587, 'starttls'], auth: '' },
  fastmail: { imap: ['imap.fastmail.com', 993, 'tls'], smtp: ['smtp.fastmail.com', 465, 'tls'], auth: '' },
  icloud: { imap: ['imap.mail.me.com', 993, 'tls'], smtp: ['smtp.mail.me.com', 587, 'starttls'], auth: '' },
  custom: { imap: ['', 993, 'tls'], smtp: ['', 587, 'starttls'], auth: '' },
};

function providerOf(cfg) {
  for (const [k, p] of Object.entries(providers)) {
    if (k !== 'custom' && cfg.imap_host === p.imap[0]) return k;
  }
  return cfg.imap_host ? 'custom' : 'gmail';
}

// securities are the connection securities of a mail server (setup.security.<id>).
const securities = ['tls', 'starttls', 'none'].map((k) => [k, tr('setup.security.' + k)]);

function emailForm(cfg, secrets, inbox) {
  const provider = select('em-provider', tr('setup.email.provider'), Object.keys(providers).map((k) => [k, tr('setup.provider.' + k)]), providerOf(cfg));
  const help = h('p', { class: 'hint', id: 'em-provider-help' });
  provider.el.setAttribute('aria-describedby', 'em-provider-help');
  const address = input('em-address', tr('setup.email.address'), { type: 'email', required: true, autocomplete: 'off', value: cfg.address || '', placeholder: tr('setup.email.addressExample') });
  const from = input('em-from', tr('setup.email.from'), { maxlength: 100, value: cfg.from_name || '' });
  const password = input('em-password', tr('setup.email.password'), { type: 'password', autocomplete: 'new-password' },
    secretHint(secrets, 'imap_password') || tr('setup.email.passwordHint'));
  const imapHost = input('em-imap-host', tr('setup.email.imapHost'), { value: cfg.imap_host || '', autocomplete: 'off' });
  const imapPort = input('em-imap-port', tr('setup.email.imapPort'), { type: 'number', min: 1, max: 65535, value: cfg.imap_port || '' });
  const imapSec = select('em-imap-security', tr('setup.email.imapSecurity'), securities, cfg.imap_security || 'tls');
  const imapUser = input('em-imap-user', tr('setup.email.imapUser'), { value: cfg.imap_username && cfg.imap_username !== cfg.address ? cfg.imap_username : '', autocomplete: 'off' });
  const mailbox = input('em-mailbox', tr('setup.email.mailbox'), { value: cfg.imap_mailbox || 'INBOX' });
  const smtpHost = input('em-smtp-host', tr('setup.email.smtpHost'), { value: cfg.smtp_host || '', autocomplete: 'off' });
  const smtpPort = input('em-smtp-port', tr('setup.email.smtpPort'), { type: 'number', min: 1, max: 65535, value: cfg.smtp_port || '' });
  const smtpSec = select('em-smtp-security', tr('setup.email.smtpSecurity'), securities, cfg.smtp_security || 'starttls');
  const smtpUser = input('em-smtp-user', tr('setup.email.smtpUser'), { value: cfg.smtp_username && cfg.smtp_username !== cfg.address ? cfg.smtp_username : '', autocomplete: 'off' });
  const smtpPass = input('em-smtp-password', tr('setup.email.smtpPassword'), { type: 'password', autocomplete: 'new-password' }, secretHint(secrets, 'smtp_password'));
  const markSeen = h('input', { type: 'checkbox', id: 'em-mark-seen', checked: !!cfg.mark_seen });
  const replyTo = h('input', { type: 'checkbox', id: 'em-reply-to', checked: cfg.use_reply_to !== false });
  const language = select('em-language', tr('setup.email.language'), languageOptions(false), cfg.language || 'en');
  const authserv = input('em-authserv', tr('setup.email.authserv'), { value: cfg.trusted_authserv_id || '', placeholder: tr('setup.email.authservExample') });
  const servers = h('details', { class: 'servers', id: 'em-servers' }, h('summary', {}, tr('setup.email.servers')),
    h('div', { class: 'grid3' }, imapHost.wrap, imapPort.wrap, imapSec.wrap), h('div', { class: 'grid2' }, imapUser.wrap, mailbox.wrap),
    h('div', { class: 'grid3' }, smtpHost.wrap, smtpPort.wrap, smtpSec.wrap), h('div', { class: 'grid2' }, smtpUser.wrap, smtpPass.wrap));
  // Sign in with Google / Microsoft (oauthsignin.js) instead of the password.
  const signIn = signInBlock(cfg, inbox, () => read(), password.wrap);
  const applyPreset = (fillServers) => {
    signIn.preset(provider.el.value);
    const p = providers[provider.el.value];
    help.textContent = tr('setup.providerHelp.' + provider.el.value);
    if (fillServers) {
      [imapHost.el.value, imapPort.el.value, imapSec.el.value] = p.imap;
      [smtpHost.el.value, smtpPort.el.value, smtpSec.el.value] = p.smtp;
      authserv.el.value = p.auth;
    }
    servers.open = provider.el.value === 'custom';
  };
  provider.el.addEventListener('change', () => applyPreset(true));
  applyPreset(!cfg.imap_host);
  const el = h('div', { class: 'stack' },
    provider.wrap, help, address.wrap, signIn.el, password.wrap, from.wrap, servers,
    h('details', {}, h('summary', {}, tr('setup.email.options')),
      h('label', { class: 'check' }, markSeen, ' ', tr('setup.email.markSeen')),
      h('label', { class: 'check' }, replyTo, ' ', tr('setup.email.replyTo')),
      authserv.wrap, language.wrap));
  const read = () => {
    const c = {
      address: address.el.value.trim(), imap_host: imapHost.el.value.trim(), imap_port: Number(imapPort.el.value) || 0,
      imap_security: imapSec.el.value, imap_mailbox: mailbox.el.value.trim() || 'INBOX',
      smtp_host: smtpHost.el.value.trim(), smtp_port: Number(smtpPort.el.value) || 0, smtp_security: smtpSec.el.value,
      mark_seen: markSeen.checked, use_reply_to: replyTo.checked, language: language.el.value,
    };
    if (!c.address) throw new Error(tr('setup.email.addressMissing'));
    if (!c.imap_host || !c.smtp_host) throw new Error(tr('setup.email.serversMissing', { servers: tr('setup.email.servers') }));
    if (from.el.value.trim()) c.from_name = from.el.value.trim();
    if (imapUser.el.value.trim()) c.imap_username = imapUser.el.value.trim();
    if (smtpUser.el.value.trim()) c.smtp_username = smtpUser.el.value.trim();
    else if (c.imap_username) c.smtp_username = c.imap_username;
    if (password.el.value) c.imap_password = password.el.value;
    if (smtpPass.el.value) c.smtp_password = smtpPass.el.value;
    else if (password.el.value) c.smtp_password = password.el.value;
    if (authserv.el.value.trim()) c.trusted_authserv_id = authserv.el.value.trim();
    if (signIn.auth() !== 'password') c.auth = signIn.auth();
    if (!c.imap_port) delete c.imap_port;
    if (!c.smtp_port) delete c.smtp_port;
    return c;
  };
  return { el, read };
}

// languageOptions are the languages shoppers and callers can be answered in (i18n/);
// "automatic" only where the page or the browser tells (the widget). Each language is
// named in itself, in every language of the console: those options are not translated.
function languageOptions(auto) {
  const langs = [['en', 'English'], ['de', 'Deutsch'], ['fr', 'Français'], ['es', 'Español']].map(([v, name]) => [v, name, { lang: v, translate: 'no' }]);
  return auto ? [['auto', tr('setup.languageAuto')], ...langs] : langs;
}

// weekdays are the days of the week with their short names (day.short.<id>).
const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, tr('day.short.' + d)]);

function phoneForm(cfg, secrets) {
  const sid = input('ph-sid', tr('setup.phone.sid'), { value: cfg.account_sid || '', placeholder: tr('setup.phone.sidExample'), autocomplete: 'off', spellcheck: 'false' },
    tr('setup.phone.sidHint'));
  const token = input('ph-token', tr('setup.phone.token'), { type: 'password', autocomplete: 'new-password' },
    secretHint(secrets, 'auth_token') || tr('setup.phone.tokenHint'));
  const number = input('ph-number', tr('setup.phone.number'), { type: 'tel', value: cfg.phone_number || '', placeholder: '+14155550100' },
    tr('setup.phone.numberHint'));
  const wa = input('ph-whatsapp', tr('setup.phone.whatsappNumber'), { type: 'tel', value: cfg.whatsapp_number || '', placeholder: '+14155550101' });
  const fwd = input('ph-forward', tr('setup.phone.forward'), { value: (cfg.forward_numbers || []).join(', '), placeholder: '+14155550198, +14155550199' });
  const greeting = input('ph-greeting', tr('setup.phone.greeting'), { maxlength: 500, value: cfg.greeting || '', placeholder: tr('setup.phone.greetingExample') });
  const always = h('input', { type: 'checkbox', id: 'ph-always', checked: !cfg.timezone });
  const tz = zoneSelect('ph-timezone', 'timezone', cfg.timezone || localZone());
  const days = cfg.open_days || ['mon', 'tue', 'wed', 'thu', 'fri'];
  const [from, until] = (cfg.open_hours || '09:00-17:00').split('-');
  const open = input('ph-open', tr('setup.phone.openFrom'), { type: 'time', value: from });
  const close = input('ph-close', tr('setup.phone.until'), { type: 'time', value: until === '24:00' ? '23:59' : until });
  const hours = h('div', { class: 'stack', id: 'ph-hours' },
    h('div', { class: 'field' }, h('label', { for: 'ph-timezone' }, tr('reports.timeZone')), tz),
    h('fieldset', {}, h('legend', {}, tr('setup.phone.openDays')), weekdays.map(([k, t]) => h('label', {}, h('input', { type: 'checkbox', name: 'ph-day', value: k, checked: days.includes(k) }), ' ', t))),
    h('div', { class: 'grid2' }, open.wrap, close.wrap));
  const sync = () => { hours.hidden = always.checked; };
  always.addEventListener('change', sync);
  sync();
  const language = select('ph-language', tr('setup.phone.language'), languageOptions(false), cfg.language || 'en');
  const base = input('ph-base', tr('setup.phone.base'), { value: cfg.api_base_url || 'https://api.twilio.com', spellcheck: 'false' }, tr('setup.phone.baseHint'));
  const el = h('div', { class: 'stack' }, sid.wrap, token.wrap, number.wrap, wa.wrap, fwd.wrap, greeting.wrap, language.wrap,
    h('fieldset', {}, h('legend', {}, tr('setup.phone.hours')),
      h('label', { class: 'check' }, always, ' ', tr('setup.phone.alwaysOpen')), hours),
    h('details', {}, h('summary', {}, tr('setup.advanced')), base.wrap));
  const read = () => {
    const c = { account_sid: sid.el.value.trim(), phone_number: number.el.value.trim(), api_base_url: base.el.value.trim() || 'https://api.twilio.com',
      language: language.el.value };
    if (token.el.value.trim()) c.auth_token = token.el.value.trim();
    if (wa.el.value.trim()) c.whatsapp_number = wa.el.value.trim();
    const f = fwd.el.value.split(/[\s,;]+/).filter(Boolean);
    if (f.length) c.forward_numbers = f;
    if (greeting.el.value.trim()) c.greeting = greeting.el.value.trim();
    if (!always.checked) {
      c.timezone = tz.value;
      c.open_days = [...hours.querySelectorAll('input[name=ph-day]:checked')].map((x) => x.value);
      c.open_hours = `${open.el.value}-${close.el.value}`;
    }
    return c;
  };
  return { el, read };
}

function chatForm(cfg, inboxes) {
  const origins = h('textarea', { id: 'ch-origins', name: 'origins', rows: 3, spellcheck: 'false', 'aria-describedby': 'ch-origins-hint',
    value: (cfg.allowed_origins || []).join('\n'), placeholder: tr('setup.chat.originExample') });
  const color = input('ch-color', tr('setup.chat.color'), { type: 'color', value: cfg.color || '#2563eb' });
  const pos = cfg.position || 'right';
  const greeting = input('ch-greeting', tr('setup.chat.greeting'), { maxlength: 500, value: cfg.greeting || tr('setup.chat.defaultGreeting') });
  const requireEmail = h('input', { type: 'checkbox', id: 'ch-require-email', checked: !!cfg.require_email });
  const emailInboxes = inboxes.filter((i) => i.kind === 'email');
  const offline = select('ch-offline', tr('setup.chat.offline'),
    [['', tr('setup.chat.noOffline')], ...emailInboxes.map((i) => [String(i.id), i.name])], cfg.email_inbox_id ? String(cfg.email_inbox_id) : '');
  const language = select('ch-language', tr('setup.chat.language'), languageOptions(true), cfg.language || 'auto');
  const secret = input('ch-secret', tr('setup.chat.secret'), { type: 'password', autocomplete: 'new-password' }, tr('setup.chat.secretHint'));
  // The preview's texts are examples of what a shopper sees, drawn by draw() below.
  const prompt = () => tr(requireEmail.checked ? 'setup.chat.previewEmail' : 'setup.chat.previewMessage');
  const preview = h('div', { class: 'widget-preview', id: 'widget-preview', 'aria-label': tr('setup.chat.preview'), role: 'img' },
    h('div', { class: 'wp-page' }, h('span', { class: 'wp-line' }), h('span', { class: 'wp-line short' }), h('span', { class: 'wp-line' })),
    h('div', { class: 'wp-panel' }, h('div', { class: 'wp-head' }), h('div', { class: 'wp-body' }, h('span', { class: 'wp-bubble' }, tr('setup.chat.previewQuestion'))),
      h('div', { class: 'wp-form' }, h('span', { class: 'wp-input' }, prompt()))),
    h('span', { class: 'wp-launcher' }));
  const positions = h('fieldset', {}, h('legend', {}, tr('setup.chat.position')),
    ['right', 'left'].map((p) => h('label', {}, h('input', { type: 'radio', name: 'ch-position', value: p, checked: p === pos }), ' ',
      tr(p === 'right' ? 'setup.chat.right' : 'setup.chat.left'))));
  const draw = () => {
    preview.style.setProperty('--wp-color', color.el.value);
    preview.dataset.position = positions.querySelector('input:checked').value;
    fill(preview.querySelector('.wp-head'), greeting.el.value || tr('setup.chat.defaultGreeting'));
    fill(preview.querySelector('.wp-input'), prompt());
  };
  for (const x of [color.el, greeting.el, requireEmail, positions]) x.addEventListener('input', draw);
  positions.addEventListener('change', draw);
  draw();
  const el = h('div', { class: 'chat-setup' },
    h('div', { class: 'stack' },
      h('label', { for: 'ch-origins' }, tr('setup.chat.originsLabel')), origins,
      h('p', { class: 'hint', id: 'ch-origins-hint' }, tr('setup.chat.originsHint')),
      h('div', { class: 'grid2' }, color.wrap, positions), greeting.wrap,
      h('label', { class: 'check' }, requireEmail, ' ', tr('setup.chat.requireEmail')),
      offline.wrap, language.wrap, secret.wrap),
    h('div', {}, h('p', { class: 'small-heading', id: 'preview-h' }, tr('setup.chat.previewTitle')), preview));
  const read = () => {
    const c = {
      allowed_origins: origins.value.split(/\s+/).filter(Boolean), color: color.el.value,
      position: positions.querySelector('input:checked').value, greeting: greeting.el.value.trim(), require_email: requireEmail.checked,
      language: language.el.value,
    };
    if (offline.el.value) c.email_inbox_id = Number(offline.el.value);
    if (secret.el.value.trim()) c.identity_secret = secret.el.value.trim();
    return c;
  };
  return { el, read };
}

function discordForm(cfg, secrets) {
  const token = input('dc-token', tr('setup.discord.token'), { type: 'password', autocomplete: 'new-password' },
    secretHint(secrets, 'bot_token') || tr('setup.discord.tokenHint'));
  const base = input('dc-base', tr('setup.discord.base'), { value: cfg.api_base_url || 'https://discord.com', spellcheck: 'false' }, tr('setup.discord.baseHint'));
  const el = h('div', { class: 'stack' },
    h('ol', { class: 'howto' },
      h('li', {}, tr('setup.discord.step1')),
      h('li', {}, tr('setup.discord.step2')),
      h('li', {}, tr('setup.discord.step3'))),
    token.wrap, h('details', {}, h('summary', {}, tr('setup.advanced')), base.wrap));
  const read = () => {
    const c = { ...cfg, api_base_url: base.el.value.trim() || 'https://discord.com' };
    delete c.demo;
    if (token.el.value.trim()) c.bot_token = token.el.value.trim();
    return c;
  };
  return { el, read };
}

// ---- advanced: the config as JSON ----

function advanced(inbox) {
  const ta = h('textarea', { id: `cfg-${inbox.id}`, name: 'config', rows: 8, spellcheck: 'false', value: JSON.stringify(inbox.config || {}, null, 2) });
  const status = h('span', { class: 'small', role: 'status' });
  const form = h('form', { class: 'stack', id: 'inbox-json' },
    h('label', { for: `cfg-${inbox.id}` }, tr('setup.json.label')), ta,
    h('p', { class: 'small' }, (inbox.secrets_set || []).length ? tr('setup.secretsSet', { list: inbox.secrets_set.join(', ') }) : tr('setup.noSecrets')),
    h('div', { class: 'row' }, h('button', { type: 'submit' }, tr('setup.json.save')), status));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let config;
    try { config = JSON.parse(ta.value || '{}'); } catch { fail(new Error(tr('setup.json.invalid'))); return; }
    try {
      await patch(`/api/v1/inboxes/${inbox.id}`, { config });
      ok();
      status.textContent = tr('app.saved');
    } catch (err) { status.textContent = ''; fail(err); }
  });
  return h('details', { class: 'card', id: 'inbox-advanced' }, h('summary', {}, tr('setup.json.title')), form);
}

// ---- disable, enable, delete ----

function lifecycle(inbox) {
  const status = h('p', { class: 'small', role: 'status', id: 'lifecycle-status' });
  const toggle = h('button', { type: 'button', id: 'inbox-toggle' }, tr(inbox.enabled ? 'setup.disable' : 'setup.enable'));
  const explain = h('p', { class: 'muted small', id: 'toggle-explain' });
  const sync = () => {
    toggle.textContent = tr(inbox.enabled ? 'setup.disable' : 'setup.enable');
    explain.textContent = tr(inbox.enabled ? 'setup.disableHint' : 'setup.disabledHint');
  };
  sync();
  toggle.addEventListener('click', async () => {
    try {
      const saved = await patch(`/api/v1/inboxes/${inbox.id}`, { enabled: !inbox.enabled });
      Object.assign(inbox, saved);
      ok();
      sync();
      fill($('#inbox-state'), stateBadge(saved));
      status.textContent = tr(saved.enabled ? 'setup.enabled' : 'setup.disabled');
      if (saved.enabled) watchState(saved);
    } catch (err) { fail(err); }
  });
  const remove = h('button', { type: 'button', class: 'danger', id: 'inbox-delete' }, tr('setup.delete'));
  remove.addEventListener('click', () => confirmDialog({
    title: tr('setup.deleteTitle', { name: inbox.name }),
    text: tr('setup.deleteText'),
    confirm: tr('setup.deleteConfirm'),
    returnFocus: remove,
    onConfirm: async () => {
      await del(`/api/v1/inboxes/${inbox.id}`);
      ok();
      location.hash = '#/settings/inboxes';
    },
  }));
  return h('section', { class: 'card stack', 'aria-labelledby': 'life-h' }, h('h4', { id: 'life-h' }, tr('setup.status')), explain,
    h('div', { class: 'row' }, toggle, remove), status);
}

// ---- members ----

function membersPanel(inbox) {
  const box = h('section', { class: 'card stack', id: 'members', 'aria-labelledby': 'members-h' },
    h('h4', { id: 'members-h' }, tr('setup.members')), h('p', { class: 'muted' }, tr('app.loading')));
  get('/api/v1/agents').then(({ agents }) => {
    if (!box.isConnected) return;
    const agentsOnly = agents.filter((a) => a.role === 'agent');
    const form = h('form', { class: 'stack', id: 'members-form' },
      h('p', { class: 'muted small' }, tr('setup.membersHint')),
      agentsOnly.length ? h('fieldset', {}, h('legend', {}, tr('setup.membersLegend')), agentsOnly.map((a) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'member', value: a.id, checked: (a.inbox_ids || []).includes(inbox.id) }), ' ' + a.name))) :
        h('p', { class: 'muted' }, tn('setup.noAgents', { invite: h('a', { href: '#/settings/agents' }, tr('setup.inviteTeam')) })),
      agentsOnly.length ? h('div', { class: 'row' }, h('button', { type: 'submit' }, tr('setup.saveMembers')), h('span', { class: 'small', role: 'status' })) : null);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const st = form.querySelector('[role=status]');
      const want = new Set([...form.querySelectorAll('input[name=member]:checked')].map((x) => Number(x.value)));
      try {
        for (const a of agentsOnly) {
          const ids = a.inbox_ids || [];
          const has = ids.includes(inbox.id);
          if (has === want.has(a.id)) continue;
          const next = has ? ids.filter((x) => x !== inbox.id) : [...ids, inbox.id];
          await patch(`/api/v1/agents/${a.id}`, { inbox_ids: next });
          a.inbox_ids = next;
        }
        ok();
        st.textContent = tr('app.saved');
      } catch (err) { st.textContent = ''; fail(err); }
    });
    fill(box, h('h4', { id: 'members-h' }, tr('setup.members')), form);
  }).catch((err) => { if (box.isConnected) fill(box, h('h4', { id: 'members-h' }, tr('setup.members')), h('p', { class: 'error' }, err.message)); });
  return box;
}

