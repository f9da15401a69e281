// views.js is the saved views of the sidebar, with their live counts, and the sort of the
// ticket list. A view is a list's filters and sort under a name (GET /api/v1/views): the
// agent's own, or shared by a manager. Its count is what it shows this agent, up to
// "999+"; counts are read again, a second after the last ticket event at most once a
// second, so that they follow the socket without a request per event.

import { get, post, patch, del } from './api.js';
import { h, fill, $, announce } from './dom.js';
import { state, isManager, listParams } from './state.js';
import { t as tr } from './i18n.js';

// sorts are the list's orders; each one's name is the catalogue's (sort.<id>).
export const sorts = ['newest', 'oldest_waiting', 'sla_due', 'priority'];

let onChange = () => {}; // shows the list again after the sort or the current view changed
let form = null;         // '' (none), 'save', 'rename' or 'delete': the inline form shown
let timer = 0;
let seq = 0;

// initViews draws the views' place in the sidebar and the sort control over the list;
// reload shows the list again.
export function initViews(reload) {
  onChange = reload;
  const folders = $('#folder-list');
  if (!folders || $('#views')) return;
  // In the drawer with the filters: beside the folders on a wide screen, behind the
  // Filters button on a phone, where the list comes first.
  const drawer = $('#filters-drawer');
  const place = (el) => (drawer ? drawer.prepend(el) : folders.after(el));
  place(h('section', { id: 'views', class: 'views', 'aria-labelledby': 'views-title' },
    h('h2', { id: 'views-title', class: 'small-heading' }, tr('view.title')),
    h('ul', { id: 'view-list', class: 'folder-list' }),
    h('button', { type: 'button', id: 'save-view', class: 'link small', onclick: () => showForm('save') }, tr('view.saveList')),
    h('div', { id: 'view-form' })));
  const head = $('.list-pane .pane-head');
  head.append(h('div', { class: 'list-tools' },
    h('label', { for: 'list-sort' }, tr('sort.label')),
    h('select', { id: 'list-sort', onchange: (e) => { state.sort = e.target.value; onChange(); announce(tr('list.sorted', { order: sortName(state.sort) })); } },
      sorts.map((v) => h('option', { value: v }, sortName(v)))),
    h('button', { type: 'button', id: 'rename-view', class: 'link small', hidden: true, onclick: () => showForm('rename') }, tr('view.rename')),
    h('button', { type: 'button', id: 'delete-view', class: 'link small', hidden: true, onclick: () => showForm('delete') }, tr('view.delete'))));
}

export const sortName = (v) => tr('sort.' + (sorts.includes(v) ? v : sorts[0]));

// loadViews reads the views with their counts and draws them.
export async function loadViews() {
  const my = ++seq;
  try {
    const res = await get('/api/v1/views');
    if (my !== seq || !state.me) return;
    state.views = res.views || [];
  } catch { return; }
  renderViews();
}

// refreshViewCounts reads the counts again a second after the first call since the last
// read; the calls until then join it.
export function refreshViewCounts() {
  if (timer || !state.me) return;
  timer = setTimeout(() => {
    timer = 0;
    loadViews();
  }, 1000);
}

// forgetViews drops the views at sign-out.
export function forgetViews() {
  seq++;
  clearTimeout(timer);
  timer = 0;
  state.views = [];
  form = null;
  renderViews();
}

// currentView is the view the list shows, or null.
export function currentView() {
  if (state.search || !String(state.folder).startsWith('view:')) return null;
  const id = Number(state.folder.slice(5));
  return state.views.find((v) => v.id === id) || null;
}

export function renderViews() {
  const ul = $('#view-list');
  if (!ul) return;
  const cur = currentView();
  fill(ul, state.views.map((v) => {
    const n = v.count_capped ? '999+' : String(v.count);
    return h('li', {},
      h('a', { href: '#/view/' + v.id, class: 'folder', 'aria-current': cur && cur.id === v.id ? 'page' : null, dataset: { view: String(v.id) } },
        h('span', {}, v.name, v.shared ? h('span', { class: 'muted small' }, ' ', tr('view.shared')) : null),
        h('span', { class: 'count', 'aria-label': tr('list.count', { n }) }, n)));
  }));
  const mine = cur && (!cur.shared || isManager());
  $('#rename-view').hidden = !mine;
  $('#delete-view').hidden = !mine;
  const sel = $('#list-sort');
  if (sel) sel.value = state.sort || 'newest';
  renderForm();
}

function showForm(which) {
  form = which;
  renderForm();
  const first = $('#view-form input, #view-form button');
  if (first) first.focus();
}

function hideForm(focusID) {
  form = null;
  renderForm();
  const el = document.getElementById(focusID);
  if (el && !el.closest('[hidden]')) el.focus();
}

// renderForm draws the inline form to save, rename or delete a view.
function renderForm() {
  const box = $('#view-form');
  if (!box) return;
  const cur = currentView();
  if (!form || (form !== 'save' && !cur)) {
    fill(box);
    return;
  }
  const err = h('p', { id: 'view-error', class: 'error', role: 'alert' });
  const cancel = h('button', { type: 'button', id: 'view-cancel', class: 'link', onclick: () => hideForm(form === 'save' ? 'save-view' : form + '-view') }, tr('app.cancel'));
  const keys = (e) => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); cancel.click(); } };
  if (form === 'delete') {
    fill(box, h('div', { class: 'confirm', role: 'group', 'aria-label': tr('view.delete'), onkeydown: keys },
      h('p', {}, tr('view.deleteConfirm', { name: cur.name })),
      h('button', { type: 'button', id: 'view-delete-confirm', class: 'danger', onclick: async () => {
        try {
          await del('/api/v1/views/' + cur.id);
          announce(tr('view.deleted', { name: cur.name }));
          form = null;
          state.views = state.views.filter((v) => v.id !== cur.id);
          location.hash = '#/inbox/mine';
          loadViews();
        } catch (e) { err.textContent = e.message; }
      } }, tr('view.delete')), ' ', cancel, err));
    return;
  }
  const name = h('input', { id: 'view-name', type: 'text', maxlength: 100, required: true, autocomplete: 'off',
    value: form === 'rename' ? cur.name : '' });
  const shared = form === 'save' && isManager()
    ? h('label', { class: 'check block' }, h('input', { type: 'checkbox', id: 'view-shared' }), ' ', tr('view.sharedWithAll')) : null;
  const f = h('form', { class: 'view-form', onkeydown: keys },
    h('label', { for: 'view-name' }, tr(form === 'save' ? 'view.newName' : 'view.renameLabel')), name, shared,
    h('button', { type: 'submit', id: 'view-save', class: 'primary' }, tr(form === 'save' ? 'view.save' : 'view.renameButton')), ' ', cancel, err);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const n = name.value.trim();
    if (!n) {
      err.textContent = tr('view.nameMissing');
      name.focus();
      return;
    }
    try {
      if (form === 'save') {
        const v = await post('/api/v1/views', { name: n, filters: viewFilters(), sort: state.sort || 'newest', shared: !!(shared && $('#view-shared').checked) });
        form = null;
        state.views.push(v);
        announce(tr('view.saved', { name: v.name }));
        location.hash = '#/view/' + v.id;
      } else {
        const v = await patch('/api/v1/views/' + cur.id, { name: n });
        form = null;
        state.views = state.views.map((x) => (x.id === v.id ? v : x));
        announce(tr('view.renamed', { name: v.name }));
        renderViews();
        $('#list-title').textContent = v.name;
        $('#rename-view').focus();
      }
      loadViews();
    } catch (ex) { err.textContent = ex.message; }
  });
  fill(box, f);
}

// viewFilters are the filters of the list shown, as a view keeps them.
function viewFilters() {
  const p = listParams();
  const out = {};
  for (const k of ['status', 'assignee', 'channel', 'tag', 'q', 'snoozed']) {
    if (p[k]) out[k] = String(p[k]);
  }
  if (p.inbox) out.inbox = Number(p.inbox);
  return out;
}
