// profile.js is every agent's own page (#/profile): name and picture, password,
// notification choices, two-factor sign-in, the browsers signed in and API tokens.

import { get, post, patch, del, setCSRF, getCSRF, APIError, rotateSession } from './api.js';
import { h, fill, $ } from './dom.js';
import { timeEl } from './time.js';
import { state } from './state.js';
import { totpSetup, recoveryCodes } from './signin.js';
import { askDesktopPermission, setNotifyPrefs } from './notify.js';

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

const notificationChoices = [
  ['assigned', 'A ticket is assigned to me'],
  ['customer_replied', 'The customer replies on a ticket of mine'],
  ['sla_warning', 'A ticket of mine is about to breach its SLA'],
  ['mentions', 'Someone mentions me in a note'],
  ['email', 'Also tell me by email'],
  ['desktop', 'Show desktop notifications (the browser asks you to allow them)'],
  ['sound', 'Play a sound with each notification'],
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
  fill($('#settings-pane'), h('h2', { id: 'profile-title', tabindex: '-1' }, 'Your profile'),
    h('div', { id: 'profile-body' }, h('p', { class: 'muted' }, 'Loading…')));
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
      say(st, 'Picture removed: your initials show instead.');
      file.focus();
    } catch (e) { say(st, e.message, true); }
  } }, 'Remove picture');
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
      say(st, 'That picture is larger than 1 MB; choose a smaller one.', true);
      return;
    }
    say(st, 'Uploading…');
    try {
      changed(await upload('/api/v1/me/avatar', f));
      say(st, 'Picture saved.');
    } catch (e) { say(st, e.message, true); }
    file.value = '';
  });
  const form = h('form', { id: 'name-form', class: 'row' },
    h('div', { class: 'field grow' }, h('label', { for: 'profile-name' }, 'Name'),
      h('input', { id: 'profile-name', name: 'name', value: a.name, maxlength: 100, required: true, autocomplete: 'name' })),
    h('button', { type: 'submit' }, 'Save name'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const out = await patch('/api/v1/me', { name: $('#profile-name').value });
      changed(out.agent);
      say(st, 'Name saved.');
    } catch (err) { say(st, err.message, true); $('#profile-name').focus(); }
  });
  // The agent's own phone: click-to-call rings it first, then the customer.
  const phoneForm = h('form', { id: 'phone-form', class: 'row' },
    h('div', { class: 'field grow' }, h('label', { for: 'profile-phone' }, 'Your phone, for calling customers (E.164, like +14155550100)'),
      h('input', { id: 'profile-phone', name: 'phone', type: 'tel', value: a.phone || '', maxlength: 20, autocomplete: 'tel', placeholder: '+14155550100' })),
    h('button', { type: 'submit' }, 'Save phone'));
  phoneForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const out = await patch('/api/v1/me', { phone: $('#profile-phone').value.trim() });
      changed(out.agent);
      say(st, out.agent.phone ? 'Phone saved.' : 'Phone removed.');
    } catch (err) { say(st, err.message, true); $('#profile-phone').focus(); }
  });
  return card('profile-name-card', 'Name and picture',
    h('p', { class: 'muted small' }, a.email),
    h('div', { class: 'row' }, pic, h('div', {},
      h('label', { for: 'avatar-file' }, 'Picture (PNG, JPEG, GIF or WebP, at most 1 MB)'), file, remove)),
    form, phoneForm, st);
}

// upload sends a file as the request body, as PUT /api/v1/me/avatar takes it.
async function upload(path, f) {
  let res;
  try {
    res = await fetch(path, { method: 'PUT', credentials: 'same-origin', body: f,
      headers: { 'Content-Type': f.type || 'application/octet-stream', 'X-CSRF-Token': getCSRF(), Accept: 'application/json' } });
  } catch {
    throw new APIError(0, 'network', 'The server could not be reached. Check your connection.');
  }
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new APIError(res.status, e.code || 'internal', e.message || `Upload failed (${res.status}).`);
  }
  return data;
}

function passwordCard() {
  const st = statusLine('password-status');
  const form = h('form', { id: 'password-form', novalidate: true },
    h('label', { for: 'pw-current' }, 'Current password'),
    h('input', { id: 'pw-current', type: 'password', autocomplete: 'current-password', required: true }),
    h('label', { for: 'pw-new' }, 'New password (at least 8 characters)'),
    h('input', { id: 'pw-new', type: 'password', autocomplete: 'new-password', minlength: 8, required: true }),
    h('label', { for: 'pw-new2' }, 'New password again'),
    h('input', { id: 'pw-new2', type: 'password', autocomplete: 'new-password', minlength: 8, required: true }),
    h('button', { type: 'submit' }, 'Change password'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const cur = $('#pw-current'), next = $('#pw-new'), again = $('#pw-new2');
    if (next.value.length < 8) { say(st, 'The new password needs at least 8 characters.', true); next.focus(); return; }
    if (next.value !== again.value) { say(st, 'The two new passwords differ.', true); again.focus(); return; }
    try {
      const out = await rotateSession(() => post('/api/v1/me/password', { current_password: cur.value, new_password: next.value }));
      setCSRF(out.csrf_token);
      form.reset();
      say(st, 'Password changed. Your other browsers were signed out.');
      await drawSessions();
    } catch (err) {
      say(st, err.message, true);
      (err.code === 'invalid' && /current/.test(err.message) ? cur : next).focus();
    }
  });
  return card('profile-password', 'Password', form, st);
}

function notificationsCard(n) {
  const st = statusLine('notify-status');
  const form = h('form', { id: 'notify-form' },
    h('fieldset', {}, h('legend', {}, 'Tell me when'),
      notificationChoices.map(([k, label]) => h('label', { class: 'check block' },
        h('input', { type: 'checkbox', name: k, id: 'notify-' + k, checked: !!n[k] }), ' ' + label))),
    h('p', { class: 'muted small' }, 'Notifications show under the bell in the top bar. Email notifications are not sent yet: Parley keeps the choice.'),
    h('button', { type: 'submit' }, 'Save notifications'));
  // The browser asks for its permission only in answer to a click: here, on the box.
  form.addEventListener('change', async (e) => {
    if (e.target.id !== 'notify-desktop' || !e.target.checked) return;
    const answer = await askDesktopPermission();
    if (answer !== 'granted') {
      e.target.checked = false;
      say(st, answer === 'unsupported' ? 'This browser does not show desktop notifications.'
        : 'The browser does not allow desktop notifications for Parley; allow them in its site settings first.', true);
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const [k] of notificationChoices) body[k] = $('#notify-' + k).checked;
    try {
      await patch('/api/v1/me', { notifications: body });
      setNotifyPrefs(body);
      say(st, 'Notifications saved.');
    } catch (err) { say(st, err.message, true); }
  });
  return card('profile-notify', 'Notifications', form, st);
}

function totpCard(t) {
  const body = h('div', { id: 'totp-body' });
  const el = card('profile-totp', 'Two-factor sign-in', body);
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
            fill(body, recoveryCodes(codes, () => refresh('Two-factor sign-in is on.'), 'Done'));
            $('#recovery-ok').focus();
          }, 'profile'), st);
        $('#profile-code').focus();
      } catch (e) { say(st, e.message, true); }
    } }, 'Set up an authenticator app');
    fill(body, h('p', { id: 'totp-state' }, h('strong', {}, 'Off. '),
      t.required ? 'This shop requires it: you will be asked to set it up at your next sign-in.' : 'Add a code from your phone to your password.'),
    start, st);
    return;
  }
  const pw = h('input', { id: 'totp-password', type: 'password', autocomplete: 'current-password', 'aria-describedby': 'totp-password-help' });
  const withPassword = async (path, then) => {
    if (!pw.value) { say(st, 'Enter your password first.', true); pw.focus(); return; }
    try {
      const out = await post(path, { password: pw.value });
      pw.value = '';
      await then(out);
    } catch (e) { say(st, e.message, true); pw.focus(); }
  };
  fill(body,
    h('p', { id: 'totp-state' }, h('strong', {}, 'On. '), `${t.recovery_codes_left} of 10 recovery codes left.`),
    h('label', { for: 'totp-password' }, 'Your password, to change this'), pw,
    h('p', { id: 'totp-password-help', class: 'muted small' }, t.required ? 'This shop requires two-factor sign-in, so it cannot be turned off.' : ''),
    h('div', { class: 'row' },
      h('button', { type: 'button', id: 'totp-codes', onclick: () => withPassword('/api/v1/me/totp/recovery-codes', (out) => {
        fill(body, recoveryCodes(out.recovery_codes, () => refresh('New recovery codes saved; the old ones no longer work.'), 'Done'));
        $('#recovery-ok').focus();
      }) }, 'New recovery codes'),
      t.required ? null : h('button', { type: 'button', class: 'danger', id: 'totp-off', onclick: () => withPassword('/api/v1/me/totp/disable',
        () => refresh('Two-factor sign-in is off.').then(() => $('#totp-start').focus())) }, 'Turn off')),
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
    fill(slot, card('profile-sessions', 'Where you are signed in', h('p', { class: 'error' }, e.message)));
    return;
  }
  const others = list.filter((s) => !s.current).length;
  const rows = list.map((s) => h('li', { class: 'session-row' + (s.current ? ' current' : '') },
    h('div', {}, h('strong', {}, browserName(s.user_agent)), s.current ? h('span', { class: 'badge' }, 'this browser') : null),
    h('div', { class: 'muted small' }, s.ip || 'unknown address', ' · signed in ', timeEl(s.created_at), ' · last seen ', timeEl(s.last_seen_at)),
    s.current ? null : h('button', { type: 'button', class: 'link', 'aria-label': `Sign out ${browserName(s.user_agent)} from ${s.ip || 'an unknown address'}`,
      onclick: async () => {
        try {
          await del('/api/v1/me/sessions/' + encodeURIComponent(s.id));
          await drawSessions();
          say($('#sessions-status'), 'Signed out.');
          $('#sessions-title-focus').focus();
        } catch (e) { say(st, e.message, true); }
      } }, 'Sign out')));
  const everywhere = h('button', { type: 'button', class: 'danger', id: 'sessions-others', disabled: others === 0, onclick: async (e) => {
    const btn = e.target;
    if (btn.dataset.confirm !== '1') {
      btn.dataset.confirm = '1';
      btn.textContent = `Really sign out ${others} other ${others === 1 ? 'browser' : 'browsers'}?`;
      return;
    }
    try {
      const out = await del('/api/v1/me/sessions');
      await drawSessions();
      say($('#sessions-status'), `Signed out of ${out ? out.ended : 0} other ${out && out.ended === 1 ? 'browser' : 'browsers'}.`);
      $('#sessions-others').focus();
    } catch (err) { say(st, err.message, true); }
  } }, 'Sign out everywhere else');
  fill(slot, card('profile-sessions', 'Where you are signed in',
    h('span', { id: 'sessions-title-focus', tabindex: '-1' }),
    h('ul', { class: 'settings-list', id: 'session-list' }, rows), everywhere, st));
}

// browserName makes a user agent string short: "Firefox on Linux".
function browserName(ua) {
  if (!ua) return 'Unknown browser';
  const b = /Edg\//.test(ua) ? 'Edge' : /OPR\//.test(ua) ? 'Opera' : /Firefox\//.test(ua) ? 'Firefox'
    : /Chrome\//.test(ua) ? (/HeadlessChrome/.test(ua) ? 'Headless Chrome' : 'Chrome') : /Safari\//.test(ua) ? 'Safari' : '';
  const os = /Windows/.test(ua) ? 'Windows' : /iPhone|iPad/.test(ua) ? 'iOS' : /Android/.test(ua) ? 'Android'
    : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  if (!b) return ua.slice(0, 60);
  return os ? `${b} on ${os}` : b;
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
    fill(slot, card('profile-tokens', 'API tokens', h('p', { class: 'error' }, e.message)));
    return;
  }
  const rows = list.map((t) => h('li', { class: 'token-row' },
    h('div', {}, h('strong', {}, t.name), t.expires_at && new Date(t.expires_at) <= new Date() ? h('span', { class: 'badge state-error' }, 'expired') : null),
    h('div', { class: 'muted small' }, 'made ', timeEl(t.created_at), ' · ',
      t.last_used_at ? ['last used ', timeEl(t.last_used_at)] : 'never used', ' · ',
      t.expires_at ? ['expires ', new Date(t.expires_at).toLocaleDateString()] : 'never expires'),
    h('button', { type: 'button', class: 'link', 'aria-label': `Revoke the token ${t.name}`, onclick: async (e) => {
      const btn = e.target;
      if (btn.dataset.confirm !== '1') {
        btn.dataset.confirm = '1';
        btn.textContent = 'Really revoke?';
        return;
      }
      try {
        await del('/api/v1/tokens/' + t.id);
        await drawTokens();
        say($('#tokens-status'), `Revoked ${t.name}: it no longer works.`);
        $('#token-name').focus();
      } catch (err) { say(st, err.message, true); }
    } }, 'Revoke')));
  const expiry = h('select', { id: 'token-expiry', name: 'expiry' },
    [['90', 'in 90 days'], ['30', 'in 30 days'], ['365', 'in a year'], ['', 'never']].map(([v, t]) => h('option', { value: v }, t)));
  const form = h('form', { id: 'token-form', class: 'stack', novalidate: true },
    h('div', { class: 'row' },
      h('div', { class: 'field grow' }, h('label', { for: 'token-name' }, 'Name (what uses it)'),
        h('input', { id: 'token-name', name: 'name', maxlength: 100, required: true, placeholder: 'Returns portal', autocomplete: 'off' })),
      h('div', { class: 'field' }, h('label', { for: 'token-expiry' }, 'Expires'), expiry)),
    h('button', { type: 'submit' }, 'Make a token'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('#token-name').value.trim();
    if (!name) { say(st, 'Name the token after what will use it.', true); $('#token-name').focus(); return; }
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
    h('strong', {}, `Copy the token ${made.name} now: it is shown only once.`),
    h('label', { for: 'token-new' }, 'Token'),
    h('div', { class: 'row' }, h('input', { id: 'token-new', class: 'code', readonly: true, value: made.token }),
      h('button', { type: 'button', class: 'copy', onclick: async () => {
        $('#token-new').select();
        try { await navigator.clipboard.writeText(made.token); say(st, 'Copied.'); } catch { say(st, 'Press Ctrl+C to copy.'); }
      } }, 'Copy')),
    h('p', { class: 'muted small' }, 'Scripts send it as ', h('code', {}, 'Authorization: Bearer <token>'), ' and act as you.')) : null;
  fill(slot, card('profile-tokens', 'API tokens',
    h('p', { class: 'muted small' }, 'For your own scripts and systems (an API inbox, a backoffice): a token acts as you, with your role.'),
    shown,
    list.length ? h('ul', { class: 'settings-list', id: 'token-list' }, rows) : h('p', { class: 'muted', id: 'token-list' }, 'No tokens yet.'),
    form, st));
}
