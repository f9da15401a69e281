-- Agents' accounts: invitations instead of admin-typed passwords, two-factor sign-in
-- with an authenticator app (TOTP), avatars, notification choices, and sessions that
-- say where they were opened.

-- The TOTP secret is sealed with the secret key (AES-256-GCM) like inbox secrets:
-- totp_pending while the agent sets the app up, totp_secret once a code confirmed it.
-- totp_last_step is the time step of the last code accepted: a code of that step or an
-- earlier one is refused, so a code works once. avatar is the SHA-256 of the image in
-- the blob store, '' for none; notifications the agent's choices as JSON, '' for the
-- defaults.
ALTER TABLE agents ADD COLUMN totp_secret     BLOB;
ALTER TABLE agents ADD COLUMN totp_pending    BLOB;
ALTER TABLE agents ADD COLUMN totp_enabled_at INTEGER;
ALTER TABLE agents ADD COLUMN totp_last_step  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN avatar          TEXT    NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN avatar_type     TEXT    NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN notifications   TEXT    NOT NULL DEFAULT '';

-- Single-use recovery codes, by their SHA-256; a used code is deleted.
CREATE TABLE recovery_codes (
	agent_id  INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	code_hash BLOB    NOT NULL,
	PRIMARY KEY (agent_id, code_hash)
) WITHOUT ROWID;

-- What a session knows of the browser that opened it. last_seen_at is 0 for sessions of
-- an older Parley: they show their creation time.
ALTER TABLE sessions ADD COLUMN user_agent   TEXT    NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip           TEXT    NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;

-- A sign-in between the password and the second step: not a session, only the right to
-- present a code (purpose 'totp') or to set an app up first ('enrol').
CREATE TABLE pending_logins (
	token_hash BLOB    PRIMARY KEY,  -- SHA-256 of the token
	agent_id   INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	purpose    TEXT    NOT NULL CHECK (purpose IN ('totp', 'enrol')),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- An admin's invitation of a new agent; one per email. inbox_ids is a JSON array.
CREATE TABLE invitations (
	id         INTEGER PRIMARY KEY,
	token_hash BLOB    NOT NULL UNIQUE,  -- SHA-256 of the link's token
	email      TEXT    NOT NULL UNIQUE,
	name       TEXT    NOT NULL DEFAULT '',
	role       TEXT    NOT NULL CHECK (role IN ('agent', 'manager', 'admin')),
	inbox_ids  TEXT    NOT NULL DEFAULT '[]',
	invited_by INTEGER REFERENCES agents (id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
