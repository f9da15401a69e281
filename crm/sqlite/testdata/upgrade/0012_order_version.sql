-- TestUpgrade: rows as the Parley whose newest migration was 0012_order_version wrote
-- them: a customer event without the inboxes that may see it. Times are 2025-03-01.
INSERT INTO events (id, type, ticket_id, customer_id, inbox_id, actor_kind, actor_id, data, at) VALUES
	(20, 'customer.updated', NULL, 1, NULL, 'agent', 2, '{"id":1,"name":"Wilhelmina Oldfield"}', 1740787200000);
