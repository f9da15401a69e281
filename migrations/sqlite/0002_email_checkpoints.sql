-- How far the email channel has read each inbox's IMAP mailbox. A row is written only
-- after the messages up to last_uid are committed, so a restart resumes without gaps.
CREATE TABLE email_checkpoints (
	inbox_id     INTEGER PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
	mailbox      TEXT    NOT NULL,
	uid_validity INTEGER NOT NULL,
	last_uid     INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);
