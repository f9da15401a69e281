-- TestUpgrade: rows as the Parley whose newest migration was 0015_inbox_lifecycle wrote
-- them: a disabled inbox and a deleted one. Times are 2025-05-01.
INSERT INTO inboxes (id, kind, name, config, enabled, deleted_at, created_at, updated_at) VALUES
	(3, 'api', 'Old returns portal', '{}', 0, NULL, 1746057600000, 1746057600000),
	(4, 'api', 'Old closed shop', '{}', 0, 1746057600000, 1746057600000, 1746057600000);
