-- Emails chat visitors proved they own: a Track my order lookup by order number plus
-- email that found the order. The console offers the agent to link the visitor's
-- customer to that email's customer. Times are unix milliseconds (UTC).
CREATE TABLE identity_proofs (
	id           INTEGER PRIMARY KEY,
	visitor_id   TEXT    NOT NULL REFERENCES chat_visitors (id) ON DELETE CASCADE,
	email        TEXT    NOT NULL,
	order_number TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	UNIQUE (visitor_id, email)
);

-- The merges into a customer, for its page's Undo.
CREATE INDEX events_customer_merged ON events (customer_id, id) WHERE type = 'customer.merged';
