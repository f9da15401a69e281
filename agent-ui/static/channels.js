// channels.js is the one list of the channels a conversation comes by, in the order the
// console shows them everywhere: the channel filter, badges, the reports' charts and
// filters, the history filter and the CSAT settings. A badge's colours are the
// stylesheet's .ch-<id> classes.

import { h } from './dom.js';
import { t } from './i18n.js';

// A channel's name is the catalogue's (channel.<id>); survey says how the CSAT survey
// asks on the channel (channel.survey.<id>), and is empty on a channel without one.
const surveyed = ['email', 'sms', 'whatsapp', 'chat', 'discord'];
export const channels = ['email', 'sms', 'whatsapp', 'voice', 'chat', 'discord', 'api'].map((id) => ({
  id,
  get name() { return t('channel.' + id); },
  get survey() { return surveyed.includes(id) ? t('channel.survey.' + id) : ''; },
}));

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
  return [h('option', { value: '' }, t('filters.allChannels')),
    channels.map((c) => h('option', { value: c.id, selected: c.id === selected }, c.name))];
}
