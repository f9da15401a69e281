// setupkit.js holds the pieces the setup pages share: a text to copy with its button,
// the steps of a connection test, and a confirmation dialog.

import { h, fill } from './dom.js';
import { t as tr } from './i18n.js';

// copyBox shows text read-only under a label, with a Copy button; multiline texts (code)
// go in a text area. The button says "Copied" for a moment.
export function copyBox(label, text, id, multiline = false) {
  const box = multiline
    ? h('textarea', { id, readonly: true, rows: Math.min(12, String(text).split('\n').length + 1), spellcheck: 'false', class: 'code', value: text })
    : h('input', { id, readonly: true, spellcheck: 'false', class: 'code', value: text });
  const done = h('span', { class: 'small ok-text', role: 'status' });
  const btn = h('button', { type: 'button', class: 'copy', 'aria-label': tr('app.copyLabel', { label }), onclick: async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Without the clipboard API (a page not served over HTTPS), the selection is copied.
      box.focus();
      box.select();
      document.execCommand('copy');
    }
    done.textContent = tr('app.copied');
    setTimeout(() => { done.textContent = ''; }, 2000);
  } }, tr('app.copy'));
  return h('div', { class: 'field copy-box' }, h('label', { for: id }, label), h('div', { class: 'copy-row' }, box, btn, done));
}

// testSteps lists the steps of a connection test: each with a mark, its name and what
// the other side answered.
export function testSteps(steps) {
  return steps.map((s) => h('li', { class: s.ok ? 'step-ok' : 'step-fail' },
    h('span', { class: 'mark', 'aria-hidden': 'true' }, s.ok ? '✓' : '✗'),
    h('span', { class: 'visually-hidden' }, tr(s.ok ? 'app.passed' : 'app.failed'), ' '),
    h('strong', {}, s.step), ' ', h('span', { class: 'detail' }, s.detail)));
}

// confirmDialog asks before something that cannot be undone. Esc or Cancel closes it and
// focus goes back to returnFocus; onConfirm's error shows in the dialog.
export function confirmDialog({ title, text, confirm, onConfirm, returnFocus }) {
  const err = h('p', { class: 'error', role: 'alert' });
  const yes = h('button', { type: 'button', class: 'danger-fill', id: 'confirm-yes' }, confirm);
  const no = h('button', { type: 'button', id: 'confirm-no' }, tr('app.cancel'));
  const dlg = h('dialog', { class: 'confirm-dialog', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
    h('h2', { id: 'confirm-title' }, title), h('p', { id: 'confirm-text' }, text), err, h('div', { class: 'row' }, yes, no));
  document.body.append(dlg);
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (returnFocus && returnFocus.isConnected) returnFocus.focus();
  });
  no.addEventListener('click', () => dlg.close());
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try {
      await onConfirm();
      dlg.close();
    } catch (e) {
      fill(err, e.message);
      yes.disabled = false;
    }
  });
  dlg.showModal();
  no.focus();
}
