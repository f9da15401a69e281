-- An API token may expire: expires_at is in Unix milliseconds, NULL for a token that
-- never does. The store refuses a token from that moment on; the row stays, so that
-- the token list still shows it until someone revokes it.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
