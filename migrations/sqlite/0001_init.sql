-- Times are unix milliseconds (UTC). Money is integer minor units.

CREATE TABLE agents (
	id            INTEGER PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE,
	name          TEXT    NOT NULL,
	role          TEXT    NOT NULL CHECK (role IN ('agent', 'manager', 'admin')),
	password_hash TEXT    NOT NULL,
	phone         TEXT    NOT NULL DEFAULT '',
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

CREATE TABLE inboxes (
	id         INTEGER PRIMARY KEY,
	kind       TEXT    NOT NULL CHECK (kind IN ('email', 'phone', 'chat', 'discord', 'api')),
	name       TEXT    NOT NULL,
	config     TEXT    NOT NULL DEFAULT '{}',
	secrets    BLOB,                 -- AES-GCM sealed JSON object of secret config values
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE inbox_members (
	inbox_id INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	PRIMARY KEY (inbox_id, agent_id)
) WITHOUT ROWID;
CREATE INDEX inbox_members_agent ON inbox_members (agent_id);

CREATE TABLE sessions (
	token_hash BLOB    PRIMARY KEY,  -- SHA-256 of the cookie value
	agent_id   INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	csrf_token TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_agent ON sessions (agent_id);

CREATE TABLE api_tokens (
	id           INTEGER PRIMARY KEY,
	agent_id     INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	token_hash   BLOB    NOT NULL UNIQUE,
	name         TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER
);

CREATE TABLE customers (
	id          INTEGER PRIMARY KEY,
	name        TEXT    NOT NULL DEFAULT '',
	notes       TEXT    NOT NULL DEFAULT '',
	merged_into INTEGER REFERENCES customers (id),
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);

CREATE TABLE identities (
	id          INTEGER PRIMARY KEY,
	customer_id INTEGER NOT NULL REFERENCES customers (id),
	kind        TEXT    NOT NULL CHECK (kind IN ('email', 'phone', 'discord', 'chat', 'shop')),
	address     TEXT    NOT NULL,
	verified    INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	UNIQUE (kind, address)
);
CREATE INDEX identities_customer ON identities (customer_id);

CREATE TABLE tickets (
	id                INTEGER PRIMARY KEY,
	inbox_id          INTEGER NOT NULL REFERENCES inboxes (id),
	customer_id       INTEGER NOT NULL REFERENCES customers (id),
	subject           TEXT    NOT NULL DEFAULT '',
	status            TEXT    NOT NULL CHECK (status IN ('open', 'pending', 'resolved', 'closed')),
	priority          TEXT    NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
	channel           TEXT    NOT NULL,
	assignee_id       INTEGER REFERENCES agents (id),
	thread_key        TEXT    NOT NULL DEFAULT '',
	linked_ticket_id  INTEGER REFERENCES tickets (id),
	merged_into       INTEGER REFERENCES tickets (id),
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	first_response_at INTEGER,
	resolved_at       INTEGER,
	last_message_at   INTEGER NOT NULL
);
CREATE INDEX tickets_activity ON tickets (last_message_at DESC, id DESC);
CREATE INDEX tickets_inbox_activity ON tickets (inbox_id, last_message_at DESC, id DESC);
CREATE INDEX tickets_status_activity ON tickets (status, last_message_at DESC, id DESC);
CREATE INDEX tickets_assignee_activity ON tickets (assignee_id, last_message_at DESC, id DESC);
CREATE INDEX tickets_customer_activity ON tickets (customer_id, last_message_at DESC, id DESC);
CREATE INDEX tickets_thread ON tickets (inbox_id, thread_key) WHERE thread_key <> '';

CREATE TABLE ticket_tags (
	ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	tag       TEXT    NOT NULL,
	PRIMARY KEY (ticket_id, tag)
) WITHOUT ROWID;
CREATE INDEX ticket_tags_tag ON ticket_tags (tag, ticket_id);

CREATE TABLE messages (
	id              INTEGER PRIMARY KEY,
	ticket_id       INTEGER NOT NULL REFERENCES tickets (id),
	inbox_id        INTEGER NOT NULL REFERENCES inboxes (id),
	direction       TEXT    NOT NULL CHECK (direction IN ('in', 'out', 'note')),
	channel         TEXT    NOT NULL,
	author_kind     TEXT    NOT NULL,
	author_id       INTEGER NOT NULL DEFAULT 0,
	author_name     TEXT    NOT NULL DEFAULT '',
	text            TEXT    NOT NULL DEFAULT '',
	html            TEXT    NOT NULL DEFAULT '',
	status          TEXT    NOT NULL DEFAULT '',
	error           TEXT    NOT NULL DEFAULT '',
	external_id     TEXT,                 -- the channel's id; the dedupe key within the inbox
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER,              -- set while queued in the outbox
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	UNIQUE (inbox_id, external_id)
);
CREATE INDEX messages_ticket ON messages (ticket_id, id);
CREATE INDEX messages_outbox ON messages (next_attempt_at) WHERE status = 'queued';

CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY,
	message_id   INTEGER NOT NULL REFERENCES messages (id),
	filename     TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT    NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);

CREATE TABLE orders (
	number           TEXT    PRIMARY KEY,
	customer_id      INTEGER REFERENCES customers (id),
	email            TEXT    NOT NULL DEFAULT '',
	phone            TEXT    NOT NULL DEFAULT '',
	status           TEXT    NOT NULL,
	currency         TEXT    NOT NULL,
	subtotal         INTEGER NOT NULL DEFAULT 0,
	shipping         INTEGER NOT NULL DEFAULT 0,
	tax              INTEGER NOT NULL DEFAULT 0,
	discount         INTEGER NOT NULL DEFAULT 0,
	total            INTEGER NOT NULL DEFAULT 0,
	refunded         INTEGER NOT NULL DEFAULT 0,
	items            TEXT    NOT NULL DEFAULT '[]',
	shipping_address TEXT    NOT NULL DEFAULT '',
	carrier          TEXT    NOT NULL DEFAULT '',
	tracking_number  TEXT    NOT NULL DEFAULT '',
	tracking_url     TEXT    NOT NULL DEFAULT '',
	source           TEXT    NOT NULL DEFAULT '',
	placed_at        INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, placed_at DESC);
CREATE INDEX orders_placed ON orders (placed_at DESC, number DESC);
CREATE INDEX orders_email ON orders (email) WHERE email <> '';
CREATE INDEX orders_phone ON orders (phone) WHERE phone <> '';

CREATE TABLE events (
	id          INTEGER PRIMARY KEY,
	type        TEXT    NOT NULL,
	ticket_id   INTEGER,
	customer_id INTEGER,
	inbox_id    INTEGER,
	actor_kind  TEXT    NOT NULL,
	actor_id    INTEGER NOT NULL DEFAULT 0,
	data        TEXT    NOT NULL DEFAULT '{}',
	at          INTEGER NOT NULL
);
CREATE INDEX events_ticket ON events (ticket_id, id) WHERE ticket_id IS NOT NULL;
CREATE INDEX events_type_at ON events (type, at);

-- Full-text search. Prefix indexes of 2 and 3 characters keep search-as-you-type fast.
CREATE VIRTUAL TABLE tickets_fts USING fts5 (
	subject, content = 'tickets', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TRIGGER tickets_fts_ai AFTER INSERT ON tickets BEGIN
	INSERT INTO tickets_fts (rowid, subject) VALUES (new.id, new.subject);
END;
CREATE TRIGGER tickets_fts_au AFTER UPDATE OF subject ON tickets WHEN old.subject IS NOT new.subject BEGIN
	INSERT INTO tickets_fts (tickets_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
	INSERT INTO tickets_fts (rowid, subject) VALUES (new.id, new.subject);
END;

CREATE VIRTUAL TABLE messages_fts USING fts5 (
	text, content = 'messages', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
	INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages WHEN old.text IS NOT new.text BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
	INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;

-- Kept by the store: the customer's name and every identity address, rowid = customer id.
CREATE VIRTUAL TABLE customers_fts USING fts5 (
	name, identities,
	tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
