// reports.js is the managers' Reports page: the overview as cards and hand-drawn SVG
// charts, the per-agent, per-inbox and per-channel tables, the CSV exports and the list of
// tickets behind any number. Filters and the drill-down live in the URL
// (#/reports/from=…&to=…&metric=created&date=…), so every number and bar is a real link,
// Back works and a view can be bookmarked.

import { reasonsSection } from './reasonreport.js';
import { reasonName } from './reasons.js';
import { t as tr, tn } from './i18n.js';
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
  if (s < 60) return tr('dur.seconds', { s });
  const m = Math.round(s / 60);
  if (m < 60) return tr('dur.minutes', { m });
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return m % 60 ? tr('dur.hoursMinutes', { h: hrs, m: m % 60 }) : tr('dur.hours', { h: hrs });
  const d = Math.floor(hrs / 24);
  return hrs % 24 ? tr('dur.daysHours', { d, h: hrs % 24 }) : tr('dur.days', { d });
}

// tickets says "1 ticket", "2 tickets", "0 tickets"; answers the same of CSAT answers.
const tickets = (n) => tr('reports.tickets', { n });
const answers = (n) => tr('reports.answers', { n });

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
    labelled('r-from', tr('reports.from'), h('input', { id: 'r-from', name: 'from', type: 'date', value: f.from, required: true })),
    labelled('r-to', tr('reports.to'), h('input', { id: 'r-to', name: 'to', type: 'date', value: f.to, required: true })),
    labelled('r-inbox', tr('filters.inbox'), h('select', { id: 'r-inbox', name: 'inbox' }, h('option', { value: '' }, tr('filters.allInboxes')),
      state.inboxes.map((i) => h('option', { value: i.id, selected: String(i.id) === f.inbox }, i.name)))),
    labelled('r-channel', tr('filters.channel'), h('select', { id: 'r-channel', name: 'channel' }, channelOptions(f.channel))),
    labelled('r-tz', tr('reports.timeZone'), zoneSelect('r-tz', 'tz', f.tz)),
    h('button', { type: 'submit', class: 'primary' }, tr('reports.show')));
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
      h('h2', {}, tr('nav.reports')),
      h('div', { class: 'row exports' },
        h('a', { id: 'export-tickets', class: 'button', href: '/api/v1/reports/tickets.csv' + qs(f), download: '' }, tr('reports.exportTickets')),
        h('a', { id: 'export-agents', class: 'button', href: '/api/v1/reports/agents.csv' + qs(f), download: '' }, tr('reports.exportAgents')))),
    form,
    h('p', { id: 'report-error', class: 'error', role: 'alert' }),
    h('div', { id: 'report-body' }, h('p', { class: 'muted' }, tr('app.loading')))));
}

// showMyStats is an agent's own numbers over the range of f (GET /api/v1/reports/me).
async function showMyStats(f) {
  const form = h('form', { id: 'report-filters', class: 'report-filters' },
    labelled('r-from', tr('reports.from'), h('input', { id: 'r-from', name: 'from', type: 'date', value: f.from, required: true })),
    labelled('r-to', tr('reports.to'), h('input', { id: 'r-to', name: 'to', type: 'date', value: f.to, required: true })),
    labelled('r-tz', tr('reports.timeZone'), zoneSelect('r-tz', 'tz', f.tz)),
    h('button', { type: 'submit', class: 'primary' }, tr('reports.show')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const nf = { ...f };
    for (const k of ['from', 'to', 'tz']) nf[k] = form.elements.namedItem(k).value;
    location.hash = link(nf);
  });
  const body = h('div', { id: 'report-body' }, h('p', { class: 'muted' }, tr('app.loading')));
  fill($('#settings-pane'), h('div', { id: 'reports', class: 'reports' },
    h('div', { class: 'report-head' }, h('h2', {}, tr('nav.myStats'))), form,
    h('p', { id: 'report-error', class: 'error', role: 'alert' }), body));
  let a;
  try {
    a = (await get('/api/v1/reports/me' + qs({ from: f.from, to: f.to, tz: f.tz }))).agent;
  } catch (e) {
    fill(body);
    $('#report-error').textContent = tr('reports.mineFailed', { error: e.message });
    return;
  }
  const card = (title, main, sub) => h('div', { class: 'stat' }, h('div', { class: 'stat-title' }, title),
    h('div', { class: 'stat-main' }, main), sub ? h('div', { class: 'stat-sub muted small' }, sub) : null);
  const fr = a.first_response_seconds;
  const res = a.resolution_seconds;
  fill(body, h('div', { id: 'my-stats', class: 'stats' },
    card(tr('reports.replies'), String(a.replies)),
    card(tr('reports.ticketsResolved'), String(a.tickets_resolved)),
    card(tr('reports.firstResponse'), duration(fr.median), tr('reports.p90', { time: duration(fr.p90), tickets: tickets(fr.count) })),
    card(tr('reports.resolution'), duration(res.median), tr('reports.p90', { time: duration(res.p90), tickets: tickets(res.count) })),
    card(tr('reports.slaMet'), percent(a.sla_met_percent), tr('reports.metMissed', { met: tr('reports.met', { n: a.sla.met }), missed: tr('reports.missed', { n: a.sla.missed }) })),
    card(tr('reports.csat'), a.csat.average == null ? '—' : `${average(a.csat.average)} / 5`, answers(a.csat.count))),
  h('p', { class: 'muted small' }, tr('reports.mineHint', { reports: tr('nav.reports') })));
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
      ? tr('reports.forbidden', { error: e.message })
      : tr('reports.failed', { error: e.message });
    return;
  }
  const o = ov.value;
  fill($('#report-body'),
    cards(f, o),
    h('div', { class: 'charts' },
      chartCard('chart-daily', tr('reports.chart.daily'), dailyChart(f, o),
        legend([['created', tr('reports.created')], ['resolved', tr('reports.resolved')]])),
      chartCard('chart-channels', tr('reports.chart.channels'), channelChart(f, o),
        legend(channels.filter((c) => (o.by_channel || {})[c.id]).map((c) => ['ch-' + c.id, c.name]))),
      chartCard('chart-backlog', tr('reports.chart.backlog'), hbars([
        { label: tr('status.open'), value: o.backlog.open, text: String(o.backlog.open), cls: 'open', href: link(f, { metric: 'backlog', status: 'open' }) },
        { label: tr('status.pending'), value: o.backlog.pending, text: String(o.backlog.pending), cls: 'pending', href: link(f, { metric: 'backlog', status: 'pending' }) },
      ])),
      chartCard('chart-times', tr('reports.chart.times'), hbars([
        timeBar(tr('reports.bar.firstMedian'), o.first_response_seconds.median, 'fr', link(f, { metric: 'first_response' })),
        timeBar(tr('reports.bar.firstP90'), o.first_response_seconds.p90, 'fr p90', link(f, { metric: 'first_response' })),
        timeBar(tr('reports.bar.resolutionMedian'), o.resolution_seconds.median, 'res', link(f, { metric: 'resolved' })),
        timeBar(tr('reports.bar.resolutionP90'), o.resolution_seconds.p90, 'res p90', link(f, { metric: 'resolved' })),
      ])),
      chartCard('chart-sla', tr('reports.chart.sla'), hbars([
        { label: tr('reports.bar.met'), value: o.sla.met, text: String(o.sla.met), cls: 'met', href: link(f, { metric: 'sla_met' }) },
        { label: tr('reports.bar.missed'), value: o.sla.missed, text: String(o.sla.missed), cls: 'missed', href: link(f, { metric: 'sla_missed' }) },
      ])),
      chartCard('chart-csat', tr('reports.chart.csat'), hbars([
        { label: tr('reports.bar.csat', { n: o.csat.count }), value: o.csat.average || 0, max: 5, text: o.csat.average == null ? '—' : `${average(o.csat.average)} / 5`, cls: 'csat', href: link(f, { metric: 'csat' }) },
      ]))),
    // The tickets behind a number show here, under the charts they are clicked in.
    h('section', { id: 'drill', class: 'card drill', hidden: true, 'aria-labelledby': 'drill-title' }),
    ag.status === 'fulfilled' ? table('agents-table', tr('reports.byAgentTitle'), tr('reports.agent'), ag.value.agents || [],
      (r) => r.name || tr('agent.unknown', { id: r.agent_id }), (r) => ({ agent_id: r.agent_id }), f) : failed('reports.agentsFailed', ag.reason),
    ib.status === 'fulfilled' ? [
      table('inboxes-table', tr('reports.byInboxTitle'), tr('filters.inbox'), ib.value.inboxes || [],
        (r) => (r.kind ? tr('settings.inboxCheck', { name: r.name || inboxName(r.inbox_id), kind: r.kind }) : r.name || inboxName(r.inbox_id)),
        (r) => ({ by_inbox: r.inbox_id }), f),
      table('channels-table', tr('reports.byChannelTitle'), tr('filters.channel'), ib.value.channels || [],
        (r) => channelName(r.channel), (r) => ({ by_channel: r.channel }), f),
    ] : failed('reports.inboxesFailed', ib.reason));
  const reasons = await reasonsSection(f, link, duration);
  if (my === seq && $('#report-body')) $('#report-body').append(reasons);
}

// failed says which table could not be loaded (key) and why.
function failed(key, e) {
  return h('p', { class: 'error' }, tr(key, { error: e.message }));
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
    card(tr('reports.ticketsCreated'), num(String(o.tickets_created), link(f, { metric: 'created' }), 'n-created')),
    card(tr('reports.ticketsResolved'), num(String(o.tickets_resolved), link(f, { metric: 'resolved' }), 'n-resolved')),
    card(tr('reports.backlog'), num(String(o.backlog.open + o.backlog.pending), link(f, { metric: 'backlog' }), 'n-backlog'),
      tn('reports.openPending', {
        open: num(tr('reports.open', { n: o.backlog.open }), link(f, { metric: 'backlog', status: 'open' })),
        pending: num(tr('reports.pending', { n: o.backlog.pending }), link(f, { metric: 'backlog', status: 'pending' })) })),
    card(tr('reports.firstResponse'), num(duration(fr.median), link(f, { metric: 'first_response' }), 'n-first-response'),
      tr('reports.p90', { time: duration(fr.p90), tickets: tickets(fr.count) })),
    card(tr('reports.resolution'), num(duration(res.median), link(f, { metric: 'resolved' }), 'n-resolution'),
      tr('reports.p90', { time: duration(res.p90), tickets: tickets(res.count) })),
    card(tr('reports.slaMet'), num(percent(o.sla_met_percent), link(f, { metric: 'sla_met' }), 'n-sla'),
      tn('reports.metMissed', {
        met: num(tr('reports.met', { n: o.sla.met }), link(f, { metric: 'sla_met' })),
        missed: num(tr('reports.missed', { n: o.sla.missed }), link(f, { metric: 'sla_missed' })) })),
    card(tr('reports.csat'), num(o.csat.average == null ? '—' : `${average(o.csat.average)} / 5`, link(f, { metric: 'csat' }), 'n-csat'),
      answers(o.csat.count)));
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
  return roving(svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'group', 'aria-label': tr('reports.chartKeys', { chart: label }) }, children));
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
  return h('details', { class: 'chart-table' }, h('summary', {}, tr('reports.asTable')),
    h('table', { class: 'data' }, h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((v, j) => j === 0 ? h('th', { scope: 'row' }, v) : h('td', {}, v)))))));
}

function dailyChart(f, o) {
  const days = o.by_day || [];
  if (!days.length) return h('p', { class: 'muted' }, tr('reports.noDays'));
  const max = niceMax(Math.max(0, ...days.flatMap((d) => [d.created, d.resolved])));
  const plotH = H - padB - padT;
  const bw = (W - padL) / days.length;
  const gap = Math.min(2, bw * 0.1);
  const half = (bw - gap * 2) / 2;
  const bars = days.flatMap((d, i) => {
    const x = padL + i * bw + gap;
    return [['created', d.created, 'reports.bar.createdOn'], ['resolved', d.resolved, 'reports.bar.resolvedOn']].map(([m, v, key], j) => {
      const hgt = (v / max) * plotH;
      return bar(x + j * half, padT + plotH - hgt, half, hgt, m, tr(key, { n: v, date: d.date }),
        link(f, { metric: m, date: d.date }), { 'data-metric': m, 'data-date': d.date, 'data-value': v });
    });
  });
  return [chartSVG(tr('reports.chart.daily'), axis(max, days), bars),
    dataTable(tr('reports.chart.daily'), [tr('reports.day'), tr('reports.created'), tr('reports.resolved')], days.map((d) => [d.date, d.created, d.resolved]))];
}

function channelChart(f, o) {
  const days = o.by_day || [];
  if (!days.length) return h('p', { class: 'muted' }, tr('reports.noDays'));
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
      return bar(padL + i * bw + gap, y, bw - gap * 2, hgt, 'ch-' + c.id, tr('reports.bar.channelOn', { n: v, channel: c.name, date: d.date }),
        link(f, { metric: 'created', date: d.date, by_channel: c.id }), { 'data-channel': c.id, 'data-date': d.date, 'data-value': v });
    });
  });
  const shown = channels.filter((c) => days.some((d) => (d.by_channel || {})[c.id] > 0));
  return [chartSVG(tr('reports.chart.channels'), axis(max, days), bars),
    dataTable(tr('reports.chart.channels'), [tr('reports.day'), ...shown.map((c) => c.name)], days.map((d) => [d.date, ...shown.map((c) => (d.by_channel || {})[c.id] || 0)]))];
}

// hbars is a horizontal bar chart of a few labelled values, each bar and value a link.
function hbars(rows) {
  const rowH = 30;
  const labelW = 170;
  const height = rows.length * rowH + 4;
  const max = Math.max(1, ...rows.map((r) => r.max || r.value));
  // The value's column fits the longest duration, "15 h 33 min", at any width.
  const plotW = W - labelW - 130;
  return roving(svg('svg', { viewBox: `0 0 ${W} ${height}`, class: 'chart hchart', role: 'group', 'aria-label': rows.map((r) => tr('reports.barValue', { label: r.label, value: r.text })).join(', ') },
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

// countCols are the count columns of the tables; label is the heading's key.
const countCols = [
  { key: 'tickets_created', label: 'reports.created', metric: 'created' },
  // An agent's assigned tickets are its created ones; an inbox's have no list of their own.
  { key: 'assigned', label: 'reports.assigned', metric: 'created', agentOnly: true },
  { key: 'replies', label: 'reports.replies', metric: '' }, // messages, not tickets: no list behind it
  { key: 'tickets_resolved', label: 'reports.resolved', metric: 'resolved' },
];

function table(id, title, first, rows, name, narrow, f) {
  const cols = countCols.filter((c) => rows.some((r) => typeof r[c.key] === 'number'));
  const cell = (text, d) => h('td', { class: 'n' }, d ? num(text, link(f, d)) : text);
  return h('section', { class: 'card report-table', id, 'aria-labelledby': id + '-title' },
    h('h3', { id: id + '-title' }, title),
    rows.length === 0 ? h('p', { class: 'muted' }, tr('reports.nothing')) : h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, first), cols.map((c) => h('th', { scope: 'col', class: 'n' }, tr(c.label))),
        [tr('reports.col.firstResponse'), tr('reports.col.resolution'), tr('reports.slaMet'), tr('reports.csat')].map((l) => h('th', { scope: 'col', class: 'n' }, l)))),
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

// metrics are the numbers whose tickets can be listed; each one's title is the
// catalogue's (reports.metric.<metric>).
const metrics = ['created', 'resolved', 'backlog', 'first_response', 'sla_met', 'sla_missed', 'csat'];
const statuses = ['open', 'pending', 'resolved', 'closed'];

function drillTitle(d) {
  const parts = [metrics.includes(d.metric) ? tr('reports.metric.' + d.metric) : d.metric];
  if (d.status) parts.push(statuses.includes(d.status) ? tr('status.' + d.status) : d.status);
  if (d.date) parts.push(tr('reports.onDate', { date: d.date }));
  if (d.by_channel) parts.push(channelName(d.by_channel));
  if (d.by_inbox) parts.push(inboxName(Number(d.by_inbox)));
  if (d.reason) parts.push(d.reason === 'none' ? tr('rr.none') : reasonName(Number(d.reason)));
  if (d.agent_id) {
    const a = state.agents.find((x) => String(x.id) === d.agent_id);
    parts.push(tr('reports.byAgent', { name: a ? a.name : tr('agent.unknown', { id: d.agent_id }) }));
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
  const more = h('button', { type: 'button', class: 'more', id: 'drill-more', hidden: true }, tr('list.loadMore'));
  const status = h('p', { class: 'muted small', id: 'drill-status', role: 'status' }, tr('reports.loadingTickets'));
  fill(box,
    h('div', { class: 'pane-head' }, h('h3', { id: 'drill-title' }, drillTitle(d)),
      h('a', { href: link(f), class: 'small' }, tr('reports.closeList'))),
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
      status.textContent = n === 0 ? tr('list.noTickets') : cursor ? tr('reports.ticketsMore', { n }) : tickets(n);
    } catch (e) {
      if (my === drillSeq) status.textContent = e.message;
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', page);
  await page();
}
