// whatsapp.js is WhatsApp's 24-hour window in the reply box: how long the agent may still
// answer freely, and once it has closed, the inbox's approved templates with their
// variables instead of the free text that WhatsApp would refuse.

import { get, post } from './api.js';
import { h, fill, $ } from './dom.js';
import { stamp } from './time.js';
import { state } from './state.js';
import { t as tr } from './i18n.js';

const WINDOW = 24 * 3600 * 1000;

let ends = null;        // Date the open ticket's window ends, null when it has none
let known = false;      // the server told the open ticket's window
let timer = 0;          // redraws the time left
let onChange = () => {}; // the composer redraws when the window opens or closes
let wasClosed = false;
const cache = new Map(); // inbox id -> {at, templates, error}

// whatsAppEl is the window line and the template picker of the reply box of ticket t;
// changed is called when the window opens or closes.
export function whatsAppEl(t, changed) {
  known = typeof t.whatsapp_window_ends_at === 'string';
  ends = known ? new Date(t.whatsapp_window_ends_at) : null;
  if (ends && (isNaN(ends) || ends.getUTCFullYear() < 2000)) ends = null; // never wrote by WhatsApp
  onChange = changed;
  wasClosed = closed();
  clearInterval(timer);
  timer = setInterval(tick, 30 * 1000);
  return [
    h('p', { id: 'wa-window', class: 'wa-window small', hidden: true }),
    h('fieldset', { id: 'wa-templates', class: 'wa-templates', hidden: true },
      h('legend', {}, tr('wa.legend')),
      h('div', { id: 'wa-picker' }, h('p', { class: 'muted small' }, tr('wa.loading')))),
  ];
}

// whatsApp reports whether replies on the open ticket go by WhatsApp.
function whatsApp(channel) { return channel === 'whatsapp'; }

// closed reports whether the window is closed: it ended, or the customer never wrote
// by WhatsApp.
function closed() {
  return !ends || ends.getTime() <= Date.now();
}

// templateMode reports whether a reply on channel must be a template now.
export function templateMode(channel, mode) {
  return mode === 'reply' && whatsApp(channel) && known && closed();
}

function tick() {
  if (!$('#wa-window')) {
    clearInterval(timer);
    return;
  }
  const c = closed();
  if (c !== wasClosed) {
    wasClosed = c;
    onChange();
  } else {
    drawWindow();
  }
}

function left(ms) {
  const m = Math.max(1, Math.round(ms / 60000));
  if (m < 60) return tr('wa.minutes', { m });
  return tr('wa.hours', { h: Math.floor(m / 60), m: m % 60 });
}

function drawWindow() {
  const line = $('#wa-window');
  if (!line || line.hidden) return;
  if (!ends) {
    line.textContent = tr('wa.never');
    line.className = 'wa-window small closed';
    return;
  }
  const ms = ends.getTime() - Date.now();
  if (ms > 0) {
    line.textContent = tr('wa.open', { left: left(ms), until: stamp(ends) });
    line.className = 'wa-window small' + (ms < 3600 * 1000 ? ' soon' : '');
  } else {
    line.textContent = tr('wa.closed', { ago: left(-ms) });
    line.className = 'wa-window small closed';
  }
}

// showWhatsApp shows the window on WhatsApp tickets and the picker when a template must
// be sent. It returns whether the picker is showing.
export function showWhatsApp(channel, mode) {
  const line = $('#wa-window');
  const box = $('#wa-templates');
  if (!line || !box) return false;
  const wa = whatsApp(channel) && known;
  line.hidden = !wa || mode !== 'reply';
  drawWindow();
  const picker = templateMode(channel, mode);
  box.hidden = !picker;
  if (picker && !box.dataset.loaded) {
    box.dataset.loaded = '1';
    loadTemplates();
  }
  return picker;
}

// noticeWhatsApp moves the window on when the customer writes by WhatsApp.
export function noticeWhatsApp(m) {
  if (m.direction !== 'in' || m.channel !== 'whatsapp' || !state.ticket) return;
  const e = new Date(new Date(m.created_at).getTime() + WINDOW);
  if (!ends || e > ends) ends = e;
  known = true;
  if (closed() !== wasClosed) {
    wasClosed = closed();
    onChange();
  }
}

async function loadTemplates() {
  const t = state.ticket;
  const picker = $('#wa-picker');
  let entry = cache.get(t.inbox_id);
  if (!entry || Date.now() - entry.at > 5 * 60 * 1000) {
    try {
      const r = await get(`/api/v1/tickets/${t.id}/whatsapp`);
      entry = { at: Date.now(), templates: r.templates || [], error: r.templates_error || '' };
      if (!entry.error) cache.set(t.inbox_id, entry);
    } catch (e) {
      entry = { at: Date.now(), templates: [], error: e.message };
    }
  }
  if (!picker || !picker.isConnected || state.ticket !== t) return;
  drawPicker(entry);
}

function drawPicker(entry) {
  const picker = $('#wa-picker');
  if (entry.error) {
    fill(picker, h('p', { class: 'error small', role: 'alert' }, entry.error));
    return;
  }
  if (!entry.templates.length) {
    fill(picker, h('p', { class: 'muted small', id: 'wa-none' }, tr('wa.none')));
    return;
  }
  const select = h('select', { id: 'wa-template', 'aria-describedby': 'wa-preview' },
    entry.templates.map((tp) => h('option', { value: tp.sid }, `${tp.name} (${tp.language})`)));
  const vars = h('div', { id: 'wa-vars', class: 'wa-vars' });
  const preview = h('p', { id: 'wa-preview', class: 'wa-preview', 'aria-live': 'polite' });
  const draw = () => {
    const tp = entry.templates.find((x) => x.sid === select.value);
    fill(vars, (tp.variables || []).map((v) => h('div', { class: 'field' },
      h('label', { for: 'wa-var-' + v }, tr('wa.value', { name: v })),
      h('input', { id: 'wa-var-' + v, dataset: { name: v }, type: 'text', maxlength: 1000, required: true,
        placeholder: (tp.samples && tp.samples[v]) || '', oninput: () => showPreview(tp, vars, preview) }))));
    showPreview(tp, vars, preview);
  };
  select.addEventListener('change', draw);
  fill(picker, h('label', { for: 'wa-template' }, tr('wa.template')), select, vars, h('p', { class: 'muted small' }, tr('wa.reads')), preview);
  draw();
}

function values(vars) {
  const out = {};
  for (const el of vars.querySelectorAll('input[data-name]')) out[el.dataset.name] = el.value.trim();
  return out;
}

function fillBody(body, vals) {
  return body.replace(/\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}/g, (m, name) => vals[name] || `[${name}]`);
}

function showPreview(tp, vars, preview) {
  preview.textContent = fillBody(tp.body, values(vars));
  const err = $('#reply-error');
  if (err) err.textContent = '';
}

// sendTemplate sends the chosen template with its values. It returns the stored message,
// or throws with what is missing.
export async function sendTemplate(ticketID, status) {
  const select = $('#wa-template');
  if (!select) throw new Error(tr($('#wa-none') ? 'wa.noTemplate' : 'wa.stillLoading'));
  const vals = values($('#wa-vars'));
  const missing = Object.entries(vals).find(([, v]) => !v);
  if (missing) {
    $('#wa-var-' + missing[0]).focus();
    throw new Error(tr('wa.fillIn', { name: missing[0] }));
  }
  const req = { template: { sid: select.value, variables: vals } };
  if (status) req.status = status;
  return post(`/api/v1/tickets/${ticketID}/messages`, req);
}

// resetTemplate clears the values after a send.
export function resetTemplate() {
  for (const el of document.querySelectorAll('#wa-vars input')) el.value = '';
  const select = $('#wa-template');
  if (select) select.dispatchEvent(new Event('change'));
}

// windowClosedByServer is called when the server refused a free-form reply because the
// window closed meanwhile: the box switches to templates.
export function windowClosedByServer() {
  ends = ends && ends.getTime() < Date.now() ? ends : new Date(Date.now() - 1000);
  known = true;
  wasClosed = true;
  onChange();
}
