// proofs.js offers the agent to link a chat visitor to the customer whose email the
// visitor proved in the widget's Track my order (an order found by its number plus that
// email): one click merges the visitor into that customer, or adds the email when no
// customer has it. The customer panel and the customer page both show it.

import { get, post } from './api.js';
import { h, fill, announce } from './dom.js';
import { t as tr, tn } from './i18n.js';

// proofsEl returns the offers for customer id, filled in once loaded; onLinked gets the
// customer that has the email after a link.
export function proofsEl(id, onLinked) {
  const el = h('div', { class: 'proofs', id: 'proofs' });
  load(id, el, onLinked);
  return el;
}

async function load(id, el, onLinked) {
  let res;
  try {
    res = await get(`/api/v1/customers/${id}/proofs`);
  } catch {
    return; // an offer that cannot load is no error worth showing on the customer
  }
  const open = (res.proofs || []).filter((p) => !p.linked);
  fill(el, open.map((p) => offer(id, p, el, onLinked)));
}

function offer(id, p, el, onLinked) {
  const err = h('span', { class: 'error small', role: 'alert' });
  const target = p.owner_id ? (p.owner_name || tr('proof.customer', { id: p.owner_id })) : '';
  const btn = h('button', { type: 'button', class: 'primary link-proof', dataset: { proof: p.id } },
    target ? tr('proof.linkTo', { name: target }) : tr('proof.add', { email: p.email }));
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    err.textContent = '';
    try {
      const res = await post(`/api/v1/customers/${id}/proofs/${p.id}/link`);
      announce(target ? tr('customer.visitorLinked', { name: target }) : tr('customer.identityAdded', { address: p.email }));
      fill(el, h('p', { class: 'ok-text', role: 'status' }, target ? tr('proof.linked', { name: target }) : tr('proof.added', { email: p.email })));
      if (onLinked) onLinked(res.customer);
    } catch (e) {
      err.textContent = e.message;
      btn.disabled = false;
    }
  });
  return h('div', { class: 'proof callout', dataset: { proof: p.id } },
    h('p', {}, tn(target ? 'proof.provedLink' : 'proof.proved', { email: h('strong', {}, p.email), order: p.order_number }), target ? ' ' : null),
    h('div', { class: 'row' }, btn, ' ', err));
}
