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

-- Pending widget uploads keep their bytes in files under the data dir (chat-uploads/),
-- not in SQLite: a 10 MiB blob in the single writer's transaction would stall every other
-- write. The table keeps what the caps on pending bytes need.
CREATE TABLE chat_uploads (
	id           TEXT    PRIMARY KEY,
	inbox_id     INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	visitor_id   TEXT    NOT NULL REFERENCES chat_visitors (id) ON DELETE CASCADE,
	filename     TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT    NOT NULL,  -- of the content, its name among the attachment files once used
	attached_at  INTEGER,           -- when a message first used it; NULL while pending
	created_at   INTEGER NOT NULL
);
CREATE INDEX chat_uploads_created ON chat_uploads (created_at);
CREATE INDEX chat_uploads_pending ON chat_uploads (visitor_id, size) WHERE attached_at IS NULL;
