-- The Discord channels each Discord inbox has filed messages from, with the newest
-- message id seen there. After a fresh gateway session (not a resumed one) the bot asks
-- Discord for the messages after that id, so that nothing sent while Parley was down or
-- disconnected is lost. DM channel ids appear nowhere else in the store.
-- kind: 'dm' (a direct-message channel), 'thread' (the Discord thread of a ticket) or
-- 'support' (a configured support channel). Ids are Discord snowflakes kept as text.
CREATE TABLE discord_channels (
	inbox_id        INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	channel_id      TEXT    NOT NULL,
	kind            TEXT    NOT NULL CHECK (kind IN ('dm', 'thread', 'support')),
	last_message_id TEXT    NOT NULL,
	updated_at      INTEGER NOT NULL,
	PRIMARY KEY (inbox_id, channel_id)
);
CREATE INDEX discord_channels_recent ON discord_channels (inbox_id, updated_at DESC);

-- Threads of tickets filed before this table existed: the thread id is in the ticket's
-- thread key, the newest message id among the messages filed from it. Snowflakes of
-- different lengths compare by length first.
INSERT INTO discord_channels (inbox_id, channel_id, kind, last_message_id, updated_at)
SELECT k.inbox_id, substr(k.thread_key, 16), 'thread',
	COALESCE((SELECT m.external_id FROM messages m JOIN tickets t ON t.id = m.ticket_id
		WHERE t.inbox_id = k.inbox_id AND t.thread_key = k.thread_key AND m.direction = 'in'
			AND m.external_id != '' AND m.external_id NOT GLOB '*[^0-9]*'
		ORDER BY length(m.external_id) DESC, m.external_id DESC LIMIT 1), substr(k.thread_key, 16)),
	CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM (SELECT DISTINCT inbox_id, thread_key FROM tickets
	WHERE thread_key GLOB 'discord-thread:[0-9]*' AND thread_key NOT GLOB 'discord-thread:*[^0-9]*') k;
