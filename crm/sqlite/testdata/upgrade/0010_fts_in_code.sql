-- TestUpgrade: rows as the Parley whose newest migration was 0010_fts_in_code wrote them,
-- run right after that migration: the store writes the search rows of tickets and
-- messages itself, and an inbound message records its sender. Times are 2025-02-01.
INSERT INTO messages (id, ticket_id, inbox_id, direction, channel, author_kind, author_id, author_name, text,
	status, external_id, sender, created_at, updated_at) VALUES
	(5, 1, 1, 'in', 'email', 'customer', 1, 'Wilhelmina Oldfield', 'Still waiting for the quokka teapot.',
		'received', '<m5@oldfield.test>', 'email:wilhelmina@oldfield.test', 1738368000000, 1738368000000);
INSERT INTO messages_fts (rowid, text) VALUES (5, 'Still waiting for the quokka teapot.');
UPDATE tickets SET last_message_at = 1738368000000, updated_at = 1738368000000 WHERE id = 1;
INSERT INTO events (id, type, ticket_id, customer_id, inbox_id, actor_kind, actor_id, data, at) VALUES
	(4, 'message.created', 1, 1, 1, 'customer', 1, '{"id":5,"ticket_id":1}', 1738368000000);
