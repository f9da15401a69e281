-- The live-chat widget: its visitors (one per shopper's browser) and pending uploads.
-- A visitor's tickets are found by their thread key 'chat:' || id.

CREATE TABLE chat_visitors (
	id             TEXT    PRIMARY KEY,  -- random; the address of the customer's chat identity
	inbox_id       INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	token_hash     BLOB    NOT NULL UNIQUE,  -- SHA-256 of the visitor token
	name           TEXT    NOT NULL DEFAULT '',
	email          TEXT    NOT NULL DEFAULT '',  -- signed (email_verified) or only claimed
	email_verified INTEGER NOT NULL DEFAULT 0,
	page_url       TEXT    NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	last_seen_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE chat_uploads (
	id           TEXT    PRIMARY KEY,
	inbox_id     INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	visitor_id   TEXT    NOT NULL REFERENCES chat_visitors (id) ON DELETE CASCADE,
	filename     TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	data         BLOB    NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE INDEX chat_uploads_created ON chat_uploads (created_at);
CREATE INDEX chat_uploads_visitor ON chat_uploads (visitor_id);
