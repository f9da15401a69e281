-- Outgoing webhooks: each stored event that a webhook subscribes to is POSTed to its URL
-- by the delivery worker, which reads the event log after a cursor of its own. Times
-- are unix milliseconds (UTC).

-- events is a JSON array of event types, ["*"] for every type. secret is sealed with
-- the secret key (AES-256-GCM) like inbox secrets. after_event is the newest event when
-- the webhook was created: it gets the events after it.
CREATE TABLE webhooks (
	id          INTEGER PRIMARY KEY,
	url         TEXT    NOT NULL,
	events      TEXT    NOT NULL DEFAULT '["*"]',
	secret      BLOB    NOT NULL,
	enabled     INTEGER NOT NULL DEFAULT 1,
	after_event INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);

-- One event on its way to one webhook, with its last attempt; its id is the
-- X-Parley-Delivery header, the same on every retry. next_attempt_at is set while it is
-- pending: a claim leases it by moving it on. redelivery_of names the delivery that a
-- redelivery repeats.
CREATE TABLE webhook_deliveries (
	id              INTEGER PRIMARY KEY,
	webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	event_id        INTEGER NOT NULL,
	event_type      TEXT    NOT NULL,
	state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'dead')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER,
	last_attempt_at INTEGER,
	url             TEXT    NOT NULL DEFAULT '',
	status_code     INTEGER NOT NULL DEFAULT 0,
	response        TEXT    NOT NULL DEFAULT '',
	error           TEXT    NOT NULL DEFAULT '',
	duration_ms     INTEGER NOT NULL DEFAULT 0,
	redelivery_of   INTEGER,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (webhook_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_final ON webhook_deliveries (updated_at) WHERE state <> 'pending';

-- How far the delivery worker has read the event log. No row until it first runs.
CREATE TABLE webhook_cursor (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	after INTEGER NOT NULL
);
