// i18n.js is the console's message catalogue: what the console says to screen readers
// (every announce) comes from messages/<language>.js by key, with {name} placeholders
// and plural forms (key.one / key.other, chosen by {n}). The console ships in English;
// a new language is one more file with the same keys (TestConsoleCatalogue checks them).

import en from './messages/en.js';

const catalogues = { en };
const plural = new Intl.PluralRules('en');
let current = en;

// setLanguage picks the catalogue of lang (a BCP 47 tag) when the console has one, else
// English.
export function setLanguage(lang) {
  const base = String(lang || '').toLowerCase().split('-')[0];
  current = catalogues[base] || en;
}

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
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}
