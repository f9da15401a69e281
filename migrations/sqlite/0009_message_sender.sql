-- The identity an inbound message came from ("kind:address"), so that a reply goes back
-- to the address the customer wrote from, not to whichever one the customer has first.
ALTER TABLE messages ADD COLUMN sender TEXT NOT NULL DEFAULT '';
