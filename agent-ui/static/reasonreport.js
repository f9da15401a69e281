// reasonreport.js is the Contact reasons part of the managers' reports: why customers
// wrote in the range, how fast each reason was answered and resolved, how many contacts
// each reason makes per 100 orders, and what support cost per ticket and per order, from
// the agents' handle time at the shop's hourly cost (docs/reports.md). Each count links
// to its tickets.

import { get, qs } from './api.js';
import { h, money } from './dom.js';
import { t as tr } from './i18n.js';

// reasonsSection loads the reasons report of filters f and returns its section; link(f, d)
// is the reports page with drill-down d, duration(s) shows seconds.
export async function reasonsSection(f, link, duration) {
  let rep;
  try {
    rep = await get('/api/v1/reports/reasons' + qs(f));
  } catch (e) {
    return h('p', { class: 'error' }, tr('rr.failed', { error: e.message }));
  }
  const cur = rep.currency;
  const cost = (v) => (v == null ? '—' : money(Math.round(v), cur));
  const rate = (v) => (v == null ? '—' : String(v));
  // Reasons nobody wrote about in the range are named in one line under the table.
  const rows = rep.reasons.filter((r) => r.contacts > 0);
  const quiet = rep.reasons.filter((r) => r.contacts === 0 && r.reason_id !== 0).map((r) => r.name);
  const drill = (r) => ({ metric: 'created', reason: r.reason_id === 0 ? 'none' : String(r.reason_id) });
  return h('section', { class: 'card report-table', id: 'reasons-table', 'aria-labelledby': 'reasons-table-title' },
    h('h3', { id: 'reasons-table-title' }, tr('rr.title')),
    h('p', { class: 'muted small', id: 'reasons-summary' }, tr('rr.summary', {
      contacts: rep.contacts, orders: rep.orders, rate: rate(rep.contact_rate), cost: money(rep.cost, cur),
      perOrder: cost(rep.cost_per_order), perTicket: cost(rep.cost_per_ticket),
      hourly: money(rep.hourly_cost, cur), offered: rep.self_service.offered || 0, lookups: rep.self_service.lookup || 0, used: rep.suggestions_used,
    })),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, [tr('rr.col.reason'), tr('rr.col.contacts'), tr('rr.col.auto'), tr('rr.col.rate'),
        tr('rr.col.firstResponse'), tr('rr.col.resolution'), tr('rr.col.handle'), tr('rr.col.cost'), tr('rr.col.perTicket'),
        tr('rr.col.perOrder')].map((c, i) => h('th', { scope: 'col', class: i ? 'n' : null }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', { 'data-reason': r.reason_id },
        h('th', { scope: 'row' }, r.reason_id === 0 ? tr('rr.none') : r.name),
        h('td', { class: 'n' }, h('a', { href: link(f, drill(r)) }, String(r.contacts))),
        h('td', { class: 'n' }, String(r.auto)),
        h('td', { class: 'n' }, rate(r.contact_rate)),
        h('td', { class: 'n' }, duration(r.first_response.median)),
        h('td', { class: 'n' }, duration(r.resolution.median)),
        h('td', { class: 'n' }, duration(r.handle_secs)),
        h('td', { class: 'n' }, money(r.cost, cur)),
        h('td', { class: 'n' }, cost(r.cost_per_ticket)),
        h('td', { class: 'n' }, cost(r.cost_per_order))))))),
    quiet.length ? h('p', { class: 'muted small', id: 'reasons-quiet' }, tr('rr.quiet', { names: quiet.join(', ') })) : null,
    h('p', {}, h('a', { id: 'export-reasons', class: 'button', href: '/api/v1/reports/reasons.csv' + qs(f), download: '' }, tr('rr.export'))));
}
