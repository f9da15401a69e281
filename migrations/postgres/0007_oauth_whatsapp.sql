-- Email inboxes that sign in to Gmail or Microsoft 365 with OAuth2 (XOAUTH2), and WhatsApp
-- replies sent as approved templates.

-- The grant of an inbox: tokens is the AES-256-GCM sealed JSON of its refresh and access
-- tokens, like inbox secrets. expires_at (milliseconds) is the access token's. error says
-- why the provider refused the refresh token: an admin must sign in again. version grows
-- with every save, so that a refresh cannot overwrite a newer sign-in.
CREATE TABLE oauth_grants (
	inbox_id   BIGINT PRIMARY KEY REFERENCES inboxes (id) ON DELETE CASCADE,
	provider   TEXT   NOT NULL,
	account    TEXT   NOT NULL DEFAULT '',
	tokens     BYTEA  NOT NULL,
	expires_at BIGINT NOT NULL,
	error      TEXT   NOT NULL DEFAULT '',
	version    BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- Sign-ins an admin started and has not finished, by the SHA-256 of their state; each
-- works once, until expires_at. verifier is the sealed PKCE code verifier.
CREATE TABLE oauth_states (
	state_hash   BYTEA  PRIMARY KEY,
	inbox_id     BIGINT NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	provider     TEXT   NOT NULL,
	verifier     BYTEA  NOT NULL,
	agent_id     BIGINT NOT NULL,
	session_hash TEXT   NOT NULL,
	expires_at   BIGINT NOT NULL
);

-- The WhatsApp template a reply was sent as, JSON {"sid", "name", "variables"}; '' for
-- every other message.
ALTER TABLE messages ADD COLUMN template TEXT NOT NULL DEFAULT '';
