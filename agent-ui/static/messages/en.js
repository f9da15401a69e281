// messages/en.js is the console's English catalogue (i18n.js). Keys are grouped by the
// part of the console that says them; {name} is filled in, key.one / key.other are the
// plural forms chosen by {n}.

export default {
  // The open ticket and the list.
  'ticket.new': 'New ticket #{id}: {subject}',
  'ticket.noSubject': 'no subject',
  'ticket.status': 'Ticket #{id} is {status}',
  'ticket.assignedToYou': 'Ticket #{id} is assigned to you',
  'ticket.snoozed': 'Ticket #{id} snoozed {until}',
  'ticket.unsnoozed': 'Ticket #{id} is no longer snoozed',
  'message.new': 'New message from {name}',
  'message.theCustomer': 'the customer',
  'list.sorted': 'Sorted by {order}',
  'view.saved': 'View {name} saved',
  'view.renamed': 'View renamed to {name}',
  'view.deleted': 'View {name} deleted',
  'ticket.merged': 'Merged #{id} into #{into}',
  'ticket.split.one': 'Moved {n} message to the new ticket #{id}',
  'ticket.split.other': 'Moved {n} messages to the new ticket #{id}',

  // The composer.
  'reply.sent': 'Reply sent',
  'reply.noteAdded': 'Note added',
  'attach.chosen.one': '{n} file chosen: {total} to send',
  'attach.chosen.other': '{n} files chosen: {total} to send',
  'attach.dropped.one': '{n} file dropped: {total} to send',
  'attach.dropped.other': '{n} files dropped: {total} to send',
  'attach.pasted.one': '{n} file pasted: {total} to send',
  'attach.pasted.other': '{n} files pasted: {total} to send',
  'attach.removed': '{name} removed',
  'format.bold': 'Bold',
  'format.italic': 'Italic',
  'format.list': 'List',
  'format.link': 'Link: type the address',
  'send.buttonReads': 'The Send button now reads: {label}',
  'canned.matches.one': '{n} canned response: up and down to choose, Enter to insert',
  'canned.matches.other': '{n} canned responses: up and down to choose, Enter to insert',
  'canned.inserted': '{title} inserted',
  'emoji.inserted': '{name} inserted',

  // Customers.
  'customer.identityAdded': 'Added {address}',
  'customer.identityChanged': 'Changed {from} to {to}',
  'customer.identityRemoved': 'Removed {address}',
  'customer.merged': 'Merged {name} into {into}',
  'customer.unmerged': 'Undid the merge of {name}',
  'customer.visitorLinked': 'Linked the visitor to {name}',

  // Mentions, notifications, macros.
  'mention.matches.one': '{n} agent matches: up and down to choose, Enter to mention',
  'mention.matches.other': '{n} agents match: up and down to choose, Enter to mention',
  'mention.done': '{name} mentioned',
  'notification.new': 'Notification: {text} (ticket #{id})',
  'notification.allRead': 'All notifications marked read',
  'macro.applied': 'Macro {name} applied',
  'macro.appliedWithReply': 'Macro {name} applied; its reply is in the reply box',
  'macro.saved': 'Macro {name} saved',
  'macro.deleted': 'Macro {name} deleted',

  // Settings: rules, teams, availability.
  'rule.moved': '{name} moved {direction}, now rule {position} of {count}.',
  'rule.off': '{name} is off.',
  'rule.on': '{name} is on.',
  'rule.deleted': '{name} deleted.',
  'rule.saved': 'Rule {name} saved.',
  'rule.savedOff': 'Rule {name} saved, turned off.',
  'rule.dryRun': 'Dry run: {summary}',
  'team.added': 'Team {name} added',
  'team.saved': 'Team {name} saved',
  'team.deleted': 'Team {name} deleted',
  'team.capacityAdded': 'Capacity added; save to keep it',
  'team.assignmentSaved': 'Auto-assignment saved',
  'availability.now': 'You are {availability}',
};
