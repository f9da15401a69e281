-- The agent who resolved a ticket, so that the by-agent report credits them (0 when a
-- rule or the system resolved it; rows from before this migration are 0 and count for
-- the assignee, as they did).
ALTER TABLE ticket_resolutions ADD COLUMN agent_id BIGINT NOT NULL DEFAULT 0;
