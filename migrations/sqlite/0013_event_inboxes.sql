-- The inboxes that may see a customer or order event (one with a customer and no inbox):
-- a JSON array of the inboxes where the customer had tickets when the event was written,
-- so that the hub decides who gets it without a look-up. NULL for every other event and
-- for rows written before; the store works those out when it reads them back.
ALTER TABLE events ADD COLUMN inbox_ids TEXT;
