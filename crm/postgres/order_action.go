package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"

	"parley/crm"
)

const orderActionCols = `a.id, a.idempotency_key, a.order_number, a.ticket_id, a.kind, a.status, a.amount,
	a.currency, a.error, a.result, a.actor_kind, a.actor_id, a.created_at, a.updated_at`

// maxActionResult caps the stored result of a shop's answer.
const maxActionResult = 64 << 10

var idempotencyKeyRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{8,100}$`)

func queryOrderActions(ctx context.Context, q queryer, query string, args ...any) ([]*crm.OrderAction, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query order actions: %w", err)
	}
	defer rows.Close()
	list := []*crm.OrderAction{}
	for rows.Next() {
		var a crm.OrderAction
		var ticket sql.NullInt64
		var result string
		var created, updated int64
		if err := rows.Scan(&a.ID, &a.IdempotencyKey, &a.OrderNumber, &ticket, &a.Kind, &a.Status, &a.Amount,
			&a.Currency, &a.Error, &result, &a.Actor.Kind, &a.Actor.ID, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan order action: %w", err)
		}
		a.TicketID = ticket.Int64
		a.Result = json.RawMessage(result)
		a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(updated)
		list = append(list, &a)
	}
	return list, rows.Err()
}

func findOrderActionByKey(ctx context.Context, q queryer, key string) (*crm.OrderAction, error) {
	list, err := queryOrderActions(ctx, q, `SELECT `+orderActionCols+` FROM order_actions a WHERE a.idempotency_key = ?`, key)
	if err != nil {
		return nil, err
	} else if len(list) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "no action with that idempotency key")
	}
	return list[0], nil
}

// StartOrderAction records a pending action of the agent in ctx. When its idempotency key
// is taken it returns the stored action and false, so that two clicks act once. Returns
// invalid (a bad kind, key or order number).
func (db *DB) StartOrderAction(ctx context.Context, a *crm.OrderAction) (*crm.OrderAction, bool, error) {
	if a == nil {
		return nil, false, crm.Errorf(crm.EINVALID, "order action required")
	}
	switch a.Kind {
	case crm.ActionCancel, crm.ActionRefund, crm.ActionResend:
	default:
		return nil, false, crm.Errorf(crm.EINVALID, "action must be cancel, refund or resend_confirmation")
	}
	if !idempotencyKeyRe.MatchString(a.IdempotencyKey) {
		return nil, false, crm.Errorf(crm.EINVALID, "idempotency_key must be 8 to 100 characters of A-Z, a-z, 0-9, _, ., : and -")
	}
	if !orderNumberRe.MatchString(a.OrderNumber) {
		return nil, false, crm.Errorf(crm.EINVALID, "invalid order number")
	}
	if a.Amount < 0 {
		return nil, false, crm.Errorf(crm.EINVALID, "amount must not be negative")
	}
	actor := actorFrom(ctx, systemActor)
	var out *crm.OrderAction
	var created bool
	err := db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO order_actions (idempotency_key, order_number, ticket_id, kind,
			status, amount, currency, actor_kind, actor_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
			a.IdempotencyKey, a.OrderNumber, nullID(a.TicketID), a.Kind, crm.ActionPending, a.Amount, a.Currency,
			actor.Kind, actor.ID, ms(tx.now), ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert order action: %w", err)
		}
		n, _ := res.RowsAffected()
		created = n == 1
		out, err = findOrderActionByKey(ctx, tx, a.IdempotencyKey)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// FinishOrderAction stores the outcome of a pending action (status, amount, currency,
// error and result) and records an order.action event: on the action's ticket, else on
// the order's customer. The event's actor is whoever started the action. Returns invalid,
// not_found or conflict (the action is finished already).
func (db *DB) FinishOrderAction(ctx context.Context, a *crm.OrderAction) (*crm.OrderAction, error) {
	if a == nil {
		return nil, crm.Errorf(crm.EINVALID, "order action required")
	}
	if a.Status != crm.ActionOK && a.Status != crm.ActionFailed {
		return nil, crm.Errorf(crm.EINVALID, "an action finishes as succeeded or failed")
	}
	result := string(a.Result)
	if result == "" || result == "null" {
		result = "{}"
	}
	if len(result) > maxActionResult || !json.Valid([]byte(result)) {
		return nil, crm.Errorf(crm.EINVALID, "action result must be JSON of at most 64 KiB")
	}
	var out *crm.OrderAction
	err := db.update(ctx, func(tx *Tx) error {
		list, err := queryOrderActions(ctx, tx, `SELECT `+orderActionCols+` FROM order_actions a WHERE a.id = ?`, a.ID)
		if err != nil {
			return err
		} else if len(list) == 0 {
			return crm.Errorf(crm.ENOTFOUND, "order action %d not found", a.ID)
		} else if list[0].Status != crm.ActionPending {
			return crm.Errorf(crm.ECONFLICT, "order action %d is finished already", a.ID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE order_actions SET status = ?, amount = ?, currency = ?, error = ?,
			result = ?, updated_at = ? WHERE id = ?`, a.Status, a.Amount, a.Currency, crm.CutRunes(a.Error, 2000), result,
			ms(tx.now), a.ID); err != nil {
			return fmt.Errorf("finish order action: %w", err)
		}
		if list, err = queryOrderActions(ctx, tx, `SELECT `+orderActionCols+` FROM order_actions a WHERE a.id = ?`, a.ID); err != nil {
			return err
		}
		out = list[0]
		if out.TicketID != 0 {
			t, err := findTicket(crm.AsSystem(ctx), tx, out.TicketID)
			if err != nil {
				return err
			}
			return tx.ticketEvent(ctx, crm.EventOrderAction, t, out.Actor, out)
		}
		var customer sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT customer_id FROM orders WHERE number = ?`, out.OrderNumber).Scan(&customer)
		if err != nil && !isNoRows(err) {
			return fmt.Errorf("find customer of order: %w", err)
		}
		_, err = tx.event(ctx, crm.EventOrderAction, 0, customer.Int64, 0, out.Actor, out)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// OrderActionByKey returns the action of an idempotency key. Returns not_found.
func (db *DB) OrderActionByKey(ctx context.Context, key string) (*crm.OrderAction, error) {
	return findOrderActionByKey(ctx, db.rdb(), key)
}

// OrderActions lists the actions on an order the agent in ctx may see, newest first; an
// order it may not see has none.
func (db *DB) OrderActions(ctx context.Context, number string) ([]*crm.OrderAction, error) {
	vis, args := orderFilter(ctx)
	return queryOrderActions(ctx, db.rdb(), `SELECT `+orderActionCols+` FROM order_actions a
		WHERE a.order_number = ? AND EXISTS (SELECT 1 FROM orders o WHERE o.number = a.order_number AND `+vis+`)
		ORDER BY a.id DESC LIMIT 200`, append([]any{number}, args...)...)
}
