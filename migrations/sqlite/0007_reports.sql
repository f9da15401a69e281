-- Reports, SLAs, CSAT, the audit log and settings. Times are unix milliseconds (UTC).

CREATE TABLE settings (
	key        TEXT    PRIMARY KEY,
	value      TEXT    NOT NULL,          -- JSON
	updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sla_policies (
	id                     INTEGER PRIMARY KEY,
	name                   TEXT    NOT NULL,
	inbox_id               INTEGER REFERENCES inboxes (id) ON DELETE CASCADE,
	priorities             TEXT    NOT NULL DEFAULT '[]',  -- JSON array; empty = every priority
	first_response_minutes INTEGER NOT NULL DEFAULT 0,     -- 0 = not measured
	resolution_minutes     INTEGER NOT NULL DEFAULT 0,
	warn_minutes           INTEGER NOT NULL DEFAULT 15,
	schedule               TEXT    NOT NULL DEFAULT '{}',  -- JSON: timezone, hours, holidays
	created_at             INTEGER NOT NULL,
	updated_at             INTEGER NOT NULL
);

-- Per ticket, what reports need, maintained from the event log by the reports service so
-- that no report has to replay events: the matched policy, due times, the first agent
-- reply and first resolution with their durations in business seconds, breaches and the
-- outcome. sla_met is NULL while undecided or without a policy; sla_decided_at is when
-- the outcome became final (the first missed due time, or the last target met).
CREATE TABLE ticket_sla (
	ticket_id                  INTEGER PRIMARY KEY REFERENCES tickets (id),
	inbox_id                   INTEGER NOT NULL,
	status                     TEXT    NOT NULL,
	priority                   TEXT    NOT NULL,
	assignee_id                INTEGER NOT NULL DEFAULT 0,
	policy_id                  INTEGER NOT NULL DEFAULT 0,
	created_at                 INTEGER NOT NULL,
	first_response_at          INTEGER,
	first_response_by          INTEGER NOT NULL DEFAULT 0,
	first_response_secs        INTEGER,
	first_resolved_at          INTEGER,
	resolution_secs            INTEGER,
	first_response_due         INTEGER,
	resolution_due             INTEGER,
	first_response_breached_at INTEGER,
	resolution_breached_at     INTEGER,
	sla_met                    INTEGER,
	sla_decided_at             INTEGER
);
CREATE INDEX ticket_sla_decided ON ticket_sla (sla_decided_at) WHERE sla_decided_at IS NOT NULL;
CREATE INDEX ticket_sla_undecided ON ticket_sla (ticket_id) WHERE policy_id <> 0 AND sla_met IS NULL;

-- Every moment a ticket became resolved: "resolved in range" counts each ticket once.
CREATE TABLE ticket_resolutions (
	ticket_id INTEGER NOT NULL REFERENCES tickets (id),
	at        INTEGER NOT NULL,
	PRIMARY KEY (ticket_id, at)
) WITHOUT ROWID;
CREATE INDEX ticket_resolutions_at ON ticket_resolutions (at, ticket_id);

-- Stored events a customer's timeline shows: status changes, assignments, CSAT answers.
CREATE TABLE history_events (
	event_id  INTEGER PRIMARY KEY,
	ticket_id INTEGER NOT NULL,
	at        INTEGER NOT NULL
);
CREATE INDEX history_events_ticket ON history_events (ticket_id, at);

-- How far the reports service has read the event log.
CREATE TABLE report_cursor (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	after INTEGER NOT NULL
);

-- One survey per ticket, ever. token_hash is the SHA-256 of an email link's secret.
CREATE TABLE csat_surveys (
	id             INTEGER PRIMARY KEY,
	ticket_id      INTEGER NOT NULL UNIQUE REFERENCES tickets (id),
	inbox_id       INTEGER NOT NULL,
	customer_id    INTEGER NOT NULL,
	channel        TEXT    NOT NULL,
	status         TEXT    NOT NULL CHECK (status IN ('sent', 'skipped')),
	token_hash     BLOB    UNIQUE,
	message_id     INTEGER,
	rating         INTEGER CHECK (rating BETWEEN 1 AND 5),
	comment        TEXT    NOT NULL DEFAULT '',
	answer_channel TEXT    NOT NULL DEFAULT '',
	sent_at        INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL,
	answered_at    INTEGER,
	updated_at     INTEGER NOT NULL
);
CREATE INDEX csat_surveys_answered ON csat_surveys (answered_at) WHERE answered_at IS NOT NULL;

-- The audit log: logins, admin changes, exports, merges. Order actions are events.
CREATE TABLE audit (
	id         INTEGER PRIMARY KEY,
	type       TEXT    NOT NULL,
	actor_kind TEXT    NOT NULL,
	actor_id   INTEGER NOT NULL DEFAULT 0,
	ip         TEXT    NOT NULL DEFAULT '',
	data       TEXT    NOT NULL DEFAULT '{}',
	at         INTEGER NOT NULL
);
CREATE INDEX audit_at ON audit (at, id);

CREATE INDEX tickets_created ON tickets (created_at);
CREATE INDEX messages_replies ON messages (created_at) WHERE direction = 'out' AND author_kind = 'agent';
