// drafts.js keeps the drafts of the reply box: in memory, with their files, while the
// agent switches tickets, and in localStorage (text, mode, cc and bcc; never files)
// across reloads, per agent and ticket. Signing out deletes the agent's stored drafts,
// which must not wait on a shared computer for the next person.

import { state } from './state.js';

const prefix = 'parley.draft.';
const memory = new Map(); // ticket id -> {text, mode, cc, bcc, files}

const key = (ticketID) => `${prefix}${state.me ? state.me.id : 0}.${ticketID}`;

// getDraft returns the draft of a ticket, or null.
export function getDraft(ticketID) {
  if (memory.has(ticketID)) return memory.get(ticketID);
  if (!state.me) return null;
  try {
    const d = JSON.parse(localStorage.getItem(key(ticketID)) || 'null');
    if (d && typeof d.text === 'string') {
      return { text: d.text, mode: d.mode === 'note' ? 'note' : 'reply',
        cc: typeof d.cc === 'string' ? d.cc : null, bcc: typeof d.bcc === 'string' ? d.bcc : '' };
    }
  } catch { /* storage off or a broken entry: no draft */ }
  return null;
}

// putDraft keeps d as the draft of a ticket; one with nothing written is dropped.
export function putDraft(ticketID, d) {
  const empty = !d.text.trim() && d.cc == null && !d.bcc && !(d.files && d.files.length);
  if (empty && d.mode === 'reply') {
    dropDraft(ticketID);
    return;
  }
  memory.set(ticketID, d);
  if (!state.me) return;
  try {
    if (!d.text.trim() && d.cc == null && !d.bcc) localStorage.removeItem(key(ticketID));
    else localStorage.setItem(key(ticketID), JSON.stringify({ text: d.text, mode: d.mode, cc: d.cc, bcc: d.bcc, at: Date.now() }));
  } catch { /* storage full or off: the draft lasts while the page does */ }
}

// dropDraft deletes the draft of a ticket, after it was sent.
export function dropDraft(ticketID) {
  memory.delete(ticketID);
  if (!state.me) return;
  try { localStorage.removeItem(key(ticketID)); } catch { /* storage off */ }
}

// forgetMemoryDrafts drops the drafts held in memory.
export function forgetMemoryDrafts() {
  memory.clear();
}

// forgetStoredDrafts deletes every stored draft of the agent, at sign-out.
export function forgetStoredDrafts(agentID) {
  memory.clear();
  try {
    const mine = `${prefix}${agentID}.`;
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (k && k.startsWith(mine)) localStorage.removeItem(k);
    }
  } catch { /* storage off */ }
}
