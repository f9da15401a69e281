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
import { t as tr, locale } from './i18n.js';

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
  const name = h('input', { id: 'in-name', name: 'name', required: true, maxlength: 100, value: defaultName[kind] });
  const status = h('p', { class: 'small', role: 'status' });
  const el = h('form', { class: 'card stack setup-form', id: 'inbox-setup', 'aria-labelledby': 'setup-h', novalidate: true },
    h('h3', { id: 'setup-h', tabindex: '-1' }, 'New inbox: ', kinds[kind].name),
    h('p', { class: 'muted' }, kinds[kind].about),
    h('label', { for: 'in-name' }, 'Name (agents see it; customers do not)'), name,
    form.el,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, kind === 'discord' ? 'Connect the bot' : 'Save inbox'),
      h('a', { href: '#/settings/inboxes' }, 'Cancel')),
    status);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = 'Saving…';
    try {
      const config = form.read();
      const res = await post('/api/v1/inboxes', { kind, name: name.value, config });
      ok();
      created = { id: res.id, secrets: res.generated_secrets || null };
      location.hash = `#/settings/inboxes/${res.id}`;
    } catch (err) { status.textContent = ''; fail(err); }
  });
  fill($('#settings-body'), h('p', {}, h('a', { href: '#/settings/inboxes' }, '← All inboxes')), el);
  $('#setup-h').focus();
}

// created remembers what the create answer showed once (a chat's generated identity
// secret), for the inbox page that follows it.
let created = null;

const defaultName = { email: 'Support email', phone: 'Hotline', chat: 'Shop chat', discord: 'Discord community', api: 'Backoffice API' };

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
    h('p', {}, h('a', { href: '#/settings/inboxes' }, '← All inboxes')),
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
    h('strong', {}, 'Copy this now: it is shown only once.'),
    Object.entries(secrets).map(([k, v]) => copyBox(k === 'identity_secret' ? 'Identity secret (your shop\'s server signs shoppers\' emails with it)' : k, v, 'secret-' + k)));
}

// ---- what to do next, per kind ----

function nextSteps(inbox) {
  const box = h('section', { class: 'card stack', id: 'next-steps', 'aria-labelledby': 'next-h' },
    h('h4', { id: 'next-h' }, 'Connect it'), h('p', { class: 'muted' }, 'Loading…'));
  if (inbox.kind === 'email') {
    fill(box, h('h4', { id: 'next-h' }, 'Connect it'),
      h('p', {}, 'Parley reads ', h('strong', {}, inbox.config.imap_mailbox || 'INBOX'), ' of ', h('strong', {}, inbox.config.address),
        ' and sends replies from that address. Mail stays on the server.'),
      h('p', { class: 'muted small' }, 'The connection test below shows each step with the server\'s answer.'));
    return box;
  }
  // load asks again: after the admin changed something at the provider (turned an
  // intent on, invited the bot), "Check again" redraws the steps without a reload.
  const load = (focus) => get(`/api/v1/inboxes/${inbox.id}/setup`).then((s) => {
    if (!box.isConnected) return;
    const draw = { phone: phoneSteps, chat: chatSteps, discord: discordSteps, api: apiSteps }[inbox.kind];
    fill(box, h('h4', { id: 'next-h', tabindex: '-1' }, 'Connect it'), draw ? draw(s, inbox, () => load(true)) : null);
    if (focus) $('#next-h').focus();
  }).catch((err) => { if (box.isConnected) fill(box, h('h4', { id: 'next-h' }, 'Connect it'), h('p', { class: 'error' }, err.message)); });
  load(false);
  return box;
}

function phoneSteps(s) {
  return [
    h('p', {}, 'In the Twilio console, open the number (Phone Numbers → Manage → Active numbers) and paste these URLs, each with method HTTP POST:'),
    s.webhooks.map((w, i) => copyBox(w.setting, w.url, 'hook-' + i)),
    h('p', { class: 'muted small' }, 'For WhatsApp, paste the first URL as the sender\'s webhook URL for incoming messages. Then press Test connection.'),
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
    fill(panel, copyBox(`Sign the shopper's email in ${s.snippets[i].language}`, s.snippets[i].code, 'snippet', true));
  };
  fill(tabs, h('div', { role: 'tablist', 'aria-label': 'Language', class: 'row' }, buttons), panel);
  showSnippet(0);
  return [
    h('p', {}, 'Paste this before ', h('code', {}, '</body>'), ' on every page of your shop:'),
    copyBox('Embed code', s.embed, 'embed'),
    h('p', {}, 'Shoppers who are signed in to your shop can be recognised: your server signs their email with the inbox\'s identity secret (shown once when the inbox was made; set it in ',
      h('code', {}, 'PARLEY_IDENTITY_SECRET'), ') and the page passes it on:'),
    copyBox('Embed code for a signed-in shopper', s.embed_signed_in, 'embed-signed', true),
    tabs,
    h('p', { class: 'muted small' }, 'Pages of ', (inbox.config.allowed_origins || []).join(', ') || 'no origin yet', ' may open the widget.'),
  ];
}

function discordSteps(s, inbox, again) {
  const out = [h('p', {}, 'The token is the bot ', h('strong', {}, s.bot), '.')];
  const againButton = () => h('button', { type: 'button', id: 'setup-again', onclick: again }, 'Check again');
  if (!s.message_content_intent) {
    out.push(h('div', { class: 'warn stack', role: 'alert', id: 'intent-off' },
      h('p', {}, h('strong', {}, 'The Message Content intent is off. '), s.intent_fix), h('p', {}, againButton())));
  } else {
    out.push(h('p', { id: 'intent-on' }, '✓ The Message Content intent is on.'));
  }
  out.push(h('p', {}, 'Invite the bot to your server with the permissions it needs:'), copyBox('Invite link', s.invite_url, 'invite'),
    h('p', {}, h('a', { href: s.invite_url, target: '_blank', rel: 'noopener noreferrer' }, 'Open the invite link')));
  if (!s.guilds.length) {
    out.push(h('p', { class: 'muted', id: 'no-guilds' }, 'The bot is in no server yet. Invite it, then check again to pick support channels. '),
      s.message_content_intent ? againButton() : null);
    return out;
  }
  const form = h('form', { id: 'discord-channels', class: 'stack' },
    h('p', {}, 'A message in a support channel opens a ticket and a thread; direct messages to the bot always do. Pick the support channels:'),
    s.guilds.map((g) => h('fieldset', {}, h('legend', {}, g.name),
      g.error ? h('p', { class: 'error small' }, g.error) : null,
      g.channels.length ? g.channels.map((c) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'support', value: c.id, checked: c.support }), ' #' + c.name)) : h('p', { class: 'muted small' }, 'No text channels the bot can see.'))),
    s.missing_channel_ids.length ? h('p', { class: 'error small' }, 'The bot cannot see these support channels any more: ', s.missing_channel_ids.join(', ')) : null,
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save support channels'), h('span', { class: 'small', role: 'status' })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const st = form.querySelector('[role=status]');
    const ids = [...form.querySelectorAll('input[name=support]:checked')].map((x) => x.value);
    try {
      const cfg = { ...inbox.config, support_channel_ids: ids };
      await patch(`/api/v1/inboxes/${inbox.id}`, { config: cfg });
      inbox.config = cfg;
      ok();
      st.textContent = 'Saved';
      watchState(inbox);
    } catch (err) { st.textContent = ''; fail(err); }
  });
  out.push(form);
  return out;
}

function apiSteps(s) {
  return [
    h('p', {}, 'Your systems send each message to this URL with an API token (make one under ', h('a', { href: '#/profile' }, 'your profile → API tokens'), ', or with ', h('code', {}, 'parley token create'), ') in PARLEY_TOKEN:'),
    copyBox('Ingest URL', s.ingest_url, 'ingest-url'),
    copyBox('Example request', s.example, 'api-example', true),
    h('p', { class: 'muted small' }, 'The same external_id twice is one message; the same thread_key joins one ticket.'),
  ];
}

// ---- the connection test ----

function testPanel(inbox) {
  return h('section', { class: 'card stack', id: 'test-panel', 'aria-labelledby': 'test-h' },
    h('h4', { id: 'test-h' }, 'Connection test'),
    h('div', { class: 'row' }, h('button', { type: 'button', id: 'test-button', onclick: () => runTest(inbox) }, 'Test connection'),
      h('span', { class: 'small', id: 'test-result', role: 'status' })),
    h('ol', { class: 'test-steps', id: 'test-steps' }));
}

async function runTest(inbox) {
  const result = $('#test-result');
  if (!result) return;
  result.textContent = 'Testing…';
  fill($('#test-steps'));
  try {
    const r = await post(`/api/v1/inboxes/${inbox.id}/test`);
    if (!$('#test-result')) return;
    result.textContent = r.ok ? 'Connection works' : 'Connection failed';
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
    h('h4', { id: 'settings-h' }, 'Settings'),
    h('label', { for: 'in-name' }, 'Name'), name,
    form.el,
    h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), status));
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = 'Saving…';
    try {
      const body = { name: name.value };
      if (inbox.kind !== 'api') body.config = form.read();
      const saved = await patch(`/api/v1/inboxes/${inbox.id}`, body);
      Object.assign(inbox, saved);
      ok();
      status.textContent = 'Saved';
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
    default: return { el: h('p', { class: 'muted' }, 'An API inbox needs no settings.'), read: () => ({}) };
  }
}

// input makes a labelled text input; hint is a line under it that the input names as
// its description.
function input(id, label, attrs = {}, hint = '') {
  const hintEl = hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null;
  const el = h('input', { id, name: id, 'aria-describedby': hint ? id + '-hint' : null, ...attrs });
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), el, hintEl), el };
}

function select(id, label, options, value) {
  const el = h('select', { id, name: id }, options.map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), el), el };
}

function secretHint(secrets, key) {
  return secrets.includes(key) ? 'Saved; leave empty to keep it.' : '';
}

// providers fill the servers of a mailbox; "custom" leaves them to the admin.
const providers = {
  gmail: { name: 'Gmail / Google Workspace', imap: ['imap.gmail.com', 993, 'tls'], smtp: ['smtp.gmail.com', 587, 'starttls'], auth: 'mx.google.com',
    help: 'Sign in with Google, or use an app password: Google Account → Security → 2-Step Verification → App passwords. IMAP must be on in Gmail\'s settings.' },
  microsoft: { name: 'Microsoft 365 / Outlook.com', imap: ['outlook.office365.com', 993, 'tls'], smtp: ['smtp.office365.com', 587, 'starttls'], auth: '',
    help: 'Sign in with Microsoft (Microsoft 365 takes no passwords for IMAP any more; Outlook.com also takes an app password). The mailbox must allow IMAP and authenticated SMTP (Exchange admin center → mailbox → Email apps).' },
  fastmail: { name: 'Fastmail', imap: ['imap.fastmail.com', 993, 'tls'], smtp: ['smtp.fastmail.com', 465, 'tls'], auth: '',
    help: 'Use an app password: Settings → Privacy & Security → Integrations → New app password, with IMAP and SMTP access.' },
  icloud: { name: 'iCloud Mail', imap: ['imap.mail.me.com', 993, 'tls'], smtp: ['smtp.mail.me.com', 587, 'starttls'], auth: '',
    help: 'Use an app-specific password: appleid.apple.com → Sign-In and Security → App-Specific Passwords.' },
  custom: { name: 'Another provider or my own server', imap: ['', 993, 'tls'], smtp: ['', 587, 'starttls'], auth: '',
    help: 'Enter your provider\'s IMAP and SMTP servers below.' },
};

function providerOf(cfg) {
  for (const [k, p] of Object.entries(providers)) {
    if (k !== 'custom' && cfg.imap_host === p.imap[0]) return k;
  }
  return cfg.imap_host ? 'custom' : 'gmail';
}

const securities = [['tls', 'TLS (implicit)'], ['starttls', 'STARTTLS'], ['none', 'None (trusted network only)']];

function emailForm(cfg, secrets, inbox) {
  const provider = select('em-provider', 'Provider', Object.entries(providers).map(([k, p]) => [k, p.name]), providerOf(cfg));
  const help = h('p', { class: 'hint', id: 'em-provider-help' });
  provider.el.setAttribute('aria-describedby', 'em-provider-help');
  const address = input('em-address', 'Support address', { type: 'email', required: true, autocomplete: 'off', value: cfg.address || '', placeholder: 'support@yourshop.com' });
  const from = input('em-from', 'Sender name (optional: the inbox name)', { maxlength: 100, value: cfg.from_name || '' });
  const password = input('em-password', 'Password or app password', { type: 'password', autocomplete: 'new-password' },
    secretHint(secrets, 'imap_password') || 'Sign in with Google or Microsoft will replace this; until then use an app password.');
  const imapHost = input('em-imap-host', 'IMAP server', { value: cfg.imap_host || '', autocomplete: 'off' });
  const imapPort = input('em-imap-port', 'IMAP port', { type: 'number', min: 1, max: 65535, value: cfg.imap_port || '' });
  const imapSec = select('em-imap-security', 'IMAP security', securities, cfg.imap_security || 'tls');
  const imapUser = input('em-imap-user', 'IMAP user name (empty: the support address)', { value: cfg.imap_username && cfg.imap_username !== cfg.address ? cfg.imap_username : '', autocomplete: 'off' });
  const mailbox = input('em-mailbox', 'Folder to read', { value: cfg.imap_mailbox || 'INBOX' });
  const smtpHost = input('em-smtp-host', 'SMTP server', { value: cfg.smtp_host || '', autocomplete: 'off' });
  const smtpPort = input('em-smtp-port', 'SMTP port', { type: 'number', min: 1, max: 65535, value: cfg.smtp_port || '' });
  const smtpSec = select('em-smtp-security', 'SMTP security', securities, cfg.smtp_security || 'starttls');
  const smtpUser = input('em-smtp-user', 'SMTP user name (empty: the IMAP one)', { value: cfg.smtp_username && cfg.smtp_username !== cfg.address ? cfg.smtp_username : '', autocomplete: 'off' });
  const smtpPass = input('em-smtp-password', 'SMTP password (empty: the IMAP password)', { type: 'password', autocomplete: 'new-password' }, secretHint(secrets, 'smtp_password'));
  const markSeen = h('input', { type: 'checkbox', id: 'em-mark-seen', checked: !!cfg.mark_seen });
  const replyTo = h('input', { type: 'checkbox', id: 'em-reply-to', checked: cfg.use_reply_to !== false });
  const language = select('em-language', 'Language of the satisfaction survey', languageOptions(false), cfg.language || 'en');
  const authserv = input('em-authserv', 'Receiving mail server\'s name in Authentication-Results (optional)', { value: cfg.trusted_authserv_id || '', placeholder: 'mx.google.com' });
  const servers = h('details', { class: 'servers', id: 'em-servers' }, h('summary', {}, 'Servers'),
    h('div', { class: 'grid3' }, imapHost.wrap, imapPort.wrap, imapSec.wrap), h('div', { class: 'grid2' }, imapUser.wrap, mailbox.wrap),
    h('div', { class: 'grid3' }, smtpHost.wrap, smtpPort.wrap, smtpSec.wrap), h('div', { class: 'grid2' }, smtpUser.wrap, smtpPass.wrap));
  // Sign in with Google / Microsoft (oauthsignin.js) instead of the password.
  const signIn = signInBlock(cfg, inbox, () => read(), password.wrap);
  const applyPreset = (fillServers) => {
    signIn.preset(provider.el.value);
    const p = providers[provider.el.value];
    help.textContent = p.help;
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
    h('details', {}, h('summary', {}, 'Options'),
      h('label', { class: 'check' }, markSeen, ' Mark mail as read in the mailbox once Parley has it'),
      h('label', { class: 'check' }, replyTo, ' Treat a Reply-To address as the customer (contact forms, shop systems)'),
      authserv.wrap, language.wrap));
  const read = () => {
    const c = {
      address: address.el.value.trim(), imap_host: imapHost.el.value.trim(), imap_port: Number(imapPort.el.value) || 0,
      imap_security: imapSec.el.value, imap_mailbox: mailbox.el.value.trim() || 'INBOX',
      smtp_host: smtpHost.el.value.trim(), smtp_port: Number(smtpPort.el.value) || 0, smtp_security: smtpSec.el.value,
      mark_seen: markSeen.checked, use_reply_to: replyTo.checked, language: language.el.value,
    };
    if (!c.address) throw new Error('Enter the support address.');
    if (!c.imap_host || !c.smtp_host) throw new Error('Enter the IMAP and SMTP servers (open "Servers").');
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
// "automatic" only where the page or the browser tells (the widget).
function languageOptions(auto) {
  const langs = [['en', 'English'], ['de', 'Deutsch'], ['fr', 'Français'], ['es', 'Español']];
  return auto ? [['auto', 'Automatic: the page\'s, else the browser\'s'], ...langs] : langs;
}

const weekdays = [['mon', 'Mon'], ['tue', 'Tue'], ['wed', 'Wed'], ['thu', 'Thu'], ['fri', 'Fri'], ['sat', 'Sat'], ['sun', 'Sun']];

function phoneForm(cfg, secrets) {
  const sid = input('ph-sid', 'Account SID', { value: cfg.account_sid || '', placeholder: 'AC…', autocomplete: 'off', spellcheck: 'false' },
    'Twilio console → Account Info. It starts with AC.');
  const token = input('ph-token', 'Auth Token', { type: 'password', autocomplete: 'new-password' },
    secretHint(secrets, 'auth_token') || 'Twilio console → Account Info: 32 letters and digits.');
  const number = input('ph-number', 'Twilio phone number', { type: 'tel', value: cfg.phone_number || '', placeholder: '+14155550100' },
    'With the country code. Texts and calls to it come to this inbox.');
  const wa = input('ph-whatsapp', 'WhatsApp sender (optional)', { type: 'tel', value: cfg.whatsapp_number || '', placeholder: '+14155550101' });
  const fwd = input('ph-forward', 'Agents\' phones to ring when a caller asks for someone (optional)', { value: (cfg.forward_numbers || []).join(', '), placeholder: '+14155550198, +14155550199' });
  const greeting = input('ph-greeting', 'Greeting callers hear first (optional)', { maxlength: 500, value: cfg.greeting || '', placeholder: 'Thank you for calling Mugs and Co.' });
  const always = h('input', { type: 'checkbox', id: 'ph-always', checked: !cfg.timezone });
  const tz = zoneSelect('ph-timezone', 'timezone', cfg.timezone || localZone());
  const days = cfg.open_days || ['mon', 'tue', 'wed', 'thu', 'fri'];
  const [from, until] = (cfg.open_hours || '09:00-17:00').split('-');
  const open = input('ph-open', 'Open from', { type: 'time', value: from });
  const close = input('ph-close', 'Until', { type: 'time', value: until === '24:00' ? '23:59' : until });
  const hours = h('div', { class: 'stack', id: 'ph-hours' },
    h('div', { class: 'field' }, h('label', { for: 'ph-timezone' }, 'Time zone'), tz),
    h('fieldset', {}, h('legend', {}, 'Open days'), weekdays.map(([k, t]) => h('label', {}, h('input', { type: 'checkbox', name: 'ph-day', value: k, checked: days.includes(k) }), ' ' + t))),
    h('div', { class: 'grid2' }, open.wrap, close.wrap));
  const sync = () => { hours.hidden = always.checked; };
  always.addEventListener('change', sync);
  sync();
  const language = select('ph-language', 'Language of the voice menu and surveys (a greeting you type is said as you wrote it)',
    languageOptions(false), cfg.language || 'en');
  const base = input('ph-base', 'Twilio API address', { value: cfg.api_base_url || 'https://api.twilio.com', spellcheck: 'false' }, 'Change only for a proxy or a test double.');
  const el = h('div', { class: 'stack' }, sid.wrap, token.wrap, number.wrap, wa.wrap, fwd.wrap, greeting.wrap, language.wrap,
    h('fieldset', {}, h('legend', {}, 'Business hours for calls'),
      h('label', { class: 'check' }, always, ' Always open'), hours),
    h('details', {}, h('summary', {}, 'Advanced'), base.wrap));
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
    value: (cfg.allowed_origins || []).join('\n'), placeholder: 'https://yourshop.com' });
  const color = input('ch-color', 'Colour', { type: 'color', value: cfg.color || '#2563eb' });
  const pos = cfg.position || 'right';
  const greeting = input('ch-greeting', 'Greeting (the panel\'s title)', { maxlength: 500, value: cfg.greeting || 'Hi! How can we help you today?' });
  const requireEmail = h('input', { type: 'checkbox', id: 'ch-require-email', checked: !!cfg.require_email });
  const emailInboxes = inboxes.filter((i) => i.kind === 'email');
  const offline = select('ch-offline', 'When the shopper has left, send agents\' replies by email through',
    [['', 'No inbox: replies wait in the chat'], ...emailInboxes.map((i) => [String(i.id), i.name])], cfg.email_inbox_id ? String(cfg.email_inbox_id) : '');
  const language = select('ch-language', 'Widget language (buttons, labels; your greeting stays as you write it)',
    languageOptions(true), cfg.language || 'auto');
  const secret = input('ch-secret', 'Identity secret (optional: Parley generates one)', { type: 'password', autocomplete: 'new-password' },
    'Your shop\'s server signs signed-in shoppers\' emails with it. At least 16 characters; leave empty to keep the current one.');
  const preview = h('div', { class: 'widget-preview', id: 'widget-preview', 'aria-label': 'Preview of the widget', role: 'img' },
    h('div', { class: 'wp-page' }, h('span', { class: 'wp-line' }), h('span', { class: 'wp-line short' }), h('span', { class: 'wp-line' })),
    h('div', { class: 'wp-panel' }, h('div', { class: 'wp-head' }), h('div', { class: 'wp-body' }, h('span', { class: 'wp-bubble' }, 'Hello! Do you ship to Canada?')),
      h('div', { class: 'wp-form' }, h('span', { class: 'wp-input' }, requireEmail.checked ? 'Your email' : 'Type a message…'))),
    h('span', { class: 'wp-launcher' }));
  const positions = h('fieldset', {}, h('legend', {}, 'Position'),
    ['right', 'left'].map((p) => h('label', {}, h('input', { type: 'radio', name: 'ch-position', value: p, checked: p === pos }), p === 'right' ? ' Bottom right' : ' Bottom left')));
  const draw = () => {
    preview.style.setProperty('--wp-color', color.el.value);
    preview.dataset.position = positions.querySelector('input:checked').value;
    fill(preview.querySelector('.wp-head'), greeting.el.value || 'Hi! How can we help you today?');
    fill(preview.querySelector('.wp-input'), requireEmail.checked ? 'Your email, to start' : 'Type a message…');
  };
  for (const x of [color.el, greeting.el, requireEmail, positions]) x.addEventListener('input', draw);
  positions.addEventListener('change', draw);
  draw();
  const el = h('div', { class: 'chat-setup' },
    h('div', { class: 'stack' },
      h('label', { for: 'ch-origins' }, 'Your shop\'s addresses (one per line)'), origins,
      h('p', { class: 'hint', id: 'ch-origins-hint' }, 'Only pages of these sites may open the widget: scheme and host, such as https://yourshop.com.'),
      h('div', { class: 'grid2' }, color.wrap, positions), greeting.wrap,
      h('label', { class: 'check' }, requireEmail, ' Ask for name and email before the first message'),
      offline.wrap, language.wrap, secret.wrap),
    h('div', {}, h('p', { class: 'small-heading', id: 'preview-h' }, 'Preview'), preview));
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
  const token = input('dc-token', 'Bot token', { type: 'password', autocomplete: 'new-password' },
    secretHint(secrets, 'bot_token') || 'discord.com/developers/applications → your application → Bot → Reset Token. It is shown once.');
  const base = input('dc-base', 'Discord API address', { value: cfg.api_base_url || 'https://discord.com', spellcheck: 'false' }, 'Change only for a test double.');
  const el = h('div', { class: 'stack' },
    h('ol', { class: 'howto' },
      h('li', {}, 'At discord.com/developers/applications choose New Application and name it: customers see the name.'),
      h('li', {}, 'Open Bot, turn on Message Content Intent, and reset the token to copy it.'),
      h('li', {}, 'Paste the token here. Parley then shows the invite link and your servers\' channels.')),
    token.wrap, h('details', {}, h('summary', {}, 'Advanced'), base.wrap));
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
    h('label', { for: `cfg-${inbox.id}` }, 'Config (JSON; secrets left out keep their stored value)'), ta,
    h('p', { class: 'small' }, 'Secrets set: ', (inbox.secrets_set || []).length ? inbox.secrets_set.join(', ') : 'none'),
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save JSON'), status));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let config;
    try { config = JSON.parse(ta.value || '{}'); } catch { fail(new Error('The config is not valid JSON.')); return; }
    try {
      await patch(`/api/v1/inboxes/${inbox.id}`, { config });
      ok();
      status.textContent = 'Saved';
    } catch (err) { status.textContent = ''; fail(err); }
  });
  return h('details', { class: 'card', id: 'inbox-advanced' }, h('summary', {}, 'Advanced: the config as JSON'), form);
}

// ---- disable, enable, delete ----

function lifecycle(inbox) {
  const status = h('p', { class: 'small', role: 'status', id: 'lifecycle-status' });
  const toggle = h('button', { type: 'button', id: 'inbox-toggle' }, inbox.enabled ? 'Disable inbox' : 'Enable inbox');
  const explain = h('p', { class: 'muted small', id: 'toggle-explain' });
  const sync = () => {
    toggle.textContent = inbox.enabled ? 'Disable inbox' : 'Enable inbox';
    explain.textContent = inbox.enabled
      ? 'Disabling stops fetching mail, the bot or incoming messages. Tickets stay; replies still go out.'
      : 'This inbox is disabled: nothing new comes in. Its tickets stay.';
  };
  sync();
  toggle.addEventListener('click', async () => {
    try {
      const saved = await patch(`/api/v1/inboxes/${inbox.id}`, { enabled: !inbox.enabled });
      Object.assign(inbox, saved);
      ok();
      sync();
      fill($('#inbox-state'), stateBadge(saved));
      status.textContent = saved.enabled ? 'Enabled' : 'Disabled';
      if (saved.enabled) watchState(saved);
    } catch (err) { fail(err); }
  });
  const remove = h('button', { type: 'button', class: 'danger', id: 'inbox-delete' }, 'Delete inbox…');
  remove.addEventListener('click', () => confirmDialog({
    title: `Delete ${inbox.name}?`,
    text: 'Nothing new comes in, and the inbox leaves the lists. Its tickets stay readable, as archived: they take notes but no replies. This cannot be undone.',
    confirm: 'Delete inbox',
    returnFocus: remove,
    onConfirm: async () => {
      await del(`/api/v1/inboxes/${inbox.id}`);
      ok();
      location.hash = '#/settings/inboxes';
    },
  }));
  return h('section', { class: 'card stack', 'aria-labelledby': 'life-h' }, h('h4', { id: 'life-h' }, 'Status'), explain,
    h('div', { class: 'row' }, toggle, remove), status);
}

// ---- members ----

function membersPanel(inbox) {
  const box = h('section', { class: 'card stack', id: 'members', 'aria-labelledby': 'members-h' },
    h('h4', { id: 'members-h' }, 'Members'), h('p', { class: 'muted' }, 'Loading…'));
  get('/api/v1/agents').then(({ agents }) => {
    if (!box.isConnected) return;
    const agentsOnly = agents.filter((a) => a.role === 'agent');
    const form = h('form', { class: 'stack', id: 'members-form' },
      h('p', { class: 'muted small' }, 'Agents see only the tickets of their inboxes. Managers and admins see every inbox.'),
      agentsOnly.length ? h('fieldset', {}, h('legend', {}, 'Agents of this inbox'), agentsOnly.map((a) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'member', value: a.id, checked: (a.inbox_ids || []).includes(inbox.id) }), ' ' + a.name))) :
        h('p', { class: 'muted' }, 'No agents yet: ', h('a', { href: '#/settings/agents' }, 'invite your team'), ', then tick them here.'),
      agentsOnly.length ? h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save members'), h('span', { class: 'small', role: 'status' })) : null);
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
        st.textContent = 'Saved';
      } catch (err) { st.textContent = ''; fail(err); }
    });
    fill(box, h('h4', { id: 'members-h' }, 'Members'), form);
  }).catch((err) => { if (box.isConnected) fill(box, h('h4', { id: 'members-h' }, 'Members'), h('p', { class: 'error' }, err.message)); });
  return box;
}

