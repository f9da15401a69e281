-- The phone channel's own state.

-- Numbers that texted STOP (or a synonym) to an inbox's Twilio number. Nothing is sent to
-- them from that inbox until they text START. Kept per inbox because opt-outs belong to
-- the sender number the customer answered.
CREATE TABLE phone_opt_outs (
	inbox_id   INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	phone      TEXT    NOT NULL,           -- E.164
	created_at INTEGER NOT NULL,
	PRIMARY KEY (inbox_id, phone)
) WITHOUT ROWID;

-- One row per phone call. The webhooks of a call arrive one by one (menu choice, dial
-- result, recording, final status); this row gathers them so that the call's voice
-- message can be rewritten as a whole each time.
CREATE TABLE phone_calls (
	inbox_id   INTEGER NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
	call_sid   TEXT    NOT NULL,
	message_id INTEGER NOT NULL REFERENCES messages (id),
	direction  TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
	party      TEXT    NOT NULL,           -- the customer's number, E.164
	agent      TEXT    NOT NULL DEFAULT '', -- who answered or called, for the summary
	outcome    TEXT    NOT NULL,
	duration   INTEGER NOT NULL DEFAULT 0, -- seconds
	notes      TEXT    NOT NULL DEFAULT '[]',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (inbox_id, call_sid)
) WITHOUT ROWID;
