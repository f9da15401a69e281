// contacts.js is the Contacts page (#/customers): every customer the agent may see,
// searched by name or address and sorted by name, newest or last contacted, a page at a
// time, each with its addresses and ticket count, opening the customer's page.

import { get, qs } from './api.js';
import { h, fill, $, labelled } from './dom.js';
import { timeEl } from './time.js';
import { customerLabel, rememberCustomer } from './state.js';
import { t as tr, tn } from './i18n.js';

// identityLabel names a kind of identity (identity.<kind>); an unknown one keeps its id.
const identityKinds = ['email', 'phone', 'discord', 'chat', 'shop'];
export const identityLabel = (kind) => (identityKinds.includes(kind) ? tr('identity.' + kind) : kind);

// sorts are the page's orders; each one's name is the catalogue's (contacts.sort.<id>).
const sorts = ['newest', 'name', 'last_contacted'];
let contactsSeq = 0;
// The page remembers its search and order while the console is open, so Back from a
// customer returns to the same list.
const last = { q: '', sort: 'newest' };

// showContacts renders the contacts page into the wide pane.
export async function showContacts() {
  const pane = $('#settings-pane');
  const form = h('form', { id: 'contacts-form', class: 'report-filters', role: 'search' },
    h('div', { class: 'field grow' }, h('label', { for: 'contacts-q' }, tr('contacts.search')),
      h('input', { id: 'contacts-q', name: 'q', type: 'search', maxlength: 200, autocomplete: 'off', value: last.q,
        placeholder: tr('contacts.searchHint') })),
    labelled('contacts-sort', tr('contacts.sortBy'), h('select', { id: 'contacts-sort', name: 'sort' },
      sorts.map((v) => h('option', { value: v, selected: v === last.sort }, tr('contacts.sort.' + v))))),
    h('button', { type: 'submit', class: 'primary' }, tr('contacts.go')));
  fill(pane, h('div', { id: 'contacts-page', class: 'contacts-page' },
    h('h2', { id: 'contacts-title' }, tr('contacts.title')),
    form,
    h('p', { id: 'contacts-error', class: 'error', role: 'alert' }),
    h('ul', { id: 'contacts', class: 'contacts', 'aria-labelledby': 'contacts-title' }),
    h('p', { id: 'contacts-status', class: 'muted small', role: 'status' }),
    h('button', { type: 'button', id: 'contacts-more', class: 'more', hidden: true }, tr('list.loadMore'))));
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
  status.textContent = tr('app.loading');
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
      status.textContent = n === 0 ? (last.q ? tr('contacts.noMatch', { q: last.q }) : tr('contacts.none')) : tr(cursor ? 'contacts.shownMore' : 'contacts.shown', { n });
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
    h('span', { class: 'contact-count' }, tr('contacts.tickets', { n })),
    c.last_contact_at ? h('span', { class: 'contact-last small muted' }, tn('contacts.lastContact', { time: timeEl(c.last_contact_at) })) : null);
}

// identityList words a customer's addresses for a list: readable ones as they are,
// Discord users and chat visitors by what they are.
export function identityList(ids) {
  const words = (ids || []).map((i) => (i.kind === 'email' || i.kind === 'phone' ? i.address : identityLabel(i.kind)));
  return [...new Set(words)].join(' · ');
}
