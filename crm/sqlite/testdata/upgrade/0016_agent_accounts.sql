-- TestUpgrade: rows as the Parley whose newest migration was 0016_agent_accounts wrote
-- them: the old agent's notification choices, a session with its browser, and a pending
-- invitation (its token is "upgrade-invitation-token"; it expires in 2100). Times are
-- 2025-06-01.
UPDATE agents SET notifications = '{"assigned":true,"customer_replied":false,"sla_warning":false,"mentions":true,"email":true}'
	WHERE id = 2;
INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, expires_at, user_agent, ip, last_seen_at) VALUES
	(X'0b4dd5e6d6b3b3e1d2e6bd36e0c6bdbd76b23a2d0d53f24eecbd6ae7d0a4e5f1', 2, 'csrf', 1748736000000, 4102444800000,
		'Old Browser/1.0', '192.0.2.55', 1748736060000);
INSERT INTO invitations (id, token_hash, email, name, role, inbox_ids, invited_by, created_at, expires_at) VALUES
	(1, X'2baaa21ada0c216a652f1edc3250369722df284fba3ab71b02ee38db751f6edb', 'nina@upgrade.test', 'Nina New', 'manager', '[1]', 1, 1748736000000, 4102444800000);
