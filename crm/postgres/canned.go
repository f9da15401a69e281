package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"

	"parley/crm"
)

var _ crm.CannedService = (*DB)(nil)

const cannedCols = `id, title, body, created_by, created_at, updated_at`

func scanCanned(row interface{ Scan(...any) error }) (*crm.CannedResponse, error) {
	var c crm.CannedResponse
	var by sql.NullInt64
	var created, updated int64
	if err := row.Scan(&c.ID, &c.Title, &c.Body, &by, &created, &updated); err != nil {
		return nil, err
	}
	c.CreatedBy = by.Int64
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return &c, nil
}

// CannedResponses lists every canned response by title. Every agent may read them.
func (db *DB) CannedResponses(ctx context.Context) ([]*crm.CannedResponse, error) {
	// SQLite's NOCASE order: ASCII letters folded, then bytes, whatever the database's
	// collation.
	rows, err := db.rdb().QueryContext(ctx, `SELECT `+cannedCols+` FROM canned_responses
		ORDER BY translate(title, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') COLLATE "C", id
		LIMIT ?`, crm.MaxCanned)
	if err != nil {
		return nil, fmt.Errorf("query canned responses: %w", err)
	}
	defer rows.Close()
	list := []*crm.CannedResponse{}
	for rows.Next() {
		c, err := scanCanned(rows)
		if err != nil {
			return nil, fmt.Errorf("scan canned response: %w", err)
		}
		list = append(list, c)
	}
	return list, rows.Err()
}

// mayManageCanned returns forbidden unless the agent in ctx is a manager or admin. The
// server checks the role too; the store checks again so no other caller can skip it.
func mayManageCanned(ctx context.Context) error {
	if !crm.SeesAll(ctx) {
		return crm.Errorf(crm.EFORBIDDEN, "only managers and admins manage canned responses")
	}
	return nil
}

func checkCannedTitle(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > crm.MaxCannedTitle || !utf8.ValidString(s) {
		return "", crm.Errorf(crm.EINVALID, "title must be 1 to %d characters", crm.MaxCannedTitle)
	}
	return s, nil
}

func checkCannedBody(s string) (string, error) {
	if strings.TrimSpace(s) == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > crm.MaxCannedBody {
		return "", crm.Errorf(crm.EINVALID, "body must be 1 to %d characters", crm.MaxCannedBody)
	}
	return strings.TrimRight(s, " \t\r\n"), nil
}

// CreateCanned stores a new canned response written by the agent in ctx. Returns invalid,
// forbidden or conflict when there are already MaxCanned responses.
func (db *DB) CreateCanned(ctx context.Context, c *crm.CannedResponse) (*crm.CannedResponse, error) {
	if err := mayManageCanned(ctx); err != nil {
		return nil, err
	}
	if c == nil {
		return nil, crm.Errorf(crm.EINVALID, "canned response required")
	}
	title, err := checkCannedTitle(c.Title)
	if err != nil {
		return nil, err
	}
	body, err := checkCannedBody(c.Body)
	if err != nil {
		return nil, err
	}
	var by int64
	if a := crm.AgentFrom(ctx); a != nil {
		by = a.ID
	}
	var out *crm.CannedResponse
	err = db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM canned_responses`).Scan(&n); err != nil {
			return fmt.Errorf("count canned responses: %w", err)
		} else if n >= crm.MaxCanned {
			return crm.Errorf(crm.ECONFLICT, "there are already %d canned responses; delete some first", n)
		}
		var err error
		out, err = scanCanned(tx.QueryRowContext(ctx, `INSERT INTO canned_responses (title, body, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING `+cannedCols, title, body, nullID(by), ms(tx.now), ms(tx.now)))
		if err != nil {
			return fmt.Errorf("insert canned response: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func findCanned(ctx context.Context, q queryer, id int64) (*crm.CannedResponse, error) {
	c, err := scanCanned(q.QueryRowContext(ctx, `SELECT `+cannedCols+` FROM canned_responses WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "canned response %d not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find canned response: %w", err)
	}
	return c, nil
}

// UpdateCanned changes the title or body of a canned response. Returns invalid,
// forbidden or not_found.
func (db *DB) UpdateCanned(ctx context.Context, id int64, u crm.CannedUpdate) (*crm.CannedResponse, error) {
	if err := mayManageCanned(ctx); err != nil {
		return nil, err
	}
	var title, body string
	var err error
	if u.Title != nil {
		if title, err = checkCannedTitle(*u.Title); err != nil {
			return nil, err
		}
	}
	if u.Body != nil {
		if body, err = checkCannedBody(*u.Body); err != nil {
			return nil, err
		}
	}
	var out *crm.CannedResponse
	err = db.update(ctx, func(tx *Tx) error {
		old, err := findCanned(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.Title == nil {
			title = old.Title
		}
		if u.Body == nil {
			body = old.Body
		}
		if _, err := tx.ExecContext(ctx, `UPDATE canned_responses SET title = ?, body = ?, updated_at = ? WHERE id = ?`,
			title, body, ms(tx.now), id); err != nil {
			return fmt.Errorf("update canned response: %w", err)
		}
		out, err = findCanned(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteCanned removes a canned response. Returns forbidden or not_found.
func (db *DB) DeleteCanned(ctx context.Context, id int64) error {
	if err := mayManageCanned(ctx); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM canned_responses WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete canned response: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "canned response %d not found", id)
		}
		return nil
	})
}
