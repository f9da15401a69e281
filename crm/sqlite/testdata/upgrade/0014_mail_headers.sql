-- TestUpgrade: rows as the Parley whose newest migration was 0014_mail_headers wrote
-- them: an email with its addresses, content hash and References, and the ticket's
-- participant it copied. Times are 2025-05-01.
INSERT INTO messages (id, ticket_id, inbox_id, direction, channel, author_kind, author_id, author_name, text,
	status, external_id, sender, mail, content_hash, created_at, updated_at) VALUES
	(6, 1, 1, 'in', 'email', 'customer', 1, 'Wilhelmina Oldfield', 'Walter sends his regards.',
		'received', '<m6@oldfield.test>', 'email:wilhelmina@oldfield.test',
		'{"from":{"name":"Wilhelmina Oldfield","address":"wilhelmina@oldfield.test"},"to":[{"address":"support@upgrade.test"}],"cc":[{"name":"Walter Oldfield","address":"walter@oldfield.test"}]}',
		'c0ffee', 1746057600000, 1746057600000);
INSERT INTO messages_fts (rowid, text) VALUES (6, 'Walter sends his regards.');
INSERT INTO message_refs (message_id, pos, inbox_id, ref) VALUES
	(6, 0, 1, '<m0@oldfield.test>'), (6, 1, 1, '<m1@oldfield.test>');
UPDATE tickets SET participants = '[{"name":"Walter Oldfield","address":"walter@oldfield.test"}]',
	last_message_at = 1746057600000, updated_at = 1746057600000 WHERE id = 1;
