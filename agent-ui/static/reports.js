// reports.js is the managers' Reports page: the overview as cards and hand-drawn SVG
// charts, the per-agent, per-inbox and per-channel tables, the CSV exports and the list of
// tickets behind any number. Filters and the drill-down live in the URL
// (#/reports/from=…&to=…&metric=created&date=…), so every number and bar is a real link,
// Back works and a view can be bookmarked.

import { reasonsSection } from './reasonreport.js';
import { reasonName } from './reasons.js';
import { t as tr } from './i18n.js';
import { get, qs } from './api.js';
import { h, fill, $, labelled, safeURL } from './dom.js';
import { localZone, zoneSelect } from './time.js';
import { channels, channelName, channelOptions } from './channels.js';
import { state, inboxName, isManager } from './state.js';
import { ticketRow } from './tickets.js';

const SVG = 'http://www.w3.org/2000/svg';
const filterKeys = ['from', 'to', 'inbox', 'channel', 'tz'];
const drillKeys = ['metric', 'date', 'by_channel', 'by_inbox', 'agent_id', 'status', 'reason'];
const reloadAfter = 60000; // an overview older than this is read again when shown

let shownKey = '';  // the filters of the overview on screen
let shownAt = 0;
let seq = 0;
let drillSeq = 0;

// ---- small helpers ----

// isoDate formats a Date as YYYY-MM-DD in the browser's time zone.
export function isoDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

// duration formats seconds as "45 s", "12 min", "3 h 20 min" or "2 d 4 h"; null as "—".
export function duration(s) {
  if (s == null || !isFinite(s)) return '—';
  s = Math.round(s);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return m % 60 ? `${hrs} h ${m % 60} min` : `${hrs} h`;
  const d = Math.floor(hrs / 24);
  return hrs % 24 ? `${d} d ${hrs % 24} h` : `${d} d`;
}

// counted says "1 ticket", "2 tickets", "0 tickets".
function counted(n, noun) { return `${n} ${noun}${n === 1 ? '' : 's'}`; }

function percent(p) { return p == null ? '—' : `${Math.round(p * 10) / 10}%`; }
function average(a) { return a == null ? '—' : (Math.round(a * 100) / 100).toFixed(2); }

// svg creates an SVG element; like h, it never parses markup.
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    el.setAttribute(k, k === 'href' ? safeURL(v) : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// ---- filters and links ----

function defaults() {
  const to = new Date();
  const from = new Date(to.getFullYear(), to.getMonth(), to.getDate() - 29);
  return { from: isoDate(from), to: isoDate(to), inbox: '', channel: '', tz: localZone() };
}

function pick(p, keys) {
  const out = {};
  for (const k of keys) out[k] = p.get(k) || '';
  return out;
}

// link is the URL of this page with the filters f and the drill-down d.
function link(f, d = {}) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, ...d })) if (v !== '' && v != null) u.set(k, v);
  return '#/reports/' + u.toString();
}

// drillParams turns a drill-down into the query of GET /api/v1/reports/tickets: a row of
// the inbox or channel table narrows the page's own filter.
function drillParams(f, d) {
  return {
    ...f, inbox: d.by_inbox || f.inbox, channel: d.by_channel || f.channel,
    metric: d.metric, date: d.date, agent_id: d.agent_id, status: d.status, reason: d.reason,
  };
}

// ---- the page ----

// reportsLink shows the Reports link in the top bar to managers and admins only.
// reportsLink puts the link in the top bar: the reports for managers, an agent's own
// numbers ("My stats") for everyone else.
export function reportsLink(manager) {
  let a = $('#reports-link');
  if (!a) {
    a = h('a', { id: 'reports-link', href: '#/reports' });
    $('#settings-link').before(a);
  }
  a.textContent = tr(manager ? 'nav.reports' : 'nav.myStats');
  a.hidden = false;
}

// showReports renders the page for the hash argument arg (the filters and drill-down as a
// query string). The overview is read again only when the filters change or it is old, so
// following a number's link only loads its tickets.
export async function showReports(arg) {
  const p = new URLSearchParams(arg);
  const f = { ...defaults(), ...Object.fromEntries(Object.entries(pick(p, filterKeys)).filter(([, v]) => v)) };
  const d = pick(p, drillKeys);
  const key = JSON.stringify([state.me.id, f]); // another sign-in never sees these numbers
  if (!isManager()) {
    shownKey = '';
    await showMyStats(f);
    return;
  }
  if (key !== shownKey || !$('#reports') || Date.now() - shownAt > reloadAfter) {
    shownKey = key;
    shownAt = Date.now();
    renderFrame(f);
    await loadOverview(f);
  }
  await showDrill(f, d);
}

function renderFrame(f) {
  const form = h('form', { id: 'report-filters', class: 'report-filters' },
    labelled('r-from', 'From', h('input', { id: 'r-from', name: 'from', type: 'date', value: f.from, required: true })),
    labelled('r-to', 'To', h('input', { id: 'r-to', name: 'to', type: 'date', value: f.to, required: true })),
    labelled('r-inbox', 'Inbox', h('select', { id: 'r-inbox', name: 'inbox' }, h('option', { value: '' }, 'All inboxes'),
      state.inboxes.map((i) => h('option', { value: i.id, selected: String(i.id) === f.inbox }, i.name)))),
    labelled('r-channel', 'Channel', h('select', { id: 'r-channel', name: 'channel' }, channelOptions(f.channel))),
    labelled('r-tz', 'Time zone', zoneSelect('r-tz', 'tz', f.tz)),
    h('button', { type: 'submit', class: 'primary' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const nf = {};
    for (const k of filterKeys) nf[k] = form.elements.namedItem(k).value;
    shownKey = ''; // Show always reads the numbers again
    const target = link(nf);
    if (location.hash === target) showReports(target.slice('#/reports/'.length));
    else location.hash = target;
  });
  fill($('#settings-pane'), h('div', { id: 'reports', class: 'reports' },
    h('div', { class: 'report-head' },
      h('h2', {}, 'Reports'),
      h('div', { class: 'row exports' },
        h('a', { id: 'export-tickets', class: 'button', href: '/api/v1/reports/tickets.csv' + qs(f), download: '' }, 'Export tickets CSV'),
        h('a', { id: 'export-agents', class: 'button', href: '/api/v1/reports/agents.csv' + qs(f), download: '' }, 'Export agents CSV'))),
    form,
    h('p', { id: 'report-error', class: 'error', role: 'alert' }),
    h('div', { id: 'report-body' }, h('p', { class: 'muted' }, 'Loading…'))));
}

// showMyStats is an agent's own numbers over the range of f (GET /api/v1/reports/me).
async function showMyStats(f) {
  const form = h('form', { id: 'report-filters', class: 'report-filters' },
    labelled('r-from', 'From', h('input', { id: 'r-from', name: 'from', type: 'date', value: f.from, required: true })),
    labelled('r-to', 'To', h('input', { id: 'r-to', name: 'to', type: 'date', value: f.to, required: true })),
    labelled('r-tz', 'Time zone', zoneSelect('r-tz', 'tz', f.tz)),
    h('button', { type: 'submit', class: 'primary' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const nf = { ...f };
    for (const k of ['from', 'to', 'tz']) nf[k] = form.elements.namedItem(k).value;
    location.hash = link(nf);
  });
  const body = h('div', { id: 'report-body' }, h('p', { class: 'muted' }, 'Loading…'));
  fill($('#settings-pane'), h('div', { id: 'reports', class: 'reports' },
    h('div', { class: 'report-head' }, h('h2', {}, 'My stats')), form,
    h('p', { id: 'report-error', class: 'error', role: 'alert' }), body));
  let a;
  try {
    a = (await get('/api/v1/reports/me' + qs({ from: f.from, to: f.to, tz: f.tz }))).agent;
  } catch (e) {
    fill(body);
    $('#report-error').textContent = `Your numbers could not be loaded: ${e.message}`;
    return;
  }
  const card = (title, main, sub) => h('div', { class: 'stat' }, h('div', { class: 'stat-title' }, title),
    h('div', { class: 'stat-main' }, main), sub ? h('div', { class: 'stat-sub muted small' }, sub) : null);
  const fr = a.first_response_seconds;
  const res = a.resolution_seconds;
  fill(body, h('div', { id: 'my-stats', class: 'stats' },
    card('Replies', String(a.replies)),
    card('Tickets resolved', String(a.tickets_resolved)),
    card('First response (median)', duration(fr.median), `p90 ${duration(fr.p90)} · ${counted(fr.count, 'ticket')}`),
    card('Resolution (median)', duration(res.median), `p90 ${duration(res.p90)} · ${counted(res.count, 'ticket')}`),
    card('SLA met', percent(a.sla_met_percent), `${a.sla.met} met · ${a.sla.missed} missed`),
    card('CSAT', a.csat.average == null ? '—' : `${average(a.csat.average)} / 5`, counted(a.csat.count, 'answer'))),
  h('p', { class: 'muted small' }, 'Times are in business hours of each ticket\'s SLA policy. Managers see everyone\'s numbers under Reports.'));
}

async function loadOverview(f) {
  const my = ++seq;
  const q = qs(f);
  const [ov, ag, ib] = await Promise.allSettled([
    get('/api/v1/reports/overview' + q), get('/api/v1/reports/agents' + q), get('/api/v1/reports/inboxes' + q),
  ]);
  if (my !== seq || !$('#report-body')) return;
  if (ov.status === 'rejected') {
    shownKey = ''; // try again next time
    const e = ov.reason;
    fill($('#report-body'));
    $('#report-error').textContent = e.status === 403
      ? `Reports are for managers and admins; your role cannot see them (${e.message}).`
      : `The report could not be loaded: ${e.message}`;
    return;
  }
  const o = ov.value;
  fill($('#report-body'),
    cards(f, o),
    h('div', { class: 'charts' },
      chartCard('chart-daily', 'Tickets created and resolved per day', dailyChart(f, o),
        legend([['created', 'Created'], ['resolved', 'Resolved']])),
      chartCard('chart-channels', 'Volume by channel per day', channelChart(f, o),
        legend(channels.filter((c) => (o.by_channel || {})[c.id]).map((c) => ['ch-' + c.id, c.name]))),
      chartCard('chart-backlog', 'Backlog by status (now)', hbars([
        { label: 'Open', value: o.backlog.open, text: String(o.backlog.open), cls: 'open', href: link(f, { metric: 'backlog', status: 'open' }) },
        { label: 'Pending', value: o.backlog.pending, text: String(o.backlog.pending), cls: 'pending', href: link(f, { metric: 'backlog', status: 'pending' }) },
      ])),
      chartCard('chart-times', 'Response times (business hours)', hbars([
        timeBar('First response, median', o.first_response_seconds.median, 'fr', link(f, { metric: 'first_response' })),
        timeBar('First response, p90', o.first_response_seconds.p90, 'fr p90', link(f, { metric: 'first_response' })),
        timeBar('Resolution, median', o.resolution_seconds.median, 'res', link(f, { metric: 'resolved' })),
        timeBar('Resolution, p90', o.resolution_seconds.p90, 'res p90', link(f, { metric: 'resolved' })),
      ])),
      chartCard('chart-sla', 'SLA targets', hbars([
        { label: 'Met', value: o.sla.met, text: String(o.sla.met), cls: 'met', href: link(f, { metric: 'sla_met' }) },
        { label: 'Missed', value: o.sla.missed, text: String(o.sla.missed), cls: 'missed', href: link(f, { metric: 'sla_missed' }) },
      ])),
      chartCard('chart-csat', 'Customer satisfaction', hbars([
        { label: `Average of ${counted(o.csat.count, 'answer')}`, value: o.csat.average || 0, max: 5, text: o.csat.average == null ? '—' : `${average(o.csat.average)} / 5`, cls: 'csat', href: link(f, { metric: 'csat' }) },
      ]))),
    // The tickets behind a number show here, under the charts they are clicked in.
    h('section', { id: 'drill', class: 'card drill', hidden: true, 'aria-labelledby': 'drill-title' }),
    ag.status === 'fulfilled' ? table('agents-table', 'By agent', 'Agent', ag.value.agents || [],
      (r) => r.name || `Agent #${r.agent_id}`, (r) => ({ agent_id: r.agent_id }), f) : failed('agents', ag.reason),
    ib.status === 'fulfilled' ? [
      table('inboxes-table', 'By inbox', 'Inbox', ib.value.inboxes || [],
        (r) => `${r.name || inboxName(r.inbox_id)}${r.kind ? ` (${r.kind})` : ''}`, (r) => ({ by_inbox: r.inbox_id }), f),
      table('channels-table', 'By channel', 'Channel', ib.value.channels || [],
        (r) => channelName(r.channel), (r) => ({ by_channel: r.channel }), f),
    ] : failed('inboxes and channels', ib.reason));
  const reasons = await reasonsSection(f, link, duration);
  if (my === seq && $('#report-body')) $('#report-body').append(reasons);
}

function failed(what, e) {
  return h('p', { class: 'error' }, `The ${what} table could not be loaded: ${e.message}`);
}

function timeBar(label, s, cls, href) {
  return { label, value: s || 0, text: duration(s), cls, href };
}

// num is a number that links to its tickets.
function num(text, href, id) {
  return h('a', { class: 'num-link', href, id }, text);
}

function cards(f, o) {
  const fr = o.first_response_seconds;
  const res = o.resolution_seconds;
  const card = (title, main, ...sub) => h('div', { class: 'stat' }, h('div', { class: 'stat-title' }, title), h('div', { class: 'stat-main' }, main),
    sub.length ? h('div', { class: 'stat-sub muted small' }, sub) : null);
  return h('div', { id: 'report-cards', class: 'stats' },
    card('Tickets created', num(String(o.tickets_created), link(f, { metric: 'created' }), 'n-created')),
    card('Tickets resolved', num(String(o.tickets_resolved), link(f, { metric: 'resolved' }), 'n-resolved')),
    card('Backlog', num(String(o.backlog.open + o.backlog.pending), link(f, { metric: 'backlog' }), 'n-backlog'),
      num(`${o.backlog.open} open`, link(f, { metric: 'backlog', status: 'open' })), ' · ',
      num(`${o.backlog.pending} pending`, link(f, { metric: 'backlog', status: 'pending' }))),
    card('First response (median)', num(duration(fr.median), link(f, { metric: 'first_response' }), 'n-first-response'),
      `p90 ${duration(fr.p90)} · ${counted(fr.count, 'ticket')}`),
    card('Resolution (median)', num(duration(res.median), link(f, { metric: 'resolved' }), 'n-resolution'),
      `p90 ${duration(res.p90)} · ${counted(res.count, 'ticket')}`),
    card('SLA met', num(percent(o.sla_met_percent), link(f, { metric: 'sla_met' }), 'n-sla'),
      num(`${o.sla.met} met`, link(f, { metric: 'sla_met' })), ' · ',
      num(`${o.sla.missed} missed`, link(f, { metric: 'sla_missed' }))),
    card('CSAT', num(o.csat.average == null ? '—' : `${average(o.csat.average)} / 5`, link(f, { metric: 'csat' }), 'n-csat'),
      counted(o.csat.count, 'answer')));
}

function chartCard(id, title, chart, extra) {
  return h('figure', { class: 'card chart-card', id },
    h('figcaption', { class: 'chart-title' }, title), chart, extra || null);
}

function legend(items) {
  if (!items.length) return null;
  return h('ul', { class: 'legend' }, items.map(([cls, label]) => h('li', {}, h('span', { class: 'swatch ' + cls, 'aria-hidden': 'true' }), label)));
}

// ---- charts ----

const W = 640;
const H = 200;
const padL = 34;
const padB = 22;
const padT = 8;

// niceMax rounds the largest value up to 1, 2 or 5 times a power of ten for the axis.
function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return Math.max(1, m * p);
  return v;
}

function axis(max, days) {
  const plotH = H - padB - padT;
  const out = [];
  for (const v of [0, max / 2, max]) {
    const y = padT + plotH - (v / max) * plotH;
    out.push(svg('line', { x1: padL, x2: W, y1: y, y2: y, class: 'grid' }));
    out.push(svg('text', { x: padL - 4, y: y + 4, class: 'tick', 'text-anchor': 'end' }, String(Math.round(v * 10) / 10)));
  }
  // Label about seven days along the bottom so they never overlap.
  const step = Math.max(1, Math.ceil(days.length / 7));
  const bw = (W - padL) / Math.max(1, days.length);
  days.forEach((d, i) => {
    if (i % step) return;
    out.push(svg('text', { x: padL + i * bw + bw / 2, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, d.date.slice(5)));
  });
  return out;
}

// bar is one clickable bar: an SVG link around a rect, named for screen readers and with
// a tooltip.
function bar(x, y, w, hgt, cls, label, href, data) {
  const a = svg('a', { href, 'aria-label': label, class: 'bar-link', ...data },
    svg('title', {}, label),
    svg('rect', { x, y, width: Math.max(1, w), height: Math.max(0, hgt), class: 'bar ' + cls }));
  return a;
}

function chartSVG(label, ...children) {
  return roving(svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'group', 'aria-label': `${label}: arrow keys move between the bars` }, children));
}

// roving makes a chart one stop of the Tab order: its first bar takes focus, the arrow
// keys (and Home, End) move between its bars, Enter follows the focused one.
function roving(chart) {
  const links = () => [...chart.querySelectorAll('a.bar-link')];
  links().forEach((a, i) => a.setAttribute('tabindex', i === 0 ? '0' : '-1'));
  chart.addEventListener('keydown', (e) => {
    const all = links();
    const i = all.indexOf(document.activeElement);
    if (i < 0) return;
    const to = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: all.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const next = all[Math.max(0, Math.min(all.length - 1, to))];
    all.forEach((a) => a.setAttribute('tabindex', a === next ? '0' : '-1'));
    next.focus();
  });
  return chart;
}

// dataTable is a chart's numbers as a table, for those who read tables better than bars.
function dataTable(caption, head, rows) {
  return h('details', { class: 'chart-table' }, h('summary', {}, 'Show as a table'),
    h('table', { class: 'data' }, h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((v, j) => j === 0 ? h('th', { scope: 'row' }, v) : h('td', {}, v)))))));
}

function dailyChart(f, o) {
  const days = o.by_day || [];
  if (!days.length) return h('p', { class: 'muted' }, 'No days in the range.');
  const max = niceMax(Math.max(0, ...days.flatMap((d) => [d.created, d.resolved])));
  const plotH = H - padB - padT;
  const bw = (W - padL) / days.length;
  const gap = Math.min(2, bw * 0.1);
  const half = (bw - gap * 2) / 2;
  const bars = days.flatMap((d, i) => {
    const x = padL + i * bw + gap;
    return [['created', d.created, 'created on'], ['resolved', d.resolved, 'resolved on']].map(([m, v, verb], j) => {
      const hgt = (v / max) * plotH;
      return bar(x + j * half, padT + plotH - hgt, half, hgt, m, `${counted(v, 'ticket')} ${verb} ${d.date}`,
        link(f, { metric: m, date: d.date }), { 'data-metric': m, 'data-date': d.date, 'data-value': v });
    });
  });
  return [chartSVG('Tickets created and resolved per day', axis(max, days), bars),
    dataTable('Tickets created and resolved per day', ['Day', 'Created', 'Resolved'], days.map((d) => [d.date, d.created, d.resolved]))];
}

function channelChart(f, o) {
  const days = o.by_day || [];
  if (!days.length) return h('p', { class: 'muted' }, 'No days in the range.');
  const total = (d) => Object.values(d.by_channel || {}).reduce((a, b) => a + b, 0);
  const max = niceMax(Math.max(0, ...days.map(total)));
  const plotH = H - padB - padT;
  const bw = (W - padL) / days.length;
  const gap = Math.min(2, bw * 0.1);
  const bars = days.flatMap((d, i) => {
    let y = padT + plotH;
    return channels.filter((c) => (d.by_channel || {})[c.id] > 0).map((c) => {
      const v = d.by_channel[c.id];
      const hgt = (v / max) * plotH;
      y -= hgt;
      return bar(padL + i * bw + gap, y, bw - gap * 2, hgt, 'ch-' + c.id, `${counted(v, c.name + ' ticket')} created on ${d.date}`,
        link(f, { metric: 'created', date: d.date, by_channel: c.id }), { 'data-channel': c.id, 'data-date': d.date, 'data-value': v });
    });
  });
  const shown = channels.filter((c) => days.some((d) => (d.by_channel || {})[c.id] > 0));
  return [chartSVG('Volume by channel per day', axis(max, days), bars),
    dataTable('Volume by channel per day', ['Day', ...shown.map((c) => c.name)], days.map((d) => [d.date, ...shown.map((c) => (d.by_channel || {})[c.id] || 0)]))];
}

// hbars is a horizontal bar chart of a few labelled values, each bar and value a link.
function hbars(rows) {
  const rowH = 30;
  const labelW = 170;
  const height = rows.length * rowH + 4;
  const max = Math.max(1, ...rows.map((r) => r.max || r.value));
  // The value's column fits the longest duration, "15 h 33 min", at any width.
  const plotW = W - labelW - 130;
  return roving(svg('svg', { viewBox: `0 0 ${W} ${height}`, class: 'chart hchart', role: 'group', 'aria-label': rows.map((r) => `${r.label}: ${r.text}`).join(', ') },
    rows.map((r, i) => {
      const y = i * rowH + 4;
      const w = ((r.value || 0) / (r.max || max)) * plotW;
      // Named by its visible words, the label and the value, so that what a screen reader
      // says is what a speech user can say to follow it.
      return svg('a', { href: r.href, class: 'bar-link', 'data-label': r.label },
        svg('text', { x: 0, y: y + 17, class: 'hlabel' }, r.label),
        svg('rect', { x: labelW, y, width: plotW, height: rowH - 8, class: 'track' }),
        svg('rect', { x: labelW, y, width: Math.max(r.value ? 2 : 0, w), height: rowH - 8, class: 'bar ' + r.cls }),
        svg('text', { x: labelW + plotW + 8, y: y + 17, class: 'hvalue' }, r.text));
    })));
}

// ---- tables ----

const countCols = [
  { key: 'tickets_created', label: 'Created', metric: 'created' },
  // An agent's assigned tickets are its created ones; an inbox's have no list of their own.
  { key: 'assigned', label: 'Assigned', metric: 'created', agentOnly: true },
  { key: 'replies', label: 'Replies', metric: '' }, // messages, not tickets: no list behind it
  { key: 'tickets_resolved', label: 'Resolved', metric: 'resolved' },
];

function table(id, title, first, rows, name, narrow, f) {
  const cols = countCols.filter((c) => rows.some((r) => typeof r[c.key] === 'number'));
  const cell = (text, d) => h('td', { class: 'n' }, d ? num(text, link(f, d)) : text);
  return h('section', { class: 'card report-table', id, 'aria-labelledby': id + '-title' },
    h('h3', { id: id + '-title' }, title),
    rows.length === 0 ? h('p', { class: 'muted' }, 'Nothing in this range.') : h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, first), cols.map((c) => h('th', { scope: 'col', class: 'n' }, c.label)),
        ['First response median / p90', 'Resolution median / p90', 'SLA met', 'CSAT'].map((l) => h('th', { scope: 'col', class: 'n' }, l)))),
      h('tbody', {}, rows.map((r) => {
        const d = narrow(r);
        const fr = r.first_response_seconds || {};
        const res = r.resolution_seconds || {};
        const cs = r.csat || {};
        return h('tr', {},
          h('th', { scope: 'row' }, name(r)),
          cols.map((c) => cell(String(r[c.key] ?? 0), c.metric && (!c.agentOnly || d.agent_id) ? { metric: c.metric, ...d } : null)),
          cell(`${duration(fr.median)} / ${duration(fr.p90)}`, { metric: 'first_response', ...d }),
          cell(`${duration(res.median)} / ${duration(res.p90)}`, { metric: 'resolved', ...d }),
          cell(percent(r.sla_met_percent), { metric: 'sla_met', ...d }),
          cell(cs.average == null ? '—' : `${average(cs.average)} (${cs.count})`, { metric: 'csat', ...d }));
      })))));
}

// ---- the tickets behind a number ----

const metricNames = {
  created: 'Tickets created', resolved: 'Tickets resolved', backlog: 'Backlog',
  first_response: 'Tickets with a first response', sla_met: 'Tickets that met their SLA',
  sla_missed: 'Tickets that missed their SLA', csat: 'Tickets with a CSAT answer',
};

function drillTitle(d) {
  const parts = [metricNames[d.metric] || d.metric];
  if (d.status) parts.push(d.status);
  if (d.date) parts.push('on ' + d.date);
  if (d.by_channel) parts.push(channelName(d.by_channel));
  if (d.by_inbox) parts.push(inboxName(Number(d.by_inbox)));
  if (d.reason) parts.push(d.reason === 'none' ? tr('rr.none') : reasonName(Number(d.reason)));
  if (d.agent_id) {
    const a = state.agents.find((x) => String(x.id) === d.agent_id);
    parts.push('by ' + (a ? a.name : 'agent #' + d.agent_id));
  }
  return parts.join(' · ');
}

async function showDrill(f, d) {
  const box = $('#drill');
  if (!box) return;
  const my = ++drillSeq;
  if (!d.metric) {
    box.hidden = true;
    fill(box);
    return;
  }
  box.hidden = false;
  const list = h('ul', { class: 'tickets', id: 'drill-list' });
  const more = h('button', { type: 'button', class: 'more', id: 'drill-more', hidden: true }, 'Load more');
  const status = h('p', { class: 'muted small', id: 'drill-status', role: 'status' }, 'Loading tickets…');
  fill(box,
    h('div', { class: 'pane-head' }, h('h3', { id: 'drill-title' }, drillTitle(d)),
      h('a', { href: link(f), class: 'small' }, 'Close list')),
    status, list, more);
  box.scrollIntoView({ block: 'nearest' });
  let cursor = '';
  let n = 0;
  const page = async () => {
    more.disabled = true;
    try {
      const res = await get('/api/v1/reports/tickets' + qs({ ...drillParams(f, d), limit: 50, cursor }));
      if (my !== drillSeq) return;
      list.append(...res.tickets.map(ticketRow));
      n += res.tickets.length;
      cursor = res.next_cursor || '';
      more.hidden = !cursor;
      status.textContent = n === 0 ? 'No tickets.' : cursor ? `${n}+ tickets` : counted(n, 'ticket');
    } catch (e) {
      if (my === drillSeq) status.textContent = e.message;
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', page);
  await page();
}
