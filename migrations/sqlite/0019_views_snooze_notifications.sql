-- Saved views, the ticket list's sort orders, snooze, and agents' notifications.
-- Times are unix milliseconds (UTC).

-- snoozed_until hides a ticket from the default lists until then; snooze_until_reply
-- hides it until the customer writes (either ends the snooze). waiting_since is when
-- the customer's oldest message that no reply has answered yet arrived: the key of the
-- "oldest waiting" sort, kept by ingest (set) and replies (cleared).
ALTER TABLE tickets ADD COLUMN snoozed_until INTEGER;
ALTER TABLE tickets ADD COLUMN snooze_until_reply INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN waiting_since INTEGER;

UPDATE tickets SET waiting_since = (SELECT min(m.created_at) FROM messages m
	WHERE m.ticket_id = tickets.id AND m.direction = 'in' AND m.created_at > coalesce(
		(SELECT max(o.created_at) FROM messages o WHERE o.ticket_id = tickets.id AND o.direction = 'out'), 0))
WHERE status IN ('open', 'pending');

CREATE INDEX tickets_snoozed ON tickets (snoozed_until) WHERE snoozed_until IS NOT NULL;
CREATE INDEX tickets_waiting ON tickets (coalesce(waiting_since, 9223372036854775807), id);
CREATE INDEX tickets_priority ON tickets ((CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2
	WHEN 'normal' THEN 1 ELSE 0 END), last_message_at, id);

-- A saved view: the filters of the ticket list (JSON, as GET /api/v1/tickets takes
-- them) and a sort. owner_id is the agent of a personal view, NULL for a shared one.
CREATE TABLE views (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	owner_id   INTEGER REFERENCES agents (id),
	filters    TEXT    NOT NULL DEFAULT '{}',
	sort       TEXT    NOT NULL DEFAULT 'newest',
	created_by INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX views_owner ON views (owner_id);

-- One notification of an agent. dedupe keeps the notifier from writing one twice when
-- it reads an event again after a crash (the event id and kind, or an SLA target's due
-- time).
CREATE TABLE notifications (
	id         INTEGER PRIMARY KEY,
	agent_id   INTEGER NOT NULL REFERENCES agents (id),
	kind       TEXT    NOT NULL,
	ticket_id  INTEGER NOT NULL,
	inbox_id   INTEGER NOT NULL,
	actor_kind TEXT    NOT NULL DEFAULT '',
	actor_id   INTEGER NOT NULL DEFAULT 0,
	text       TEXT    NOT NULL DEFAULT '',
	dedupe     TEXT    NOT NULL,
	read_at    INTEGER,
	created_at INTEGER NOT NULL,
	UNIQUE (agent_id, dedupe)
);
CREATE INDEX notifications_agent ON notifications (agent_id, id);
CREATE INDEX notifications_unread ON notifications (agent_id) WHERE read_at IS NULL;

-- The id of the last event the notifier has read.
CREATE TABLE notify_cursor (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	after INTEGER NOT NULL
);
