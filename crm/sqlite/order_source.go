package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"parley/crm"
)

// webhookIDTTL is how long a webhook delivery id is remembered. Shopify retries a failed
// delivery for 48 hours, so a week covers every retry.
const webhookIDTTL = 7 * 24 * time.Hour

const orderSourceCols = `s.id, s.kind, s.name, s.config, s.secrets, s.created_at, s.updated_at`

// queryOrderSources runs a query selecting orderSourceCols and opens each source's secrets.
func (db *DB) queryOrderSources(ctx context.Context, q queryer, query string, args ...any) ([]*crm.OrderSource, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query order sources: %w", err)
	}
	defer rows.Close()
	list := []*crm.OrderSource{}
	for rows.Next() {
		var s crm.OrderSource
		var config string
		var sealed []byte
		var created, updated int64
		if err := rows.Scan(&s.ID, &s.Kind, &s.Name, &config, &sealed, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan order source: %w", err)
		}
		if err := json.Unmarshal([]byte(config), &s.Config); err != nil {
			return nil, fmt.Errorf("unmarshal order source %d config: %w", s.ID, err)
		}
		if s.Config == nil {
			s.Config = map[string]any{}
		}
		if s.Secrets, err = db.box.Open(sealed); err != nil {
			return nil, fmt.Errorf("order source %d: %w", s.ID, err)
		}
		s.CreatedAt, s.UpdatedAt = fromMS(created), fromMS(updated)
		list = append(list, &s)
	}
	return list, rows.Err()
}

// findOrderSource returns one source with its secrets. Returns not_found.
func (db *DB) findOrderSource(ctx context.Context, q queryer, id int64) (*crm.OrderSource, error) {
	list, err := db.queryOrderSources(ctx, q, `SELECT `+orderSourceCols+` FROM order_sources s WHERE s.id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(list) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "order source %d not found", id)
	}
	return list[0], nil
}

// OrderSources lists every order source with its secrets, oldest first. Only admins
// reach it through the API.
func (db *DB) OrderSources(ctx context.Context) ([]*crm.OrderSource, error) {
	return db.queryOrderSources(ctx, db.rdb, `SELECT `+orderSourceCols+` FROM order_sources s ORDER BY s.id`)
}

// OrderSource returns one order source with its secrets. Returns not_found.
func (db *DB) OrderSource(ctx context.Context, id int64) (*crm.OrderSource, error) {
	return db.findOrderSource(ctx, db.rdb, id)
}

func checkOrderSourceName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > 100 {
		return "", crm.Errorf(crm.EINVALID, "order source name must be 1 to 100 characters")
	}
	return s, nil
}

// CreateOrderSource stores a new order source. Config values of keys ending in password,
// token or secret are moved to its secrets and encrypted, as for inboxes. Returns invalid.
func (db *DB) CreateOrderSource(ctx context.Context, s *crm.OrderSource) (*crm.OrderSource, error) {
	if s == nil {
		return nil, crm.Errorf(crm.EINVALID, "order source required")
	}
	if s.Kind != crm.OrderSourceWebhook && s.Kind != crm.OrderSourceShopify {
		return nil, crm.Errorf(crm.EINVALID, "order source kind must be webhook or shopify")
	}
	name, err := checkOrderSourceName(s.Name)
	if err != nil {
		return nil, err
	}
	configJSON, sealed, err := db.sealConfig(s.Config, s.Secrets, nil, nil)
	if err != nil {
		return nil, err
	}
	var out *crm.OrderSource
	err = db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO order_sources (kind, name, config, secrets, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, s.Kind, name, string(configJSON), sealed, ms(tx.now), ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert order source: %w", err)
		}
		id, _ := res.LastInsertId()
		out, err = db.findOrderSource(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateOrderSource changes a source's name and config. A nil Config keeps the stored
// one; a secret left out or empty keeps its stored value. Returns invalid or not_found.
func (db *DB) UpdateOrderSource(ctx context.Context, s *crm.OrderSource) (*crm.OrderSource, error) {
	if s == nil {
		return nil, crm.Errorf(crm.EINVALID, "order source required")
	}
	var name string
	var err error
	if s.Name != "" {
		if name, err = checkOrderSourceName(s.Name); err != nil {
			return nil, err
		}
	}
	var out *crm.OrderSource
	err = db.update(ctx, func(tx *Tx) error {
		old, err := db.findOrderSource(ctx, tx, s.ID)
		if err != nil {
			return err
		}
		if s.Kind != "" && s.Kind != old.Kind {
			return crm.Errorf(crm.EINVALID, "the kind of an order source cannot change")
		}
		if name == "" {
			name = old.Name
		}
		configJSON, sealed, err := db.sealConfig(s.Config, s.Secrets, old.Config, old.Secrets)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE order_sources SET name = ?, config = ?, secrets = ?, updated_at = ?
			WHERE id = ?`, name, string(configJSON), sealed, ms(tx.now), s.ID); err != nil {
			return fmt.Errorf("update order source: %w", err)
		}
		out, err = db.findOrderSource(ctx, tx, s.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecordWebhook notes a webhook delivery id of a source and reports whether it was new.
// Ids older than a week are forgotten on the way. Returns invalid for an empty or long id.
func (db *DB) RecordWebhook(ctx context.Context, sourceID int64, webhookID string) (bool, error) {
	if webhookID == "" || len(webhookID) > 200 {
		return false, crm.Errorf(crm.EINVALID, "webhook id must be 1 to 200 bytes")
	}
	var fresh bool
	err := db.update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM order_webhooks WHERE received_at < ?`,
			ms(tx.now.Add(-webhookIDTTL))); err != nil {
			return fmt.Errorf("forget old webhook ids: %w", err)
		}
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO order_webhooks (source_id, webhook_id, received_at)
			VALUES (?, ?, ?)`, sourceID, webhookID, ms(tx.now))
		if err != nil {
			return fmt.Errorf("record webhook id: %w", err)
		}
		n, _ := res.RowsAffected()
		fresh = n == 1
		return nil
	})
	return fresh, err
}

// WebhookSeen reports whether a webhook delivery id of a source was recorded.
func (db *DB) WebhookSeen(ctx context.Context, sourceID int64, webhookID string) (bool, error) {
	var n int
	if err := db.rdb.QueryRowContext(ctx, `SELECT count(*) FROM order_webhooks WHERE source_id = ? AND webhook_id = ?`,
		sourceID, webhookID).Scan(&n); err != nil {
		return false, fmt.Errorf("find webhook id: %w", err)
	}
	return n > 0, nil
}
