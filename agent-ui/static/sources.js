// sources.js holds the admins' Order sources page: a Shopify store (shop domain, Admin
// API token, a check of the token's scopes, the webhook URL and secret), the signed
// webhook source (its secret generated and shown once, with an example signed request)
// and the upload of an order file with its progress and per-row report.

import { get, post, patch, getCSRF } from './api.js';
import { h, fill, $ } from './dom.js';
import { settingsTabs, openTab, fail, ok } from './settings.js';
import { copyBox, testSteps } from './setupkit.js';

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
    h('p', { class: 'muted' }, 'Orders show beside every conversation. Connect your Shopify store, let your shop push orders to Parley, or upload a file of orders.'),
    h('section', { class: 'setup-section', 'aria-labelledby': 'sources-h' },
      h('h3', { id: 'sources-h' }, 'Order sources'),
      list.length ? h('ul', { class: 'settings-list', id: 'source-list' }, list.map((s) => h('li', {}, sourceCard(s)))) :
        h('p', { class: 'muted', id: 'no-sources' }, 'No order sources yet.')),
    h('div', { class: 'grid2 source-forms' }, shopifyForm(), webhookForm()),
    h('div', { id: 'source-created' }),
    importForm());
}

// sourceCard shows one source: its webhook URL, its secrets, its test and its settings.
function sourceCard(s) {
  const result = h('span', { class: 'small', role: 'status' });
  const steps = h('ol', { class: 'test-steps' });
  const test = async () => {
    result.textContent = 'Checking…';
    fill(steps);
    try {
      const r = await post(`/api/v1/order-sources/${s.id}/test`);
      result.textContent = r.ok ? 'Everything is in place' : 'Something is missing';
      result.className = 'small ' + (r.ok ? 'ok-text' : 'error');
      fill(steps, testSteps(r.steps));
    } catch (err) { result.textContent = err.message; }
  };
  const shopify = s.kind === 'shopify';
  const card = h('article', { class: 'card stack', id: `source-${s.id}`, 'aria-labelledby': `source-${s.id}-h` },
    h('div', { class: 'row' }, h('h4', { id: `source-${s.id}-h` }, s.name || `Source ${s.id}`),
      h('span', { class: 'badge' }, shopify ? 'Shopify' : 'Signed webhook'),
      shopify ? h('span', { class: 'muted small' }, s.config.shop_domain) : null),
    shopify
      ? h('p', {}, 'In Shopify admin, Settings → Notifications → Webhooks, create webhooks for ', h('strong', {}, 'Order creation'), ' and ',
        h('strong', {}, 'Order update'), ' in JSON to this URL. Enter the key Shopify signs them with (shown under the webhooks) as the webhook secret.')
      : h('p', {}, 'Your shop POSTs each new or changed order here, signed with the secret (header X-Parley-Signature: sha256=<hex HMAC-SHA256 of the body>).'),
    copyBox('Webhook URL', s.webhook_url, `source-${s.id}-url`),
    h('p', { class: 'small' }, 'Secrets set: ', s.secrets_set.length ? s.secrets_set.join(', ') : 'none'),
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: test }, shopify ? 'Check the token' : 'Check'), result),
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
  const set = (k) => s && s.secrets_set.includes(k) ? 'Saved; leave empty to keep it.' : '';
  const f = {
    name: text(pre + '-name', 'Name', { maxlength: 100, value: (s && s.name) || 'Shopify store' }),
    domain: text(pre + '-domain', 'Shop domain', { value: c.shop_domain || '', placeholder: 'your-store.myshopify.com', spellcheck: 'false' },
      'The store\'s own myshopify.com address (Shopify admin → Settings → Domains).'),
    token: text(pre + '-token', 'Admin API access token', { type: 'password', autocomplete: 'new-password' },
      set('access_token') || 'Shopify admin → Settings → Apps and sales channels → Develop apps → your app → API credentials. Scopes: read_orders, write_orders, read_customers.'),
    secret: text(pre + '-secret', 'Webhook secret (optional)', { type: 'password', autocomplete: 'new-password' }, set('webhook_secret') || 'Without it, Shopify\'s webhooks are refused; lookups still work.'),
    limit: text(pre + '-limit', 'Agents may refund up to (in cents; 0: only managers refund)', { type: 'number', min: 0, value: c.agent_refund_limit || 0 }),
    base: text(pre + '-base', 'Admin API address (optional)', { value: c.api_base_url && c.api_base_url !== 'https://' + c.shop_domain ? c.api_base_url : '', spellcheck: 'false' },
      'Only for a proxy or a test double; empty: https:// and the shop domain.'),
  };
  f.read = () => {
    const body = { name: f.name.el.value, shop_domain: f.domain.el.value.trim(), agent_refund_limit: Number(f.limit.el.value) || 0 };
    if (f.token.el.value.trim()) body.access_token = f.token.el.value.trim();
    if (f.secret.el.value.trim()) body.webhook_secret = f.secret.el.value.trim();
    body.api_base_url = f.base.el.value.trim();
    return body;
  };
  f.els = [f.name.wrap, f.domain.wrap, f.token.wrap, f.secret.wrap, f.limit.wrap, h('details', {}, h('summary', {}, 'Advanced'), f.base.wrap)];
  return f;
}

function editShopify(s) {
  const f = shopifyFields(`src${s.id}`, s);
  const status = h('span', { class: 'small', role: 'status' });
  const form = h('form', { class: 'stack', 'aria-label': `Settings of ${s.name}` }, f.els, h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save'), status));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await patch(`/api/v1/order-sources/${s.id}`, f.read());
      ok();
      status.textContent = 'Saved';
    } catch (err) { status.textContent = ''; fail(err); }
  });
  return h('details', {}, h('summary', {}, 'Settings'), form);
}

function shopifyForm() {
  const f = shopifyFields('ns', null);
  const form = h('form', { class: 'card stack', id: 'shopify-create', 'aria-labelledby': 'shopify-h' },
    h('h4', { id: 'shopify-h' }, 'Connect a Shopify store'),
    h('p', { class: 'muted small' }, 'Create a custom app in your store with the scopes read_orders, write_orders and read_customers, install it, and copy its Admin API access token.'),
    f.els, h('button', { type: 'submit', class: 'primary' }, 'Connect store'));
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
  const name = text('nw-name', 'Name', { maxlength: 100, value: 'My shop' });
  const form = h('form', { class: 'card stack', id: 'webhook-create', 'aria-labelledby': 'webhook-h' },
    h('h4', { id: 'webhook-h' }, 'Receive orders from your shop'),
    h('p', { class: 'muted small' }, 'For a shop that is not on Shopify: it sends each order to Parley, signed with a secret Parley makes for it.'),
    name.wrap, h('button', { type: 'submit', class: 'primary' }, 'Create webhook source'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const s = await post('/api/v1/order-sources', { kind: 'webhook', name: name.el.value });
      ok();
      await sourcesPage();
      const box = $('#source-created');
      fill(box, h('section', { class: 'card once stack', role: 'alert', 'aria-labelledby': 'created-h' },
        h('h4', { id: 'created-h', tabindex: '-1' }, `${s.name}: copy the secret now, it is shown only once`),
        copyBox('Secret', s.generated_secret, 'created-secret'),
        copyBox('Webhook URL', s.webhook_url, 'created-url'),
        copyBox('Example signed request', s.example.curl, 'created-example', true)));
      $('#created-h').focus();
    } catch (err) { fail(err); }
  });
  return form;
}

// ---- the file upload ----

function importForm() {
  const file = h('input', { id: 'imp-file', name: 'file', type: 'file', accept: '.csv,.ndjson,.jsonl,.json,text/csv', required: true, 'aria-describedby': 'imp-hint' });
  const format = h('select', { id: 'imp-format', name: 'format' }, [['', 'From the file name'], ['csv', 'CSV'], ['ndjson', 'NDJSON (one JSON order per line)']].map(([v, t]) => h('option', { value: v }, t)));
  const source = h('input', { id: 'imp-source', name: 'source', maxlength: 50, value: 'import' });
  const progress = h('progress', { id: 'imp-progress', max: 100, value: 0, hidden: true, 'aria-label': 'Upload progress' });
  const status = h('p', { id: 'imp-status', role: 'status', class: 'small' });
  const report = h('div', { id: 'imp-report' });
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Upload orders');
  const form = h('form', { class: 'card stack', id: 'order-import', 'aria-labelledby': 'import-h' },
    h('h4', { id: 'import-h' }, 'Upload an order file'),
    h('p', { class: 'hint', id: 'imp-hint' }, 'CSV with a header row (number, status, currency, total and placed_at are required; email, phone, items and the other columns are optional; amounts like 58.00), or NDJSON, one order per line as the API takes it. An order number seen again replaces the order.'),
    h('div', { class: 'grid3' },
      h('div', { class: 'field' }, h('label', { for: 'imp-file' }, 'File'), file),
      h('div', { class: 'field' }, h('label', { for: 'imp-format' }, 'Format'), format),
      h('div', { class: 'field' }, h('label', { for: 'imp-source' }, 'Label the orders as'), source)),
    h('div', { class: 'row' }, btn, progress), status, report);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) { fail(new Error('Choose a file first.')); return; }
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
    status.textContent = `Uploading ${f.name}…`;
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
      if (m.rows) status.textContent = `Read ${m.rows} rows…`;
      if (m.error) { status.textContent = ''; fail(new Error(m.error.message)); }
      if (m.done) {
        ok();
        status.textContent = `Imported ${m.imported} orders, skipped ${m.skipped.length}.`;
        fill(report, m.skipped.length ? h('table', { class: 'skipped', id: 'imp-skipped' },
          h('caption', {}, 'Rows that were skipped'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Line'), h('th', { scope: 'col' }, 'Why'))),
          h('tbody', {}, m.skipped.map((r) => h('tr', {}, h('td', {}, String(r.line)), h('td', {}, r.reason))))) : null);
      }
    };
    xhr.addEventListener('progress', () => lines().forEach(show));
    xhr.addEventListener('load', () => {
      progress.value = 100;
      if (xhr.status !== 200) {
        let msg = `Upload failed (${xhr.status}).`;
        try { msg = JSON.parse(xhr.responseText).error.message; } catch { /* not JSON */ }
        status.textContent = '';
        fail(new Error(msg));
      } else {
        lines().forEach(show);
      }
      resolve();
    });
    xhr.addEventListener('error', () => { status.textContent = ''; fail(new Error('The server could not be reached. Check your connection.')); resolve(); });
    xhr.send(f);
  });
}
