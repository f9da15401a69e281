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
import { t as tr, tn } from './i18n.js';

let pageSeq = 0;

// showCustomerPage renders customer id into the wide pane. focusID, when given, is the
// element to focus once drawn (the control the agent used before a redraw).
export async function showCustomerPage(id, focusID = '') {
  const my = ++pageSeq;
  const pane = $('#settings-pane');
  if (!$('#customer-page')) fill(pane, h('p', { class: 'muted pad' }, tr('customer.loading')));
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
    h('a', { href: '#/customers', class: 'small' }, tr('cpage.back')),
    h('h2', { id: 'customer-title' }, customerLabel(c)),
    c.merged_into ? h('p', { class: 'callout' }, tn('cpage.mergedInto', {
      customer: h('a', { href: '#/customers/' + c.merged_into }, '#' + c.merged_into) })) : null,
    h('p', { class: 'small' }, h('a', { href: `#/customers/${c.id}/history` }, tr('customer.history'))),
    c.merged_into ? null : proofsEl(c.id, (into) => { location.hash = '#/customers/' + into.id; if (into.id === c.id) showCustomerPage(c.id); }),
    h('section', { class: 'card', 'aria-labelledby': 'ids-title' },
      h('h3', { id: 'ids-title' }, tr('cpage.addresses')),
      h('ul', { id: 'identity-list', class: 'identity-list' }, identityRows(c)),
      h('div', { id: 'identity-conflict', role: 'alert' }),
      c.merged_into ? null : addForm(c)),
    c.merged_into ? null : mergeSection(c),
    h('section', { class: 'card', 'aria-labelledby': 'merges-title' },
      h('h3', { id: 'merges-title', tabindex: '-1' }, tr('cpage.merges')),
      h('ul', { id: 'merges', class: 'merges' }, h('li', { class: 'muted' }, tr('app.loading')))),
    h('section', { class: 'card', 'aria-labelledby': 'ctickets-title' },
      h('h3', { id: 'ctickets-title' }, tr('cpage.tickets')),
      h('div', { id: 'customer-tickets' }, h('p', { class: 'muted' }, tr('app.loading'))))));
  document.title = tr('title.page', { page: customerLabel(c) });
  if (focusID && document.getElementById(focusID)) document.getElementById(focusID).focus();
  loadMerges(c, my);
  loadTickets(c, my);
}

const editableKinds = ['email', 'phone', 'shop', 'discord'];

function identityRows(c) {
  const list = c.identities || [];
  if (!list.length) return [h('li', { class: 'muted' }, tr('cpage.noAddresses'))];
  return list.map((i, n) => {
    const row = h('li', { class: 'identity', dataset: { kind: i.kind, address: i.address } });
    const show = () => fill(row,
      h('span', { class: 'id-kind' }, identityLabel(i.kind)),
      h('span', { class: 'id-addr' }, i.address),
      i.verified ? h('span', { class: 'badge ok', title: tr('customer.verifiedTitle') }, tr('customer.verified')) : null,
      editableKinds.includes(i.kind) ? h('button', { type: 'button', class: 'link', id: `id-edit-${n}`, 'aria-label': tr('cpage.editLabel', { address: i.address }),
        onclick: edit }, tr('cpage.edit')) : null,
      h('button', { type: 'button', class: 'link danger', id: `id-remove-${n}`, 'aria-label': tr('cpage.removeLabel', { address: i.address }),
        onclick: (e) => confirmDialog({ title: tr('cpage.removeTitle'), confirm: tr('cpage.remove'),
          text: tr('cpage.removeText', { address: i.address, name: customerLabel(c) }), returnFocus: e.target,
          onConfirm: async () => {
            await del(`/api/v1/customers/${c.id}/identities` + qs({ kind: i.kind, address: i.address }));
            announce(tr('customer.identityRemoved', { address: i.address }));
            await showCustomerPage(c.id);
            focusAfterDialog('id-add-address');
          } }) }, tr('cpage.remove')));
    const edit = () => {
      const input = h('input', { id: `id-input-${n}`, value: i.address, maxlength: 320, autocomplete: 'off',
        'aria-label': tr('cpage.newAddressOf', { kind: identityLabel(i.kind), address: i.address }) });
      const form = h('form', { class: 'identity-edit' },
        h('span', { class: 'id-kind' }, identityLabel(i.kind)), input,
        h('button', { type: 'submit', class: 'primary' }, tr('app.save')),
        h('button', { type: 'button', onclick: () => { show(); $(`#id-edit-${n}`).focus(); } }, tr('app.cancel')));
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
  const name = owner.name || tr('cpage.customer', { id: owner.id });
  const btn = h('button', { type: 'button', id: 'conflict-merge', class: 'primary' }, tr('cpage.mergeOwner', { name }));
  btn.addEventListener('click', () => confirmMerge(c, owner, btn));
  fill(box, h('div', { class: 'callout conflict' },
    h('p', {}, tn('cpage.belongs', { customer: h('a', { href: '#/customers/' + owner.id }, name) })),
    btn));
  btn.focus();
}

function addForm(c) {
  const kind = h('select', { id: 'id-add-kind' }, editableKinds.map((k) => h('option', { value: k }, identityLabel(k))));
  const address = h('input', { id: 'id-add-address', maxlength: 320, autocomplete: 'off', placeholder: tr('cpage.addressHint') });
  const form = h('form', { id: 'id-add', class: 'row identity-add' },
    labelled('id-add-kind', tr('cpage.kind'), kind),
    h('div', { class: 'field grow' }, h('label', { for: 'id-add-address' }, tr('cpage.newAddress')), address),
    h('button', { type: 'submit' }, tr('cpage.addAddress')));
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
  const q = h('input', { id: 'merge-q', type: 'search', maxlength: 200, autocomplete: 'off', placeholder: tr('cpage.findHint') });
  const results = h('ul', { id: 'merge-results', class: 'merge-results', 'aria-label': tr('cpage.toMerge') });
  const status = h('p', { id: 'merge-status', class: 'muted small', role: 'status' });
  const form = h('form', { id: 'merge-form', role: 'search', class: 'row' },
    h('div', { class: 'field grow' }, h('label', { for: 'merge-q' }, tr('cpage.findOther')), q),
    h('button', { type: 'submit' }, tr('cpage.find')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const words = q.value.trim();
    if (!words) { q.focus(); return; }
    status.textContent = tr('cpage.searching');
    try {
      const res = await get('/api/v1/customers' + qs({ q: words, limit: 10 }));
      const others = (res.customers || []).filter((x) => x.id !== c.id);
      fill(results, others.map((x) => h('li', {},
        h('span', { class: 'contact-name' }, customerLabel(x)), ' ',
        h('span', { class: 'small muted' }, identityList(x.identities)), ' ',
        h('button', { type: 'button', class: 'merge-pick', 'aria-label': tr('cpage.mergeOwner', { name: customerLabel(x) }),
          onclick: (ev) => confirmMerge(c, x, ev.target) }, tr('cpage.mergeInto')))));
      status.textContent = others.length ? tr('cpage.found', { n: others.length }) : tr('cpage.noOther');
    } catch (ex) {
      status.textContent = ex.message;
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'merge-title' },
    h('h3', { id: 'merge-title' }, tr('cpage.mergeTitle')),
    h('p', { class: 'small muted' }, tr('cpage.mergeHint')),
    form, status, results);
}

function confirmMerge(c, other, returnFocus) {
  const name = customerLabel(other);
  confirmDialog({
    title: tr('cpage.mergeConfirmTitle', { name, into: customerLabel(c) }),
    text: tr('cpage.mergeConfirmText', { name, into: customerLabel(c) }),
    confirm: tr('cpage.merge'),
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
  fill($('#merges'), list.length ? list.map((m) => mergeItem(c, m)) : h('li', { class: 'muted' }, tr('cpage.noMerges')));
}

function mergeItem(c, m) {
  const name = m.from_name || tr('customer.unknown', { id: m.from });
  const who = m.actor && m.actor.kind === 'agent' ? agentName(m.actor.id) : 'Parley';
  const moved = [identityList(m.identities), tr('cpage.movedTickets', { n: (m.ticket_ids || []).length })].filter(Boolean).join(', ');
  return h('li', { class: 'merge', dataset: { event: m.merge_event_id } },
    tn('cpage.mergedIn', { customer: h('a', { href: '#/customers/' + m.from }, name), agent: who, time: timeEl(m.at) }),
    h('span', { class: 'small muted' }, ` (${moved})`), ' ',
    m.undoable
      ? h('button', { type: 'button', class: 'undo-merge', 'aria-label': tr('cpage.undoLabel', { name }), onclick: (e) => confirmDialog({
        title: tr('cpage.undoTitle', { name }),
        text: tr('cpage.undoText', { name }),
        confirm: tr('cpage.undoConfirm'), returnFocus: e.target,
        onConfirm: async () => {
          await post(`/api/v1/customers/merges/${m.merge_event_id}/undo`);
          announce(tr('customer.unmerged', { name }));
          await showCustomerPage(c.id);
          focusAfterDialog('merges-title');
        } }) }, tr('cpage.undo'))
      : h('span', { class: 'small muted' }, tr('cpage.undone')));
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
    h('a', { href: '#/tickets/' + t.id }, channelBadge(t.channel), ' ', h('span', {}, `#${t.id} ${t.subject || tr('ticket.untitled')}`)),
    ' ', statusBadge(t.status), ' ', timeEl(t.last_message_at)))) : h('p', { class: 'muted' }, tr('customer.noTickets')));
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
