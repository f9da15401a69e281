// channels.js is the one list of the channels a conversation comes by, in the order the
// console shows them everywhere: the channel filter, badges, the reports' charts and
// filters, the history filter and the CSAT settings. A badge's colours are the
// stylesheet's .ch-<id> classes.

import { h } from './dom.js';

// survey says how the CSAT survey asks on the channel; a channel without one has none.
export const channels = [
  { id: 'email', name: 'Email', survey: 'Email (one-click rating link)' },
  { id: 'sms', name: 'SMS', survey: 'SMS (reply 1–5)' },
  { id: 'whatsapp', name: 'WhatsApp', survey: 'WhatsApp (reply 1–5)' },
  { id: 'voice', name: 'Voice' },
  { id: 'chat', name: 'Chat', survey: 'Chat widget (rating buttons)' },
  { id: 'discord', name: 'Discord', survey: 'Discord (reply 1–5)' },
  { id: 'api', name: 'API' },
];

const byID = new Map(channels.map((c) => [c.id, c]));

// channelName names channel id; an unknown one keeps its id.
export function channelName(id) {
  const c = byID.get(id);
  return c ? c.name : id || '?';
}

export function channelBadge(id) {
  return h('span', { class: 'badge ch ch-' + (byID.has(id) ? id : 'other') }, channelName(id));
}

// channelOptions are the options of a channel filter: "All channels", then every channel,
// with selected chosen.
export function channelOptions(selected = '') {
  return [h('option', { value: '' }, 'All channels'),
    channels.map((c) => h('option', { value: c.id, selected: c.id === selected }, c.name))];
}
