// canned.js fills the placeholders of canned responses.

const known = ['customer.name', 'customer.first_name', 'ticket.id', 'agent.name', 'order.number'];

// fillPlaceholders replaces {{customer.name}}, {{customer.first_name}}, {{ticket.id}},
// {{agent.name}} and {{order.number}} (the latest order) in body. A placeholder without a
// value stays as written and is listed in missing, so the agent sees what to fill in.
export function fillPlaceholders(body, ctx) {
  const missing = [];
  const text = String(body).replace(/\{\{\s*([a-z_.]+)\s*\}\}/g, (all, key) => {
    const v = value(key, ctx);
    if (v === '' || v == null) {
      if (!missing.includes(all)) missing.push(all);
      return all;
    }
    return String(v);
  });
  return { text, missing };
}

function value(key, { customer, ticket, agent, orders }) {
  if (!known.includes(key)) return '';
  switch (key) {
    case 'customer.name': return customer ? customer.name : '';
    case 'customer.first_name': return customer && customer.name ? customer.name.trim().split(/\s+/)[0] : '';
    case 'ticket.id': return ticket ? ticket.id : '';
    case 'agent.name': return agent ? agent.name : '';
    case 'order.number': {
      const latest = [...(orders || [])].sort((a, b) => new Date(b.placed_at) - new Date(a.placed_at))[0];
      return latest ? latest.number : '';
    }
  }
  return '';
}

export const placeholders = known.map((k) => `{{${k}}}`);
