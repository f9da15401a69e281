// split.js is the open ticket's Merge and Split tools. Merge moves the whole thread into
// another ticket of the same customer, picked by number or from the customer's tickets.
// Split turns the thread into a selection (a checkbox per message, reached with Tab and
// toggled with Space) and moves the chosen messages to a new ticket; both threads get a
// note saying where the messages went.

import { get, post, qs } from './api.js';
import { h, fill, $, $$, announce } from './dom.js';
import { stamp } from './time.js';
import { t as tr, tn } from './i18n.js';

// ticketTools returns the Merge and Split buttons of ticket t; reload opens t again
// after a split.
export function ticketTools(t, reload) {
  if (t.status === 'closed' || t.merged_into) return null;
  return h('span', { class: 'ticket-tools' },
    h('button', { type: 'button', id: 'merge-ticket', class: 'link', 'aria-haspopup': 'dialog', onclick: (e) => mergeDialog(t, e.target) }, tr('split.merge')),
    h('button', { type: 'button', id: 'split-ticket', class: 'link', 'aria-pressed': $('#split-bar') ? 'true' : 'false',
      onclick: () => toggleSplit(t, reload) }, tr('split.split')));
}

// ---- merge ----

function mergeDialog(t, returnFocus) {
  const err = h('p', { class: 'error', role: 'alert' });
  const input = h('input', { id: 'merge-into', inputmode: 'numeric', autocomplete: 'off', placeholder: '#1042', required: true });
  const picks = h('ul', { id: 'merge-picks', class: 'merge-picks', 'aria-label': tr('split.others') },
    h('li', { class: 'muted' }, tr('app.loading')));
  const form = h('form', { method: 'dialog', id: 'merge-ticket-form' },
    h('h2', { id: 'merge-ticket-title' }, tr('split.mergeTitle', { id: t.id })),
    h('p', { id: 'merge-ticket-text' }, tr('split.mergeText', { id: t.id })),
    h('div', { class: 'field' }, h('label', { for: 'merge-into' }, tr('split.number')), input),
    h('p', { class: 'small' }, tr('split.pick')),
    picks, err,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'danger-fill', id: 'merge-ticket-go' }, tr('split.mergeGo')),
      h('button', { type: 'button', id: 'merge-ticket-cancel', onclick: () => dlg.close() }, tr('app.cancel'))));
  const dlg = h('dialog', { class: 'confirm-dialog', 'aria-labelledby': 'merge-ticket-title', 'aria-describedby': 'merge-ticket-text' }, form);
  document.body.append(dlg);
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (returnFocus && returnFocus.isConnected) returnFocus.focus();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const into = Number(input.value.trim().replace(/^#/, ''));
    if (!(into > 0) || into === t.id) {
      err.textContent = tr(into === t.id ? 'split.notThis' : 'split.enterNumber');
      input.focus();
      return;
    }
    $('#merge-ticket-go').disabled = true;
    try {
      await post(`/api/v1/tickets/${t.id}/merge`, { into });
    } catch (ex) {
      err.textContent = ex.message;
      $('#merge-ticket-go').disabled = false;
      return;
    }
    dlg.close();
    announce(tr('ticket.merged', { id: t.id, into }));
    location.hash = '#/tickets/' + into;
  });
  dlg.showModal();
  input.focus();
  get('/api/v1/tickets' + qs({ customer_id: t.customer_id, limit: 20 })).then((res) => {
    const others = (res.tickets || []).filter((x) => x.id !== t.id && x.status !== 'closed' && !x.merged_into);
    fill(picks, others.length ? others.map((x) => h('li', {},
      h('button', { type: 'button', class: 'link merge-pick', onclick: () => { input.value = '#' + x.id; $('#merge-ticket-go').focus(); } },
        `#${x.id} ${x.subject || tr('ticket.untitled')} (${tr('status.' + x.status)})`))) : h('li', { class: 'muted' }, tr('split.noneOpen')));
  }).catch(() => fill(picks));
}

// ---- split ----

function toggleSplit(t, reload) {
  if ($('#split-bar')) {
    endSplit();
    return;
  }
  const thread = $('#thread');
  if (!thread) return;
  const count = h('span', { id: 'split-count', role: 'status' }, tr('split.noneSelected'));
  const subject = h('input', { id: 'split-subject', maxlength: 1000, autocomplete: 'off', value: t.subject || '' });
  const go = h('button', { type: 'button', id: 'split-go', class: 'primary', disabled: true }, tr('split.go'));
  const err = h('span', { class: 'error', role: 'alert' });
  const bar = h('div', { id: 'split-bar', class: 'split-bar', role: 'region', 'aria-label': tr('split.region') },
    h('p', {}, tr('split.intro')), count,
    h('div', { class: 'field' }, h('label', { for: 'split-subject' }, tr('split.subject')), subject),
    go, ' ', h('button', { type: 'button', id: 'split-cancel', onclick: () => endSplit() }, tr('app.cancel')), ' ', err);
  bar.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); endSplit(); } });
  thread.before(bar);
  thread.classList.add('selecting');
  $('#split-ticket').setAttribute('aria-pressed', 'true');
  const update = () => {
    const n = picked().length;
    count.textContent = n ? tr('split.selected', { n }) : tr('split.noneSelected');
    go.disabled = n === 0;
  };
  const addBoxes = () => {
    for (const li of $$('#thread > li.msg[data-id]')) {
      if (li.querySelector('.split-pick')) continue;
      const who = li.querySelector('.author')?.textContent || tr('message.theCustomer');
      const box = h('input', { type: 'checkbox', class: 'split-pick', value: li.dataset.id,
        'aria-label': tr('split.selectMessage', { name: who, time: stamp(li.dataset.at) }) });
      box.addEventListener('change', update);
      box.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); endSplit(); } });
      li.querySelector('.msg-head').prepend(box);
    }
  };
  addBoxes();
  // Messages that arrive or load while selecting get their checkbox too.
  observer = new MutationObserver(addBoxes);
  observer.observe(thread, { childList: true });
  go.addEventListener('click', async () => {
    const ids = picked();
    if (!ids.length) return;
    go.disabled = true;
    err.textContent = '';
    let nt;
    try {
      nt = await post(`/api/v1/tickets/${t.id}/split`, { message_ids: ids, subject: subject.value.trim() });
    } catch (e) {
      err.textContent = e.message;
      go.disabled = false;
      return;
    }
    endSplit();
    const words = tr('ticket.split', { n: ids.length, id: nt.id });
    announce(words);
    await reload();
    const top = $('.ticket-top');
    if (!top) return;
    const link = h('a', { href: '#/tickets/' + nt.id, id: 'split-new' }, `#${nt.id} ${nt.subject || ''}`.trim());
    top.append(h('p', { class: 'ok-text', id: 'split-done' }, tn('split.done', { n: ids.length, ticket: link })));
    link.focus();
  });
  const first = $('#thread .split-pick');
  if (first) first.focus();
}

let observer = null;

function picked() {
  return $$('#thread .split-pick:checked').map((x) => Number(x.value));
}

function endSplit() {
  if (observer) observer.disconnect();
  observer = null;
  const bar = $('#split-bar');
  if (bar) bar.remove();
  for (const box of $$('#thread .split-pick')) box.remove();
  const thread = $('#thread');
  if (thread) thread.classList.remove('selecting');
  const btn = $('#split-ticket');
  if (btn) {
    btn.setAttribute('aria-pressed', 'false');
    btn.focus();
  }
}
