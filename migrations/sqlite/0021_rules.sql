-- Automation rules: when a trigger happens to a ticket whose facts meet the conditions,
-- the rules runner takes the actions, as the actor {"kind":"rule","id":<rule id>}. It
-- reads the event log after a cursor of its own. Times are unix milliseconds (UTC).

-- triggered (the trigger), conditions and actions are JSON (crm.RuleTrigger, crm.RuleConditions,
-- []crm.RuleAction). Enabled rules run in position order, 1 first.
CREATE TABLE rules (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	enabled    INTEGER NOT NULL DEFAULT 0,
	position   INTEGER NOT NULL,
	triggered  TEXT    NOT NULL,
	conditions TEXT    NOT NULL,
	actions    TEXT    NOT NULL,
	stop       INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX rules_position ON rules (position, id);

-- How far the rules runner has read the event log. No row until it first runs.
CREATE TABLE rule_cursor (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	after INTEGER NOT NULL
);

-- When a time-based rule last acted on a ticket: it acts again only after the ticket
-- changed (or was answered) since.
CREATE TABLE rule_fired (
	rule_id   INTEGER NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
	ticket_id INTEGER NOT NULL,
	at        INTEGER NOT NULL,
	PRIMARY KEY (rule_id, ticket_id)
);

-- The audit log lists what rules did.
CREATE INDEX events_rule_actor ON events (at) WHERE actor_kind = 'rule';
