// attach.js is the files of the reply box: chosen with the Attach button, dropped on the
// box or pasted into it (a screenshot), listed as chips that can be removed before
// sending, within the limits shown beside the button. Files go with a reply by email or
// a note; other channels carry none (docs/console.md, "The composer"), which the box
// says before the agent tries. The reply then goes as multipart/form-data.

import { APIError, getCSRF } from './api.js';
import { h, fill, $, bytes, announce } from './dom.js';
import { t as tr } from './i18n.js';

// The server's limits (crm.MaxReplyAttachments, crm.MaxReplyAttachmentsSize and
// crm.MaxAttachmentSize); it checks them again.
export const maxFiles = 10;
export const maxTotal = 20 * 1024 * 1024;

let files = [];           // File objects of the open reply box
let allowed = () => true; // whether the box, as it is, may carry files
let changed = () => {};
let btn = null;           // the Attach button, its limits and the list of files of the box
let limits = null;
let listEl = null;

// attachEl is the Attach button with its hidden file input and the limits beside it.
// may tells whether files may go now; onChange runs when the list changes.
export function attachEl(disabled, may, onChange) {
  allowed = may;
  changed = onChange;
  const input = h('input', { type: 'file', id: 'reply-file', multiple: true, hidden: true, tabindex: '-1', 'aria-hidden': 'true' });
  input.addEventListener('change', () => {
    addFiles([...input.files], 'chosen');
    input.value = '';
  });
  btn = h('button', { type: 'button', id: 'attach', class: 'tool icon-attach', disabled, 'aria-label': tr('attach.button'),
    title: tr('attach.button'), 'aria-describedby': 'attach-limits', onclick: () => input.click() });
  limits = h('span', { id: 'attach-limits', class: 'muted small attach-limits' }, limitsText());
  return h('span', { class: 'attach' }, btn, input, limits);
}

// filesEl is the list of the files chosen, hidden while there are none.
export function filesEl() {
  listEl = h('ul', { id: 'reply-files', class: 'reply-files', 'aria-label': tr('attach.list'), hidden: true });
  render();
  return listEl;
}

function limitsText() {
  return allowed() ? tr('attach.limits', { max: maxFiles, mb: maxTotal >> 20 }) : tr('attach.notHere');
}

// showAttach updates the button and the limits for what the box is now (reply or note,
// the channel): on a channel without files the button is off and says why.
export function showAttach(closed) {
  if (!btn) return;
  const ok = allowed();
  btn.disabled = closed || !ok;
  limits.textContent = limitsText();
  limits.classList.toggle('refused', !ok && files.length > 0);
}

// useFiles makes list the files of the open box (a ticket's, kept while switching).
export function useFiles(list) {
  files = list ? [...list] : [];
  render();
}

export function currentFiles() { return files; }

// addedKeys name the announcement of files added, by where they came from.
const addedKeys = { chosen: 'attach.chosen', dropped: 'attach.dropped', pasted: 'attach.pasted' };

// addFiles adds files within the limits; those that do not fit are named in the error
// line. how says where they came from, for the announcement.
export function addFiles(list, how) {
  const err = $('#reply-error');
  if (!list.length) return;
  if (!allowed()) {
    if (err) err.textContent = tr('attach.refused');
    return;
  }
  const refused = [];
  let total = files.reduce((n, f) => n + f.size, 0);
  for (const f of list) {
    const name = f.name || tr('attach.aFile');
    if (files.length >= maxFiles) {
      refused.push(tr('attach.tooMany', { name, max: maxFiles }));
    } else if (f.size === 0) {
      refused.push(tr('attach.empty', { name }));
    } else if (total + f.size > maxTotal) {
      refused.push(tr('attach.tooBig', { name, size: bytes(f.size), mb: maxTotal >> 20 }));
    } else {
      files.push(f);
      total += f.size;
    }
  }
  if (err) err.textContent = refused.length ? tr('attach.notAttached', { files: refused.join('; ') }) : '';
  render();
  const n = list.length - refused.length;
  if (n) announce(tr(addedKeys[how], { n, total: files.length }));
  changed();
}

function remove(i) {
  const [f] = files.splice(i, 1);
  render();
  announce(tr('attach.removed', { name: f.name }));
  // Focus stays in the list, or goes back to the button when it is empty.
  const next = $('#reply-files button') || $('#attach');
  if (next) next.focus();
  changed();
}

function render() {
  const ul = listEl;
  if (!ul) return;
  ul.hidden = files.length === 0;
  fill(ul, files.map((f, i) => h('li', { class: 'file-chip' },
    h('span', { class: 'file-name' }, f.name || tr('attach.file')), ' ',
    h('span', { class: 'muted small' }, bytes(f.size)),
    h('button', { type: 'button', class: 'link remove-file', 'aria-label': tr('attach.remove', { name: f.name || tr('attach.file') }), title: tr('attach.removeTitle'), onclick: () => remove(i) }, '×'))));
}

// dropOn lets files be dropped on the reply box.
export function dropOn(form) {
  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  form.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    form.classList.add('dropping');
  });
  form.addEventListener('dragleave', (e) => {
    if (!form.contains(e.relatedTarget)) form.classList.remove('dropping');
  });
  form.addEventListener('drop', (e) => {
    form.classList.remove('dropping');
    if (!hasFiles(e)) return;
    e.preventDefault();
    addFiles([...e.dataTransfer.files], 'dropped');
  });
}

// pasteOn takes images pasted into the text box (a screenshot) as files; pasted text
// stays text.
export function pasteOn(ta) {
  ta.addEventListener('paste', (e) => {
    const cd = e.clipboardData;
    if (!cd || !cd.files || cd.files.length === 0 || cd.getData('text/plain')) return;
    e.preventDefault();
    const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-');
    addFiles([...cd.files].map((f, i) => (f.name && f.name !== 'image.png') ? f
      : new File([f], `pasted-${stamp}${i ? '-' + i : ''}.${(f.type.split('/')[1] || 'bin').replace(/[^a-z0-9]/g, '')}`, { type: f.type })), 'pasted');
  });
}

// postWithFiles sends a reply with its files as multipart/form-data: the reply's JSON
// in the "message" part, each file in a "file" part.
export async function postWithFiles(path, req, list) {
  const fd = new FormData();
  fd.append('message', new Blob([JSON.stringify(req)], { type: 'application/json' }), 'message.json');
  for (const f of list) fd.append('file', f, f.name || 'file');
  let res;
  try {
    res = await fetch(path, { method: 'POST', body: fd, credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-CSRF-Token': getCSRF() } });
  } catch {
    throw new APIError(0, 'network', tr('api.unreachable'));
  }
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new APIError(res.status, e.code || 'internal', e.message || tr('api.failed', { status: res.status }));
  }
  return data;
}
