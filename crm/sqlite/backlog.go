package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"parley/crm"
)

// Messages reach the full-text index in batches, a moment after they are stored, not in
// the transaction that stores them. FTS5 writes what a transaction added as a new index
// segment at its commit and merges the segments as they pile up, so a group commit of a
// dozen messages paid for a segment of its own and for merging it: a quarter of what
// ingest cost (make bench). Indexed by the hundred, a segment holds all of them.
//
// The backlog is every message with an id above search_backlog.messages_upto (message
// ids only grow: one writer stores them). It lives in the database, so a restart loses
// none of it. Every reader of the index catches it up first (catchUpSearch), so that a
// search finds every message stored before it began; the indexer does so on its own
// indexDelay after a commit that stored messages.

// indexDelay is how long the indexer lets messages gather after a commit stored some.
const indexDelay = 200 * time.Millisecond

// indexer catches the search index up indexDelay after commits that stored messages,
// until Close. A pass that fails (say, for lack of disk space) is tried again at the next
// commit that stores a message, and by the next search.
func (db *DB) indexer() {
	defer close(db.indexDone)
	for {
		select {
		case <-db.stored:
		case <-db.quit:
			return
		}
		select {
		case <-time.After(indexDelay):
		case <-db.quit:
			return
		}
		if err := db.catchUpSearch(context.Background()); err != nil && !errors.Is(err, errClosed) {
			db.opt.Logger.Error("index new messages for search", "err", err)
		}
	}
}

// catchUpSearch indexes the backlog of messages, unless a pass that began after the last
// commit that stored messages has done so already. It returns once every message
// committed before it was called is in the index.
func (db *DB) catchUpSearch(ctx context.Context) error {
	if db.indexedGen.Load() >= db.storedGen.Load() {
		return nil
	}
	var gen int64
	err := db.update(crm.AsSystem(ctx), func(tx *Tx) error {
		// The writer alone bumps storedGen, after its commits: here, on the writer, it
		// counts exactly the commits before this transaction.
		gen = db.storedGen.Load()
		return tx.indexBacklog(ctx)
	})
	if err != nil {
		return fmt.Errorf("index new messages: %w", err)
	}
	for {
		old := db.indexedGen.Load()
		if old >= gen || db.indexedGen.CompareAndSwap(old, gen) {
			return nil
		}
	}
}

// searchReady catches the search index up when q has text to search for.
func (db *DB) searchReady(ctx context.Context, q string) error {
	if strings.TrimSpace(q) == "" {
		return nil
	}
	return db.catchUpSearch(ctx)
}

// indexBacklog adds the search rows of the messages in the backlog, with what those
// messages hold now, and empties it.
func (tx *Tx) indexBacklog(ctx context.Context) error {
	upto, err := tx.indexedUpto(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages_fts (rowid, text)
		SELECT id, text FROM messages WHERE id > ? ORDER BY id`, upto); err != nil {
		return fmt.Errorf("index messages after %d: %w", upto, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE search_backlog SET messages_upto = (SELECT coalesce(max(id), 0) FROM messages)
		WHERE messages_upto < (SELECT coalesce(max(id), 0) FROM messages)`); err != nil {
		return fmt.Errorf("empty the search backlog: %w", err)
	}
	return nil
}

// indexedUpto returns the newest message id the search index holds.
func (tx *Tx) indexedUpto(ctx context.Context) (int64, error) {
	var upto int64
	if err := tx.QueryRowContext(ctx, `SELECT messages_upto FROM search_backlog`).Scan(&upto); err != nil {
		return 0, fmt.Errorf("read the search backlog: %w", err)
	}
	return upto, nil
}

// unindexed marks that tx stored a message, which reaches the search index with the
// backlog.
func (tx *Tx) unindexed() { tx.storedMessages = true }
