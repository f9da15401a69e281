package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"parley/crm"
)

var phoneRe = regexp.MustCompile(`^\+[0-9]{8,15}$`)

// checkIdentity validates an identity as callers normalise it: email lower-cased with an
// '@', phone in E.164. Returns invalid.
func checkIdentity(id crm.Identity) error {
	switch id.Kind {
	case crm.IdentityEmail:
		if id.Address != strings.ToLower(strings.TrimSpace(id.Address)) || strings.ContainsAny(id.Address, " \t\r\n") ||
			strings.Count(id.Address, "@") != 1 || strings.HasPrefix(id.Address, "@") || strings.HasSuffix(id.Address, "@") {
			return crm.Errorf(crm.EINVALID, "invalid email address %q", id.Address)
		}
	case crm.IdentityPhone:
		if !phoneRe.MatchString(id.Address) {
			return crm.Errorf(crm.EINVALID, "invalid phone number %q: E.164 expected", id.Address)
		}
	case crm.IdentityDiscord, crm.IdentityChat, crm.IdentityShop:
		if strings.TrimSpace(id.Address) != id.Address || id.Address == "" {
			return crm.Errorf(crm.EINVALID, "invalid %s identity %q", id.Kind, id.Address)
		}
	default:
		return crm.Errorf(crm.EINVALID, "invalid identity kind %q", id.Kind)
	}
	if len(id.Address) > 320 {
		return crm.Errorf(crm.EINVALID, "identity address is longer than 320 bytes")
	}
	return nil
}

const customerCols = `c.id, c.name, c.notes, c.merged_into, c.created_at, c.updated_at`

func scanCustomer(s scanner) (*crm.Customer, error) {
	var c crm.Customer
	var merged sql.NullInt64
	var created, updated int64
	if err := s.Scan(&c.ID, &c.Name, &c.Notes, &merged, &created, &updated); err != nil {
		return nil, err
	}
	c.MergedInto = merged.Int64
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	c.Identities = []crm.Identity{}
	return &c, nil
}

// queryCustomers runs a query selecting customerCols and loads the identities of the
// result in one extra query.
func queryCustomers(ctx context.Context, q queryer, query string, args ...any) ([]*crm.Customer, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query customers: %w", err)
	}
	defer rows.Close()
	customers := []*crm.Customer{}
	byID := map[int64]*crm.Customer{}
	var ids []int64
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, fmt.Errorf("scan customer: %w", err)
		}
		customers = append(customers, c)
		byID[c.ID] = c
		ids = append(ids, c.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query customers: %w", err)
	}
	rows.Close()
	if len(ids) == 0 {
		return customers, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT customer_id, kind, address, verified FROM identities
		WHERE customer_id IN (SELECT value FROM json_each(?)) ORDER BY id`, idsJSON(ids))
	if err != nil {
		return nil, fmt.Errorf("query identities: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var i crm.Identity
		if err := rows.Scan(&id, &i.Kind, &i.Address, &i.Verified); err != nil {
			return nil, fmt.Errorf("scan identity: %w", err)
		}
		byID[id].Identities = append(byID[id].Identities, i)
	}
	return customers, rows.Err()
}

// findCustomer returns customer id if the agent in ctx may see it. Returns not_found.
func findCustomer(ctx context.Context, q queryer, id int64) (*crm.Customer, error) {
	vis, args := customerFilter(ctx)
	customers, err := queryCustomers(ctx, q, `SELECT `+customerCols+` FROM customers c WHERE c.id = ? AND `+vis,
		append([]any{id}, args...)...)
	if err != nil {
		return nil, err
	} else if len(customers) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "customer %d not found", id)
	}
	return customers[0], nil
}

// customerOf returns the customer owning an identity, following merges, or 0.
func customerOf(ctx context.Context, q queryer, id crm.Identity) (int64, error) {
	var cid int64
	err := q.QueryRowContext(ctx, `SELECT customer_id FROM identities WHERE kind = ? AND address = ?`,
		id.Kind, id.Address).Scan(&cid)
	if isNoRows(err) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("find identity: %w", err)
	}
	for range 10 {
		var merged sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT merged_into FROM customers WHERE id = ?`, cid).Scan(&merged); err != nil {
			return 0, fmt.Errorf("follow merged customer: %w", err)
		} else if !merged.Valid {
			break
		}
		cid = merged.Int64
	}
	return cid, nil
}

// customerByIdentities returns the first customer owning one of ids, or a new one named
// name with all of ids, and fills an empty name. link says whether identities that belong
// to nobody are added to an existing customer: only when the caller vouches that they are
// the same person (one message from an authenticated source carrying both). Otherwise a
// stranger's guest checkout with a customer's email and the stranger's phone would file
// the stranger's texts under that customer. It reports whether the customer was created
// or changed; an unchanged customer comes back with only its ID and Name, which is all
// the callers use of it, so that a message from a known sender reads one row. The
// identities must be valid.
func (tx *Tx) customerByIdentities(ctx context.Context, name string, ids []crm.Identity, link bool) (*crm.Customer, bool, error) {
	cid, cname, owned, err := tx.identityOwners(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	if cid == 0 {
		c, err := tx.newCustomer(ctx, name, ids)
		return c, err == nil, err
	}
	changed := false
	// A name a person gave replaces one made up for a chat visitor (crm.VisitorName).
	if crm.BetterName(name, cname) {
		res, err := tx.ExecContext(ctx, `UPDATE customers SET name = ?, updated_at = ? WHERE id = ? AND name = ?`,
			name, ms(tx.now), cid, cname)
		if err != nil {
			return nil, false, fmt.Errorf("update customer name: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			changed = true
		}
	}
	for i, id := range ids {
		if owned[i] || !link {
			continue
		}
		// OR IGNORE: the same identity may be listed twice.
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO identities (customer_id, kind, address, verified, created_at)
			VALUES (?, ?, ?, ?, ?)`, cid, id.Kind, id.Address, id.Verified, ms(tx.now)); err != nil {
			return nil, false, fmt.Errorf("insert identity: %w", err)
		}
		changed = true
	}
	if !changed {
		return &crm.Customer{ID: cid, Name: cname, Identities: []crm.Identity{}}, false, nil
	}
	if err := tx.touchCustomer(ctx, cid); err != nil {
		return nil, false, err
	}
	c, err := findCustomer(crm.AsSystem(ctx), tx, cid)
	return c, true, err
}

// newCustomer inserts a customer named name with ids, which belong to nobody, and its
// search row. Everything about a new customer is known, so it is not read back.
func (tx *Tx) newCustomer(ctx context.Context, name string, ids []crm.Identity) (*crm.Customer, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO customers (name, created_at, updated_at) VALUES (?, ?, ?)`,
		name, ms(tx.now), ms(tx.now))
	if err != nil {
		return nil, fmt.Errorf("insert customer: %w", err)
	}
	cid, _ := res.LastInsertId()
	c := &crm.Customer{ID: cid, Name: name, Identities: []crm.Identity{}, CreatedAt: tx.now, UpdatedAt: tx.now}
	for _, id := range ids {
		// OR IGNORE: the same identity may be listed twice.
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO identities (customer_id, kind, address, verified, created_at)
			VALUES (?, ?, ?, ?, ?)`, cid, id.Kind, id.Address, id.Verified, ms(tx.now))
		if err != nil {
			return nil, fmt.Errorf("insert identity: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			c.Identities = append(c.Identities, id)
		}
	}
	addresses := make([]string, len(c.Identities))
	for i, id := range c.Identities {
		addresses[i] = id.Address
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO customers_fts (rowid, name, identities) VALUES (?, ?, ?)`,
		cid, name, strings.Join(addresses, " ")); err != nil {
		return nil, fmt.Errorf("insert customer search row: %w", err)
	}
	return c, nil
}

// identityOwners returns the first customer owning one of ids, following merges, with
// its name, and which of ids have an owner, with one query for all of ids.
func (tx *Tx) identityOwners(ctx context.Context, ids []crm.Identity) (int64, string, []bool, error) {
	pairs := make([][2]string, len(ids))
	for i, id := range ids {
		pairs[i] = [2]string{id.Kind, id.Address}
	}
	b, err := json.Marshal(pairs)
	if err != nil {
		return 0, "", nil, fmt.Errorf("marshal identities: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT j.key, c.id, c.name, c.merged_into FROM json_each(?) j
		JOIN identities i ON i.kind = j.value->>0 AND i.address = j.value->>1
		JOIN customers c ON c.id = i.customer_id ORDER BY j.key`, string(b))
	if err != nil {
		return 0, "", nil, fmt.Errorf("find identities: %w", err)
	}
	defer rows.Close()
	owned := make([]bool, len(ids))
	var cid int64
	var cname string
	var merged sql.NullInt64
	for rows.Next() {
		var i int
		var id int64
		var n string
		var m sql.NullInt64
		if err := rows.Scan(&i, &id, &n, &m); err != nil {
			return 0, "", nil, fmt.Errorf("scan identity owner: %w", err)
		}
		owned[i] = true
		if cid == 0 {
			cid, cname, merged = id, n, m
		}
	}
	if err := rows.Err(); err != nil {
		return 0, "", nil, fmt.Errorf("find identities: %w", err)
	}
	rows.Close()
	// A merged customer is rare: follow it to the one it went into.
	for i := 0; merged.Valid && i < 10; i++ {
		cid = merged.Int64
		if err := tx.QueryRowContext(ctx, `SELECT name, merged_into FROM customers WHERE id = ?`, cid).Scan(&cname, &merged); err != nil {
			return 0, "", nil, fmt.Errorf("follow merged customer: %w", err)
		}
	}
	return cid, cname, owned, nil
}

// touchCustomer sets updated_at and brings customers_fts up to date.
func (tx *Tx) touchCustomer(ctx context.Context, id int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE customers SET updated_at = ? WHERE id = ?`, ms(tx.now), id); err != nil {
		return fmt.Errorf("touch customer: %w", err)
	}
	return syncCustomerFTS(ctx, tx, id)
}

// syncCustomerFTS rewrites the search row of customer id: its name and every identity
// address. Every change of a customer or its identities calls it.
func syncCustomerFTS(ctx context.Context, tx *Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM customers_fts WHERE rowid = ?`, id); err != nil {
		return fmt.Errorf("delete customer search row: %w", err)
	}
	return insertCustomerFTS(ctx, tx, id)
}

// insertCustomerFTS writes the search row of customer id, which has none.
func insertCustomerFTS(ctx context.Context, tx *Tx, id int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO customers_fts (rowid, name, identities)
		SELECT c.id, c.name, coalesce((SELECT group_concat(address, ' ') FROM identities WHERE customer_id = c.id), '')
		FROM customers c WHERE c.id = ?`, id)
	if err != nil {
		return fmt.Errorf("insert customer search row: %w", err)
	}
	return nil
}

// Customers lists the customers the agent in ctx may see, newest first, optionally
// matching query by name or identity. Merged-away customers are left out. Returns
// invalid for a bad cursor.
func (db *DB) Customers(ctx context.Context, query string, p crm.Page) ([]*crm.Customer, string, error) {
	limit := limitOf(p.Limit, crm.DefaultLimit, crm.MaxLimit)
	var w where
	vis, args := customerFilter(ctx)
	w.add(vis, args...)
	w.add("c.merged_into IS NULL")
	if strings.TrimSpace(query) != "" {
		match := ftsQuery(query)
		if match == "" {
			return []*crm.Customer{}, "", nil
		}
		w.add("c.id IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?)", match)
	}
	if p.Cursor != "" {
		c, err := decodeIntCursor(p.Cursor, 1)
		if err != nil {
			return nil, "", err
		}
		w.add("c.id < ?", c[0])
	}
	customers, err := queryCustomers(ctx, db.rdb, `SELECT `+customerCols+` FROM customers c WHERE `+w.String()+`
		ORDER BY c.id DESC LIMIT ?`, append(w.args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(customers) > limit {
		customers = customers[:limit]
		next = encodeCursor(itoa(customers[limit-1].ID))
	}
	return customers, next, nil
}

// Customer returns a customer the agent in ctx may see, with its identities. A merged
// customer is still returned, with MergedInto set. Returns not_found.
func (db *DB) Customer(ctx context.Context, id int64) (*crm.Customer, error) {
	return findCustomer(ctx, db.rdb, id)
}

// UpdateCustomer changes a customer's name and notes and adds or removes identities.
// Returns invalid, not_found or conflict (an identity of another customer, or a customer
// merged away).
func (db *DB) UpdateCustomer(ctx context.Context, id int64, u crm.CustomerUpdate) (*crm.Customer, error) {
	var name string
	if u.Name != nil {
		name = strings.TrimSpace(*u.Name)
		if utf8.RuneCountInString(name) > 200 {
			return nil, crm.Errorf(crm.EINVALID, "name is longer than 200 characters")
		}
	}
	if u.Notes != nil && utf8.RuneCountInString(*u.Notes) > 10000 {
		return nil, crm.Errorf(crm.EINVALID, "notes are longer than 10000 characters")
	}
	for _, i := range u.AddIdentities {
		if err := checkIdentity(i); err != nil {
			return nil, err
		}
	}
	var c *crm.Customer
	err := db.update(ctx, func(tx *Tx) error {
		var err error
		if c, err = findCustomer(ctx, tx, id); err != nil {
			return err
		}
		if c.MergedInto != 0 {
			return crm.Errorf(crm.ECONFLICT, "customer %d was merged into %d", id, c.MergedInto)
		}
		changed := false
		if u.Name != nil && name != c.Name {
			if _, err := tx.ExecContext(ctx, `UPDATE customers SET name = ? WHERE id = ?`, name, id); err != nil {
				return fmt.Errorf("update customer: %w", err)
			}
			changed = true
		}
		if u.Notes != nil && *u.Notes != c.Notes {
			if _, err := tx.ExecContext(ctx, `UPDATE customers SET notes = ? WHERE id = ?`, *u.Notes, id); err != nil {
				return fmt.Errorf("update customer: %w", err)
			}
			changed = true
		}
		for _, i := range u.RemoveIdentities {
			res, err := tx.ExecContext(ctx, `DELETE FROM identities WHERE customer_id = ? AND kind = ? AND address = ?`,
				id, i.Kind, i.Address)
			if err != nil {
				return fmt.Errorf("delete identity: %w", err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				changed = true
			}
		}
		for _, i := range u.AddIdentities {
			var owner int64
			err := tx.QueryRowContext(ctx, `SELECT customer_id FROM identities WHERE kind = ? AND address = ?`,
				i.Kind, i.Address).Scan(&owner)
			if err == nil && owner == id {
				continue
			} else if err == nil {
				return crm.Errorf(crm.ECONFLICT, "%s %s belongs to another customer", i.Kind, i.Address)
			} else if !isNoRows(err) {
				return fmt.Errorf("find identity: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO identities (customer_id, kind, address, verified, created_at)
				VALUES (?, ?, ?, ?, ?)`, id, i.Kind, i.Address, i.Verified, ms(tx.now)); err != nil {
				return fmt.Errorf("insert identity: %w", err)
			}
			changed = true
		}
		if !changed {
			return nil
		}
		if err := tx.touchCustomer(ctx, id); err != nil {
			return err
		}
		if c, err = findCustomer(crm.AsSystem(ctx), tx, id); err != nil {
			return err
		}
		_, err = tx.event(ctx, crm.EventCustomerUpdated, 0, id, 0, actorFrom(ctx, systemActor), c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// mergeRecord is the data of a customer.merged event: everything that moved, so that
// UnmergeCustomers can move exactly that back.
type mergeRecord struct {
	From         int64          `json:"from"`
	Into         int64          `json:"into"`
	Identities   []crm.Identity `json:"identities"`
	TicketIDs    []int64        `json:"ticket_ids"`
	OrderNumbers []string       `json:"order_numbers"`
}

// MergeCustomers moves the identities, tickets and orders of customer from to customer
// into, marks from as merged and records a customer.merged event, which it returns. The
// agent in ctx must see both customers and every ticket of from. Returns invalid (the
// same customer, or one already merged away), not_found or forbidden.
func (db *DB) MergeCustomers(ctx context.Context, from, into int64) (*crm.Event, error) {
	if from == into {
		return nil, crm.Errorf(crm.EINVALID, "cannot merge a customer into itself")
	}
	var ev *crm.Event
	err := db.update(ctx, func(tx *Tx) error {
		src, err := findCustomer(ctx, tx, from)
		if err != nil {
			return err
		}
		dst, err := findCustomer(ctx, tx, into)
		if err != nil {
			return err
		}
		ev, err = tx.mergeCustomers(ctx, src, dst)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// UnmergeCustomers undoes the merge recorded by a customer.merged event: the listed
// identities, tickets and orders move back and the merged customer lives again. It
// returns that customer. The agent in ctx must see every ticket that moves back. Returns
// not_found, forbidden or conflict (the merge was already undone).
func (db *DB) UnmergeCustomers(ctx context.Context, mergeEventID int64) (*crm.Customer, error) {
	var src *crm.Customer
	err := db.update(ctx, func(tx *Tx) error {
		var data string
		err := tx.QueryRowContext(ctx, `SELECT data FROM events WHERE id = ? AND type = ?`,
			mergeEventID, crm.EventCustomerMerged).Scan(&data)
		if isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "merge %d not found", mergeEventID)
		} else if err != nil {
			return fmt.Errorf("find merge event: %w", err)
		}
		var rec mergeRecord
		if err := json.Unmarshal([]byte(data), &rec); err != nil {
			return fmt.Errorf("unmarshal merge event: %w", err)
		}
		if _, err := findCustomer(ctx, tx, rec.Into); err != nil {
			return crm.Errorf(crm.ENOTFOUND, "merge %d not found", mergeEventID)
		}
		// Undone already, or merged again since: only the latest merge of from can be undone.
		var merged sql.NullInt64
		var latest int64
		if err := tx.QueryRowContext(ctx, `SELECT merged_into FROM customers WHERE id = ?`, rec.From).Scan(&merged); err != nil {
			return fmt.Errorf("find merged customer: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT max(id) FROM events WHERE type = ? AND json_extract(data, '$.from') = ?`,
			crm.EventCustomerMerged, rec.From).Scan(&latest); err != nil {
			return fmt.Errorf("find latest merge: %w", err)
		}
		if merged.Int64 != rec.Into || latest != mergeEventID {
			return crm.Errorf(crm.ECONFLICT, "merge %d was already undone", mergeEventID)
		}
		if err := tx.ticketsVisible(ctx, rec.TicketIDs); err != nil {
			return err
		}
		for _, i := range rec.Identities {
			if _, err := tx.ExecContext(ctx, `UPDATE identities SET customer_id = ? WHERE customer_id = ? AND kind = ? AND address = ?`,
				rec.From, rec.Into, i.Kind, i.Address); err != nil {
				return fmt.Errorf("unmerge identity: %w", err)
			}
		}
		for _, id := range rec.TicketIDs {
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET customer_id = ? WHERE customer_id = ? AND id = ?`,
				rec.From, rec.Into, id); err != nil {
				return fmt.Errorf("unmerge ticket: %w", err)
			}
		}
		for _, n := range rec.OrderNumbers {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET customer_id = ? WHERE customer_id = ? AND number = ?`,
				rec.From, rec.Into, n); err != nil {
				return fmt.Errorf("unmerge order: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE customers SET merged_into = NULL WHERE id = ?`, rec.From); err != nil {
			return fmt.Errorf("unmerge customer: %w", err)
		}
		actor := actorFrom(ctx, systemActor)
		for _, id := range []int64{rec.From, rec.Into} {
			if err := tx.touchCustomer(ctx, id); err != nil {
				return err
			}
			c, err := findCustomer(crm.AsSystem(ctx), tx, id)
			if err != nil {
				return err
			}
			if _, err := tx.event(ctx, crm.EventCustomerUpdated, 0, id, 0, actor, c); err != nil {
				return err
			}
			if id == rec.From {
				src = c
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return src, nil
}

// Timeline lists the tickets, messages and orders of a customer the agent in ctx may
// see, newest first: the customer's history without ticket events. An agent gets only the
// tickets and messages of its inboxes. Returns not_found or invalid (a bad cursor).
func (db *DB) Timeline(ctx context.Context, customerID int64, p crm.Page) ([]*crm.TimelineItem, string, error) {
	items, next, err := db.CustomerHistory(ctx, customerID, crm.HistoryFilter{Kinds: []string{"ticket", "message", "order"}, Page: p})
	if err != nil {
		return nil, "", err
	}
	out := make([]*crm.TimelineItem, len(items))
	for i, it := range items {
		out[i] = &it.TimelineItem
	}
	return out, next, nil
}

// ticketsVisible returns forbidden when one of the tickets is of an inbox the agent in
// ctx may not see: a merge moves them, and the agent must not move what it cannot see.
func (tx *Tx) ticketsVisible(ctx context.Context, ids []int64) error {
	vis, args := inboxFilter(ctx, "inbox_id")
	if vis == "1" || len(ids) == 0 {
		return nil
	}
	var hidden int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tickets WHERE id IN (SELECT value FROM json_each(?))
		AND NOT (`+vis+`)`, append([]any{idsJSON(ids)}, args...)...).Scan(&hidden)
	if err != nil {
		return fmt.Errorf("check ticket visibility: %w", err)
	} else if hidden > 0 {
		return crm.Errorf(crm.EFORBIDDEN, "the customer has %d ticket(s) in inboxes you are not in; ask a manager", hidden)
	}
	return nil
}

// ownersVisible returns conflict when one of ids belongs to a customer that the agent in
// ctx may not see, so that opening a ticket by hand cannot attach to, and reveal, a
// customer of another inbox.
func (tx *Tx) ownersVisible(ctx context.Context, ids []crm.Identity) error {
	vis, args := customerFilter(ctx)
	if vis == "1" {
		return nil
	}
	for _, id := range ids {
		cid, err := customerOf(ctx, tx, id)
		if err != nil {
			return err
		} else if cid == 0 {
			continue
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM customers c WHERE c.id = ? AND `+vis,
			append([]any{cid}, args...)...).Scan(&n); err != nil {
			return fmt.Errorf("check customer visibility: %w", err)
		} else if n == 0 {
			return crm.Errorf(crm.ECONFLICT, "%s belongs to a customer of an inbox you are not in; ask a manager", id.Address)
		}
	}
	return nil
}

// mergeCustomers moves the identities, tickets and orders of src to dst, marks src as
// merged and records the customer.merged event, which it returns. The agent in ctx must
// see every ticket of src. Returns invalid (one already merged away) or forbidden.
func (tx *Tx) mergeCustomers(ctx context.Context, src, dst *crm.Customer) (*crm.Event, error) {
	from, into := src.ID, dst.ID
	if src.MergedInto != 0 || dst.MergedInto != 0 {
		return nil, crm.Errorf(crm.EINVALID, "customer already merged into another")
	}
	var err error
	rec := mergeRecord{From: from, Into: into, Identities: []crm.Identity{}, TicketIDs: []int64{}, OrderNumbers: []string{}}
	for _, i := range src.Identities {
		rec.Identities = append(rec.Identities, crm.Identity{Kind: i.Kind, Address: i.Address})
	}
	if rec.TicketIDs, err = queryIDs(ctx, tx, `SELECT id FROM tickets WHERE customer_id = ? ORDER BY id`, from); err != nil {
		return nil, err
	}
	if err := tx.ticketsVisible(ctx, rec.TicketIDs); err != nil {
		return nil, err
	}
	if rec.OrderNumbers, err = queryStrings(ctx, tx, `SELECT number FROM orders WHERE customer_id = ? ORDER BY number`, from); err != nil {
		return nil, err
	}
	for _, q := range []string{
		`UPDATE identities SET customer_id = ? WHERE customer_id = ?`,
		`UPDATE tickets SET customer_id = ? WHERE customer_id = ?`,
		`UPDATE orders SET customer_id = ? WHERE customer_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, into, from); err != nil {
			return nil, fmt.Errorf("merge customers: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE customers SET merged_into = ? WHERE id = ?`, into, from); err != nil {
		return nil, fmt.Errorf("merge customers: %w", err)
	}
	if err := tx.touchCustomer(ctx, from); err != nil {
		return nil, err
	}
	if err := tx.touchCustomer(ctx, into); err != nil {
		return nil, err
	}
	actor := actorFrom(ctx, systemActor)
	ev, err := tx.event(ctx, crm.EventCustomerMerged, 0, into, 0, actor, rec)
	if err != nil {
		return nil, err
	}
	if dst, err = findCustomer(crm.AsSystem(ctx), tx, into); err != nil {
		return nil, err
	}
	if _, err = tx.event(ctx, crm.EventCustomerUpdated, 0, into, 0, actor, dst); err != nil {
		return nil, err
	}
	return ev, nil
}
