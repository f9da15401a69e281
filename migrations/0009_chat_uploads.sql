-- Pending widget uploads keep their bytes in files under the data dir (chat-uploads/),
-- no longer in SQLite: a 10 MiB blob in the single writer's transaction stalled every
-- other write. The table keeps what the caps on pending bytes need. The old table held
-- at most a day of uploads that no message had used yet; they are dropped.
DROP TABLE chat_uploads;

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
