-- TestUpgrade: rows as the Parley whose newest migration was 0026_reasons wrote them: a
-- contact reason of the shop's own with a tag, the old ticket's reason (an agent's)
-- with its row in the suggestion index, an agent's time on it and a trained model.
-- Times are 2025-07-01.
INSERT INTO reasons (id, slug, name, position, archived, created_at, updated_at) VALUES
	(14, 'gift_cards', 'Gift cards', 14, 0, 1751328000000, 1751328000000);
INSERT INTO reason_tags (tag, reason_id) VALUES ('gift', 14);
UPDATE tickets SET reason_id = 1, reason_source = 'agent' WHERE id = 1;
INSERT INTO reason_texts (ticket_id, reason_id, text) VALUES
	(1, 1, 'r1xparcel r1xnever r1xarrived r1xmy r1xzanzibar r1xteapot');
INSERT INTO reason_texts_fts (rowid, text) VALUES
	(1, 'r1xparcel r1xnever r1xarrived r1xmy r1xzanzibar r1xteapot');
INSERT INTO handle_time (ticket_id, agent_id, secs, updated_at) VALUES (1, 2, 95, 1751328000000);
INSERT INTO reason_models (version, examples, macro_f1, report, data, created_at) VALUES
	(1, 150, 870000, '{"macro_f1":0.87}', X'00010203', 1751328000000);
