-- Canned responses: reply templates managed by managers, used by every agent.
CREATE TABLE canned_responses (
	id         INTEGER PRIMARY KEY,
	title      TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	created_by INTEGER REFERENCES agents (id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX canned_responses_title ON canned_responses (title COLLATE NOCASE);
