// customerpage.js is a customer's page (#/customers/{id}): its addresses, added, edited
// and removed here; merging another customer into it (picked by search, confirmed);
// the merges into it, each undone with one confirmed click; its tickets and the offers
// to link it to an email its chat visitor proved (proofs.js).

import { get, post, patch, del, qs } from './api.js';
import { h, fill, $, labelled, announce, statusBadge } from './dom.js';
import { timeEl } from './time.js';
import { channelBadge } from './channels.js';
import { agentName, customerLabel, rememberCustomer } from './state.js';
import { confirmDialog } from './setupkit.js';
import { identityLabel, identityList } from './contacts.js';
import { proofsEl } from './proofs.js';
import { t as tr } from './i18n.js';

let pageSeq = 0;

// showCustomerPage renders customer id into the wide pane. focusID, when given, is the
// element to focus once drawn (the control the agent used before a redraw).
export async function showCustomerPage(id, focusID = '') {
  const my = ++pageSeq;
  const pane = $('#settings-pane');
  if (!$('#customer-page')) fill(pane, h('p', { class: 'muted pad' }, 'Loading customer…'));
  let c;
  try {
    c = await get('/api/v1/customers/' + id);
  } catch (e) {
    if (my === pageSeq) fill(pane, h('p', { class: 'error pad', role: 'alert' }, e.message));
    return;
  }
  if (my !== pageSeq) return;
  rememberCustomer(c);
  fill(pane, h('div', { id: 'customer-page', class: 'customer-page', dataset: { id: c.id } },
    h('a', { href: '#/customers', class: 'small' }, '← Contacts'),
    h('h2', { id: 'customer-title' }, customerLabel(c)),
    c.merged_into ? h('p', { class: 'callout' }, 'This customer was merged into ',
      h('a', { href: '#/customers/' + c.merged_into }, '#' + c.merged_into), '.') : null,
    h('p', { class: 'small' }, h('a', { href: `#/customers/${c.id}/history` }, 'Full history')),
    c.merged_into ? null : proofsEl(c.id, (into) => { location.hash = '#/customers/' + into.id; if (into.id === c.id) showCustomerPage(c.id); }),
    h('section', { class: 'card', 'aria-labelledby': 'ids-title' },
      h('h3', { id: 'ids-title' }, 'Addresses'),
      h('ul', { id: 'identity-list', class: 'identity-list' }, identityRows(c)),
      h('div', { id: 'identity-conflict', role: 'alert' }),
      c.merged_into ? null : addForm(c)),
    c.merged_into ? null : mergeSection(c),
    h('section', { class: 'card', 'aria-labelledby': 'merges-title' },
      h('h3', { id: 'merges-title', tabindex: '-1' }, 'Merges into this customer'),
      h('ul', { id: 'merges', class: 'merges' }, h('li', { class: 'muted' }, 'Loading…'))),
    h('section', { class: 'card', 'aria-labelledby': 'ctickets-title' },
      h('h3', { id: 'ctickets-title' }, 'Tickets'),
      h('div', { id: 'customer-tickets' }, h('p', { class: 'muted' }, 'Loading…')))));
  document.title = `${customerLabel(c)} · Parley`;
  if (focusID && document.getElementById(focusID)) document.getElementById(focusID).focus();
  loadMerges(c, my);
  loadTickets(c, my);
}

const editableKinds = ['email', 'phone', 'shop', 'discord'];

function identityRows(c) {
  const list = c.identities || [];
  if (!list.length) return [h('li', { class: 'muted' }, 'No addresses.')];
  return list.map((i, n) => {
    const row = h('li', { class: 'identity', dataset: { kind: i.kind, address: i.address } });
    const show = () => fill(row,
      h('span', { class: 'id-kind' }, identityLabel[i.kind] || i.kind),
      h('span', { class: 'id-addr' }, i.address),
      i.verified ? h('span', { class: 'badge ok', title: 'Verified' }, 'verified') : null,
      editableKinds.includes(i.kind) ? h('button', { type: 'button', class: 'link', id: `id-edit-${n}`, 'aria-label': `Edit ${i.address}`,
        onclick: edit }, 'Edit') : null,
      h('button', { type: 'button', class: 'link danger', id: `id-remove-${n}`, 'aria-label': `Remove ${i.address}`,
        onclick: (e) => confirmDialog({ title: 'Remove this address?', confirm: 'Remove',
          text: `Messages from ${i.address} will no longer be filed under ${customerLabel(c)}.`, returnFocus: e.target,
          onConfirm: async () => {
            await del(`/api/v1/customers/${c.id}/identities` + qs({ kind: i.kind, address: i.address }));
            announce(tr('customer.identityRemoved', { address: i.address }));
            await showCustomerPage(c.id);
            focusAfterDialog('id-add-address');
          } }) }, 'Remove'));
    const edit = () => {
      const input = h('input', { id: `id-input-${n}`, value: i.address, maxlength: 320, autocomplete: 'off',
        'aria-label': `New ${identityLabel[i.kind] || i.kind} address instead of ${i.address}` });
      const form = h('form', { class: 'identity-edit' },
        h('span', { class: 'id-kind' }, identityLabel[i.kind] || i.kind), input,
        h('button', { type: 'submit', class: 'primary' }, 'Save'),
        h('button', { type: 'button', onclick: () => { show(); $(`#id-edit-${n}`).focus(); } }, 'Cancel'));
      form.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); show(); $(`#id-edit-${n}`).focus(); } });
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const address = input.value.trim();
        if (!address || address === i.address) { show(); return; }
        // One change: the old address goes only if the new one can come.
        await changeIdentities(c, { remove_identities: [{ kind: i.kind, address: i.address }], add_identities: [{ kind: i.kind, address }] },
          tr('customer.identityChanged', { from: i.address, to: address }), input);
      });
      fill(row, form);
      input.focus();
      input.select();
    };
    show();
    return row;
  });
}

// changeIdentities applies a change of addresses; a conflict with another customer
// offers to merge that customer into this one.
async function changeIdentities(c, change, done, control) {
  const box = $('#identity-conflict');
  fill(box);
  try {
    if (change.add_identities && !change.remove_identities) {
      await post(`/api/v1/customers/${c.id}/identities`, change.add_identities[0]);
    } else {
      await patch('/api/v1/customers/' + c.id, change);
    }
  } catch (e) {
    if (e.status === 409 && change.add_identities) {
      // PATCH's conflict does not name the owner: ask who has the address.
      let owner = e.customer;
      if (!owner) owner = await ownerOf(change.add_identities[0]);
      conflict(c, e.message, owner, control);
    } else {
      fill(box, h('p', { class: 'error' }, e.message));
      control.focus();
    }
    return;
  }
  announce(done);
  await showCustomerPage(c.id, 'id-add-address');
}

async function ownerOf(ident) {
  try {
    const res = await get('/api/v1/customers' + qs({ q: ident.address, limit: 10 }));
    return (res.customers || []).find((x) => (x.identities || []).some((i) => i.kind === ident.kind && i.address.toLowerCase() === ident.address.toLowerCase()));
  } catch {
    return null;
  }
}

function conflict(c, message, owner, control) {
  const box = $('#identity-conflict');
  if (!owner || owner.id === c.id) {
    fill(box, h('p', { class: 'error' }, message));
    control.focus();
    return;
  }
  const name = owner.name || `customer #${owner.id}`;
  const btn = h('button', { type: 'button', id: 'conflict-merge', class: 'primary' }, `Merge ${name} into this customer`);
  btn.addEventListener('click', () => confirmMerge(c, owner, btn));
  fill(box, h('div', { class: 'callout conflict' },
    h('p', {}, `That address belongs to `, h('a', { href: '#/customers/' + owner.id }, name), '. ',
      'Merge the two customers to bring it over, with their tickets and orders.'),
    btn));
  btn.focus();
}

function addForm(c) {
  const kind = h('select', { id: 'id-add-kind' }, editableKinds.map((k) => h('option', { value: k }, identityLabel[k])));
  const address = h('input', { id: 'id-add-address', maxlength: 320, autocomplete: 'off', placeholder: 'alice@example.com or +1 415 555 0123' });
  const form = h('form', { id: 'id-add', class: 'row identity-add' },
    labelled('id-add-kind', 'Kind', kind),
    h('div', { class: 'field grow' }, h('label', { for: 'id-add-address' }, 'New address'), address),
    h('button', { type: 'submit' }, 'Add address'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const a = address.value.trim();
    if (!a) { address.focus(); return; }
    await changeIdentities(c, { add_identities: [{ kind: kind.value, address: a }] }, tr('customer.identityAdded', { address: a }), address);
  });
  return form;
}

// focusAfterDialog focuses element id once the open confirmation dialog has closed: while
// it is open the page behind it is inert, and the button that opened it is gone.
function focusAfterDialog(id) {
  const dlg = document.querySelector('dialog[open]');
  const go = () => { const el = document.getElementById(id); if (el) el.focus(); };
  if (dlg) dlg.addEventListener('close', go, { once: true });
  else go();
}

// ---- merging another customer into this one ----

function mergeSection(c) {
  const q = h('input', { id: 'merge-q', type: 'search', maxlength: 200, autocomplete: 'off', placeholder: 'Name, email or phone' });
  const results = h('ul', { id: 'merge-results', class: 'merge-results', 'aria-label': 'Customers to merge' });
  const status = h('p', { id: 'merge-status', class: 'muted small', role: 'status' });
  const form = h('form', { id: 'merge-form', role: 'search', class: 'row' },
    h('div', { class: 'field grow' }, h('label', { for: 'merge-q' }, 'Find the other customer'), q),
    h('button', { type: 'submit' }, 'Find'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const words = q.value.trim();
    if (!words) { q.focus(); return; }
    status.textContent = 'Searching…';
    try {
      const res = await get('/api/v1/customers' + qs({ q: words, limit: 10 }));
      const others = (res.customers || []).filter((x) => x.id !== c.id);
      fill(results, others.map((x) => h('li', {},
        h('span', { class: 'contact-name' }, customerLabel(x)), ' ',
        h('span', { class: 'small muted' }, identityList(x.identities)), ' ',
        h('button', { type: 'button', class: 'merge-pick', 'aria-label': `Merge ${customerLabel(x)} into this customer`,
          onclick: (ev) => confirmMerge(c, x, ev.target) }, 'Merge into this customer'))));
      status.textContent = others.length ? `${others.length} found.` : 'No other customer matches.';
    } catch (ex) {
      status.textContent = ex.message;
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'merge-title' },
    h('h3', { id: 'merge-title' }, 'Merge another customer into this one'),
    h('p', { class: 'small muted' }, 'Their addresses, tickets and orders move here. You can undo it below.'),
    form, status, results);
}

function confirmMerge(c, other, returnFocus) {
  const name = customerLabel(other);
  confirmDialog({
    title: `Merge ${name} into ${customerLabel(c)}?`,
    text: `${name}’s addresses, tickets and orders move to ${customerLabel(c)}. The merge can be undone from this page.`,
    confirm: 'Merge',
    returnFocus,
    onConfirm: async () => {
      await post(`/api/v1/customers/${other.id}/merge`, { into: c.id });
      announce(tr('customer.merged', { name, into: customerLabel(c) }));
      await showCustomerPage(c.id);
      focusAfterDialog('merges-title');
    },
  });
}

// ---- the merges into this customer, with Undo ----

async function loadMerges(c, my) {
  let res;
  try {
    res = await get(`/api/v1/customers/${c.id}/merges`);
  } catch (e) {
    if (my === pageSeq) fill($('#merges'), h('li', { class: 'error' }, e.message));
    return;
  }
  if (my !== pageSeq) return;
  const list = res.merges || [];
  fill($('#merges'), list.length ? list.map((m) => mergeItem(c, m)) : h('li', { class: 'muted' }, 'No merges.'));
}

function mergeItem(c, m) {
  const name = m.from_name || `Customer #${m.from}`;
  const who = m.actor && m.actor.kind === 'agent' ? agentName(m.actor.id) : 'Parley';
  const moved = [identityList(m.identities), `${(m.ticket_ids || []).length} ticket${(m.ticket_ids || []).length === 1 ? '' : 's'}`].filter(Boolean).join(', ');
  return h('li', { class: 'merge', dataset: { event: m.merge_event_id } },
    h('a', { href: '#/customers/' + m.from }, name), ' merged in by ', who, ' ', timeEl(m.at),
    h('span', { class: 'small muted' }, ` (${moved})`), ' ',
    m.undoable
      ? h('button', { type: 'button', class: 'undo-merge', 'aria-label': `Undo the merge of ${name}`, onclick: (e) => confirmDialog({
        title: `Undo the merge of ${name}?`,
        text: `${name} becomes a customer of their own again, with the addresses, tickets and orders that came with them.`,
        confirm: 'Undo merge', returnFocus: e.target,
        onConfirm: async () => {
          await post(`/api/v1/customers/merges/${m.merge_event_id}/undo`);
          announce(tr('customer.unmerged', { name }));
          await showCustomerPage(c.id);
          focusAfterDialog('merges-title');
        } }) }, 'Undo')
      : h('span', { class: 'small muted' }, 'undone or merged again'));
}

async function loadTickets(c, my) {
  let res;
  try {
    res = await get('/api/v1/tickets' + qs({ customer_id: c.id, limit: 50 }));
  } catch (e) {
    if (my === pageSeq) fill($('#customer-tickets'), h('p', { class: 'error' }, e.message));
    return;
  }
  if (my !== pageSeq) return;
  const list = res.tickets || [];
  fill($('#customer-tickets'), list.length ? h('ul', { class: 'past' }, list.map((t) => h('li', {},
    h('a', { href: '#/tickets/' + t.id }, channelBadge(t.channel), ' ', h('span', {}, `#${t.id} ${t.subject || '(no subject)'}`)),
    ' ', statusBadge(t.status), ' ', timeEl(t.last_message_at)))) : h('p', { class: 'muted' }, 'No tickets.'));
}

// onCustomerPageEvent redraws the customer page shown when that customer changed
// elsewhere (another agent, a link from a ticket), unless the agent is typing on it.
export function onCustomerPageEvent(type, d) {
  const page = $('#customer-page');
  if (!page || !d) return;
  const id = Number(page.dataset.id);
  const hit = type === 'customer.updated' ? d.id === id : d.into === id || d.from === id;
  if (!hit) return;
  const active = document.activeElement;
  if (active && page.contains(active) && (active.tagName === 'INPUT' || active.tagName === 'SELECT')) return;
  if (document.querySelector('dialog[open]')) return;
  showCustomerPage(id, active && page.contains(active) ? active.id : '');
}
