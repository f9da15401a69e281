package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"parley/crm"
)

const orderCols = `o.number, o.customer_id, o.email, o.phone, o.status, o.currency, o.subtotal, o.shipping,
	o.tax, o.discount, o.total, o.refunded, o.items, o.shipping_address, o.carrier, o.tracking_number,
	o.tracking_url, o.source, o.placed_at, coalesce(o.source_updated_at, o.updated_at), o.source_id, o.external_id`

func queryOrders(ctx context.Context, q queryer, query string, args ...any) ([]*crm.Order, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query orders: %w", err)
	}
	defer rows.Close()
	orders := []*crm.Order{}
	for rows.Next() {
		var o crm.Order
		var customer sql.NullInt64
		var items, addr string
		var placed, updated int64
		var source sql.NullInt64
		if err := rows.Scan(&o.Number, &customer, &o.Email, &o.Phone, &o.Status, &o.Currency, &o.Subtotal,
			&o.Shipping, &o.Tax, &o.Discount, &o.Total, &o.Refunded, &items, &addr, &o.Carrier,
			&o.TrackingNumber, &o.TrackingURL, &o.Source, &placed, &updated, &source, &o.ExternalID); err != nil {
			return nil, fmt.Errorf("scan order: %w", err)
		}
		o.CustomerID, o.SourceID = customer.Int64, source.Int64
		if err := json.Unmarshal([]byte(items), &o.Items); err != nil {
			return nil, fmt.Errorf("unmarshal order %s items: %w", o.Number, err)
		}
		if o.Items == nil {
			o.Items = []crm.OrderItem{}
		}
		if addr != "" {
			o.ShippingAddress = json.RawMessage(addr)
		}
		o.PlacedAt, o.UpdatedAt = fromMS(placed), fromMS(updated)
		orders = append(orders, &o)
	}
	return orders, rows.Err()
}

var (
	orderNumberRe = regexp.MustCompile(`^[A-Za-z0-9#._-]{1,64}$`)
	currencyRe    = regexp.MustCompile(`^[A-Z]{3}$`)
)

var orderStatuses = map[string]bool{"pending": true, "paid": true, "fulfilled": true, "shipped": true,
	"delivered": true, "cancelled": true, "refunded": true, "partially_refunded": true}

func checkOrder(o *crm.Order) error {
	if o == nil {
		return crm.Errorf(crm.EINVALID, "order required")
	}
	if !orderNumberRe.MatchString(o.Number) {
		return crm.Errorf(crm.EINVALID, "order number must be 1 to 64 characters of A-Z, a-z, 0-9, #, ., _ and -")
	}
	if !orderStatuses[o.Status] {
		return crm.Errorf(crm.EINVALID, "invalid order status %q", o.Status)
	}
	if !currencyRe.MatchString(o.Currency) {
		return crm.Errorf(crm.EINVALID, "currency must be 3 upper-case letters")
	} else if _, ok := crm.CurrencyExponent(o.Currency); !ok {
		return crm.Errorf(crm.EINVALID, "unknown currency %q", o.Currency)
	}
	for _, v := range []int64{o.Subtotal, o.Shipping, o.Tax, o.Discount, o.Total, o.Refunded} {
		if v < 0 {
			return crm.Errorf(crm.EINVALID, "order amounts must not be negative")
		}
	}
	for _, it := range o.Items {
		if it.Quantity < 1 || it.UnitPrice < 0 {
			return crm.Errorf(crm.EINVALID, "order items need a quantity of at least 1 and a price of at least 0")
		}
		if len(it.SKU) > 200 || len(it.Name) > 2000 || len(it.LineItemID) > 100 {
			return crm.Errorf(crm.EINVALID, "order item field is too long")
		}
	}
	if o.PlacedAt.IsZero() {
		return crm.Errorf(crm.EINVALID, "placed_at required")
	}
	if len(o.ShippingAddress) > 0 && !json.Valid(o.ShippingAddress) {
		return crm.Errorf(crm.EINVALID, "shipping address must be JSON")
	}
	if o.Email != "" {
		if err := checkIdentity(crm.Identity{Kind: crm.IdentityEmail, Address: o.Email}); err != nil {
			return err
		}
	}
	if o.Phone != "" {
		if err := checkIdentity(crm.Identity{Kind: crm.IdentityPhone, Address: o.Phone}); err != nil {
			return err
		}
	}
	if len(o.Items) > 1000 {
		return crm.Errorf(crm.EINVALID, "an order has at most 1000 items")
	}
	if o.SourceID < 0 || len(o.ExternalID) > 200 {
		return crm.Errorf(crm.EINVALID, "invalid source_id or external_id")
	}
	for _, s := range []string{o.Carrier, o.TrackingNumber, o.TrackingURL, o.Source} {
		if len(s) > 2000 {
			return crm.Errorf(crm.EINVALID, "order field is longer than 2000 bytes")
		}
	}
	// The console, the widget and the resent order summary link it.
	if u := strings.ToLower(o.TrackingURL); u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return crm.Errorf(crm.EINVALID, "tracking_url must be an http or https address")
	}
	return nil
}

// PutOrder inserts or replaces an order by number and attaches it to the customer with
// its email or phone, creating that customer when there is none. An order with an
// UpdatedAt is a version of the source's: one that is not newer than the stored version
// changes nothing and returns the stored order (see crm.StaleOrder). Returns invalid.
func (db *DB) PutOrder(ctx context.Context, o *crm.Order) (*crm.Order, error) {
	if o != nil {
		o.Email = strings.ToLower(strings.TrimSpace(o.Email))
		o.Phone = strings.TrimSpace(o.Phone)
	}
	if err := checkOrder(o); err != nil {
		return nil, err
	}
	items := o.Items
	if items == nil {
		items = []crm.OrderItem{}
	}
	itemsJSON, err := json.Marshal(items)
	if err != nil {
		return nil, fmt.Errorf("marshal order items: %w", err)
	}
	var version any // NULL: the source gave no time
	if !o.UpdatedAt.IsZero() {
		version = ms(o.UpdatedAt)
	}
	var out *crm.Order
	err = db.update(ctx, func(tx *Tx) error {
		out = nil
		if version != nil {
			var stored sql.NullInt64
			err := tx.QueryRowContext(ctx, `SELECT source_updated_at FROM orders WHERE number = ?`, o.Number).Scan(&stored)
			if err != nil && !isNoRows(err) {
				return fmt.Errorf("find order version: %w", err)
			}
			if stored.Valid && stored.Int64 >= version.(int64) {
				orders, err := queryOrders(ctx, tx, `SELECT `+orderCols+` FROM orders o WHERE o.number = ?`, o.Number)
				if err != nil {
					return err
				}
				out = orders[0]
				return nil
			}
		}
		actor := actorFrom(ctx, systemActor)
		cid := o.CustomerID
		if cid != 0 {
			c, err := findCustomer(ctx, tx, cid)
			if err != nil {
				return crm.Errorf(crm.EINVALID, "customer %d does not exist", cid)
			}
			if c.MergedInto != 0 {
				cid = c.MergedInto
			}
		}
		if o.SourceID != 0 {
			if _, err := tx.db.findOrderSource(ctx, tx, o.SourceID); err != nil {
				return crm.Errorf(crm.EINVALID, "order source %d does not exist", o.SourceID)
			}
		}
		var ids []crm.Identity
		if o.Email != "" {
			ids = append(ids, crm.Identity{Kind: crm.IdentityEmail, Address: o.Email})
		}
		if o.Phone != "" {
			ids = append(ids, crm.Identity{Kind: crm.IdentityPhone, Address: o.Phone})
		}
		if cid == 0 && len(ids) > 0 {
			// Shop data is not proof that an email and a phone belong together.
			c, changed, err := tx.customerByIdentities(ctx, "", ids, false)
			if err != nil {
				return err
			}
			cid = c.ID
			if changed {
				if _, err := tx.event(ctx, crm.EventCustomerUpdated, 0, c.ID, 0, actor, c); err != nil {
					return err
				}
			}
		}
		var addr string
		if len(o.ShippingAddress) > 0 {
			addr = string(o.ShippingAddress)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO orders (number, customer_id, email, phone, status, currency,
			subtotal, shipping, tax, discount, total, refunded, items, shipping_address, carrier, tracking_number,
			tracking_url, source, placed_at, updated_at, source_id, external_id, source_updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (number) DO UPDATE SET customer_id = excluded.customer_id, email = excluded.email,
			phone = excluded.phone, status = excluded.status, currency = excluded.currency,
			subtotal = excluded.subtotal, shipping = excluded.shipping, tax = excluded.tax,
			discount = excluded.discount, total = excluded.total, refunded = excluded.refunded,
			items = excluded.items, shipping_address = excluded.shipping_address, carrier = excluded.carrier,
			tracking_number = excluded.tracking_number, tracking_url = excluded.tracking_url,
			source = excluded.source, placed_at = excluded.placed_at, updated_at = excluded.updated_at,
			source_id = excluded.source_id, external_id = excluded.external_id,
			source_updated_at = coalesce(excluded.source_updated_at, orders.source_updated_at)`,
			o.Number, nullID(cid), o.Email, o.Phone, o.Status, o.Currency, o.Subtotal, o.Shipping, o.Tax,
			o.Discount, o.Total, o.Refunded, string(itemsJSON), addr, o.Carrier, o.TrackingNumber,
			o.TrackingURL, o.Source, ms(o.PlacedAt), ms(tx.now), nullID(o.SourceID), o.ExternalID, version)
		if err != nil {
			return fmt.Errorf("upsert order: %w", err)
		}
		orders, err := queryOrders(ctx, tx, `SELECT `+orderCols+` FROM orders o WHERE o.number = ?`, o.Number)
		if err != nil {
			return err
		}
		out = orders[0]
		_, err = tx.event(ctx, crm.EventOrderUpdated, 0, cid, 0, actor, out)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// orderFilter limits the order alias o to the orders of customers the agent in ctx may
// see. Like inboxFilter, nobody sees nothing.
func orderFilter(ctx context.Context) (string, []any) {
	a := crm.AgentFrom(ctx)
	switch {
	case crm.SeesAll(ctx):
		return "TRUE", nil
	case a == nil:
		return "FALSE", nil
	}
	return `o.customer_id IN (SELECT vt.customer_id FROM tickets vt WHERE vt.inbox_id = ANY(?))`,
		[]any{nonNilIDs(a.InboxIDs)}
}

// Order returns an order by number. Returns not_found.
func (db *DB) Order(ctx context.Context, number string) (*crm.Order, error) {
	vis, args := orderFilter(ctx)
	orders, err := queryOrders(ctx, db.rdb(), `SELECT `+orderCols+` FROM orders o WHERE o.number = ? AND `+vis,
		append([]any{number}, args...)...)
	if err != nil {
		return nil, err
	} else if len(orders) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "order %s not found", number)
	}
	return orders[0], nil
}

// Orders lists orders of a customer, or by email or phone (the order's own or its
// customer's), newest placed first. Query matches the start of the order number, or is
// an email address.
// Returns invalid for a bad cursor.
func (db *DB) Orders(ctx context.Context, f crm.OrderFilter) ([]*crm.Order, string, error) {
	limit := limitOf(f.Limit, crm.DefaultLimit, crm.MaxLimit)
	var w where
	vis, args := orderFilter(ctx)
	w.add(vis, args...)
	if f.CustomerID != 0 {
		w.add("o.customer_id = ?", f.CustomerID)
	}
	if e := strings.ToLower(strings.TrimSpace(f.Email)); e != "" {
		w.add(`(o.email = ? OR o.customer_id = (SELECT customer_id FROM identities WHERE kind = 'email' AND address = ?))`, e, e)
	}
	if p := strings.TrimSpace(f.Phone); p != "" {
		w.add(`(o.phone = ? OR o.customer_id = (SELECT customer_id FROM identities WHERE kind = 'phone' AND address = ?))`, p, p)
	}
	if q := strings.TrimSpace(f.Query); strings.Contains(q, "@") {
		q = strings.ToLower(q)
		w.add(`(o.email = ? OR o.customer_id = (SELECT customer_id FROM identities WHERE kind = 'email' AND address = ?))`, q, q)
	} else if q != "" {
		// "#1001" also finds "1001": people write the hash, not every shop stores it.
		bare := strings.TrimPrefix(q, "#")
		w.add(`(substr(o.number, 1, length(?::text)) = ? OR substr(o.number, 1, length(?::text)) = ?)`, q, q, bare, bare)
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor, 2)
		if err != nil {
			return nil, "", err
		}
		at, err := strconv.ParseInt(c[0], 10, 64)
		if err != nil {
			return nil, "", crm.Errorf(crm.EINVALID, "invalid cursor")
		}
		w.add("(o.placed_at, o.number) < (?, ?)", at, c[1])
	}
	orders, err := queryOrders(ctx, db.rdb(), `SELECT `+orderCols+` FROM orders o WHERE `+w.String()+`
		ORDER BY o.placed_at DESC, o.number DESC LIMIT ?`, append(w.args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(orders) > limit {
		orders = orders[:limit]
		last := orders[limit-1]
		next = encodeCursor(itoa(ms(last.PlacedAt)), last.Number)
	}
	return orders, next, nil
}
