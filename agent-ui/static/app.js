// app.js starts the console: the session, the router, the live socket and the shortcuts.
// It is the one module that knows every other: it hands each socket event to the modules
// that show it and wires the one report that goes against the imports (orders.js tells of
// order actions, thread.js shows them), so no module imports one that imports it back.
//
// docs/console.md ("How the console's code is laid out") lists the modules, what each
// owns and what it may import.

import { get, post, setCSRF, whenUnauthorized } from './api.js';
import { h, fill, $, isTyping, announce } from './dom.js';
import { state, isManager, shownFolders } from './state.js';
import { Live } from './socket.js';
import { channelOptions } from './channels.js';
import { showOrderAction } from './thread.js';
import { useSocket, trackActivity, sendStatus, sendViewing, forgetPresence, onPresence, onCollision, renderTeam, renderCollisions } from './presence.js';
import { focusReply } from './composer.js';
import { forgetStoredDrafts } from './drafts.js';
import { whenAction, onOrderEvent } from './orders.js';
import { onCustomerEvent } from './customer.js';
import { showContacts } from './contacts.js';
import { showCustomerPage, onCustomerPageEvent } from './customerpage.js';
import { showHistory, onLiveEvent } from './history.js';
import { initBulk, pickCurrent } from './bulk.js';
import { loadList, loadMore, renderList, renderFolders, refreshCounts, countsChange, resetList, upsert, runSearch, neighbour, refreshTimes, markCurrent } from './list.js';
import { openTicket, closeTicket, forgetSession, onMessage, onTicket, resolveCurrent, showSide, assignCurrentToMe, pendCurrent } from './ticket.js';
import { showReports, reportsLink } from './reports.js';
import { showSettings } from './settings.js';
import { isManagerPage, showManagerSettings } from './audit.js';
import { isSetupPage, showInboxSettings } from './inboxsetup.js';
import { isSourcesPage, showSourceSettings } from './sources.js';
import { isWebhooksPage, showWebhookSettings } from './webhooks.js';
import { isRulesPage, showRuleSettings } from './rules.js';
import { isTeamsPage, showTeamSettings, initAvailability } from './teams.js';
import { isMacrosPage, showMacroSettings } from './macros.js';
import { loadMacros } from './macromenu.js';
import { secondStep, showInvite, resetSignIn } from './signin.js';
import { showProfile } from './profile.js';
import { isAccountAdminPage, showAccountAdminPage, firstRunHash } from './security.js';
import { initViews, loadViews, refreshViewCounts, forgetViews, renderViews } from './views.js';
import { initBell, loadNotifications, onNotification, forgetNotifications } from './notify.js';
import { openSnoozeMenu } from './snooze.js';
import { t as tr, translate } from './i18n.js';
import { loadReasons } from './reasons.js';
import { isReasonsPage, showReasonSettings } from './reasonsetup.js';

const live = new Live(onEvent, onConnState);
useSocket(live);
trackActivity();
whenAction(showOrderAction);

// ---- session ----

async function boot() {
  translate();
  whenUnauthorized(showLogin);
  fill($('#f-channel'), channelOptions());
  $('#login-form').addEventListener('submit', login);
  // An invitation link opens its own page, whoever may be signed in here.
  if (location.hash.startsWith('#/invite/')) {
    showInvite(location.hash.slice('#/invite/'.length), start);
    return;
  }
  try {
    const me = await get('/api/v1/me');
    await start(me.agent, me.csrf_token);
  } catch (e) {
    if (e.status === 401) showLogin();
    else fill(document.body, h('p', { class: 'error pad', role: 'alert' }, tr('app.startFailed', { error: e.message })));
  }
}

// showLogin ends the console's session: after a sign-out, or when the API or the socket
// says the session is gone, which is final until the agent signs in again.
function showLogin() {
  live.stop();
  state.me = null;
  setCSRF('');
  forgetSession();
  resetList();
  forgetPresence();
  forgetViews();
  forgetNotifications();
  lastListKey = '';
  resetSignIn();
  $('#app').hidden = true;
  $('#login').hidden = false;
  document.body.dataset.view = 'login';
  document.title = tr('login.title');
  $('#login-email').focus();
}

async function login(e) {
  e.preventDefault();
  const err = $('#login-error');
  err.textContent = '';
  const email = $('#login-email').value.trim();
  const password = $('#login-password').value;
  if (!email || !password) {
    err.textContent = tr('login.missing');
    return;
  }
  try {
    const res = await post('/api/v1/login', { email, password });
    $('#login-password').value = '';
    if (res.step) {
      // Two-factor sign-in: a code, or setting an app up, before any session.
      secondStep(res, start);
      return;
    }
    await start(res.agent, res.csrf_token);
  } catch (ex) {
    err.textContent = ex.code === 'unauthorized' ? tr('login.wrong') : ex.message;
  }
}

async function logout() {
  // The agent's stored drafts go too: the next person at this computer must not find them.
  if (state.me) forgetStoredDrafts(state.me.id);
  try { await post('/api/v1/logout'); } catch { /* the session is gone either way */ }
  location.hash = '';
  showLogin();
}

let started = false;

async function start(agent, csrf) {
  state.me = agent;
  setCSRF(csrf);
  $('#login').hidden = true;
  $('#app').hidden = false;
  document.body.dataset.view = 'app';
  $('#me-name').textContent = agent.name;
  initAvailability();
  $('#settings-link').hidden = !isManager();
  reportsLink(isManager());
  await loadReference();
  // A fresh install opens on the first-run checklist for admins.
  if (!location.hash || location.hash === '#/inbox/mine') {
    const first = await firstRunHash();
    if (first) history.replaceState(null, '', first);
  }
  if (!started) {
    started = true;
    wire();
  }
  live.start();
  renderFolders();
  renderTeam();
  refreshCounts();
  loadNotifications();
  await loadViews();
  await route();
  updateTitle();
}

// loadReference loads the names the views need: agents, inboxes and canned responses.
async function loadReference() {
  const [a, i, c] = await Promise.allSettled([
    get('/api/v1/agents'), get('/api/v1/inboxes'), get('/api/v1/canned-responses'),
  ]);
  state.agents = a.status === 'fulfilled' ? a.value.agents : [state.me];
  state.inboxes = i.status === 'fulfilled' ? i.value.inboxes : [];
  state.canned = c.status === 'fulfilled' ? c.value.canned_responses : [];
  const [tm] = await Promise.allSettled([get('/api/v1/teams'), loadMacros(), loadReasons()]);
  state.teams = tm.status === 'fulfilled' ? tm.value.teams : [];
  fill($('#f-team'), h('option', { value: '' }, tr('filters.allTeams')), state.teams.map((x) => h('option', { value: x.id }, x.name)));
  fill($('#f-inbox'), h('option', { value: '' }, tr('filters.allInboxes')), state.inboxes.map((x) => h('option', { value: x.id }, x.name)));
  fill($('#f-assignee'), h('option', { value: '' }, tr('filters.folderDefault')), h('option', { value: 'me' }, tr('filters.me')),
    h('option', { value: 'unassigned' }, tr('filters.unassigned')),
    state.agents.filter((x) => x.id !== state.me.id).map((x) => h('option', { value: x.id }, x.name)));
  for (const [k, v] of Object.entries(state.filters)) {
    const el = $('#f-' + k);
    if (el) el.value = v;
  }
}

// ---- routing: #/inbox/mine, #/tickets/42, #/customers, #/customers/7, #/customers/7/history, #/search/words,
// #/settings/agents, #/reports/from=…&to=… ----

let lastListKey = '';

// route shows the view of the address. Routes run one after another, so a slow one (the
// first view after sign-in) cannot finish after, and undo, a newer one.
let routing = Promise.resolve();
function route() {
  routing = routing.then(routeNow, routeNow);
  return routing;
}

async function routeNow() {
  if (!state.me) return;
  const [, section = 'inbox', arg = '', sub = ''] = (location.hash || '#/inbox/mine').split('/');
  const settings = section === 'settings';
  const historyPage = section === 'customers' && sub === 'history';
  const customersPage = section === 'customers';
  // Reports, contacts, a customer and its full history use the wide pane that settings use.
  const wide = settings || section === 'reports' || customersPage || section === 'profile';
  $('#settings-pane').hidden = !wide;
  $('#settings-pane').setAttribute('aria-label', tr(section === 'reports' ? 'pane.reports' : historyPage ? 'pane.history'
    : customersPage ? (Number(arg) > 0 ? 'pane.customer' : 'pane.contacts') : section === 'profile' ? 'pane.profile' : 'pane.settings'));
  document.body.dataset.section = wide ? 'settings' : 'work';
  if (settings) {
    if (isManagerPage(arg)) {
      if (!(await showManagerSettings(arg))) location.hash = '#/inbox/' + state.folder;
    } else if (isSetupPage(arg)) {
      if (!(await showInboxSettings(arg, sub))) location.hash = '#/inbox/' + state.folder;
    } else if (isSourcesPage(arg)) {
      if (!(await showSourceSettings(arg))) location.hash = '#/inbox/' + state.folder;
    } else if (isWebhooksPage(arg)) {
      if (!(await showWebhookSettings(arg))) location.hash = '#/inbox/' + state.folder;
    } else if (isRulesPage(arg)) {
      if (!(await showRuleSettings(arg))) location.hash = '#/inbox/' + state.folder;
    } else if (isReasonsPage(arg)) {
      if (!(await showReasonSettings(arg))) location.hash = '#/inbox/' + state.folder;
    } else if (isTeamsPage(arg)) {
      if (!(await showTeamSettings(arg))) location.hash = '#/inbox/' + state.folder;
    } else if (isMacrosPage(arg)) {
      if (!(await showMacroSettings(arg))) location.hash = '#/inbox/' + state.folder;
    } else if (isAccountAdminPage(arg)) {
      if (!(await showAccountAdminPage(arg))) location.hash = '#/inbox/' + state.folder;
    } else if (!(await showSettings(arg))) location.hash = '#/inbox/' + state.folder;
    return;
  }
  if (section === 'reports') {
    await showReports(arg);
    return;
  }
  if (section === 'profile') {
    await showProfile();
    return;
  }
  if (historyPage) {
    if (Number(arg) > 0) await showHistory(Number(arg));
    return;
  }
  if (customersPage) {
    if (Number(arg) > 0) await showCustomerPage(Number(arg));
    else await showContacts();
    return;
  }
  if (section === 'search') {
    let q = arg;
    try { q = decodeURIComponent(arg); } catch { /* a malformed address: search for it as typed */ }
    $('#search-q').value = q;
    if (q !== state.search) await runSearch(q);
    document.body.dataset.pane = 'list';
    return;
  }
  if (section === 'view') {
    // A saved view: its filters and sort; one that is gone (deleted elsewhere) is Mine.
    const v = state.views.find((x) => String(x.id) === arg);
    if (!v) {
      location.hash = '#/inbox/mine';
      return;
    }
    state.search = '';
    $('#search-q').value = '';
    if (state.folder !== 'view:' + v.id) state.sort = v.sort === 'newest' ? '' : v.sort;
    await showList('view:' + v.id);
    if (state.ticketID) closeTicket();
    document.body.dataset.pane = 'list';
    return;
  }
  if (section === 'inbox') {
    const f = shownFolders().some((x) => x.id === arg) ? arg : 'mine';
    state.search = '';
    $('#search-q').value = '';
    await showList(f);
    if (state.ticketID) closeTicket();
    document.body.dataset.pane = 'list';
    return;
  }
  if (!lastListKey) await showList(state.folder);
  if (section === 'tickets') {
    const id = Number(arg);
    document.body.dataset.pane = 'ticket';
    if (id > 0 && id !== state.ticketID) {
      await openTicket(id);
      // Move to what was opened, so that a keyboard or screen reader user lands on it.
      // Only from the list (or nowhere): focus the agent put elsewhere meanwhile stays.
      const heading = $('#ticket-subject');
      const from = document.activeElement;
      if (heading && state.ticketID === id && (!from || from === document.body || from.closest('.list-pane'))) heading.focus();
    } else if (!(id > 0)) closeTicket();
    updateTitle();
    return;
  }
  location.hash = '#/inbox/' + state.folder;
}

// showList loads the folder unless it is already shown with the same filters.
async function showList(folder) {
  const key = folder + JSON.stringify(state.filters) + state.sort;
  state.folder = folder;
  renderFolders();
  renderViews();
  if (key === lastListKey && !state.search) {
    renderList();
    return;
  }
  lastListKey = key;
  await loadList();
}

// ---- live events ----

function onConnState(s, info = {}) {
  // A socket refused before it opened may mean the session expired: asking the API
  // tells, and its 401 brings the sign-in form instead of another retry.
  if (s === 'offline' && info.refused && state.me) get('/api/v1/me').catch(() => {});
  const el = $('#conn');
  el.dataset.state = s;
  el.textContent = tr(s === 'live' ? 'conn.live' : s === 'connecting' ? 'conn.connecting' : 'conn.offline');
  if (s === 'live') {
    // A new socket counts as online; a hidden tab says otherwise at once.
    sendStatus();
    // Without a resume point the page may have missed events: read the list again.
    if (!info.resumed) {
      lastListKey = '';
      if (!state.search) showList(state.folder);
      refreshCounts();
      refreshViewCounts();
      loadNotifications(); // notifications are not replayed by a resume
    }
    if (state.ticketID) sendViewing();
  }
}

function onEvent(f) {
  if (!state.me) return;
  const d = f.data;
  switch (f.type) {
    case 'ticket.created':
    case 'ticket.updated':
      if (!d) return;
      upsert(d);
      if (f.type === 'ticket.created' && !state.search && state.tickets.some((t) => t.id === d.id)) announce(tr('ticket.new', { id: d.id, subject: d.subject || tr('ticket.noSubject') }));
      onTicket(d);
      onLiveEvent(f.type, d);
      markCurrent();
      if (countsChange(d)) refreshCounts();
      refreshViewCounts();
      break;
    case 'message.created':
    case 'message.updated':
      onMessage(f.type, d);
      if (f.type === 'message.created' && !state.search) renderList();
      break;
    case 'customer.updated':
    case 'customer.merged':
      onCustomerEvent(f.type, d);
      onCustomerPageEvent(f.type, d);
      break;
    case 'order.updated':
    case 'order.action':
      // The orders panel takes both; it passes each action on to the thread.
      onOrderEvent(f.type, d);
      break;
    case 'typing':
    case 'viewing':
      onCollision(f.type, d);
      break;
    case 'sla.warning':
    case 'ticket.sla_breached':
    case 'csat.answered':
      onLiveEvent(f.type, d);
      break;
    case 'presence':
      onPresence(d);
      break;
    case 'notification':
      onNotification(d);
      break;
    default:
      break; // error frames and unknown types are not for the user
  }
  updateTitle();
}

// updateTitle names the view in the tab's title: the open ticket, or the page of the
// wide pane (Reports, Settings, a customer's history, the profile), and the unread count.
function updateTitle() {
  const n = state.unread.size;
  let page = '';
  if (document.body.dataset.section === 'settings') page = $('#settings-pane').getAttribute('aria-label') || tr('pane.settings');
  else if (state.search) page = tr('list.search', { q: state.search });
  else if (state.ticket) page = `#${state.ticket.id} ${state.ticket.subject || ''}`.trim();
  const base = page ? tr('title.page', { page }) : 'Parley';
  document.title = n > 0 ? `(${n}) ${base}` : base;
  // The view's one h1, for screen readers' heading navigation; the eye has the panes' own.
  const h1 = $('#view-title');
  if (h1) h1.textContent = page || tr('title.inbox', { list: document.querySelector('#list-title')?.textContent || tr('list.inbox') });
}

// ---- controls and shortcuts ----

function wire() {
  window.addEventListener('hashchange', () => { route().then(updateTitle); });
  $('#logout').addEventListener('click', logout);
  $('#help-button').addEventListener('click', () => $('#help').showModal());
  $('#load-more').addEventListener('click', () => loadMore().catch(() => {}));
  initBulk(() => (state.search ? runSearch(state.search) : loadList()).catch(() => {}));
  initBell();
  initViews(() => { lastListKey = ''; if (!state.search) showList(state.folder); });
  $('#clear-search').addEventListener('click', () => { location.hash = '#/inbox/' + state.folder; });
  $('#search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = $('#search-q').value.trim();
    if (!q) return;
    state.search = '';
    location.hash = '#/search/' + encodeURIComponent(q);
  });
  $('#search-q').addEventListener('keydown', (e) => { if (e.key === 'Escape') e.target.blur(); });
  const filters = $('#filters');
  filters.addEventListener('change', applyFilters);
  filters.addEventListener('submit', (e) => { e.preventDefault(); applyFilters(); });
  filters.addEventListener('reset', () => setTimeout(applyFilters));
  document.addEventListener('keydown', onKey);
  document.addEventListener('keydown', closeDrawers);
  $('#filters-toggle').addEventListener('click', () => showFilters(true));
  $('#filters-done').addEventListener('click', () => showFilters(false));
  document.addEventListener('visibilitychange', () => {
    sendStatus();
    if (!document.hidden && state.ticketID) {
      state.unread.delete(state.ticketID);
      updateTitle();
    }
  });
  setInterval(renderCollisions, 1000);
  setInterval(refreshTimes, 30000);
}

// showFilters opens or closes the filters drawer of a phone-sized screen; focus goes into
// it and back to its button.
function showFilters(open) {
  document.body.classList.toggle('filters-open', open);
  const b = $('#filters-toggle');
  b.setAttribute('aria-expanded', String(open));
  if (open) $('#f-inbox').focus();
  else b.focus();
}

// closeDrawers closes the open drawer (the phone's filters, the customer panel) on Esc.
function closeDrawers(e) {
  if (e.key !== 'Escape' || $('#help').open) return;
  if (document.body.classList.contains('filters-open')) {
    e.preventDefault();
    showFilters(false);
  } else if (document.body.classList.contains('side-open') && getComputedStyle($('#side-pane')).position === 'absolute') {
    e.preventDefault();
    showSide(false);
  }
}

function applyFilters() {
  for (const k of Object.keys(state.filters)) {
    state.filters[k] = ($('#f-' + k).value || '').trim();
  }
  if (state.search) {
    location.hash = '#/inbox/' + state.folder;
    return;
  }
  showList(state.folder);
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e) || !state.me || $('#help').open) return;
  if (document.body.dataset.section === 'settings' && e.key !== '?' && e.key !== '/') return;
  const go = (id) => { if (id) location.hash = '#/tickets/' + id; };
  switch (e.key) {
    case 'j': go(neighbour(1)); break;
    case 'k': go(neighbour(-1)); break;
    case 'r': focusReply('reply'); break;
    case 'n': focusReply('note'); break;
    case 'e': resolveCurrent(); break;
    case 'z': if (!openSnoozeMenu()) return; break;
    case 'a': assignCurrentToMe(); break;
    case 'p': pendCurrent(); break;
    case 'x': pickCurrent(); break;
    case '/': $('#search-q').focus(); $('#search-q').select(); break;
    case '?': $('#help').showModal(); break;
    default: return;
  }
  e.preventDefault();
}

boot();
