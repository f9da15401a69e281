-- The From, To, CC and Via of an email, as JSON ({"from": {...}, "to": [...], ...}), so
-- that the thread shows who wrote to whom; '' for messages of other channels.
ALTER TABLE messages ADD COLUMN mail TEXT NOT NULL DEFAULT '';
-- A hash of what an inbound message says: a stored message with the same Message-ID is a
-- duplicate only with the same sender and hash ('' for rows written before).
ALTER TABLE messages ADD COLUMN content_hash TEXT NOT NULL DEFAULT '';
-- The people copied on a ticket's mail, as a JSON array of {"name", "address"}.
ALTER TABLE tickets ADD COLUMN participants TEXT NOT NULL DEFAULT '';

-- The References of inbound messages, in their order: the chain a reply carries on, and
-- how a mail that arrives after a reply to it finds the reply's ticket.
CREATE TABLE message_refs (
	message_id BIGINT  NOT NULL REFERENCES messages (id),
	pos        INTEGER NOT NULL,
	inbox_id   BIGINT  NOT NULL REFERENCES inboxes (id),
	ref        TEXT    NOT NULL,
	PRIMARY KEY (message_id, pos)
);
CREATE INDEX message_refs_ref ON message_refs (inbox_id, ref);
