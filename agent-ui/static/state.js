// state.js holds what the console knows, shared by its views.

import { t as tr } from './i18n.js';

export const state = {
  me: null,            // the logged-in agent
  agents: [],          // every agent, for names and assignment
  inboxes: [],         // inboxes this agent may see
  canned: [],          // canned responses
  teams: [],           // teams, for the ticket's Team (teams.js)
  macros: [],          // the macros this agent may apply (macros.js)
  folder: 'mine',       // a folder's id, or "view:ID" for a saved view
  views: [],           // the saved views this agent sees, with their counts (views.js)
  sort: '',            // the list's sort: '' (newest), oldest_waiting, sla_due or priority
  filters: { inbox: '', channel: '', status: '', assignee: '', team: '', tag: '' },
  tickets: [],         // the list shown, newest activity first
  nextCursor: '',
  search: '',          // the query whose results are shown, or ''
  ticketID: 0,         // the open ticket
  ticket: null,
  messages: [],
  customer: null,
  orders: [],
  unread: new Set(),   // ticket ids with customer messages not yet seen
  picked: new Set(),   // ticket ids selected in the list for a bulk change
  presence: new Map(), // agent id -> "online", "away" or "offline"
  // collisions: ticket id -> Map(agent id -> {name, viewing, typing}) with expiry times
  collisions: new Map(),
};

export const isManager = () => state.me && (state.me.role === 'manager' || state.me.role === 'admin');
export const isAdmin = () => state.me && state.me.role === 'admin';

export function agentName(id) {
  if (!id) return '';
  const a = state.agents.find((x) => x.id === id);
  return a ? a.name : tr('agent.unknown', { id });
}

export function inboxName(id) {
  const i = state.inboxes.find((x) => x.id === id);
  return i ? i.name : tr('inbox.unknown', { id });
}

// Folders: what each one asks the API for. A folder's name is the catalogue's
// (folder.<id>), read when it is shown.
export const folders = [
  { id: 'mine', params: { status: 'open', assignee: 'me' } },
  { id: 'unassigned', params: { status: 'open', assignee: 'unassigned' } },
  { id: 'open', params: { status: 'open' } },
  { id: 'pending', params: { status: 'pending' } },
  { id: 'snoozed', params: { snoozed: 'only' } },
  { id: 'resolved', params: { status: 'resolved' } },
  // Delivery reports that matched no reply: closed from the start, for managers to
  // review. Nothing there waits for anyone, so it costs no count request.
  { id: 'bounces', params: { tag: 'bounce' }, managers: true, noCount: true },
];
for (const f of folders) Object.defineProperty(f, 'name', { get: () => tr('folder.' + f.id) });

// shownFolders are the folders of the agent signed in.
export function shownFolders() {
  return folders.filter((f) => !f.managers || isManager());
}

export function folderOf(id) {
  if (String(id).startsWith('view:')) {
    const v = state.views.find((x) => 'view:' + x.id === id);
    if (v) return { id, name: v.name, params: viewParams(v), view: v };
  }
  return folders.find((f) => f.id === id) || folders[0];
}

// viewParams are the list parameters of saved view v.
export function viewParams(v) {
  const p = { ...(v.filters || {}) };
  if (p.inbox) p.inbox = String(p.inbox);
  if (v.sort && v.sort !== 'newest') p.sort = v.sort;
  return p;
}

// listParams merges the folder's params with the filters; a filter wins.
export function listParams() {
  const p = { ...folderOf(state.folder).params };
  for (const [k, v] of Object.entries(state.filters)) {
    if (v) p[k] = v;
  }
  if (state.sort) p.sort = state.sort;
  if (p.sort === 'newest') delete p.sort;
  return p;
}

// matches reports whether ticket t belongs in the list shown, so live updates can add,
// move or drop it without asking the server.
export function matches(t, p = listParams()) {
  if (p.status && t.status !== p.status) return false;
  if (p.assignee === 'me' && t.assignee_id !== state.me.id) return false;
  if (p.assignee === 'unassigned' && t.assignee_id) return false;
  if (p.assignee && !['me', 'unassigned'].includes(p.assignee) && t.assignee_id !== Number(p.assignee)) return false;
  if (p.inbox && t.inbox_id !== Number(p.inbox)) return false;
  if (p.team && t.team_id !== Number(p.team)) return false;
  if (p.channel && t.channel !== p.channel) return false;
  if (p.tag && !(t.tags || []).includes(p.tag)) return false;
  if (t.merged_into) return false;
  // Snoozed tickets show only where asked for; a search (q) is the server's to match.
  const snoozed = !!(t.snoozed_until || t.snooze_until_reply);
  if (p.snoozed === 'only' ? !snoozed : (p.snoozed !== 'any' && snoozed)) return false;
  if (p.q && !state.tickets.some((x) => x.id === t.id)) return false;
  return true;
}

const rank = { urgent: 3, high: 2, normal: 1, low: 0 };
const waitKey = (t) => (t.waiting_since ? new Date(t.waiting_since).getTime() : Infinity);

// listOrder is the comparison of the list's sort, for tickets that events add or move.
// The SLA's due times are the server's: a ticket keeps its place, a new one goes last.
export function listOrder(p = listParams()) {
  switch (p.sort) {
    case 'oldest_waiting': return (a, b) => (waitKey(a) - waitKey(b)) || (a.id - b.id);
    case 'priority': return (a, b) => ((rank[b.priority] ?? 0) - (rank[a.priority] ?? 0)) || byActivity(a, b);
    case 'sla_due': return () => 0;
    default: return byActivity;
  }
}

export function byActivity(a, b) {
  const d = new Date(b.last_message_at) - new Date(a.last_message_at);
  return d || b.id - a.id;
}

// Customer names for the list: tickets carry only the customer id, so names are fetched
// once per customer and filled into every element marked with data-customer.
const customerNames = new Map();
const pending = new Set();

export function rememberCustomer(c) {
  if (!c || !c.id) return;
  customerNames.set(c.id, customerLabel(c));
  for (const el of document.querySelectorAll(`[data-customer="${c.id}"]`)) {
    el.textContent = customerNames.get(c.id);
  }
}

// customerLabel is the name to show for customer c: its name, else an address a person
// can read (email, phone), else what it is ("Discord user", "Chat visitor"): never the
// raw id of a Discord user or chat visitor.
export function customerLabel(c) {
  if (c.name) return c.name;
  const ids = c.identities || [];
  const readable = ids.find((i) => i.kind === 'email') || ids.find((i) => i.kind === 'phone');
  if (readable) return readable.address;
  if (ids.some((i) => i.kind === 'discord')) return tr('customer.discordUser');
  if (ids.some((i) => i.kind === 'chat')) return tr('customer.chatVisitor');
  return tr('customer.unknown', { id: c.id });
}

// At most this many customers are fetched at once; a long list queues the rest.
const maxFetches = 4;
const queue = [];
let running = 0;

// customerName returns the known name of a customer and queues unknown ones to be
// fetched with get, once per customer.
export function customerName(id, get) {
  if (customerNames.has(id)) return customerNames.get(id);
  if (!pending.has(id)) {
    pending.add(id);
    queue.push(id);
    fetchNames(get);
  }
  return tr('customer.unknown', { id });
}

function fetchNames(get) {
  while (running < maxFetches && queue.length > 0) {
    const id = queue.shift();
    running++;
    get('/api/v1/customers/' + id)
      .then(rememberCustomer)
      .catch((e) => {
        // A customer this agent may not see, or one that is gone, is not asked for again.
        if (e.status === 403 || e.status === 404) customerNames.set(id, tr('customer.unknown', { id }));
      })
      .finally(() => {
        running--;
        pending.delete(id);
        fetchNames(get);
      });
  }
}
