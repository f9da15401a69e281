// presence.js is who is where. Out to the hub: this agent's status (online or away),
// the ticket it views and that it is typing a reply. In from the hub: the team online
// and, on the open ticket, the collision warnings ("Dana is viewing", "Dana is typing a
// reply", "The customer is typing…").

import { h, fill, $ } from './dom.js';
import { state, agentName } from './state.js';
import { t as tr } from './i18n.js';

let live = null;  // the socket, to send presence, viewing and typing
let lastTyping = 0;

export function useSocket(l) { live = l; }

// sendStatus tells the hub whether this agent is online or away: away while the tab is
// hidden.
export function sendStatus() {
  if (live) live.send({ type: 'presence', status: document.hidden ? 'away' : 'online' });
}

// sendViewing tells the other agents which ticket is open here; 0 means none. The hub
// remembers it and tells agents who connect later, so it is sent only on a change and
// after a reconnect.
export function sendViewing() {
  if (!live) return;
  live.send({ type: 'viewing', ticket_id: state.ticketID || 0 });
}

// trackActivity counts the agent's handle time: every 15 seconds while a ticket is open,
// the tab visible and the agent at work (a key, the pointer or scrolling in the last
// minute), the hub is told, and adds the time to the agent's time on the ticket (the
// support cost report, docs/reports.md).
export function trackActivity() {
  let lastWork = Date.now();
  const worked = () => { lastWork = Date.now(); };
  for (const ev of ['keydown', 'pointerdown', 'pointermove', 'wheel', 'scroll']) {
    addEventListener(ev, worked, { passive: true, capture: true });
  }
  setInterval(() => {
    if (live && state.ticketID && !document.hidden && Date.now() - lastWork < 60000) {
      live.send({ type: 'active', ticket_id: state.ticketID });
    }
  }, 15000);
}

// sendTyping tells the other agents that this one types a reply to the open ticket, at
// most every 2.5 seconds.
export function sendTyping() {
  if (!live) return;
  const now = Date.now();
  if (now - lastTyping > 2500) {
    lastTyping = now;
    live.send({ type: 'typing', ticket_id: state.ticketID });
  }
}

// forgetPresence drops who was online and where, for the next agent to sign in.
export function forgetPresence() {
  state.collisions.clear();
  state.presence.clear();
}

// onPresence applies a presence frame: the first one lists everyone connected; later ones
// change one agent.
export function onPresence(d) {
  if (d && Array.isArray(d.agents)) {
    state.presence.clear();
    for (const p of d.agents) state.presence.set(p.agent_id, p.status);
    for (const m of state.collisions.values()) {
      for (const id of m.keys()) if (typeof id === 'number' && !state.presence.has(id)) m.delete(id);
    }
  } else if (d && d.agent_id) {
    state.presence.set(d.agent_id, d.status);
    if (d.status === 'offline') agentGone(d.agent_id);
  }
  renderTeam();
}

// renderTeam lists the other agents online or away.
export function renderTeam() {
  const online = state.agents.filter((a) => a.id !== state.me.id && ['online', 'away'].includes(state.presence.get(a.id)));
  fill($('#team-list'), online.length ? online.map((a) => h('li', { class: 'presence-' + state.presence.get(a.id) },
    h('span', { class: 'dot', 'aria-hidden': 'true' }), state.presence.get(a.id) === 'away' ? tr('presence.away', { name: a.name }) : a.name))
    : h('li', { class: 'muted' }, tr('presence.nobody')));
}

// onCollision records a typing or viewing frame of another agent. Viewing lasts until the
// agent views another ticket, views none (ticket 0) or goes offline; typing fades after
// a few seconds without a new frame.
export function onCollision(type, d) {
  if (!d) return;
  const now = Date.now();
  if (!d.agent_id && d.customer_id && d.ticket_id && type === 'typing') {
    // The shopper typing in the chat widget.
    let m = state.collisions.get(d.ticket_id);
    if (!m) state.collisions.set(d.ticket_id, (m = new Map()));
    m.set('customer', { viewing: false, typing: now + 6000, customer: true });
    renderCollisions();
    return;
  }
  if (!d.agent_id || d.agent_id === state.me.id) return;
  if (type === 'viewing') {
    for (const [tid, m] of state.collisions) {
      if (tid !== d.ticket_id) m.delete(d.agent_id);
    }
  }
  if (d.ticket_id) {
    let m = state.collisions.get(d.ticket_id);
    if (!m) state.collisions.set(d.ticket_id, (m = new Map()));
    const c = m.get(d.agent_id) || { name: '', viewing: false, typing: 0 };
    c.name = d.agent_name || agentName(d.agent_id);
    // Typing implies viewing: the typist has the ticket open.
    c.viewing = true;
    if (type === 'typing') c.typing = now + 6000;
    m.set(d.agent_id, c);
  }
  renderCollisions();
}

// agentGone forgets what an agent who went offline was viewing.
function agentGone(agentID) {
  for (const m of state.collisions.values()) m.delete(agentID);
  renderCollisions();
}

// collisionsEl is the place of the collision warnings under the ticket's header.
export function collisionsEl() {
  return h('div', { id: 'collisions', class: 'collisions', role: 'status', 'aria-live': 'polite' });
}

// renderCollisions shows who else has the open ticket, dropping expired entries.
export function renderCollisions() {
  const now = Date.now();
  for (const [tid, m] of state.collisions) {
    if (m.size === 0) state.collisions.delete(tid);
  }
  const box = $('#collisions');
  if (!box) return;
  const m = state.collisions.get(state.ticketID);
  const lines = [];
  if (m) {
    for (const [key, c] of m) {
      if (c.customer) {
        if (c.typing > now) lines.push(h('p', { class: 'typing customer' }, tr('presence.customerTyping')));
        else m.delete(key);
        continue;
      }
      lines.push(c.typing > now
        ? h('p', { class: 'typing' }, tr('presence.typing', { name: c.name }))
        : h('p', { class: 'viewing' }, tr('presence.viewing', { name: c.name })));
    }
  }
  // Replace only on change, so screen readers do not hear the same news every second.
  const text = lines.map((l) => l.textContent).join('|');
  if (box.dataset.text !== text) {
    box.dataset.text = text;
    fill(box, lines);
  }
}
