package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"parley/crm"
)

var (
	_ crm.WebhookService = (*DB)(nil)
	_ crm.WebhookQueue   = (*DB)(nil)
)

const webhookCols = `id, url, events, enabled, created_at, updated_at`

func scanWebhook(row interface{ Scan(...any) error }) (*crm.Webhook, error) {
	var w crm.Webhook
	var events string
	var created, updated int64
	if err := row.Scan(&w.ID, &w.URL, &events, &w.Enabled, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("events of webhook %d: %w", w.ID, err)
	}
	w.CreatedAt, w.UpdatedAt = fromMS(created), fromMS(updated)
	return &w, nil
}

// webhookWants is the SQL condition that the webhook w subscribes to the event e's type.
// Inbox and agent events go to no webhook.
var webhookWants = `e.type NOT IN (` + quoted(crm.WebhookInternalEvents) + `)
	AND (w.events = '["*"]' OR e.type IN (SELECT json_array_elements_text(w.events::json)))`

// quoted returns the constants list as SQL string literals.
func quoted(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return strings.Join(q, ", ")
}

// Webhooks lists the webhooks, oldest first, without their secrets. Returns forbidden.
func (db *DB) Webhooks(ctx context.Context) ([]*crm.Webhook, error) {
	if err := crm.MayManageWebhooks(ctx); err != nil {
		return nil, err
	}
	rows, err := db.rdb().QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("query webhooks: %w", err)
	}
	defer rows.Close()
	list := []*crm.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("scan webhook: %w", err)
		}
		list = append(list, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query webhooks: %w", err)
	}
	return list, nil
}

// Webhook returns one webhook without its secret. Returns forbidden or not_found.
func (db *DB) Webhook(ctx context.Context, id int64) (*crm.Webhook, error) {
	if err := crm.MayManageWebhooks(ctx); err != nil {
		return nil, err
	}
	return findWebhook(ctx, db.rdb(), id)
}

func findWebhook(ctx context.Context, q queryer, id int64) (*crm.Webhook, error) {
	w, err := scanWebhook(q.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "webhook %d not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find webhook: %w", err)
	}
	return w, nil
}

// sealWebhookSecret seals a webhook's secret as inbox secrets are sealed.
func (db *DB) sealWebhookSecret(secret string) ([]byte, error) {
	return db.box.Seal(map[string]string{"secret": secret})
}

// CreateWebhook stores a webhook that gets the events stored from now on; an empty
// Secret is made up, and the answer carries the secret. Returns invalid, forbidden or
// conflict (MaxWebhooks).
func (db *DB) CreateWebhook(ctx context.Context, in *crm.Webhook) (*crm.Webhook, error) {
	if err := crm.MayManageWebhooks(ctx); err != nil {
		return nil, err
	}
	if in == nil {
		return nil, crm.Errorf(crm.EINVALID, "webhook required")
	}
	u, err := crm.CheckWebhookURL(in.URL)
	if err != nil {
		return nil, err
	}
	events, err := crm.CheckWebhookEvents(in.Events)
	if err != nil {
		return nil, err
	}
	secret, err := crm.CheckWebhookSecret(in.Secret)
	if err != nil {
		return nil, err
	}
	sealed, err := db.sealWebhookSecret(secret)
	if err != nil {
		return nil, err
	}
	eventsJSON, _ := json.Marshal(events)
	var out *crm.Webhook
	err = db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhooks`).Scan(&n); err != nil {
			return fmt.Errorf("count webhooks: %w", err)
		} else if n >= crm.MaxWebhooks {
			return crm.Errorf(crm.ECONFLICT, "there are already %d webhooks; delete one first", n)
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO webhooks (url, events, secret, enabled, after_event, created_at, updated_at)
			VALUES (?, ?, ?, ?, (SELECT coalesce(max(id), 0) FROM events), ?, ?) RETURNING id`,
			u, string(eventsJSON), sealed, in.Enabled, ms(tx.now), ms(tx.now)).Scan(&id); err != nil {
			return fmt.Errorf("insert webhook: %w", err)
		}
		var err error
		out, err = findWebhook(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	out.Secret = secret
	return out, nil
}

// UpdateWebhook changes a webhook; the answer carries the secret when it changed.
// Returns invalid, forbidden or not_found.
func (db *DB) UpdateWebhook(ctx context.Context, id int64, u crm.WebhookUpdate) (*crm.Webhook, error) {
	if err := crm.MayManageWebhooks(ctx); err != nil {
		return nil, err
	}
	var sets []string
	var args []any
	if u.URL != nil {
		v, err := crm.CheckWebhookURL(*u.URL)
		if err != nil {
			return nil, err
		}
		sets, args = append(sets, "url = ?"), append(args, v)
	}
	if u.Events != nil {
		if *u.Events == nil {
			return nil, crm.Errorf(crm.EINVALID, "events must name at least one event type, or \"*\" for all")
		}
		v, err := crm.CheckWebhookEvents(*u.Events)
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(v)
		sets, args = append(sets, "events = ?"), append(args, string(b))
	}
	if u.Enabled != nil {
		sets, args = append(sets, "enabled = ?"), append(args, *u.Enabled)
	}
	var secret string
	if u.Secret != nil || u.NewSecret {
		if u.Secret != nil && u.NewSecret {
			return nil, crm.Errorf(crm.EINVALID, "give a secret or ask for a new one, not both")
		}
		given := ""
		if u.Secret != nil {
			if given = *u.Secret; given == "" {
				return nil, crm.Errorf(crm.EINVALID, "secret must be %d to %d characters", crm.MinWebhookSecret, crm.MaxWebhookSecret)
			}
		}
		var err error
		if secret, err = crm.CheckWebhookSecret(given); err != nil {
			return nil, err
		}
		sealed, err := db.sealWebhookSecret(secret)
		if err != nil {
			return nil, err
		}
		sets, args = append(sets, "secret = ?"), append(args, sealed)
	}
	var out *crm.Webhook
	err := db.update(ctx, func(tx *Tx) error {
		if len(sets) > 0 {
			res, err := tx.ExecContext(ctx, `UPDATE webhooks SET `+strings.Join(sets, ", ")+`, updated_at = ? WHERE id = ?`,
				append(append([]any(nil), args...), ms(tx.now), id)...)
			if err != nil {
				return fmt.Errorf("update webhook: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return crm.Errorf(crm.ENOTFOUND, "webhook %d not found", id)
			}
		}
		var err error
		out, err = findWebhook(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	out.Secret = secret
	return out, nil
}

// DeleteWebhook removes a webhook and its delivery log. Returns forbidden or not_found.
func (db *DB) DeleteWebhook(ctx context.Context, id int64) error {
	if err := crm.MayManageWebhooks(ctx); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "webhook %d not found", id)
		}
		return nil
	})
}

const deliveryCols = `d.id, d.webhook_id, d.event_id, d.event_type, d.state, d.attempts, d.next_attempt_at,
	d.last_attempt_at, d.url, d.status_code, d.response, d.error, d.duration_ms, d.redelivery_of, d.created_at, d.updated_at`

func scanDelivery(row interface{ Scan(...any) error }, extra ...any) (*crm.WebhookDelivery, error) {
	var d crm.WebhookDelivery
	var next, last, of sql.NullInt64
	var created, updated int64
	dest := append([]any{&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.State, &d.Attempts, &next, &last,
		&d.URL, &d.StatusCode, &d.Response, &d.Error, &d.DurationMS, &of, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if d.State == crm.WebhookPending {
		d.NextAttemptAt = nullTime(next)
	}
	d.LastAttemptAt = nullTime(last)
	if of.Valid {
		d.RedeliveryOf = &of.Int64
	}
	d.CreatedAt, d.UpdatedAt = fromMS(created), fromMS(updated)
	return &d, nil
}

// WebhookDeliveries lists the deliveries of a webhook, newest first. Returns invalid (a
// bad cursor), forbidden or not_found.
func (db *DB) WebhookDeliveries(ctx context.Context, webhookID int64, p crm.Page) ([]*crm.WebhookDelivery, string, error) {
	if err := crm.MayManageWebhooks(ctx); err != nil {
		return nil, "", err
	}
	limit := limitOf(p.Limit, crm.DefaultLimit, crm.MaxLimit)
	before := int64(1<<63 - 1)
	if p.Cursor != "" {
		c, err := decodeIntCursor(p.Cursor, 1)
		if err != nil {
			return nil, "", err
		}
		before = c[0]
	}
	if _, err := findWebhook(ctx, db.rdb(), webhookID); err != nil {
		return nil, "", err
	}
	rows, err := db.rdb().QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries d
		WHERE d.webhook_id = ? AND d.id < ? ORDER BY d.id DESC LIMIT ?`, webhookID, before, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("query webhook deliveries: %w", err)
	}
	defer rows.Close()
	list := []*crm.WebhookDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, "", fmt.Errorf("scan webhook delivery: %w", err)
		}
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("query webhook deliveries: %w", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = encodeCursor(itoa(list[limit-1].ID))
	}
	return list, next, nil
}

func findDelivery(ctx context.Context, q queryer, webhookID, id int64) (*crm.WebhookDelivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries d
		WHERE d.id = ? AND d.webhook_id = ?`, id, webhookID))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "delivery %d of webhook %d not found", id, webhookID)
	} else if err != nil {
		return nil, fmt.Errorf("find webhook delivery: %w", err)
	}
	return d, nil
}

// RedeliverWebhook queues the event of a delivery again, as a new delivery due now.
// Returns forbidden or not_found.
func (db *DB) RedeliverWebhook(ctx context.Context, webhookID, deliveryID int64) (*crm.WebhookDelivery, error) {
	if err := crm.MayManageWebhooks(ctx); err != nil {
		return nil, err
	}
	var out *crm.WebhookDelivery
	err := db.update(ctx, func(tx *Tx) error {
		old, err := findDelivery(ctx, tx, webhookID, deliveryID)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, state,
			next_attempt_at, redelivery_of, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?) RETURNING id`,
			webhookID, old.EventID, old.EventType, ms(tx.now), old.ID, ms(tx.now), ms(tx.now)).Scan(&id); err != nil {
			return fmt.Errorf("insert redelivery: %w", err)
		}
		out, err = findDelivery(ctx, tx, webhookID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// webhookCursor returns how far the delivery worker has read the event log. Before its
// first run there is no cursor yet: it starts before the events the oldest webhook
// gets, or at the newest event when there is no webhook, and is stored.
func (tx *Tx) webhookCursor(ctx context.Context) (int64, error) {
	var after int64
	// Locked until the commit: one fan-out or replay at a time, on every node.
	err := tx.QueryRowContext(ctx, `SELECT after FROM webhook_cursor WHERE id = 1 FOR UPDATE`).Scan(&after)
	if err == nil {
		return after, nil
	} else if !isNoRows(err) {
		return 0, fmt.Errorf("read webhook cursor: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT min(after_event) FROM webhooks),
		(SELECT max(id) FROM events), 0)`).Scan(&after); err != nil {
		return 0, fmt.Errorf("start webhook cursor: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_cursor (id, after) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, after); err != nil {
		return 0, fmt.Errorf("store webhook cursor: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT after FROM webhook_cursor WHERE id = 1 FOR UPDATE`).Scan(&after); err != nil {
		return 0, fmt.Errorf("read webhook cursor: %w", err)
	}
	return after, nil
}

// ReplayWebhook queues a delivery of every stored event after the event id that the
// webhook subscribes to, up to the webhooks' cursor (the worker delivers the later
// ones) and at most MaxWebhookReplay. Returns invalid, forbidden or not_found.
func (db *DB) ReplayWebhook(ctx context.Context, webhookID, after int64) (*crm.WebhookReplay, error) {
	if err := crm.MayManageWebhooks(ctx); err != nil {
		return nil, err
	}
	if after < 0 {
		return nil, crm.Errorf(crm.EINVALID, "after must be an event id, 0 or more")
	}
	var out *crm.WebhookReplay
	err := db.update(ctx, func(tx *Tx) error {
		if _, err := findWebhook(ctx, tx, webhookID); err != nil {
			return err
		}
		cursor, err := tx.webhookCursor(ctx)
		if err != nil {
			return err
		}
		out = &crm.WebhookReplay{Through: max(after, cursor)}
		if after >= cursor {
			return nil
		}
		// The last event of the replay: the MaxWebhookReplay-th wanted one, or the cursor.
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(id) FROM (SELECT e.id FROM events e, webhooks w
			WHERE w.id = ? AND e.id > ? AND e.id <= ? AND `+webhookWants+` ORDER BY e.id LIMIT ?) AS x`,
			webhookID, after, cursor, crm.MaxWebhookReplay).Scan(&last); err != nil {
			return fmt.Errorf("find events to replay: %w", err)
		}
		if !last.Valid {
			out.Through = cursor
			return nil
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, state,
			next_attempt_at, created_at, updated_at)
			SELECT w.id, e.id, e.type, 'pending', ?, ?, ? FROM events e, webhooks w
			WHERE w.id = ? AND e.id > ? AND e.id <= ? AND `+webhookWants+` ORDER BY e.id`,
			ms(tx.now), ms(tx.now), ms(tx.now), webhookID, after, last.Int64)
		if err != nil {
			return fmt.Errorf("queue replay: %w", err)
		}
		n, _ := res.RowsAffected()
		out.Queued = int(n)
		out.Through = cursor
		if out.Queued == crm.MaxWebhookReplay && last.Int64 < cursor {
			out.Through, out.More = last.Int64, true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FanOutWebhooks reads up to limit (default 500, max 5000) stored events after the
// webhooks' cursor, queues a delivery of each to every enabled webhook that wants it
// and was created before it, and moves the cursor past them, in one transaction. It
// returns how many events it read.
func (db *DB) FanOutWebhooks(ctx context.Context, limit int) (int, error) {
	limit = limitOf(limit, 500, 5000)
	// Most calls find nothing new: a read answers them without a turn of the writer.
	var fresh bool
	// max(id) reads the end of the index; EXISTS (... id > after) was planned as a scan of
	// the table from its start, through every event the cursor has passed.
	err := db.rdb().QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM webhook_cursor WHERE id = 1)
		OR coalesce((SELECT max(id) FROM events), 0) > (SELECT after FROM webhook_cursor WHERE id = 1)`).Scan(&fresh)
	if err != nil {
		return 0, fmt.Errorf("look for new events: %w", err)
	} else if !fresh {
		return 0, nil
	}
	var read int
	err = db.update(ctx, func(tx *Tx) error {
		read = 0
		after, err := tx.webhookCursor(ctx)
		if err != nil {
			return err
		}
		var last sql.NullInt64
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT max(id), count(*) FROM (SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?) AS x`,
			after, limit).Scan(&last, &n); err != nil {
			return fmt.Errorf("read events after the webhook cursor: %w", err)
		}
		if !last.Valid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, state,
			next_attempt_at, created_at, updated_at)
			SELECT w.id, e.id, e.type, 'pending', ?, ?, ? FROM events e JOIN webhooks w ON w.enabled AND e.id > w.after_event
			WHERE e.id > ? AND e.id <= ? AND `+webhookWants+` ORDER BY e.id, w.id`,
			ms(tx.now), ms(tx.now), ms(tx.now), after, last.Int64); err != nil {
			return fmt.Errorf("queue webhook deliveries: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_cursor SET after = ? WHERE id = 1`, last.Int64); err != nil {
			return fmt.Errorf("move webhook cursor: %w", err)
		}
		read = n
		return nil
	})
	if err != nil {
		return 0, err
	}
	return read, nil
}

// DueWebhooks returns the enabled webhooks with a pending delivery due at now.
func (db *DB) DueWebhooks(ctx context.Context, now time.Time) ([]int64, error) {
	ids, err := queryIDs(ctx, db.rdb(), `SELECT w.id FROM webhooks w WHERE w.enabled AND EXISTS (SELECT 1
		FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending' AND d.next_attempt_at <= ?)
		ORDER BY w.id`, ms(now))
	if err != nil {
		return nil, fmt.Errorf("find due webhooks: %w", err)
	}
	return ids, nil
}

// ClaimWebhookDeliveries leases up to limit (default 50, max 500) due deliveries of an
// enabled webhook, oldest first, until now+lease (default one minute), and returns them
// with the webhook's URL and secret and their events.
func (db *DB) ClaimWebhookDeliveries(ctx context.Context, webhookID int64, now time.Time, lease time.Duration, limit int) ([]*crm.WebhookJob, error) {
	if lease <= 0 {
		lease = time.Minute
	}
	limit = limitOf(limit, 50, 500)
	var jobs []*crm.WebhookJob
	err := db.update(ctx, func(tx *Tx) error {
		jobs = nil
		var url string
		var enabled bool
		var sealed []byte
		err := tx.QueryRowContext(ctx, `SELECT url, enabled, secret FROM webhooks WHERE id = ?`, webhookID).Scan(&url, &enabled, &sealed)
		if isNoRows(err) || (err == nil && !enabled) {
			return nil
		} else if err != nil {
			return fmt.Errorf("find webhook: %w", err)
		}
		secrets, err := db.box.Open(sealed)
		if err != nil {
			return fmt.Errorf("secret of webhook %d: %w", webhookID, err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryCols+`, e.id, e.type, e.ticket_id, e.customer_id, e.inbox_id,
			e.actor_kind, e.actor_id, e.data, e.at
			FROM webhook_deliveries d LEFT JOIN events e ON e.id = d.event_id
			WHERE d.webhook_id = ? AND d.state = 'pending' AND d.next_attempt_at <= ?
			ORDER BY d.next_attempt_at, d.id LIMIT ? FOR UPDATE OF d SKIP LOCKED`, webhookID, ms(now), limit)
		if err != nil {
			return fmt.Errorf("query due deliveries: %w", err)
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var eid, ticket, customer, inbox, actor, at sql.NullInt64
			var typ, kind, data sql.NullString
			d, err := scanDelivery(rows, &eid, &typ, &ticket, &customer, &inbox, &kind, &actor, &data, &at)
			if err != nil {
				return fmt.Errorf("scan due delivery: %w", err)
			}
			job := &crm.WebhookJob{Delivery: d, URL: url, Secret: secrets["secret"]}
			if eid.Valid {
				job.Event = &crm.Event{ID: eid.Int64, Type: typ.String, TicketID: ticket.Int64, CustomerID: customer.Int64,
					InboxID: inbox.Int64, Actor: crm.Actor{Kind: kind.String, ID: actor.Int64}, Data: []byte(data.String),
					At: fromMS(at.Int64)}
			}
			jobs = append(jobs, job)
			ids = append(ids, d.ID)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("query due deliveries: %w", err)
		}
		rows.Close()
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ANY(?)`,
			ms(now.Add(lease)), ids)
		if err != nil {
			return fmt.Errorf("lease deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if jobs == nil {
		jobs = []*crm.WebhookJob{}
	}
	return jobs, nil
}

// RecordWebhookAttempts stores the outcomes of attempts, in one transaction. An attempt
// of a delivery that is gone or no longer pending is skipped. Returns invalid for an
// unknown state.
func (db *DB) RecordWebhookAttempts(ctx context.Context, attempts []*crm.WebhookAttempt) error {
	for _, a := range attempts {
		switch a.State {
		case crm.WebhookPending, crm.WebhookDelivered, crm.WebhookFailed, crm.WebhookDead:
		default:
			return crm.Errorf(crm.EINVALID, "unknown delivery state %q", a.State)
		}
	}
	if len(attempts) == 0 {
		return nil
	}
	return db.update(ctx, func(tx *Tx) error {
		for _, a := range attempts {
			var next any
			if a.State == crm.WebhookPending {
				next = ms(a.NextAttemptAt)
			}
			// One round trip for them all (see later).
			tx.later(`UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1,
				next_attempt_at = ?, last_attempt_at = ?, url = ?, status_code = ?, response = ?, error = ?, duration_ms = ?,
				updated_at = ? WHERE id = ? AND state = 'pending'`,
				a.State, next, ms(a.At), crm.CutBytes(a.URL, crm.MaxWebhookURL), a.StatusCode,
				crm.CutBytes(a.Response, crm.MaxWebhookResponse), crm.CutRunes(a.Error, 1000), a.Duration.Milliseconds(),
				ms(tx.now), a.DeliveryID)
		}
		if err := tx.flush(ctx); err != nil {
			return fmt.Errorf("record webhook attempts: %w", err)
		}
		return nil
	})
}

// ReleaseWebhookDeliveries hands back claimed deliveries that were not attempted, due
// at at.
func (db *DB) ReleaseWebhookDeliveries(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return db.update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ?
			WHERE state = 'pending' AND id = ANY(?)`, ms(at), ids); err != nil {
			return fmt.Errorf("release webhook deliveries: %w", err)
		}
		return nil
	})
}

// PruneWebhookDeliveries deletes the final deliveries last changed before before and
// returns how many.
func (db *DB) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < ?`, ms(before))
		if err != nil {
			return fmt.Errorf("prune webhook deliveries: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
