-- The version of an order as its source tells it (the shop's updated_at, in unix
-- milliseconds): an update older than the stored version changes nothing, so that
-- webhooks delivered out of order cannot roll an order back. NULL for orders whose
-- source gave no time.
ALTER TABLE orders ADD COLUMN source_updated_at INTEGER;
