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
