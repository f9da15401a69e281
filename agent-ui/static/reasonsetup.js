// reasonsetup.js is the managers' Contact reasons page: the shop's reasons (add, rename,
// reorder by position, map tags, archive), the settings (confidence threshold, a reason
// required to resolve, an agent's hourly cost, the widget's Track my order offer), and
// the classifier: its version, what it learned from, its quality per reason, Train now,
// and seeding reasons from tags.

import { get, post, patch } from './api.js';
import { h, fill, $, announce } from './dom.js';
import { timeEl } from './time.js';
import { state } from './state.js';
import { settingsTabs, openTab, fail, ok, field } from './settings.js';
import { loadReasons } from './reasons.js';
import { t as tr } from './i18n.js';

export const isReasonsPage = (tab) => tab === 'reasons';

// showReasonSettings draws the page. Returns false when the role may not see it.
export async function showReasonSettings(tab) {
  const cur = settingsTabs.find((t) => t.id === tab);
  if (!cur || !cur.allowed()) return false;
  await openTab(cur.id, reasonsPage);
  return true;
}

const tagList = (s) => s.split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
const pct = (x) => (x == null ? '' : Math.round(x * 100) + '%');

async function reasonsPage() {
  const [{ reasons }, set, { model }] = await Promise.all([
    get('/api/v1/reasons'), get('/api/v1/settings/reasons'), get('/api/v1/reasons/model')]);
  state.reasons = reasons;
  state.reasonSettings = set;
  const rows = reasons.map((r) => {
    const form = h('form', { class: 'reason-row', 'aria-label': tr('reasons.row', { name: r.name }) },
      h('input', { name: 'name', value: r.name, maxlength: 80, 'aria-label': tr('reasons.name') }),
      h('input', { name: 'tags', value: (r.tags || []).join(', '), 'aria-label': tr('reasons.tagsOf', { name: r.name }),
        placeholder: tr('reasons.tagsHint') }),
      h('input', { name: 'position', type: 'number', min: 1, max: 100, value: r.position, 'aria-label': tr('reasons.positionOf', { name: r.name }) }),
      h('button', { type: 'submit' }, tr('app.save')),
      h('button', { type: 'button', onclick: async () => {
        try {
          await patch('/api/v1/reasons/' + r.id, { archived: !r.archived });
          ok();
          announce(tr(r.archived ? 'reasons.restored' : 'reasons.archived', { name: r.name }));
          await reasonsPage();
        } catch (err) { fail(err); }
      } }, tr(r.archived ? 'reasons.restore' : 'reasons.archive')),
      r.archived ? h('span', { class: 'muted small' }, tr('reasons.isArchived')) : null);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await patch('/api/v1/reasons/' + r.id, { name: field(form, 'name').value, tags: tagList(field(form, 'tags').value),
          position: Number(field(form, 'position').value) });
        ok();
        announce(tr('reasons.saved', { name: field(form, 'name').value }));
        await reasonsPage();
      } catch (err) { fail(err); }
    });
    return h('li', { class: r.archived ? 'archived' : '' }, form);
  });
  const add = h('form', { id: 'new-reason', class: 'row' },
    h('label', { for: 'nr-name' }, tr('reasons.new')),
    h('input', { id: 'nr-name', name: 'name', maxlength: 80, required: true }),
    h('button', { type: 'submit' }, tr('reasons.add')));
  add.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await post('/api/v1/reasons', { name: field(add, 'name').value });
      ok();
      announce(tr('reasons.added', { name: r.name }));
      await reasonsPage();
      $('#nr-name').focus();
    } catch (err) { fail(err); }
  });
  const settings = h('form', { id: 'reason-settings', class: 'card stack' },
    h('h3', {}, tr('reasons.settings')),
    h('label', { for: 'rs-threshold' }, tr('reasons.threshold')),
    h('input', { id: 'rs-threshold', name: 'threshold', type: 'number', min: 0, max: 100, step: 1,
      value: Math.round(set.threshold * 100), 'aria-describedby': 'rs-threshold-hint' }),
    h('p', { id: 'rs-threshold-hint', class: 'muted small' }, tr('reasons.thresholdHint')),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'require_on_resolve', checked: set.require_on_resolve }),
      ' ', tr('reasons.require')),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'deflection', checked: set.deflection }),
      ' ', tr('reasons.deflection')),
    h('label', { for: 'rs-cost' }, tr('reasons.hourlyCost')),
    h('div', { class: 'row' },
      h('input', { id: 'rs-cost', name: 'hourly_cost', type: 'number', min: 0, step: '0.01', value: (set.hourly_cost / 100).toFixed(2) }),
      h('input', { id: 'rs-currency', name: 'currency', maxlength: 3, size: 4, value: set.currency, 'aria-label': tr('reasons.currency') })),
    h('div', { class: 'row' }, h('button', { type: 'submit' }, tr('app.save')), h('span', { class: 'muted small', role: 'status' })));
  settings.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await patch('/api/v1/settings/reasons', {
        threshold: Number(field(settings, 'threshold').value) / 100,
        require_on_resolve: field(settings, 'require_on_resolve').checked,
        deflection: field(settings, 'deflection').checked,
        hourly_cost: Math.round(Number(field(settings, 'hourly_cost').value) * 100),
        currency: field(settings, 'currency').value.trim().toUpperCase(),
      });
      ok();
      await loadReasons();
      settings.querySelector('[role=status]').textContent = tr('app.saved');
    } catch (err) { fail(err); }
  });
  fill($('#settings-body'),
    h('p', { class: 'muted' }, tr('reasons.intro')),
    h('ol', { id: 'reason-list', class: 'reason-list' }, rows),
    add,
    settings,
    modelCard(model, reasons));
}

// modelCard shows the classifier in use and how good it is at each reason.
function modelCard(model, reasons) {
  const name = (slug) => (reasons.find((r) => r.slug === slug) || { name: slug }).name;
  const status = h('span', { class: 'muted small', role: 'status' });
  const train = h('button', { type: 'button', id: 'train-reasons', onclick: async () => {
    train.disabled = true;
    status.textContent = tr('reasons.training');
    try {
      await post('/api/v1/reasons/train', {});
      ok();
      announce(tr('reasons.trained'));
      await reasonsPage();
    } catch (err) {
      fail(err);
      status.textContent = '';
      train.disabled = false;
    }
  } }, tr('reasons.train'));
  const seed = h('button', { type: 'button', id: 'seed-reasons', onclick: async () => {
    try {
      const { tickets } = await post('/api/v1/reasons/seed', {});
      ok();
      status.textContent = tr('reasons.seeded', { n: tickets });
    } catch (err) { fail(err); }
  } }, tr('reasons.seed'));
  return h('section', { class: 'card stack', id: 'reason-model', 'aria-labelledby': 'rm-title' },
    h('h3', { id: 'rm-title' }, tr('reasons.model')),
    model
      ? h('p', {}, tr('reasons.modelLine', { version: model.version, n: model.examples, f1: pct(model.macro_f1) }), ' ', timeEl(model.created_at))
      : h('p', { class: 'muted' }, tr('reasons.noModel')),
    model && (model.scores || []).length ? h('table', { class: 'report' },
      h('caption', { class: 'visually-hidden' }, tr('reasons.quality')),
      h('thead', {}, h('tr', {}, [tr('reasons.col.reason'), tr('reasons.col.precision'), tr('reasons.col.recall'), 'F1', tr('reasons.col.support')]
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, model.scores.map((s) => h('tr', {},
        h('th', { scope: 'row' }, name(s.reason)),
        h('td', { class: 'num' }, pct(s.precision)), h('td', { class: 'num' }, pct(s.recall)),
        h('td', { class: 'num' }, pct(s.f1)), h('td', { class: 'num' }, String(s.support)))))) : null,
    h('p', { class: 'muted small' }, tr('reasons.modelHint')),
    h('div', { class: 'row' }, train, seed, status));
}

