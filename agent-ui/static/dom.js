// dom.js builds elements without ever parsing HTML: every piece of user data becomes a
// text node or a checked attribute, so nothing a customer writes can run as script.

// h creates an element. attrs: class, text, on<event> handlers, dataset, value/checked/
// selected (set as properties after the children) and plain attributes. Children may be
// nodes, strings (added as text) or arrays of them; null and false are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  const props = {};
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'selected') props[k] = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'href' || k === 'src') el.setAttribute(k, safeURL(v));
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  Object.assign(el, props);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// safeURL returns u when it is a relative path, a fragment or an http(s) URL, and "#"
// otherwise, so that a "javascript:" link from a shop's data can never be clicked.
export function safeURL(u) {
  const s = String(u || '').trim();
  if (s.startsWith('#') || (s.startsWith('/') && !s.startsWith('//'))) return s;
  try {
    const url = new URL(s);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.href;
  } catch { /* not a URL */ }
  return '#';
}

// clear removes every child of el and appends the given children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

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

export function timeEl(t, fmt = ago) {
  return h('time', { datetime: t, title: when(t), class: 'ago' }, fmt(t));
}

const channelNames = {
  email: 'Email', sms: 'SMS', whatsapp: 'WhatsApp', voice: 'Voice',
  chat: 'Chat', discord: 'Discord', api: 'API',
};

export function channelName(c) { return channelNames[c] || c || '?'; }

export function channelBadge(c) {
  return h('span', { class: 'badge ch ch-' + (channelNames[c] ? c : 'other') }, channelName(c));
}

export function statusBadge(s) {
  return h('span', { class: 'badge st st-' + s }, s);
}

export function bytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(0) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

// money formats integer minor units in a currency, e.g. 1999 USD as $19.99.
export function money(minor, currency) {
  try {
    const f = new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'USD' });
    const digits = f.resolvedOptions().maximumFractionDigits;
    return f.format(minor / 10 ** digits);
  } catch {
    return (minor / 100).toFixed(2) + ' ' + (currency || '');
  }
}

// isTyping reports whether a key event comes from a place where letters are text.
export function isTyping(ev) {
  const t = ev.target;
  if (!t || !(t instanceof Element)) return false;
  if (t.isContentEditable) return true;
  const tag = t.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') return !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(t.type);
  return false;
}
