-- Messages reach the full-text index in batches, a moment after they are stored, rather
-- than in the transaction that stores them (see crm/sqlite/backlog.go): messages_upto is
-- the newest message id the index holds, and every message after it is in the backlog.
-- Every message stored so far is indexed already.
CREATE TABLE search_backlog (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	messages_upto INTEGER NOT NULL
);
INSERT INTO search_backlog (id, messages_upto) SELECT 1, coalesce(max(id), 0) FROM messages;
