// contacts.js is the Contacts page (#/customers): every customer the agent may see,
// searched by name or address and sorted by name, newest or last contacted, a page at a
// time, each with its addresses and ticket count, opening the customer's page.

import { get, qs } from './api.js';
import { h, fill, $, labelled } from './dom.js';
import { timeEl } from './time.js';
import { customerLabel, rememberCustomer } from './state.js';

export const identityLabel = { email: 'Email', phone: 'Phone', discord: 'Discord', chat: 'Chat visitor', shop: 'Shop account' };

const sorts = [['newest', 'Newest'], ['name', 'Name'], ['last_contacted', 'Last contacted']];
let contactsSeq = 0;
// The page remembers its search and order while the console is open, so Back from a
// customer returns to the same list.
const last = { q: '', sort: 'newest' };

// showContacts renders the contacts page into the wide pane.
export async function showContacts() {
  const pane = $('#settings-pane');
  const form = h('form', { id: 'contacts-form', class: 'report-filters', role: 'search' },
    h('div', { class: 'field grow' }, h('label', { for: 'contacts-q' }, 'Search contacts'),
      h('input', { id: 'contacts-q', name: 'q', type: 'search', maxlength: 200, autocomplete: 'off', value: last.q,
        placeholder: 'Name, email, phone' })),
    labelled('contacts-sort', 'Sort by', h('select', { id: 'contacts-sort', name: 'sort' },
      sorts.map(([v, label]) => h('option', { value: v, selected: v === last.sort }, label)))),
    h('button', { type: 'submit', class: 'primary' }, 'Search'));
  fill(pane, h('div', { id: 'contacts-page', class: 'contacts-page' },
    h('h2', { id: 'contacts-title' }, 'Contacts'),
    form,
    h('p', { id: 'contacts-error', class: 'error', role: 'alert' }),
    h('ul', { id: 'contacts', class: 'contacts', 'aria-labelledby': 'contacts-title' }),
    h('p', { id: 'contacts-status', class: 'muted small', role: 'status' }),
    h('button', { type: 'button', id: 'contacts-more', class: 'more', hidden: true }, 'Load more')));
  form.addEventListener('submit', (e) => { e.preventDefault(); loadContacts(form); });
  $('#contacts-sort').addEventListener('change', () => loadContacts(form));
  await loadContacts(form);
}

async function loadContacts(form) {
  const my = ++contactsSeq;
  last.q = form.elements.namedItem('q').value.trim();
  last.sort = form.elements.namedItem('sort').value;
  const list = $('#contacts');
  const status = $('#contacts-status');
  const more = $('#contacts-more');
  $('#contacts-error').textContent = '';
  fill(list);
  status.textContent = 'Loading…';
  let cursor = '';
  let n = 0;
  const page = async () => {
    more.disabled = true;
    try {
      const res = await get('/api/v1/customers' + qs({ q: last.q, sort: last.sort, limit: 50, cursor }));
      if (my !== contactsSeq) return;
      const items = res.customers || [];
      items.forEach(rememberCustomer);
      list.append(...items.map(contactItem));
      n += items.length;
      cursor = res.next_cursor || '';
      more.hidden = !cursor;
      status.textContent = n === 0 ? (last.q ? `No contacts match “${last.q}”.` : 'No contacts yet.') : `${n} contact${n === 1 ? '' : 's'} shown${cursor ? ', more below' : ''}.`;
    } catch (e) {
      if (my !== contactsSeq) return;
      status.textContent = '';
      $('#contacts-error').textContent = e.message;
    } finally {
      more.disabled = false;
    }
  };
  more.onclick = page;
  await page();
}

function contactItem(c) {
  const n = c.ticket_count || 0;
  return h('li', { class: 'contact', dataset: { id: c.id } },
    h('a', { href: '#/customers/' + c.id, class: 'contact-name' }, customerLabel(c)),
    h('span', { class: 'contact-ids' }, identityList(c.identities)),
    h('span', { class: 'contact-count' }, `${n} ticket${n === 1 ? '' : 's'}`),
    c.last_contact_at ? h('span', { class: 'contact-last small muted' }, 'last contact ', timeEl(c.last_contact_at)) : null);
}

// identityList words a customer's addresses for a list: readable ones as they are,
// Discord users and chat visitors by what they are.
export function identityList(ids) {
  const words = (ids || []).map((i) => (i.kind === 'email' || i.kind === 'phone' ? i.address : identityLabel[i.kind] || i.kind));
  return [...new Set(words)].join(' · ');
}
