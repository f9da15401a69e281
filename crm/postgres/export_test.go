package postgres

import "context"

// RawQuery runs query (with ? for its arguments) on the pool and returns its rows, for
// tests that check what is at rest.
func (db *DB) RawQuery(ctx context.Context, query string, args ...any) ([][]any, error) {
	rows, err := db.pool.Query(ctx, rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// HoldReaders takes every connection of the readers' pool until release (which may be
// called more than once), as readers that are all busy would.
func (db *DB) HoldReaders(ctx context.Context) (release func(), err error) {
	var held []interface{ Release() }
	release = func() {
		for _, c := range held {
			c.Release()
		}
		held = nil
	}
	for range db.pool.Config().MaxConns {
		c, err := db.pool.Acquire(ctx)
		if err != nil {
			release()
			return nil, err
		}
		held = append(held, c)
	}
	return release, nil
}
