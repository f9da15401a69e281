// time.js shows times as the agent reads them: relative ("5 minutes ago") or in full, in
// the browser's language and time zone, and offers the time zones to choose from.

import { h } from './dom.js';
import { t as tr, locale } from './i18n.js';

const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });

// ago is the console's one way of showing a time: relative under a day ("5 minutes
// ago", "in 3 hours"), then the date and time without seconds (stamp).
export function ago(t) {
  const d = new Date(t);
  if (isNaN(d)) return '';
  const s = (d.getTime() - Date.now()) / 1000;
  const abs = Math.abs(s);
  if (abs < 45) return tr('time.justNow');
  if (abs < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return stamp(t);
}

const sameYear = new Intl.DateTimeFormat(locale(), { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const otherYear = new Intl.DateTimeFormat(locale(), { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const full = new Intl.DateTimeFormat(locale(), { dateStyle: 'full', timeStyle: 'long' });

// stamp formats a time as a date and a time without seconds ("Dec 5, 2:03 PM"), with the
// year when it is not this one: for times inside sentences.
export function stamp(t) {
  const d = new Date(t);
  if (isNaN(d)) return '';
  return (d.getFullYear() === new Date().getFullYear() ? sameYear : otherYear).format(d);
}

// when is the full time, to the second and with the zone: the tooltip of every time.
export function when(t) {
  const d = new Date(t);
  return isNaN(d) ? '' : full.format(d);
}

// timeEl is a <time> showing t as ago formats it, with the full time as its tooltip.
// The console refreshes them (class "ago") every 30 seconds.
export function timeEl(t) {
  return h('time', { datetime: t, title: when(t), class: 'ago' }, ago(t));
}

// localZone is the browser's IANA time zone, for reports and dates the agent picks.
export function localZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { return 'UTC'; }
}

// zoneSelect is a select of the IANA time zones the browser knows, with value chosen.
// A zone shows by its name (Europe/Berlin), the same in every language: not translated.
export function zoneSelect(id, name, value) {
  let zones = [];
  try { zones = Intl.supportedValuesOf('timeZone'); } catch { /* old browser: UTC and the value only */ }
  const all = [...new Set(['UTC', value, ...zones].filter(Boolean))];
  return h('select', { id, name, translate: 'no' }, all.map((z) => h('option', { value: z, selected: z === value }, z)));
}
