// time.js shows times as the agent reads them: relative ("5 minutes ago") or in full, in
// the browser's language and time zone, and offers the time zones to choose from.

import { h } from './dom.js';

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

// ago formats a time as "5 minutes ago"; older than a week as a date.
export function ago(t) {
  const d = new Date(t);
  if (isNaN(d)) return '';
  const s = (d.getTime() - Date.now()) / 1000;
  const abs = Math.abs(s);
  if (abs < 45) return 'just now';
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  if (abs < 7 * 86400) return rtf.format(Math.round(s / 86400), 'day');
  return d.toLocaleDateString();
}

export function when(t) {
  const d = new Date(t);
  return isNaN(d) ? '' : d.toLocaleString();
}

// timeEl is a <time> showing t as fmt formats it, with the full time as its tooltip. The
// list refreshes the ones formatted with ago (class "ago") every 30 seconds.
export function timeEl(t, fmt = ago) {
  return h('time', { datetime: t, title: when(t), class: 'ago' }, fmt(t));
}

// localZone is the browser's IANA time zone, for reports and dates the agent picks.
export function localZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { return 'UTC'; }
}

// zoneSelect is a select of the IANA time zones the browser knows, with value chosen.
export function zoneSelect(id, name, value) {
  let zones = [];
  try { zones = Intl.supportedValuesOf('timeZone'); } catch { /* old browser: UTC and the value only */ }
  const all = [...new Set(['UTC', value, ...zones].filter(Boolean))];
  return h('select', { id, name }, all.map((z) => h('option', { value: z, selected: z === value }, z)));
}
