-- Contact reasons: why customers write. Times are unix milliseconds (UTC).

-- The shop's reasons, archived ones too (they stay on the tickets that have them). slug
-- is the stable name that rules and the classifier use; name is what agents see.
CREATE TABLE reasons (
	id         INTEGER PRIMARY KEY,
	slug       TEXT    NOT NULL UNIQUE,
	name       TEXT    NOT NULL,
	position   INTEGER NOT NULL,
	archived   INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX reasons_position ON reasons (position, id);

-- A ticket with one of these tags and no reason gets the tag's reason (source 'tag').
CREATE TABLE reason_tags (
	tag       TEXT    PRIMARY KEY,
	reason_id INTEGER NOT NULL REFERENCES reasons (id)
) WITHOUT ROWID;
CREATE INDEX reason_tags_reason ON reason_tags (reason_id);

-- The default set of an online shop, in the order agents see it.
INSERT INTO reasons (slug, name, position, created_at, updated_at)
SELECT column1, column2, column3, now.ms, now.ms
FROM (VALUES
	('where_is_my_order', 'Where is my order', 1),
	('return_exchange', 'Return or exchange', 2),
	('refund_status', 'Refund status', 3),
	('damaged_wrong_item', 'Damaged or wrong item', 4),
	('cancel_order', 'Cancel order', 5),
	('change_order', 'Change address or order', 6),
	('payment_problem', 'Payment problem', 7),
	('product_question', 'Product question', 8),
	('discount_promotion', 'Discount or promotion', 9),
	('account_login', 'Account or login', 10),
	('shipping_cost_time', 'Shipping cost or time', 11),
	('complaint', 'Complaint', 12),
	('other', 'Other', 13)
), (SELECT CAST(strftime('%s', 'now') AS INTEGER) * 1000 AS ms) AS now
ORDER BY column3;

-- A ticket's reason and who gave it ('agent', 'auto', 'tag', 'rule'; '' without one).
-- reason_confidence is the classifier's confidence in millionths (an integer, as every
-- number the stores keep), NULL unless the classifier applied the reason;
-- reason_suggestions its top reasons as JSON ('' when none); reason_model the version of
-- the model that guessed (0: none). reason_id has no REFERENCES: an update that sets a
-- column with a foreign key runs in a statement journal, at which the full-text tables
-- write out what they hold (see 0010_fts_in_code), and the classifier sets the reason of
-- every new ticket. The store checks that a reason exists, and reasons are never deleted.
ALTER TABLE tickets ADD COLUMN reason_id          INTEGER;
ALTER TABLE tickets ADD COLUMN reason_source      TEXT    NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN reason_confidence  INTEGER;
ALTER TABLE tickets ADD COLUMN reason_suggestions TEXT    NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN reason_model       INTEGER NOT NULL DEFAULT 0;

-- Trained versions of the classifier: data is the model, report its cross-validated
-- quality as JSON; macro_f1 in millionths.
CREATE TABLE reason_models (
	version    INTEGER PRIMARY KEY,
	examples   INTEGER NOT NULL,
	macro_f1   INTEGER NOT NULL,
	report     TEXT    NOT NULL DEFAULT '',
	data       BLOB    NOT NULL,
	created_at INTEGER NOT NULL
);

-- How far the classifier's worker has read the event log. No row until it first runs.
CREATE TABLE reason_cursor (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	after INTEGER NOT NULL
);

-- What the customer wrote on each ticket with a reason, for suggested replies: one row
-- per ticket, its words each prefixed with "r<reason id>x", so that a word's entries in
-- the full-text index are those of one reason. The store writes the full-text rows
-- itself (see 0010_fts_in_code).
CREATE TABLE reason_texts (
	ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
	reason_id INTEGER NOT NULL REFERENCES reasons (id),
	text      TEXT    NOT NULL
);
CREATE VIRTUAL TABLE reason_texts_fts USING fts5 (
	text, content = 'reason_texts', content_rowid = 'ticket_id',
	tokenize = 'unicode61 remove_diacritics 2'
);

-- Agents' time on tickets (open in the console, composing), summed per ticket and agent.
CREATE TABLE handle_time (
	ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
	agent_id   INTEGER NOT NULL REFERENCES agents (id),
	secs       INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (ticket_id, agent_id)
) WITHOUT ROWID;
CREATE INDEX handle_time_agent ON handle_time (agent_id, ticket_id);

-- Suggested replies that agents inserted.
CREATE TABLE suggestion_uses (
	id         INTEGER PRIMARY KEY,
	ticket_id  INTEGER NOT NULL REFERENCES tickets (id),
	message_id INTEGER NOT NULL REFERENCES messages (id),
	agent_id   INTEGER NOT NULL DEFAULT 0,
	at         INTEGER NOT NULL
);
CREATE INDEX suggestion_uses_at ON suggestion_uses (at);

-- What shoppers did for themselves in the widget: 'offered' (Track my order offered for
-- a first message about an order) or 'lookup' (an order looked up).
CREATE TABLE self_service (
	id       INTEGER PRIMARY KEY,
	inbox_id INTEGER NOT NULL REFERENCES inboxes (id),
	kind     TEXT    NOT NULL CHECK (kind IN ('offered', 'lookup')),
	at       INTEGER NOT NULL
);
CREATE INDEX self_service_at ON self_service (at);
