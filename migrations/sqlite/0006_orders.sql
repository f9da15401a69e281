-- Orders from outside: sources (signed webhooks, Shopify), actions taken on orders in the
-- shop, the delivery ids of webhooks already received, and orders mentioned in tickets.

CREATE TABLE order_sources (
	id         INTEGER PRIMARY KEY,
	kind       TEXT    NOT NULL CHECK (kind IN ('webhook', 'shopify')),
	name       TEXT    NOT NULL,
	config     TEXT    NOT NULL DEFAULT '{}',
	secrets    BLOB,                 -- AES-GCM sealed JSON object, like inbox secrets
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

-- The source an order came from (NULL: entered in Parley or imported) and the source's
-- own id of it (Shopify's order id), which actions need.
ALTER TABLE orders ADD COLUMN source_id INTEGER REFERENCES order_sources (id);
ALTER TABLE orders ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_source ON orders (source_id, external_id) WHERE source_id IS NOT NULL;

-- One row per action; the client's idempotency key makes a double click one action.
-- A row stays 'pending' while the shop is called.
CREATE TABLE order_actions (
	id              INTEGER PRIMARY KEY,
	idempotency_key TEXT    NOT NULL UNIQUE,
	order_number    TEXT    NOT NULL,
	ticket_id       INTEGER REFERENCES tickets (id),
	kind            TEXT    NOT NULL CHECK (kind IN ('cancel', 'refund', 'resend_confirmation')),
	status          TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
	amount          INTEGER NOT NULL DEFAULT 0,
	currency        TEXT    NOT NULL DEFAULT '',
	error           TEXT    NOT NULL DEFAULT '',
	result          TEXT    NOT NULL DEFAULT '{}',
	actor_kind      TEXT    NOT NULL,
	actor_id        INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);
CREATE INDEX order_actions_order ON order_actions (order_number, id DESC);

-- Delivery ids (X-Shopify-Webhook-Id) already processed, so a retried webhook is one update.
CREATE TABLE order_webhooks (
	source_id   INTEGER NOT NULL REFERENCES order_sources (id) ON DELETE CASCADE,
	webhook_id  TEXT    NOT NULL,
	received_at INTEGER NOT NULL,
	PRIMARY KEY (source_id, webhook_id)
) WITHOUT ROWID;
CREATE INDEX order_webhooks_received ON order_webhooks (received_at);

-- Orders mentioned in a ticket's inbound messages ("#1001", "order 1001") that belong to
-- the ticket's customer. No foreign key to orders: an order may be replaced by number.
CREATE TABLE ticket_orders (
	ticket_id    INTEGER NOT NULL REFERENCES tickets (id),
	order_number TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (ticket_id, order_number)
) WITHOUT ROWID;
CREATE INDEX ticket_orders_number ON ticket_orders (order_number, ticket_id);
