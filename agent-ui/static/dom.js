// dom.js builds elements without ever parsing HTML: every piece of user data becomes a
// text node or a checked attribute, so nothing a customer writes can run as script.

import { t } from './i18n.js';

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

// fill removes every child of el and appends the given children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// labelled is a control with its label above it, as the forms of the console lay them out.
export function labelled(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

export function statusBadge(s) {
  return h('span', { class: 'badge st st-' + s }, t('status.' + s));
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

// announce says text to screen readers through the page's polite live region: a new
// message in the open ticket, a new ticket in view, a reply sent, a status changed. The
// region is emptied first, so that the same words twice are said twice.
export function announce(text) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 50);
}
