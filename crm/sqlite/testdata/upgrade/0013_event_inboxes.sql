-- TestUpgrade: rows as the Parley whose newest migration was 0013_event_inboxes wrote
-- them: an order event with the inboxes that may see it, from a time when the
-- customer's tickets were elsewhere. Times are 2025-04-01.
INSERT INTO events (id, type, ticket_id, customer_id, inbox_id, actor_kind, actor_id, data, at, inbox_ids) VALUES
	(21, 'order.updated', NULL, 1, NULL, 'system', 0, '{"number":"1001"}', 1743465600000, '[]');
