-- Teams, auto-assignment and macros. Times are unix milliseconds (UTC).

-- assignment is the team's auto-assignment mode: 'off', 'round_robin' or 'least_loaded'.
CREATE TABLE teams (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	assignment TEXT    NOT NULL DEFAULT 'off',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE team_members (
	team_id  INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
	agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
	PRIMARY KEY (team_id, agent_id)
) WITHOUT ROWID;
CREATE INDEX team_members_agent ON team_members (agent_id);

ALTER TABLE tickets ADD COLUMN team_id INTEGER REFERENCES teams (id) ON DELETE SET NULL;
CREATE INDEX tickets_team ON tickets (team_id) WHERE team_id IS NOT NULL;
-- The assigner counts each agent's open tickets by channel, and finds the waiting ones.
CREATE INDEX tickets_assign_load ON tickets (assignee_id, channel) WHERE status = 'open';
CREATE INDEX tickets_assign_waiting ON tickets (inbox_id) WHERE status = 'open' AND assignee_id IS NULL;

-- availability is what the agent chose ('available', 'away', 'offline'), since
-- availability_at; last_assigned_at is the last ticket auto-assignment gave it (round
-- robin goes to whoever waited longest).
ALTER TABLE agents ADD COLUMN availability     TEXT    NOT NULL DEFAULT 'available';
ALTER TABLE agents ADD COLUMN availability_at  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN last_assigned_at INTEGER NOT NULL DEFAULT 0;

-- The one row of auto-assignment: its settings as JSON (crm.AssignmentSettings) and the
-- assigner's cursor in the event log.
CREATE TABLE assignment (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	settings    TEXT    NOT NULL,
	after_event INTEGER NOT NULL DEFAULT 0
);

-- actions is crm.MacroActions as JSON. owner_id is who made it; a shared macro is
-- everyone's.
CREATE TABLE macros (
	id         INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	body       TEXT    NOT NULL DEFAULT '',
	actions    TEXT    NOT NULL DEFAULT '{}',
	shared     INTEGER NOT NULL DEFAULT 0,
	owner_id   INTEGER REFERENCES agents (id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX macros_owner ON macros (owner_id);
