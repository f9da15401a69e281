-- Several nodes on one database: leases for the work that must run on one node at a
-- time, with fencing tokens, and attachments in the database where every node reads
-- them (--blobs postgres).
CREATE TABLE leases (
	name       text PRIMARY KEY,
	holder     text NOT NULL,
	token      bigint NOT NULL,
	expires_at timestamptz NOT NULL
);

CREATE TABLE blobs (
	sum  text PRIMARY KEY,
	data bytea NOT NULL
);

-- The name of the cluster the nodes of this database form: they publish live events on
-- a NATS subject of their own, so that several Parleys can share one NATS server. And a
-- check value of the secret key that seals inbox secrets, so that a node started with
-- another key is refused instead of writing secrets the others cannot open.
CREATE TABLE cluster (
	one       boolean PRIMARY KEY DEFAULT true CHECK (one),
	id        text NOT NULL,
	key_check text
);
INSERT INTO cluster (id) VALUES (replace(gen_random_uuid()::text, '-', ''));

-- Token buckets that every node draws from: sign-in attempts and the widget's limits
-- hold for the cluster, not per node.
CREATE TABLE rate_buckets (
	key    text PRIMARY KEY,
	tokens double precision NOT NULL,
	at     timestamptz NOT NULL
);
