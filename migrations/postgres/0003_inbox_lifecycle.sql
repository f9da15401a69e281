-- Inboxes can be disabled and deleted. A disabled inbox (enabled false) keeps its tickets
-- and shows in the lists, but fetches nothing and takes no new messages. A deleted one
-- (deleted_at set, milliseconds) is gone from the lists of inboxes and takes nothing;
-- its tickets stay readable, as archived. The config's "disabled": true of before is
-- this column now, so that one place says whether an inbox runs.
ALTER TABLE inboxes ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE inboxes ADD COLUMN deleted_at BIGINT;
UPDATE inboxes SET enabled = false WHERE config::jsonb -> 'disabled' = 'true'::jsonb;
UPDATE inboxes SET config = (config::jsonb - 'disabled')::text WHERE config::jsonb -> 'disabled' IS NOT NULL;
