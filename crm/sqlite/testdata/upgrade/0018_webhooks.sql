-- TestUpgrade: rows as the Parley whose newest migration was 0018_webhooks wrote them: a
-- webhook for new tickets with its secret sealed with the test key (the secret is
-- "upgrade-webhook-secret"), a delivered delivery of event 1, and the worker's cursor at
-- the newest event. Times are 2025-06-01.
INSERT INTO webhooks (id, url, events, secret, enabled, after_event, created_at, updated_at) VALUES
	(1, 'https://hooks.upgrade.test/parley', '["ticket.created"]',
		X'b8f75719f7713c49979517fedb7471184c8213884af934c1437ee2f505ffc83b4619dd400aecc0bf347714e44b84e7e153c1063cbf10285b3581565ce32c1d',
		1, 0, 1748736000000, 1748736000000);
INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, state, attempts, next_attempt_at, last_attempt_at, url,
		status_code, response, error, duration_ms, redelivery_of, created_at, updated_at) VALUES
	(1, 1, 1, 'ticket.created', 'delivered', 2, NULL, 1748736060000, 'https://hooks.upgrade.test/parley', 204, '', '', 31,
		NULL, 1748736000000, 1748736060000);
INSERT INTO webhook_cursor (id, after) SELECT 1, coalesce(max(id), 0) FROM events;
