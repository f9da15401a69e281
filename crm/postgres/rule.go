package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"parley/crm"
)

var (
	_ crm.RuleService = (*DB)(nil)
	_ crm.RuleQueue   = (*DB)(nil)
)

const ruleCols = `id, name, enabled, position, triggered, conditions, actions, stop, created_at, updated_at`

func scanRule(row interface{ Scan(...any) error }) (*crm.Rule, error) {
	var r crm.Rule
	var trig, conds, acts string
	var created, updated int64
	if err := row.Scan(&r.ID, &r.Name, &r.Enabled, &r.Position, &trig, &conds, &acts, &r.Stop, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(trig), &r.Trigger); err != nil {
		return nil, fmt.Errorf("trigger of rule %d: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(conds), &r.Conditions); err != nil {
		return nil, fmt.Errorf("conditions of rule %d: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(acts), &r.Actions); err != nil {
		return nil, fmt.Errorf("actions of rule %d: %w", r.ID, err)
	}
	// Numbers come back from JSON as float64; the engine and the API want them whole.
	for _, list := range [][]crm.RuleCondition{r.Conditions.All, r.Conditions.Any} {
		for i := range list {
			if n, ok := crm.RuleNumber(list[i].Value); ok {
				list[i].Value = n
			}
		}
	}
	if r.Conditions.All == nil {
		r.Conditions.All = []crm.RuleCondition{}
	}
	if r.Conditions.Any == nil {
		r.Conditions.Any = []crm.RuleCondition{}
	}
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return &r, nil
}

func ruleJSON(r *crm.Rule) (trig, conds, acts string) {
	a, _ := json.Marshal(r.Trigger)
	b, _ := json.Marshal(r.Conditions)
	c, _ := json.Marshal(r.Actions)
	return string(a), string(b), string(c)
}

// Rules lists every rule in position order. Returns forbidden.
func (db *DB) Rules(ctx context.Context) ([]*crm.Rule, error) {
	if err := crm.MayManageRules(ctx); err != nil {
		return nil, err
	}
	rows, err := db.rdb().QueryContext(ctx, `SELECT `+ruleCols+` FROM rules ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("query rules: %w", err)
	}
	defer rows.Close()
	list := []*crm.Rule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("scan rule: %w", err)
		}
		list = append(list, r)
	}
	return list, rows.Err()
}

// Rule returns one rule. Returns forbidden or not_found.
func (db *DB) Rule(ctx context.Context, id int64) (*crm.Rule, error) {
	if err := crm.MayManageRules(ctx); err != nil {
		return nil, err
	}
	return findRule(ctx, db.rdb(), id)
}

func findRule(ctx context.Context, q queryer, id int64) (*crm.Rule, error) {
	r, err := scanRule(q.QueryRowContext(ctx, `SELECT `+ruleCols+` FROM rules WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "rule %d not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find rule: %w", err)
	}
	return r, nil
}

// placeRule moves rule id to position pos (1 first; 0 or past the end: last) and
// numbers every rule 1, 2, ... in order.
func (tx *Tx) placeRule(ctx context.Context, id int64, pos int) error {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM rules WHERE id <> ? ORDER BY position, id`, id)
	if err != nil {
		return fmt.Errorf("query rule order: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var x int64
		if err := rows.Scan(&x); err != nil {
			rows.Close()
			return fmt.Errorf("scan rule order: %w", err)
		}
		ids = append(ids, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query rule order: %w", err)
	}
	if pos <= 0 || pos > len(ids) {
		pos = len(ids) + 1
	}
	ids = append(ids[:pos-1], append([]int64{id}, ids[pos-1:]...)...)
	for i, x := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE rules SET position = ? WHERE id = ? AND position <> ?`, i+1, x, i+1); err != nil {
			return fmt.Errorf("number rules: %w", err)
		}
	}
	return nil
}

// CreateRule stores a rule, last unless Position says where. Returns invalid,
// forbidden or conflict (MaxRules).
func (db *DB) CreateRule(ctx context.Context, in *crm.Rule) (*crm.Rule, error) {
	if err := crm.MayManageRules(ctx); err != nil {
		return nil, err
	}
	if in == nil {
		return nil, crm.Errorf(crm.EINVALID, "rule required")
	}
	r := *in
	if err := crm.CheckRule(&r); err != nil {
		return nil, err
	}
	trig, conds, acts := ruleJSON(&r)
	var out *crm.Rule
	err := db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM rules`).Scan(&n); err != nil {
			return fmt.Errorf("count rules: %w", err)
		} else if n >= crm.MaxRules {
			return crm.Errorf(crm.ECONFLICT, "there are already %d rules; delete one first", n)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO rules (name, enabled, position, triggered, conditions, actions, stop,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.Name, r.Enabled, n+1, trig, conds, acts, r.Stop, ms(tx.now), ms(tx.now)).Scan(&id); err != nil {
			return fmt.Errorf("insert rule: %w", err)
		}
		if r.Position > 0 && r.Position <= n {
			if err := tx.placeRule(ctx, id, r.Position); err != nil {
				return err
			}
		}
		var err error
		out, err = findRule(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateRule changes a rule. Returns invalid, forbidden or not_found.
func (db *DB) UpdateRule(ctx context.Context, id int64, u crm.RuleUpdate) (*crm.Rule, error) {
	if err := crm.MayManageRules(ctx); err != nil {
		return nil, err
	}
	var out *crm.Rule
	err := db.update(ctx, func(tx *Tx) error {
		r, err := findRule(ctx, tx, id)
		if err != nil {
			return err
		}
		applyRuleUpdate(r, u)
		if err := crm.CheckRule(r); err != nil {
			return err
		}
		trig, conds, acts := ruleJSON(r)
		if _, err := tx.ExecContext(ctx, `UPDATE rules SET name = ?, enabled = ?, triggered = ?, conditions = ?, actions = ?,
			stop = ?, updated_at = ? WHERE id = ?`, r.Name, r.Enabled, trig, conds, acts, r.Stop, ms(tx.now), id); err != nil {
			return fmt.Errorf("update rule: %w", err)
		}
		if u.Position != nil {
			if *u.Position < 1 {
				return crm.Errorf(crm.EINVALID, "position must be 1 or more")
			}
			if err := tx.placeRule(ctx, id, *u.Position); err != nil {
				return err
			}
		}
		out, err = findRule(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyRuleUpdate sets the fields of u on r.
func applyRuleUpdate(r *crm.Rule, u crm.RuleUpdate) {
	if u.Name != nil {
		r.Name = *u.Name
	}
	if u.Enabled != nil {
		r.Enabled = *u.Enabled
	}
	if u.Trigger != nil {
		r.Trigger = *u.Trigger
	}
	if u.Conditions != nil {
		r.Conditions = *u.Conditions
	}
	if u.Actions != nil {
		r.Actions = *u.Actions
	}
	if u.Stop != nil {
		r.Stop = *u.Stop
	}
}

// DeleteRule removes a rule; the later ones move up. Returns forbidden or not_found.
func (db *DB) DeleteRule(ctx context.Context, id int64) error {
	if err := crm.MayManageRules(ctx); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		var pos int
		if err := tx.QueryRowContext(ctx, `SELECT position FROM rules WHERE id = ?`, id).Scan(&pos); isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "rule %d not found", id)
		} else if err != nil {
			return fmt.Errorf("find rule: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM rules WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete rule: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rules SET position = position - 1 WHERE position > ?`, pos); err != nil {
			return fmt.Errorf("number rules: %w", err)
		}
		return nil
	})
}

// RuleCursor returns the id of the last event the rules runner handled; before its
// first run, the newest stored event, which is then stored.
func (db *DB) RuleCursor(ctx context.Context) (int64, error) {
	var after int64
	err := db.rdb().QueryRowContext(ctx, `SELECT after FROM rule_cursor WHERE id = 1`).Scan(&after)
	if err == nil {
		return after, nil
	} else if !isNoRows(err) {
		return 0, fmt.Errorf("read rule cursor: %w", err)
	}
	err = db.update(ctx, func(tx *Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT after FROM rule_cursor WHERE id = 1),
			(SELECT max(id) FROM events), 0)`).Scan(&after); err != nil {
			return fmt.Errorf("start rule cursor: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO rule_cursor (id, after) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, after)
		if err != nil {
			return fmt.Errorf("store rule cursor: %w", err)
		}
		return nil
	})
	return after, err
}

// SetRuleCursor stores the id of the last event the rules runner handled.
func (db *DB) SetRuleCursor(ctx context.Context, after int64) error {
	return db.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rule_cursor (id, after) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET after = excluded.after`, after)
		if err != nil {
			return fmt.Errorf("store rule cursor: %w", err)
		}
		return nil
	})
}

// RuleFiredAt returns when a time-based rule last acted on a ticket, or the zero time.
func (db *DB) RuleFiredAt(ctx context.Context, ruleID, ticketID int64) (time.Time, error) {
	var at int64
	err := db.rdb().QueryRowContext(ctx, `SELECT at FROM rule_fired WHERE rule_id = ? AND ticket_id = ?`, ruleID, ticketID).Scan(&at)
	if isNoRows(err) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("read rule mark: %w", err)
	}
	return fromMS(at), nil
}

// MarkRuleFired records that a time-based rule acted on a ticket at at. A mark of a
// rule deleted meanwhile is dropped.
func (db *DB) MarkRuleFired(ctx context.Context, ruleID, ticketID int64, at time.Time) error {
	return db.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rule_fired (rule_id, ticket_id, at)
			SELECT id, ?::bigint, ?::bigint FROM rules WHERE id = ?
			ON CONFLICT (rule_id, ticket_id) DO UPDATE SET at = excluded.at`, ticketID, ms(at), ruleID)
		if err != nil {
			return fmt.Errorf("store rule mark: %w", err)
		}
		return nil
	})
}

// QueueWebhookEvent queues a delivery of a stored event to one webhook, due now.
// Returns not_found (webhook or event).
func (db *DB) QueueWebhookEvent(ctx context.Context, webhookID, eventID int64) (*crm.WebhookDelivery, error) {
	if !crm.IsSystem(ctx) {
		return nil, crm.Errorf(crm.EFORBIDDEN, "only the system queues webhook deliveries")
	}
	var out *crm.WebhookDelivery
	err := db.update(ctx, func(tx *Tx) error {
		if _, err := findWebhook(ctx, tx, webhookID); err != nil {
			return err
		}
		var typ string
		if err := tx.QueryRowContext(ctx, `SELECT type FROM events WHERE id = ?`, eventID).Scan(&typ); isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "event %d not found", eventID)
		} else if err != nil {
			return fmt.Errorf("find event: %w", err)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, state,
			next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?) RETURNING id`,
			webhookID, eventID, typ, ms(tx.now), ms(tx.now), ms(tx.now)).Scan(&id); err != nil {
			return fmt.Errorf("queue webhook delivery: %w", err)
		}
		var err error
		out, err = findDelivery(ctx, tx, webhookID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
