-- Inboxes can be disabled and deleted. A disabled inbox (enabled = 0) keeps its tickets
-- and shows in the lists, but fetches nothing and takes no new messages. A deleted one
-- (deleted_at set, milliseconds) is gone from the lists of inboxes and takes nothing;
-- its tickets stay readable, as archived. The config's "disabled": true of before is
-- this column now, so that one place says whether an inbox runs.
ALTER TABLE inboxes ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
ALTER TABLE inboxes ADD COLUMN deleted_at INTEGER;
UPDATE inboxes SET enabled = 0 WHERE json_type(config, '$.disabled') = 'true';
UPDATE inboxes SET config = json_remove(config, '$.disabled') WHERE json_type(config, '$.disabled') IS NOT NULL;
