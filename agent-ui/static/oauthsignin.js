// oauthsignin.js is "Sign in with Google / Microsoft" in the email inbox form: instead of a
// password, the inbox logs in with XOAUTH2 after an admin signs in with the mailbox's
// account. The button saves the inbox, asks Parley to start the sign-in and sends the
// browser to the provider, which sends it back to the inbox's page.

import { get, post, patch } from './api.js';
import { h, fill, $ } from './dom.js';
import { t as tr, tn } from './i18n.js';

const labels = { google: 'Google', microsoft: 'Microsoft' };
// The preset of a provider of the form that signs in with OAuth.
const presetAuth = { gmail: 'google', microsoft: 'microsoft' };

let configured = null; // promise of the providers the operator set up

function providers() {
  if (!configured) configured = get('/api/v1/oauth/providers').then((r) => r.providers || []).catch(() => []);
  return configured;
}

// signInBlock is the sign-in part of the email form of inbox (null for a new one) with
// config cfg. read() returns the form's config; passwordField is the password's wrapper,
// hidden while the inbox signs in instead. It returns the element, auth() (the way the
// inbox logs in, for the config) and preset(name) to follow the form's provider choice.
export function signInBlock(cfg, inbox, read, passwordField) {
  let auth = cfg.auth === 'google' || cfg.auth === 'microsoft' ? cfg.auth : 'password';
  let preset = '';
  const el = h('div', { class: 'signin-box stack', id: 'em-signin', 'aria-live': 'polite' });
  const status = h('p', { class: 'small', id: 'em-signin-status', role: 'status' });

  const start = async (provider) => {
    status.textContent = tr('app.saving');
    try {
      const c = read(true);
      c.auth = provider;
      delete c.imap_password;
      delete c.smtp_password;
      let id = inbox && inbox.id;
      if (id) {
        await patch(`/api/v1/inboxes/${id}`, { config: c });
      } else {
        const name = ($('#in-name') && $('#in-name').value.trim()) || tr('setup.defaultName.email');
        id = (await post('/api/v1/inboxes', { kind: 'email', name, config: c })).id;
      }
      status.textContent = tr('oauth.opening', { provider: labels[provider] });
      const r = await post(`/api/v1/inboxes/${id}/oauth`, { provider });
      location.assign(r.authorize_url);
    } catch (err) {
      status.textContent = '';
      fill(status, h('span', { class: 'error' }, err.message));
    }
  };

  const button = (provider, again) => h('button', { type: 'button', id: 'em-signin-' + provider, class: 'signin-' + provider,
    onclick: () => start(provider) }, tr(again ? 'oauth.signInAgain' : 'oauth.signIn', { provider: labels[provider] }));

  const draw = async () => {
    passwordField.hidden = auth !== 'password';
    const want = auth !== 'password' ? auth : presetAuth[preset];
    if (!want) {
      fill(el);
      el.hidden = true;
      return;
    }
    el.hidden = false;
    const ready = (await providers()).includes(want);
    const parts = [];
    if (auth !== 'password' && inbox) {
      let g = null;
      try { g = await get(`/api/v1/inboxes/${inbox.id}/oauth`); } catch { /* not signed in yet */ }
      if (g && g.error) {
        parts.push(h('p', { class: 'error', id: 'em-signin-state' }, tr('oauth.broken', { error: g.error })));
      } else if (g) {
        parts.push(h('p', { id: 'em-signin-state' }, tn('oauth.signedIn', { provider: labels[g.provider] || g.provider,
          account: h('strong', {}, g.account || tr('oauth.theMailbox')) })));
      } else {
        parts.push(h('p', { class: 'error', id: 'em-signin-state' }, tr('oauth.notYet', { provider: labels[want] })));
      }
    }
    if (ready) {
      parts.push(h('div', { class: 'row' }, button(want, auth !== 'password' && inbox),
        auth === 'password'
          ? h('span', { class: 'muted small' }, tr('oauth.orAppPassword'))
          : h('button', { type: 'button', class: 'link', id: 'em-use-password', onclick: () => { auth = 'password'; draw(); $('#em-password').focus(); } },
            tr('oauth.usePassword'))));
    } else {
      parts.push(h('p', { class: 'muted small', id: 'em-signin-off' }, tr('oauth.off', { provider: labels[want], env: want.toUpperCase() })));
    }
    parts.push(status);
    fill(el, parts);
  };
  draw();
  return {
    el,
    auth: () => auth,
    preset: (name) => {
      if (name === preset) return;
      preset = name;
      if (auth !== 'password' && presetAuth[name] !== auth) auth = 'password';
      draw();
    },
  };
}
