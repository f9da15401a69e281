// sources.js holds the admins' Order sources page: a Shopify store (shop domain, Admin
// API token, a check of the token's scopes, the webhook URL and secret), the signed
// webhook source (its secret generated and shown once, with an example signed request)
// and the upload of an order file with its progress and per-row report.

import { get, post, patch, getCSRF } from './api.js';
import { h, fill, $ } from './dom.js';
import { settingsTabs, openTab, fail, ok } from './settings.js';
import { copyBox, testSteps } from './setupkit.js';
import { t as tr, tn } from './i18n.js';

export const isSourcesPage = (tab) => tab === 'sources';

// showSourceSettings draws the page. Returns false when the role may not see it.
export async function showSourceSettings(tab) {
  const cur = settingsTabs.find((t) => t.id === tab);
  if (!cur || !cur.allowed()) return false;
  await openTab(cur.id, sourcesPage);
  return true;
}

async function sourcesPage() {
  const { order_sources: list } = await get('/api/v1/order-sources');
  fill($('#settings-body'),
    h('p', { class: 'muted' }, tr('sources.intro')),
    h('section', { class: 'setup-section', 'aria-labelledby': 'sources-h' },
      h('h3', { id: 'sources-h' }, tr('settings.tab.sources')),
      list.length ? h('ul', { class: 'settings-list', id: 'source-list' }, list.map((s) => h('li', {}, sourceCard(s)))) :
        h('p', { class: 'muted', id: 'no-sources' }, tr('sources.none'))),
    h('div', { class: 'grid2 source-forms' }, shopifyForm(), webhookForm()),
    h('div', { id: 'source-created' }),
    importForm());
}

// sourceCard shows one source: its webhook URL, its secrets, its test and its settings.
function sourceCard(s) {
  const result = h('span', { class: 'small', role: 'status' });
  const steps = h('ol', { class: 'test-steps' });
  const test = async () => {
    result.textContent = tr('sources.checking');
    fill(steps);
    try {
      const r = await post(`/api/v1/order-sources/${s.id}/test`);
      result.textContent = tr(r.ok ? 'sources.allSet' : 'sources.missing');
      result.className = 'small ' + (r.ok ? 'ok-text' : 'error');
      fill(steps, testSteps(r.steps));
    } catch (err) { result.textContent = err.message; }
  };
  const shopify = s.kind === 'shopify';
  const card = h('article', { class: 'card stack', id: `source-${s.id}`, 'aria-labelledby': `source-${s.id}-h` },
    h('div', { class: 'row' }, h('h4', { id: `source-${s.id}-h` }, s.name || tr('sources.unnamed', { id: s.id })),
      h('span', { class: 'badge' }, tr(shopify ? 'sources.kind.shopify' : 'sources.kind.webhook')),
      shopify ? h('span', { class: 'muted small' }, s.config.shop_domain) : null),
    shopify
      ? h('p', {}, tn('sources.shopifyHelp', { creation: h('strong', {}, tr('sources.orderCreation')), update: h('strong', {}, tr('sources.orderUpdate')) }))
      : h('p', {}, tr('sources.webhookHelp')),
    copyBox(tr('sources.webhookURL'), s.webhook_url, `source-${s.id}-url`),
    h('p', { class: 'small' }, s.secrets_set.length ? tr('setup.secretsSet', { list: s.secrets_set.join(', ') }) : tr('setup.noSecrets')),
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: test }, tr(shopify ? 'sources.checkToken' : 'sources.check')), result),
    steps,
    shopify ? editShopify(s) : null);
  if (shopify) test();
  return card;
}

function text(id, label, attrs = {}, hint = '') {
  const el = h('input', { id, name: id, 'aria-describedby': hint ? id + '-hint' : null, ...attrs });
  return { wrap: h('div', { class: 'field' }, h('label', { for: id }, label), el, hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null), el };
}

// shopifyFields are the controls of a Shopify source; s is the source being edited.
function shopifyFields(pre, s) {
  const c = (s && s.config) || {};
  const set = (k) => s && s.secrets_set.includes(k) ? tr('setup.secretKept') : '';
  const f = {
    name: text(pre + '-name', tr('sources.name'), { maxlength: 100, value: (s && s.name) || tr('sources.defaultShopify') }),
    domain: text(pre + '-domain', tr('sources.domain'), { value: c.shop_domain || '', placeholder: tr('sources.domainExample'), spellcheck: 'false' },
      tr('sources.domainHint')),
    token: text(pre + '-token', tr('sources.token'), { type: 'password', autocomplete: 'new-password' },
      set('access_token') || tr('sources.tokenHint')),
    secret: text(pre + '-secret', tr('sources.secret'), { type: 'password', autocomplete: 'new-password' }, set('webhook_secret') || tr('sources.secretHint')),
    limit: text(pre + '-limit', tr('sources.refundLimit'), { type: 'number', min: 0, value: c.agent_refund_limit || 0 }),
    base: text(pre + '-base', tr('sources.base'), { value: c.api_base_url && c.api_base_url !== 'https://' + c.shop_domain ? c.api_base_url : '', spellcheck: 'false' },
      tr('sources.baseHint')),
  };
  f.read = () => {
    const body = { name: f.name.el.value, shop_domain: f.domain.el.value.trim(), agent_refund_limit: Number(f.limit.el.value) || 0 };
    if (f.token.el.value.trim()) body.access_token = f.token.el.value.trim();
    if (f.secret.el.value.trim()) body.webhook_secret = f.secret.el.value.trim();
    body.api_base_url = f.base.el.value.trim();
    return body;
  };
  f.els = [f.name.wrap, f.domain.wrap, f.token.wrap, f.secret.wrap, f.limit.wrap, h('details', {}, h('summary', {}, tr('setup.advanced')), f.base.wrap)];
  return f;
}

function editShopify(s) {
  const f = shopifyFields(`src${s.id}`, s);
  const status = h('span', { class: 'small', role: 'status' });
  const form = h('form', { class: 'stack', 'aria-label': tr('sources.settingsOf', { name: s.name }) }, f.els, h('div', { class: 'row' }, h('button', { type: 'submit' }, tr('app.save')), status));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await patch(`/api/v1/order-sources/${s.id}`, f.read());
      ok();
      status.textContent = tr('app.saved');
    } catch (err) { status.textContent = ''; fail(err); }
  });
  return h('details', {}, h('summary', {}, tr('settings.title')), form);
}

function shopifyForm() {
  const f = shopifyFields('ns', null);
  const form = h('form', { class: 'card stack', id: 'shopify-create', 'aria-labelledby': 'shopify-h' },
    h('h4', { id: 'shopify-h' }, tr('sources.shopifyTitle')),
    h('p', { class: 'muted small' }, tr('sources.shopifyIntro')),
    f.els, h('button', { type: 'submit', class: 'primary' }, tr('sources.connect')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await post('/api/v1/order-sources', { kind: 'shopify', ...f.read() });
      ok();
      await sourcesPage();
      $('#sources-h').focus();
    } catch (err) { fail(err); }
  });
  return form;
}

function webhookForm() {
  const name = text('nw-name', tr('sources.name'), { maxlength: 100, value: tr('sources.defaultWebhook') });
  const form = h('form', { class: 'card stack', id: 'webhook-create', 'aria-labelledby': 'webhook-h' },
    h('h4', { id: 'webhook-h' }, tr('sources.webhookTitle')),
    h('p', { class: 'muted small' }, tr('sources.webhookIntro')),
    name.wrap, h('button', { type: 'submit', class: 'primary' }, tr('sources.createWebhook')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const s = await post('/api/v1/order-sources', { kind: 'webhook', name: name.el.value });
      ok();
      await sourcesPage();
      const box = $('#source-created');
      fill(box, h('section', { class: 'card once stack', role: 'alert', 'aria-labelledby': 'created-h' },
        h('h4', { id: 'created-h', tabindex: '-1' }, tr('sources.copySecret', { name: s.name })),
        copyBox(tr('sources.secretLabel'), s.generated_secret, 'created-secret'),
        copyBox(tr('sources.webhookURL'), s.webhook_url, 'created-url'),
        copyBox(tr('sources.example'), s.example.curl, 'created-example', true)));
      $('#created-h').focus();
    } catch (err) { fail(err); }
  });
  return form;
}

// ---- the file upload ----

function importForm() {
  const file = h('input', { id: 'imp-file', name: 'file', type: 'file', accept: '.csv,.ndjson,.jsonl,.json,text/csv', required: true, 'aria-describedby': 'imp-hint' });
  const format = h('select', { id: 'imp-format', name: 'format' },
    [['', 'sources.format.auto'], ['csv', 'sources.format.csv'], ['ndjson', 'sources.format.ndjson']].map(([v, key]) => h('option', { value: v }, tr(key))));
  const source = h('input', { id: 'imp-source', name: 'source', maxlength: 50, value: 'import' });
  const progress = h('progress', { id: 'imp-progress', max: 100, value: 0, hidden: true, 'aria-label': tr('sources.progress') });
  const status = h('p', { id: 'imp-status', role: 'status', class: 'small' });
  const report = h('div', { id: 'imp-report' });
  const btn = h('button', { type: 'submit', class: 'primary' }, tr('sources.upload'));
  const form = h('form', { class: 'card stack', id: 'order-import', 'aria-labelledby': 'import-h' },
    h('h4', { id: 'import-h' }, tr('sources.importTitle')),
    h('p', { class: 'hint', id: 'imp-hint' }, tr('sources.importHint')),
    h('div', { class: 'grid3' },
      h('div', { class: 'field' }, h('label', { for: 'imp-file' }, tr('sources.file')), file),
      h('div', { class: 'field' }, h('label', { for: 'imp-format' }, tr('sources.formatLabel')), format),
      h('div', { class: 'field' }, h('label', { for: 'imp-source' }, tr('sources.label')), source)),
    h('div', { class: 'row' }, btn, progress), status, report);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) { fail(new Error(tr('sources.chooseFile'))); return; }
    const fmt = format.value || (/\.csv$/i.test(f.name) ? 'csv' : 'ndjson');
    btn.disabled = true;
    fill(report);
    upload(f, fmt, source.value.trim(), progress, status, report).finally(() => { btn.disabled = false; });
  });
  return form;
}

// upload sends the file and reads the NDJSON answer as it streams: the upload's own
// progress first, then rows as the server reads them, then the report.
function upload(f, fmt, source, progress, status, report) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/orders/import?format=${encodeURIComponent(fmt)}&source=${encodeURIComponent(source || 'import')}`);
    xhr.setRequestHeader('X-CSRF-Token', getCSRF());
    xhr.setRequestHeader('Content-Type', fmt === 'csv' ? 'text/csv' : 'application/x-ndjson');
    progress.hidden = false;
    progress.value = 0;
    status.textContent = tr('sources.uploading', { name: f.name });
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
    });
    let seen = 0;
    const lines = () => {
      const text = xhr.responseText || '';
      const done = text.lastIndexOf('\n') + 1;
      const out = text.slice(seen, done).split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
      seen = done;
      return out;
    };
    const show = (m) => {
      if (m.rows) status.textContent = tr('sources.read', { n: m.rows });
      if (m.error) { status.textContent = ''; fail(new Error(m.error.message)); }
      if (m.done) {
        ok();
        status.textContent = tr('sources.imported', { n: m.imported, skipped: m.skipped.length });
        fill(report, m.skipped.length ? h('table', { class: 'skipped', id: 'imp-skipped' },
          h('caption', {}, tr('sources.skipped')),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, tr('sources.line')), h('th', { scope: 'col' }, tr('sources.why')))),
          h('tbody', {}, m.skipped.map((r) => h('tr', {}, h('td', {}, String(r.line)), h('td', {}, r.reason))))) : null);
      }
    };
    xhr.addEventListener('progress', () => lines().forEach(show));
    xhr.addEventListener('load', () => {
      progress.value = 100;
      if (xhr.status !== 200) {
        let msg = tr('sources.uploadFailed', { status: xhr.status });
        try { msg = JSON.parse(xhr.responseText).error.message; } catch { /* not JSON */ }
        status.textContent = '';
        fail(new Error(msg));
      } else {
        lines().forEach(show);
      }
      resolve();
    });
    xhr.addEventListener('error', () => { status.textContent = ''; fail(new Error(tr('api.unreachable'))); resolve(); });
    xhr.send(f);
  });
}
