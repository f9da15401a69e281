// invite.js is the Agents page's way to add people: the pending invitations and the
// form that invites someone by email. The invitee chooses their own password from the
// link; an admin never types one.

import { get, post, del } from './api.js';
import { h, fill, $ } from './dom.js';
import { timeEl } from './time.js';
import { t as tr, tn } from './i18n.js';

const roles = ['agent', 'manager', 'admin'];
const roleName = (r) => (roles.includes(r) ? tr('role.' + r) : r);

function roleSelect(id) {
  return h('select', { id, name: 'role' }, roles.map((r) => h('option', { value: r }, roleName(r))));
}

// inviteSection returns the pending invitations and the invitation form; inboxes are the
// shop's inboxes, refresh redraws the page after a change.
export async function inviteSection(inboxes, refresh) {
  const { invitations } = await get('/api/v1/invitations');
  const now = Date.now();
  const status = h('span', { class: 'small', role: 'status', id: 'inv-status' });
  const pending = invitations.map((inv) => {
    const expired = new Date(inv.expires_at).getTime() <= now;
    return h('li', { class: 'invite-row' },
      h('strong', {}, inv.email), ' ', h('span', { class: 'badge' }, roleName(inv.role)), ' ',
      expired ? h('span', { class: 'error small' }, tr('invite.expired'))
        : h('span', { class: 'muted small' }, tn('invite.expires', { time: timeEl(inv.expires_at) })),
      ' ',
      h('button', { type: 'button', class: 'link', 'aria-label': tr('invite.revokeLabel', { email: inv.email }), onclick: async (e) => {
        try {
          await del('/api/v1/invitations/' + inv.id);
          await refresh();
          $('#inv-email').focus();
        } catch (err) { e.target.textContent = err.message; }
      } }, tr('invite.revoke')));
  });
  const senders = inboxes.filter((i) => i.kind === 'email' && i.enabled !== false);
  const form = h('form', { id: 'inv-create', class: 'card stack', novalidate: true },
    h('h3', {}, tr('invite.title')),
    h('p', { class: 'muted small' }, tr('invite.hint')),
    h('label', { for: 'inv-email' }, tr('login.email')), h('input', { id: 'inv-email', name: 'email', type: 'email', required: true, autocomplete: 'off' }),
    h('label', { for: 'inv-name' }, tr('invite.name')), h('input', { id: 'inv-name', name: 'name', maxlength: 100, autocomplete: 'off' }),
    h('label', { for: 'inv-role' }, tr('agents.role')), roleSelect('inv-role'),
    h('fieldset', { class: 'inbox-checks' }, h('legend', {}, tr('agents.inboxes')),
      inboxes.length ? inboxes.map((i) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'inv-inboxes', value: i.id }), ' ', tr('settings.inboxCheck', { name: i.name, kind: i.kind })))
        : h('p', { class: 'muted' }, tr('settings.noInboxes'))),
    h('label', { for: 'inv-from' }, tr('invite.sendBy')),
    h('select', { id: 'inv-from', name: 'from' },
      senders.map((i) => h('option', { value: i.id }, tr('invite.from', { inbox: i.name }))),
      h('option', { value: '' }, tr(senders.length ? 'invite.share' : 'invite.shareNoInbox'))),
    h('button', { type: 'submit', class: 'primary' }, tr('invite.submit')),
    status,
    h('div', { id: 'inv-result' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    const email = $('#inv-email').value.trim();
    if (!email) {
      status.textContent = tr('invite.emailMissing');
      $('#inv-email').focus();
      return;
    }
    const from = Number($('#inv-from').value) || 0;
    try {
      const res = await post('/api/v1/invitations', {
        email, name: $('#inv-name').value.trim(), role: $('#inv-role').value,
        inbox_ids: [...form.querySelectorAll('input[name="inv-inboxes"]:checked')].map((x) => Number(x.value)),
        send_from_inbox_id: from,
      });
      await refresh();
      showResult(res);
    } catch (err) {
      status.textContent = err.message;
    }
  });
  return [
    h('h3', {}, tr('invite.list')),
    invitations.length ? h('ul', { class: 'settings-list', id: 'inv-list' }, pending) : h('p', { class: 'muted', id: 'inv-list' }, tr('invite.none')),
    form,
  ];
}

// showResult shows the new invitation's link, to copy, and how its mail went; the focus
// goes to the link, where the admin acts next.
function showResult(res) {
  const box = $('#inv-result');
  if (!box) return;
  const mail = res.email_sent === true ? h('p', { class: 'ok-text' }, tr('invite.mailed', { email: res.invitation.email }))
    : res.email_sent === false ? h('p', { class: 'error' }, tr('invite.mailFailed', { error: res.email_error }))
      : null;
  const link = h('input', { id: 'inv-link', readonly: true, value: res.link, 'aria-describedby': 'inv-link-help' });
  const copied = h('span', { class: 'small', role: 'status' });
  fill(box, h('div', { class: 'card stack' },
    h('p', {}, h('strong', {}, tr('invite.invited', { email: res.invitation.email }))),
    mail,
    h('label', { for: 'inv-link' }, tr('invite.link')),
    h('div', { class: 'row' }, link,
      h('button', { type: 'button', onclick: async () => {
        link.select();
        try { await navigator.clipboard.writeText(res.link); copied.textContent = tr('app.copied'); } catch { copied.textContent = tr('invite.pressCopy'); }
      } }, tr('app.copy')), copied),
    h('p', { id: 'inv-link-help', class: 'muted small' }, tr('invite.linkHelp'))));
  link.focus();
  link.select();
}
