-- The store writes the full-text rows of tickets and messages itself, with the rows.
-- With the triggers, every insert of a ticket or message (and every ticket update that
-- set a foreign-key column) opened a statement journal, and SQLite asks each full-text
-- table of the transaction to write out what it holds in memory at every statement
-- journal: a group commit of many messages wrote a small index segment per statement
-- instead of one per commit, which cost more than the inserts themselves.
DROP TRIGGER tickets_fts_ai;
DROP TRIGGER tickets_fts_au;
DROP TRIGGER messages_fts_ai;
DROP TRIGGER messages_fts_au;
