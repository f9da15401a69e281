// signin.js draws what a sign-in may ask after the password, in the sign-in card: a code
// of the authenticator app (or a recovery code), or setting an app up when the shop
// requires one; and the page of an invitation link, where a new agent chooses a name and
// password. Each calls done(agent, csrf) once a session exists; app.js passes its start.

import { post } from './api.js';
import { h, fill, $ } from './dom.js';
import { t as tr, tn, locale } from './i18n.js';

// step is the card that replaces the password form while a second step runs.
function stepCard() {
  let el = $('#login-step');
  if (!el) {
    el = h('div', { id: 'login-step', class: 'card stack login-step' });
    $('#login').append(el);
  }
  $('#login-form').hidden = true;
  el.hidden = false;
  return el;
}

// resetSignIn puts the password form back: after a sign-out, or when a step gives up.
export function resetSignIn() {
  const el = $('#login-step');
  if (el) {
    el.hidden = true;
    el.replaceChildren();
  }
  $('#login-form').hidden = false;
}

function backToPassword() {
  return h('button', { type: 'button', class: 'link', onclick: () => { resetSignIn(); $('#login-email').focus(); } }, tr('signin.back'));
}

// codeInput is the field for a 6-digit code: the browser and password managers may
// fill it from an SMS or app (autocomplete one-time-code), and phones show digits.
function codeInput(id) {
  return h('input', { id, name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
    pattern: '[0-9 ]*', maxlength: 7, required: true, 'aria-describedby': id + '-help' });
}

// secondStep shows what the password step asked for: res is the login's answer
// {step, pending_token}.
export function secondStep(res, done) {
  if (res.step === 'totp_setup') return enrolStep(res.pending_token, done);
  return codeStep(res.pending_token, done);
}

function codeStep(pending, done) {
  const card = stepCard();
  const err = h('p', { id: 'login-step-error', class: 'error', role: 'alert' });
  let recovery = false;
  const form = h('form', { id: 'totp-form', novalidate: true });
  const draw = () => {
    err.textContent = '';
    fill(form,
      recovery
        ? [h('label', { for: 'recovery-code' }, tr('signin.recoveryCode')),
          h('input', { id: 'recovery-code', name: 'recovery', autocomplete: 'off', spellcheck: 'false', required: true, maxlength: 24,
            'aria-describedby': 'recovery-code-help' }),
          h('p', { id: 'recovery-code-help', class: 'muted small' }, tr('signin.recoveryHelp'))]
        : [h('label', { for: 'totp-code' }, tr('signin.code')), codeInput('totp-code'),
          h('p', { id: 'totp-code-help', class: 'muted small' }, tr('signin.codeHelp'))],
      err,
      h('button', { type: 'submit', class: 'primary' }, tr('signin.verify')),
      h('p', {}, h('button', { type: 'button', class: 'link', id: 'totp-switch', onclick: () => {
        recovery = !recovery;
        draw();
        form.querySelector('input').focus();
      } }, tr(recovery ? 'signin.useApp' : 'signin.useRecovery'))));
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    const value = form.querySelector('input').value.trim();
    if (!value) {
      err.textContent = tr(recovery ? 'signin.enterRecovery' : 'signin.enterCode');
      form.querySelector('input').focus();
      return;
    }
    try {
      const out = await post('/api/v1/login/totp', recovery ? { pending_token: pending, recovery_code: value } : { pending_token: pending, code: value });
      resetSignIn();
      await done(out.agent, out.csrf_token);
    } catch (ex) {
      err.textContent = ex.code === 'unauthorized' && /took too long/.test(ex.message) ? ex.message
        : ex.code === 'unauthorized' ? tr(recovery ? 'signin.wrongRecovery' : 'signin.wrongCode')
          : ex.message;
      form.querySelector('input').select();
    }
  });
  draw();
  fill(card, h('h1', { id: 'login-step-title' }, tr('signin.title')),
    h('p', { class: 'muted' }, tr('signin.intro')), form, backToPassword());
  card.setAttribute('aria-labelledby', 'login-step-title');
  $('#totp-code').focus();
}

// totpSetup draws setting up an authenticator app: the QR code the server drew, the key
// to type by hand, and the code that confirms it. confirm(code) returns the recovery
// codes. Shared by the sign-in that requires it and the profile page.
export function totpSetup(setup, confirm, onDone, idPrefix = 'setup') {
  const err = h('p', { class: 'error', role: 'alert', id: idPrefix + '-error' });
  const img = h('img', { class: 'qr', width: 180, height: 180, alt: tr('signin.qr') });
  // The server drew this PNG; it is the one image the console makes from data.
  img.src = 'data:image/png;base64,' + setup.qr_png;
  const key = setup.key.replace(/(.{4})/g, '$1 ').trim();
  const input = codeInput(idPrefix + '-code');
  const form = h('form', { class: 'stack totp-setup', novalidate: true, 'aria-label': tr('profile.totpSetUp') },
    h('ol', { class: 'steps' },
      h('li', {}, tr('signin.openApp')),
      h('li', {}, tr('signin.scan'), h('div', {}, img),
        h('span', {}, tn('signin.typeKey', { key: h('code', { id: idPrefix + '-key', class: 'totp-key' }, key) }))),
      h('li', {}, h('label', { for: idPrefix + '-code' }, tr('signin.typeCode')), input,
        h('p', { id: idPrefix + '-code-help', class: 'muted small' }, tr('signin.codeChanges')))),
    err,
    h('button', { type: 'submit', class: 'primary' }, tr('signin.turnOn')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    if (!input.value.trim()) {
      err.textContent = tr('signin.typeCodeFirst');
      input.focus();
      return;
    }
    try {
      const codes = await confirm(input.value.trim());
      onDone(codes);
    } catch (ex) {
      err.textContent = ex.message;
      input.select();
    }
  });
  return form;
}

// recoveryCodes shows the recovery codes, this once, with a way to keep them, and calls
// onOK when the agent says they are saved.
export function recoveryCodes(codes, onOK, label = tr('signin.continue')) {
  const text = tr('signin.codesFile', { codes: codes.join('\n') }) + '\n';
  const link = h('a', { download: 'parley-recovery-codes.txt', class: 'button' }, tr('signin.download'));
  link.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const btn = h('button', { type: 'button', class: 'primary', id: 'recovery-ok', onclick: () => { URL.revokeObjectURL(link.href); onOK(); } }, label);
  const el = h('section', { class: 'stack recovery', 'aria-labelledby': 'recovery-title' },
    h('h2', { id: 'recovery-title' }, tr('signin.saveCodes')),
    h('p', {}, tr('signin.codesHelp')),
    h('ul', { class: 'codes', id: 'recovery-codes' }, codes.map((c) => h('li', {}, h('code', {}, c)))),
    h('div', { class: 'row' }, link, btn));
  return el;
}

async function enrolStep(pending, done) {
  const card = stepCard();
  card.setAttribute('aria-labelledby', 'login-step-title');
  const err = h('p', { class: 'error', role: 'alert' });
  fill(card, h('h1', { id: 'login-step-title', tabindex: '-1' }, tr('signin.enrolTitle')),
    h('p', {}, tr('signin.enrolIntro')),
    err, backToPassword());
  let setup;
  try {
    setup = await post('/api/v1/login/totp/setup', { pending_token: pending });
  } catch (ex) {
    err.textContent = ex.message;
    return;
  }
  let out;
  const form = totpSetup(setup, async (code) => {
    out = await post('/api/v1/login/totp', { pending_token: pending, code });
    return out.recovery_codes;
  }, (codes) => {
    fill(card, recoveryCodes(codes, async () => {
      resetSignIn();
      await done(out.agent, out.csrf_token);
    }, tr('signin.savedContinue')));
    $('#recovery-ok').focus();
  }, 'enrol');
  card.insertBefore(form, err);
  $('#enrol-code').focus();
}

// showInvite is the page of an invitation link (#/invite/<token>): who is invited, and
// the form to choose a name and password, which signs the new agent in.
export async function showInvite(token, done) {
  $('#app').hidden = true;
  $('#login').hidden = false;
  document.body.dataset.view = 'login';
  document.title = tr('title.page', { page: tr('join.title') });
  const card = stepCard();
  card.setAttribute('aria-labelledby', 'invite-title');
  const err = h('p', { id: 'invite-error', class: 'error', role: 'alert' });
  const toSignIn = h('button', { type: 'button', class: 'link', onclick: () => {
    history.replaceState(null, '', location.pathname);
    resetSignIn();
    $('#login-email').focus();
  } }, tr('join.toSignIn'));
  fill(card, h('h1', { id: 'invite-title', tabindex: '-1' }, tr('join.heading')), err);
  let inv;
  try {
    inv = await post('/api/v1/invitations/check', { token });
  } catch (ex) {
    err.textContent = ex.message;
    card.append(h('p', {}, toSignIn));
    $('#invite-title').focus();
    return;
  }
  const form = h('form', { id: 'invite-form', novalidate: true },
    h('p', {}, ['agent', 'manager', 'admin'].includes(inv.role) ? tr('join.invitedAs.' + inv.role) : tr('join.invitedAsRole', { role: inv.role })),
    h('label', { for: 'invite-email' }, tr('login.email')),
    h('input', { id: 'invite-email', type: 'email', value: inv.email, readonly: true, autocomplete: 'username' }),
    h('label', { for: 'invite-name' }, tr('join.name')),
    h('input', { id: 'invite-name', name: 'name', value: inv.name || '', maxlength: 100, required: true, autocomplete: 'name' }),
    h('label', { for: 'invite-password' }, tr('join.password')),
    h('input', { id: 'invite-password', name: 'password', type: 'password', minlength: 8, required: true, autocomplete: 'new-password' }),
    h('label', { for: 'invite-password2' }, tr('join.passwordAgain')),
    h('input', { id: 'invite-password2', name: 'password2', type: 'password', minlength: 8, required: true, autocomplete: 'new-password' }),
    err,
    h('button', { type: 'submit', class: 'primary' }, tr('join.submit')),
    h('p', { class: 'muted small' }, tr('join.until', { time: new Date(inv.expires_at).toLocaleString(locale()) })));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    const name = $('#invite-name').value.trim();
    const password = $('#invite-password').value;
    let bad = '';
    if (!name) bad = 'invite-name';
    else if (password.length < 8) bad = 'invite-password';
    else if (password !== $('#invite-password2').value) bad = 'invite-password2';
    if (bad) {
      err.textContent = tr({ 'invite-name': 'join.nameMissing', 'invite-password': 'join.passwordShort' }[bad] || 'join.passwordsDiffer');
      $('#' + bad).focus();
      return;
    }
    try {
      const res = await post('/api/v1/invitations/accept', { token, name, password });
      // The token is spent: keep it out of the address bar and the history.
      history.replaceState(null, '', location.pathname + '#/inbox/mine');
      if (res.step) {
        secondStep(res, done);
        return;
      }
      resetSignIn();
      await done(res.agent, res.csrf_token);
    } catch (ex) {
      err.textContent = ex.message;
    }
  });
  fill(card, h('h1', { id: 'invite-title', tabindex: '-1' }, tr('join.heading')), form);
  $('#invite-name').focus();
}
