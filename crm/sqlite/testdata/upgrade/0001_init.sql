-- TestUpgrade: rows as the Parley whose newest migration was 0001_init wrote them, run
-- right after that migration. Its triggers wrote the search rows of tickets and
-- messages; the store wrote the customers'. Times are 2025-01-15 in unix milliseconds.
-- The admin's password is "upgrade password", the API token pk_upgrade-fixture-token.
INSERT INTO agents (id, email, name, role, password_hash, created_at, updated_at) VALUES
	(1, 'old.admin@upgrade.test', 'Olga Admin', 'admin',
		'$argon2id$v=19$m=19456,t=2,p=1$vCIYix49FY4LRm9tvVk9Tg$x3UVSOuOlhkreEEsdi0wZfGeHcdXcliM0BF7P23LHx8',
		1736899200000, 1736899200000),
	(2, 'old.agent@upgrade.test', 'Otto Agent', 'agent',
		'$argon2id$v=19$m=19456,t=2,p=1$vCIYix49FY4LRm9tvVk9Tg$x3UVSOuOlhkreEEsdi0wZfGeHcdXcliM0BF7P23LHx8',
		1736899200000, 1736899200000);

INSERT INTO inboxes (id, kind, name, config, created_at, updated_at) VALUES
	(1, 'email', 'Old Mailbox', '{"address":"help@upgrade.test"}', 1736899200000, 1736899200000),
	(2, 'discord', 'Old Discord', '{}', 1736899200000, 1736899200000);
INSERT INTO inbox_members (inbox_id, agent_id) VALUES (1, 2);

INSERT INTO api_tokens (id, agent_id, token_hash, name, created_at) VALUES
	(1, 1, X'6a79bff90dac0d753b6c113c3f8ad9af66bb9e3efe9920fbec78c6209f5ee8f5', 'old token', 1736899200000);

INSERT INTO customers (id, name, created_at, updated_at) VALUES
	(1, 'Wilhelmina Oldfield', 1736899200000, 1736899200000),
	(2, 'Discord Dan', 1736899200000, 1736899200000);
INSERT INTO identities (id, customer_id, kind, address, created_at) VALUES
	(1, 1, 'email', 'wilhelmina@oldfield.test', 1736899200000),
	(2, 1, 'phone', '+15550100001', 1736899200000),
	(3, 2, 'discord', '123456789012345678', 1736899200000);
INSERT INTO customers_fts (rowid, name, identities) VALUES
	(1, 'Wilhelmina Oldfield', 'wilhelmina@oldfield.test +15550100001'),
	(2, 'Discord Dan', '123456789012345678');

INSERT INTO tickets (id, inbox_id, customer_id, subject, status, priority, channel, assignee_id, thread_key,
	created_at, updated_at, first_response_at, last_message_at) VALUES
	(1, 1, 1, 'Parcel never arrived', 'open', 'high', 'email', 2, '<m1@oldfield.test>',
		1736899200000, 1736899500000, 1736899400000, 1736899400000),
	(2, 2, 2, 'Discord question', 'pending', 'normal', 'discord', NULL, 'discord-thread:223456789012345678',
		1736899200000, 1736899200000, NULL, 1736899200000);
INSERT INTO ticket_tags (ticket_id, tag) VALUES (1, 'shipping'), (1, 'vip');

INSERT INTO messages (id, ticket_id, inbox_id, direction, channel, author_kind, author_id, author_name, text,
	status, external_id, attempts, created_at, updated_at) VALUES
	(1, 1, 1, 'in', 'email', 'customer', 1, 'Wilhelmina Oldfield', 'My zanzibar teapot never arrived.',
		'received', '<m1@oldfield.test>', 0, 1736899200000, 1736899200000),
	(2, 1, 1, 'out', 'email', 'agent', 2, 'Otto Agent', 'Sorry! We are sending another one.',
		'sent', '<parley.2@upgrade.test>', 1, 1736899400000, 1736899400000),
	(3, 1, 1, 'note', 'email', 'agent', 2, 'Otto Agent', 'Checked with the carrier.',
		'', NULL, 0, 1736899500000, 1736899500000),
	(4, 2, 2, 'in', 'discord', 'customer', 2, 'Discord Dan', 'Hello from Discord.',
		'received', '323456789012345678', 0, 1736899200000, 1736899200000);

INSERT INTO orders (number, customer_id, email, status, currency, subtotal, shipping, total, items, carrier,
	tracking_number, placed_at, updated_at) VALUES
	('1001', 1, 'wilhelmina@oldfield.test', 'shipped', 'EUR', 4500, 500, 5000,
		'[{"sku":"TEA-1","name":"Teapot","quantity":1,"unit_price":4500}]', 'DHL', 'JD0001',
		1736800000000, 1736800000000);

INSERT INTO events (id, type, ticket_id, customer_id, inbox_id, actor_kind, actor_id, data, at) VALUES
	(1, 'ticket.created', 1, 1, 1, 'customer', 1, '{"id":1}', 1736899200000),
	(2, 'message.created', 1, 1, 1, 'customer', 1, '{"id":1,"ticket_id":1}', 1736899200000),
	(3, 'message.created', 1, 1, 1, 'agent', 2, '{"id":2,"ticket_id":1}', 1736899400000);
