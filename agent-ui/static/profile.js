// profile.js is every agent's own page (#/profile): name and picture, password,
// notification choices, two-factor sign-in, the browsers signed in and API tokens.

import { get, post, patch, del, setCSRF, getCSRF, APIError, rotateSession } from './api.js';
import { h, fill, $ } from './dom.js';
import { timeEl } from './time.js';
import { state } from './state.js';
import { totpSetup, recoveryCodes } from './signin.js';
import { askDesktopPermission, setNotifyPrefs } from './notify.js';
import { t as tr, tn, locale } from './i18n.js';

// avatar is an agent's picture, or their initials on a coloured disc.
export function avatar(a, size = 32) {
  if (a && a.avatar) {
    return h('img', { class: 'avatar', width: size, height: size, alt: '',
      src: `/api/v1/agents/${a.id}/avatar?v=${encodeURIComponent(a.avatar)}` });
  }
  const words = String((a && a.name) || '?').trim().split(/\s+/);
  const initials = (words[0][0] + (words.length > 1 ? words[words.length - 1][0] : '')).toUpperCase();
  return h('span', { class: 'avatar initials', 'aria-hidden': 'true', style: null, dataset: { size: String(size) } }, initials);
}

// notificationChoices are the agent's notification settings, each with its label's key.
const notificationChoices = [
  ['assigned', 'profile.notify.assigned'],
  ['customer_replied', 'profile.notify.customer_replied'],
  ['sla_warning', 'profile.notify.sla_warning'],
  ['mentions', 'profile.notify.mentions'],
  ['email', 'profile.notify.email'],
  ['desktop', 'profile.notify.desktop'],
  ['sound', 'profile.notify.sound'],
];

// card is one section of the page with its heading and a status line of its own.
function card(id, title, ...children) {
  return h('section', { class: 'card stack', id, 'aria-labelledby': id + '-title' },
    h('h3', { id: id + '-title' }, title), ...children);
}

function statusLine(id) {
  return h('p', { id, class: 'small', role: 'status' });
}

function say(el, text, bad = false) {
  el.textContent = text;
  el.classList.toggle('error', bad);
}

// showProfile draws the page into the wide pane.
export async function showProfile() {
  fill($('#settings-pane'), h('h2', { id: 'profile-title', tabindex: '-1' }, tr('nav.profile')),
    h('div', { id: 'profile-body' }, h('p', { class: 'muted' }, tr('app.loading'))));
  let prof;
  try {
    prof = await get('/api/v1/me/profile');
  } catch (e) {
    fill($('#profile-body'), h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  fill($('#profile-body'), nameCard(prof.agent), passwordCard(), notificationsCard(prof.notifications),
    totpCard(prof.totp), h('div', { id: 'sessions-slot' }), h('div', { id: 'tokens-slot' }));
  await Promise.all([drawSessions(), drawTokens()]);
}

function nameCard(a) {
  const st = statusLine('name-status');
  const pic = h('div', { class: 'avatar-slot' }, avatar(a, 64));
  const file = h('input', { id: 'avatar-file', type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp' });
  const remove = h('button', { type: 'button', id: 'avatar-remove', hidden: !a.avatar, onclick: async () => {
    try {
      const next = await del('/api/v1/me/avatar');
      changed(next);
      say(st, tr('profile.pictureRemoved'));
      file.focus();
    } catch (e) { say(st, e.message, true); }
  } }, tr('profile.removePicture'));
  const changed = (next) => {
    state.me = Object.assign(state.me || {}, next);
    const i = state.agents.findIndex((x) => x.id === next.id);
    if (i >= 0) state.agents[i] = Object.assign(state.agents[i], next);
    fill(pic, avatar(next, 64));
    remove.hidden = !next.avatar;
    $('#me-name').textContent = next.name;
  };
  file.addEventListener('change', async () => {
    const f = file.files[0];
    if (!f) return;
    if (f.size > 1024 * 1024) {
      say(st, tr('profile.pictureTooBig'), true);
      return;
    }
    say(st, tr('profile.uploading'));
    try {
      changed(await upload('/api/v1/me/avatar', f));
      say(st, tr('profile.pictureSaved'));
    } catch (e) { say(st, e.message, true); }
    file.value = '';
  });
  const form = h('form', { id: 'name-form', class: 'row' },
    h('div', { class: 'field grow' }, h('label', { for: 'profile-name' }, tr('profile.name')),
      h('input', { id: 'profile-name', name: 'name', value: a.name, maxlength: 100, required: true, autocomplete: 'name' })),
    h('button', { type: 'submit' }, tr('profile.saveName')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const out = await patch('/api/v1/me', { name: $('#profile-name').value });
      changed(out.agent);
      say(st, tr('profile.nameSaved'));
    } catch (err) { say(st, err.message, true); $('#profile-name').focus(); }
  });
  // The agent's own phone: click-to-call rings it first, then the customer.
  const phoneForm = h('form', { id: 'phone-form', class: 'row' },
    h('div', { class: 'field grow' }, h('label', { for: 'profile-phone' }, tr('profile.phone')),
      h('input', { id: 'profile-phone', name: 'phone', type: 'tel', value: a.phone || '', maxlength: 20, autocomplete: 'tel', placeholder: '+14155550100' })),
    h('button', { type: 'submit' }, tr('profile.savePhone')));
  phoneForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const out = await patch('/api/v1/me', { phone: $('#profile-phone').value.trim() });
      changed(out.agent);
      say(st, tr(out.agent.phone ? 'profile.phoneSaved' : 'profile.phoneRemoved'));
    } catch (err) { say(st, err.message, true); $('#profile-phone').focus(); }
  });
  return card('profile-name-card', tr('profile.nameCard'),
    h('p', { class: 'muted small' }, a.email),
    h('div', { class: 'row' }, pic, h('div', {},
      h('label', { for: 'avatar-file' }, tr('profile.picture')), file, remove)),
    form, phoneForm, st);
}

// upload sends a file as the request body, as PUT /api/v1/me/avatar takes it.
async function upload(path, f) {
  let res;
  try {
    res = await fetch(path, { method: 'PUT', credentials: 'same-origin', body: f,
      headers: { 'Content-Type': f.type || 'application/octet-stream', 'X-CSRF-Token': getCSRF(), Accept: 'application/json' } });
  } catch {
    throw new APIError(0, 'network', tr('api.unreachable'));
  }
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new APIError(res.status, e.code || 'internal', e.message || tr('profile.uploadFailed', { status: res.status }));
  }
  return data;
}

function passwordCard() {
  const st = statusLine('password-status');
  const form = h('form', { id: 'password-form', novalidate: true },
    h('label', { for: 'pw-current' }, tr('profile.currentPassword')),
    h('input', { id: 'pw-current', type: 'password', autocomplete: 'current-password', required: true }),
    h('label', { for: 'pw-new' }, tr('profile.newPassword')),
    h('input', { id: 'pw-new', type: 'password', autocomplete: 'new-password', minlength: 8, required: true }),
    h('label', { for: 'pw-new2' }, tr('profile.newPasswordAgain')),
    h('input', { id: 'pw-new2', type: 'password', autocomplete: 'new-password', minlength: 8, required: true }),
    h('button', { type: 'submit' }, tr('profile.changePassword')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const cur = $('#pw-current'), next = $('#pw-new'), again = $('#pw-new2');
    if (next.value.length < 8) { say(st, tr('profile.passwordShort'), true); next.focus(); return; }
    if (next.value !== again.value) { say(st, tr('profile.passwordsDiffer'), true); again.focus(); return; }
    try {
      const out = await rotateSession(() => post('/api/v1/me/password', { current_password: cur.value, new_password: next.value }));
      setCSRF(out.csrf_token);
      form.reset();
      say(st, tr('profile.passwordChanged'));
      await drawSessions();
    } catch (err) {
      say(st, err.message, true);
      (err.code === 'invalid' && /current/.test(err.message) ? cur : next).focus();
    }
  });
  return card('profile-password', tr('profile.password'), form, st);
}

function notificationsCard(n) {
  const st = statusLine('notify-status');
  const form = h('form', { id: 'notify-form' },
    h('fieldset', {}, h('legend', {}, tr('profile.tellMe')),
      notificationChoices.map(([k, label]) => h('label', { class: 'check block' },
        h('input', { type: 'checkbox', name: k, id: 'notify-' + k, checked: !!n[k] }), ' ', tr(label)))),
    h('p', { class: 'muted small' }, tr('profile.notifyHint')),
    h('button', { type: 'submit' }, tr('profile.saveNotifications')));
  // The browser asks for its permission only in answer to a click: here, on the box.
  form.addEventListener('change', async (e) => {
    if (e.target.id !== 'notify-desktop' || !e.target.checked) return;
    const answer = await askDesktopPermission();
    if (answer !== 'granted') {
      e.target.checked = false;
      say(st, tr(answer === 'unsupported' ? 'profile.desktopUnsupported' : 'profile.desktopDenied'), true);
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const [k] of notificationChoices) body[k] = $('#notify-' + k).checked;
    try {
      await patch('/api/v1/me', { notifications: body });
      setNotifyPrefs(body);
      say(st, tr('profile.notificationsSaved'));
    } catch (err) { say(st, err.message, true); }
  });
  return card('profile-notify', tr('notify.title'), form, st);
}

function totpCard(t) {
  const body = h('div', { id: 'totp-body' });
  const el = card('profile-totp', tr('profile.totp'), body);
  drawTOTP(body, t);
  return el;
}

// drawTOTP draws the two-factor card for status t: on or off, and what can be done.
function drawTOTP(body, t) {
  const st = statusLine('totp-status');
  const refresh = async (msg) => {
    const next = await get('/api/v1/me/totp');
    drawTOTP(body, next);
    if (msg) say($('#totp-status'), msg);
  };
  if (!t.enabled) {
    const start = h('button', { type: 'button', id: 'totp-start', class: 'primary', onclick: async () => {
      try {
        const setup = await post('/api/v1/me/totp/setup');
        fill(body, totpSetup(setup, async (code) => (await post('/api/v1/me/totp/confirm', { code })).recovery_codes,
          (codes) => {
            fill(body, recoveryCodes(codes, () => refresh(tr('profile.totpTurnedOn')), tr('profile.done')));
            $('#recovery-ok').focus();
          }, 'profile'), st);
        $('#profile-code').focus();
      } catch (e) { say(st, e.message, true); }
    } }, tr('profile.totpSetUp'));
    fill(body, h('p', { id: 'totp-state' }, h('strong', {}, tr('profile.totpOff')), ' ',
      tr(t.required ? 'profile.totpRequiredNext' : 'profile.totpOffHint')),
    start, st);
    return;
  }
  const pw = h('input', { id: 'totp-password', type: 'password', autocomplete: 'current-password', 'aria-describedby': 'totp-password-help' });
  const withPassword = async (path, then) => {
    if (!pw.value) { say(st, tr('profile.passwordFirst'), true); pw.focus(); return; }
    try {
      const out = await post(path, { password: pw.value });
      pw.value = '';
      await then(out);
    } catch (e) { say(st, e.message, true); pw.focus(); }
  };
  fill(body,
    h('p', { id: 'totp-state' }, h('strong', {}, tr('profile.totpOn')), ' ', tr('profile.codesLeft', { n: t.recovery_codes_left, total: 10 })),
    h('label', { for: 'totp-password' }, tr('profile.totpPassword')), pw,
    h('p', { id: 'totp-password-help', class: 'muted small' }, t.required ? tr('profile.totpRequired') : ''),
    h('div', { class: 'row' },
      h('button', { type: 'button', id: 'totp-codes', onclick: () => withPassword('/api/v1/me/totp/recovery-codes', (out) => {
        fill(body, recoveryCodes(out.recovery_codes, () => refresh(tr('profile.codesSaved')), tr('profile.done')));
        $('#recovery-ok').focus();
      }) }, tr('profile.newCodes')),
      t.required ? null : h('button', { type: 'button', class: 'danger', id: 'totp-off', onclick: () => withPassword('/api/v1/me/totp/disable',
        () => refresh(tr('profile.totpTurnedOff')).then(() => $('#totp-start').focus())) }, tr('profile.turnOff'))),
    st);
}

// drawSessions lists the browsers signed in as this agent.
async function drawSessions() {
  const slot = $('#sessions-slot');
  if (!slot) return;
  const st = statusLine('sessions-status');
  let list;
  try {
    ({ sessions: list } = await get('/api/v1/me/sessions'));
  } catch (e) {
    fill(slot, card('profile-sessions', tr('profile.sessions'), h('p', { class: 'error' }, e.message)));
    return;
  }
  const others = list.filter((s) => !s.current).length;
  const rows = list.map((s) => h('li', { class: 'session-row' + (s.current ? ' current' : '') },
    h('div', {}, h('strong', {}, browserName(s.user_agent)), s.current ? h('span', { class: 'badge' }, tr('profile.thisBrowser')) : null),
    h('div', { class: 'muted small' }, tn('profile.sessionLine', { ip: s.ip || tr('profile.unknownAddress'), signedIn: timeEl(s.created_at), seen: timeEl(s.last_seen_at) })),
    s.current ? null : h('button', { type: 'button', class: 'link',
      'aria-label': tr('profile.signOutLabel', { browser: browserName(s.user_agent), ip: s.ip || tr('profile.anUnknownAddress') }),
      onclick: async () => {
        try {
          await del('/api/v1/me/sessions/' + encodeURIComponent(s.id));
          await drawSessions();
          say($('#sessions-status'), tr('profile.signedOut'));
          $('#sessions-title-focus').focus();
        } catch (e) { say(st, e.message, true); }
      } }, tr('nav.signOut'))));
  const everywhere = h('button', { type: 'button', class: 'danger', id: 'sessions-others', disabled: others === 0, onclick: async (e) => {
    const btn = e.target;
    if (btn.dataset.confirm !== '1') {
      btn.dataset.confirm = '1';
      btn.textContent = tr('profile.reallySignOut', { n: others });
      return;
    }
    try {
      const out = await del('/api/v1/me/sessions');
      await drawSessions();
      say($('#sessions-status'), tr('profile.signedOutOthers', { n: out ? out.ended : 0 }));
      $('#sessions-others').focus();
    } catch (err) { say(st, err.message, true); }
  } }, tr('profile.signOutOthers'));
  fill(slot, card('profile-sessions', tr('profile.sessions'),
    h('span', { id: 'sessions-title-focus', tabindex: '-1' }),
    h('ul', { class: 'settings-list', id: 'session-list' }, rows), everywhere, st));
}

// browserName makes a user agent string short: "Firefox on Linux".
function browserName(ua) {
  if (!ua) return tr('profile.unknownBrowser');
  const b = /Edg\//.test(ua) ? 'Edge' : /OPR\//.test(ua) ? 'Opera' : /Firefox\//.test(ua) ? 'Firefox'
    : /Chrome\//.test(ua) ? (/HeadlessChrome/.test(ua) ? 'Headless Chrome' : 'Chrome') : /Safari\//.test(ua) ? 'Safari' : '';
  const os = /Windows/.test(ua) ? 'Windows' : /iPhone|iPad/.test(ua) ? 'iOS' : /Android/.test(ua) ? 'Android'
    : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  if (!b) return ua.slice(0, 60);
  return os ? tr('profile.browserOn', { browser: b, os }) : b;
}

// drawTokens lists the agent's API tokens, with the form that makes one: a token acts as
// its agent for scripts (the api inbox's example, the shop's backoffice) and is shown
// once, when it is made.
async function drawTokens(made) {
  const slot = $('#tokens-slot');
  if (!slot) return;
  const st = statusLine('tokens-status');
  let list;
  try {
    ({ tokens: list } = await get('/api/v1/tokens'));
  } catch (e) {
    fill(slot, card('profile-tokens', tr('profile.tokens'), h('p', { class: 'error' }, e.message)));
    return;
  }
  const rows = list.map((t) => h('li', { class: 'token-row' },
    h('div', {}, h('strong', {}, t.name), t.expires_at && new Date(t.expires_at) <= new Date() ? h('span', { class: 'badge state-error' }, tr('profile.expired')) : null),
    h('div', { class: 'muted small' }, tn('profile.tokenMade', { time: timeEl(t.created_at) }), ' · ',
      t.last_used_at ? tn('profile.tokenUsed', { time: timeEl(t.last_used_at) }) : tr('profile.tokenNeverUsed'), ' · ',
      t.expires_at ? tr('profile.tokenExpires', { date: new Date(t.expires_at).toLocaleDateString(locale()) }) : tr('profile.tokenNeverExpires')),
    h('button', { type: 'button', class: 'link', 'aria-label': tr('profile.revokeLabel', { name: t.name }), onclick: async (e) => {
      const btn = e.target;
      if (btn.dataset.confirm !== '1') {
        btn.dataset.confirm = '1';
        btn.textContent = tr('profile.reallyRevoke');
        return;
      }
      try {
        await del('/api/v1/tokens/' + t.id);
        await drawTokens();
        say($('#tokens-status'), tr('profile.revoked', { name: t.name }));
        $('#token-name').focus();
      } catch (err) { say(st, err.message, true); }
    } }, tr('profile.revoke'))));
  const expiry = h('select', { id: 'token-expiry', name: 'expiry' },
    [['90', 'profile.expiry.90'], ['30', 'profile.expiry.30'], ['365', 'profile.expiry.365'], ['', 'profile.expiry.never']].map(([v, key]) => h('option', { value: v }, tr(key))));
  const form = h('form', { id: 'token-form', class: 'stack', novalidate: true },
    h('div', { class: 'row' },
      h('div', { class: 'field grow' }, h('label', { for: 'token-name' }, tr('profile.tokenName')),
        h('input', { id: 'token-name', name: 'name', maxlength: 100, required: true, placeholder: tr('profile.tokenNameExample'), autocomplete: 'off' })),
      h('div', { class: 'field' }, h('label', { for: 'token-expiry' }, tr('profile.expires')), expiry)),
    h('button', { type: 'submit' }, tr('profile.makeToken')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('#token-name').value.trim();
    if (!name) { say(st, tr('profile.tokenNameMissing'), true); $('#token-name').focus(); return; }
    const body = { name };
    if (expiry.value) body.expires_in_days = Number(expiry.value);
    try {
      const out = await post('/api/v1/tokens', body);
      await drawTokens(out);
      $('#token-new').focus();
      $('#token-new').select();
    } catch (err) { say(st, err.message, true); }
  });
  const shown = made ? h('div', { class: 'card once stack', role: 'alert' },
    h('strong', {}, tr('profile.tokenOnce', { name: made.name })),
    h('label', { for: 'token-new' }, tr('profile.token')),
    h('div', { class: 'row' }, h('input', { id: 'token-new', class: 'code', readonly: true, value: made.token }),
      h('button', { type: 'button', class: 'copy', onclick: async () => {
        $('#token-new').select();
        try { await navigator.clipboard.writeText(made.token); say(st, tr('profile.copied')); } catch { say(st, tr('profile.pressCopy')); }
      } }, tr('app.copy'))),
    h('p', { class: 'muted small' }, tn('profile.tokenUse', { header: h('code', {}, tr('profile.tokenHeader')) }))) : null;
  fill(slot, card('profile-tokens', tr('profile.tokens'),
    h('p', { class: 'muted small' }, tr('profile.tokensHint')),
    shown,
    list.length ? h('ul', { class: 'settings-list', id: 'token-list' }, rows) : h('p', { class: 'muted', id: 'token-list' }, tr('profile.noTokens')),
    form, st));
}
