// i18n.js is the console's message catalogue: every text the console shows or says
// (labels, buttons, headings, empty states, the errors it writes itself, what it
// announces to screen readers) comes from messages/<language>.js by key, with {name}
// placeholders and plural forms (key.one / key.other, chosen by {n}). index.html names the
// keys of its own texts in data-i18n attributes, which translate() fills in at start.
// The console ships in English; a new language is one more file with the same keys
// (TestConsoleCatalogue checks them), listed in catalogues below. docs/console.md
// ("Languages") tells how, and how the pseudo-locale shows a text that is not from here.

import en from './messages/en.js';

const catalogues = { en };

// pseudo is the standard pseudo-locale tag: English with every text wrapped in [! and !],
// so that a text that does not come from the catalogue stands out on screen.
const pseudo = 'qps-ploc';

let lang = 'en';
let current = en;
let plural = new Intl.PluralRules('en');

// setLanguage picks the catalogue of tag (a BCP 47 tag, e.g. "de-AT") when the console
// has one, else English; "qps-ploc" is English wrapped in [! !].
export function setLanguage(tag) {
  const want = String(tag || '').toLowerCase();
  const base = want.split('-')[0];
  lang = want === pseudo ? pseudo : catalogues[base] ? base : 'en';
  current = lang === pseudo ? en : catalogues[lang];
  plural = new Intl.PluralRules(lang === pseudo ? 'en' : lang);
  document.documentElement.lang = lang === pseudo ? 'en' : lang;
}

// language is the tag of the catalogue in use: "en", or "qps-ploc".
export function language() {
  return lang;
}

// locale is the tag that dates and numbers are formatted in: the browser's own (en-GB
// keeps its day-month order) when it is of the console's language, else the language.
export function locale() {
  const base = lang === pseudo ? 'en' : lang;
  const browser = navigator.language || '';
  return browser.toLowerCase().split('-')[0] === base ? browser : base;
}

// chosen is the language the agent asked for: ?lang= in the console's address, else the
// one kept in localStorage under parley.lang, else the first of the browser's languages
// that the console has, else English.
function chosen() {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked) return asked;
  try {
    const kept = localStorage.getItem('parley.lang');
    if (kept) return kept;
  } catch { /* storage off */ }
  const has = (l) => catalogues[String(l).toLowerCase().split('-')[0]];
  return (navigator.languages || [navigator.language]).find(has) || 'en';
}

// The language is set before any module draws anything: modules import this one first.
setLanguage(chosen());

// t returns the text of key with vars filled in. A key with plural forms takes the one
// {n} asks for; a key missing from the language falls back to English, and an unknown
// key shows as itself, so that a mistake is seen rather than silent.
export function t(key, vars = {}) {
  let s = current[key] ?? en[key];
  if (s === undefined && 'n' in vars) {
    const form = `${key}.${plural.select(Number(vars.n))}`;
    s = current[form] ?? en[form] ?? en[`${key}.other`];
  }
  if (s === undefined) return key;
  s = s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  return lang === pseudo ? `[!${s}!]` : s;
}

// tn is t for a text with elements in it ("press {key} to open"): vars that are DOM
// nodes take the place of their placeholder, and the result is a list of strings and
// nodes for h() or fill().
export function tn(key, vars = {}) {
  const nodes = {};
  const text = {};
  for (const [k, v] of Object.entries(vars)) {
    if (v instanceof Node) nodes[k] = v; else text[k] = v;
  }
  return t(key, text).split(/(\{\w+\})/).filter(Boolean)
    .map((part) => (/^\{\w+\}$/.test(part) && nodes[part.slice(1, -1)]) || part);
}

// translate fills in the texts index.html names by key under root: data-i18n for the
// text of an element (its children marked data-i18n-var="name" go where {name} is), and
// data-i18n-placeholder, data-i18n-title and data-i18n-aria-label for those attributes.
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    const vars = {};
    for (const v of el.querySelectorAll('[data-i18n-var]')) vars[v.dataset.i18nVar] = v;
    el.replaceChildren(...tn(el.dataset.i18n, vars));
  }
  for (const attr of ['placeholder', 'title', 'aria-label']) {
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`)));
    }
  }
}
