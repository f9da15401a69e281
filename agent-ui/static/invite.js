// invite.js is the Agents page's way to add people: the pending invitations and the
// form that invites someone by email. The invitee chooses their own password from the
// link; an admin never types one.

import { get, post, del } from './api.js';
import { h, fill, $ } from './dom.js';
import { timeEl } from './time.js';

function roleSelect(id) {
  return h('select', { id, name: 'role' }, ['agent', 'manager', 'admin'].map((r) => h('option', { value: r }, r)));
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
      h('strong', {}, inv.email), ' ', h('span', { class: 'badge' }, inv.role), ' ',
      expired ? h('span', { class: 'error small' }, 'expired') : h('span', { class: 'muted small' }, 'link expires ', timeEl(inv.expires_at)),
      ' ',
      h('button', { type: 'button', class: 'link', 'aria-label': `Revoke the invitation of ${inv.email}`, onclick: async (e) => {
        try {
          await del('/api/v1/invitations/' + inv.id);
          await refresh();
          $('#inv-email').focus();
        } catch (err) { e.target.textContent = err.message; }
      } }, 'Revoke'));
  });
  const senders = inboxes.filter((i) => i.kind === 'email' && i.enabled !== false);
  const form = h('form', { id: 'inv-create', class: 'card stack', novalidate: true },
    h('h3', {}, 'Invite an agent'),
    h('p', { class: 'muted small' }, 'They get a link to choose their own name and password. It works once, for 7 days.'),
    h('label', { for: 'inv-email' }, 'Email'), h('input', { id: 'inv-email', name: 'email', type: 'email', required: true, autocomplete: 'off' }),
    h('label', { for: 'inv-name' }, 'Name (optional; they can change it)'), h('input', { id: 'inv-name', name: 'name', maxlength: 100, autocomplete: 'off' }),
    h('label', { for: 'inv-role' }, 'Role'), roleSelect('inv-role'),
    h('fieldset', { class: 'inbox-checks' }, h('legend', {}, 'Inboxes'),
      inboxes.length ? inboxes.map((i) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'inv-inboxes', value: i.id }), ` ${i.name} (${i.kind})`)) : h('p', { class: 'muted' }, 'No inboxes yet.')),
    h('label', { for: 'inv-from' }, 'Send the link by email'),
    h('select', { id: 'inv-from', name: 'from' },
      senders.map((i) => h('option', { value: i.id }, `from ${i.name}`)),
      h('option', { value: '' }, senders.length ? 'Do not send; I will share the link' : 'Do not send (no email inbox yet); I will share the link')),
    h('button', { type: 'submit', class: 'primary' }, 'Invite'),
    status,
    h('div', { id: 'inv-result' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    status.textContent = '';
    const email = $('#inv-email').value.trim();
    if (!email) {
      status.textContent = 'Enter their email address.';
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
    h('h3', {}, 'Invitations'),
    invitations.length ? h('ul', { class: 'settings-list', id: 'inv-list' }, pending) : h('p', { class: 'muted', id: 'inv-list' }, 'No pending invitations.'),
    form,
  ];
}

// showResult shows the new invitation's link, to copy, and how its mail went; the focus
// goes to the link, where the admin acts next.
function showResult(res) {
  const box = $('#inv-result');
  if (!box) return;
  const mail = res.email_sent === true ? h('p', { class: 'ok-text' }, `The invitation was mailed to ${res.invitation.email}.`)
    : res.email_sent === false ? h('p', { class: 'error' }, `The mail could not be sent (${res.email_error}). Share the link instead.`)
      : null;
  const link = h('input', { id: 'inv-link', readonly: true, value: res.link, 'aria-describedby': 'inv-link-help' });
  const copied = h('span', { class: 'small', role: 'status' });
  fill(box, h('div', { class: 'card stack' },
    h('p', {}, h('strong', {}, `Invited ${res.invitation.email}.`)),
    mail,
    h('label', { for: 'inv-link' }, 'Invitation link'),
    h('div', { class: 'row' }, link,
      h('button', { type: 'button', onclick: async () => {
        link.select();
        try { await navigator.clipboard.writeText(res.link); copied.textContent = 'Copied'; } catch { copied.textContent = 'Press Ctrl+C to copy'; }
      } }, 'Copy'), copied),
    h('p', { id: 'inv-link-help', class: 'muted small' }, 'Only they should open it: it signs in whoever sets the password first. It is not shown again.')));
  link.focus();
  link.select();
}
