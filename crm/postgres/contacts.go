package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"parley/crm"
)

// Contacts lists the customers the agent in ctx may see, merged-away ones left out,
// matching f.Query by name or identity, in f.Sort order: newest first, by name (unnamed
// last), or by the newest message of their tickets. Each comes with the number of its
// tickets the agent sees. Returns invalid (a bad sort or cursor).
func (db *DB) Contacts(ctx context.Context, f crm.ContactFilter) ([]*crm.Contact, string, error) {
	limit := limitOf(f.Page.Limit, crm.DefaultLimit, crm.MaxLimit)
	tvis, targs := inboxFilter(ctx, "t.inbox_id")
	cvis, cargs := customerFilter(ctx)
	args := append(append(append([]any{}, targs...), targs...), cargs...)
	inner := `SELECT c.id AS id, CASE WHEN c.name = '' THEN 1 ELSE 0 END AS unnamed, lower(c.name) AS lname,
		(SELECT count(*) FROM tickets t WHERE t.customer_id = c.id AND ` + tvis + `) AS n,
		coalesce((SELECT max(t.last_message_at) FROM tickets t WHERE t.customer_id = c.id AND ` + tvis + `), 0) AS last
		FROM customers c WHERE c.merged_into IS NULL AND ` + cvis
	if strings.TrimSpace(f.Query) != "" {
		match := ftsQuery(f.Query)
		if match == "" {
			return []*crm.Contact{}, "", nil
		}
		cond, margs := ftsMatch("c.search", match)
		inner += ` AND ` + cond
		args = append(args, margs...)
	}
	order, keyset, n, err := contactOrder(f.Sort)
	if err != nil {
		return nil, "", err
	}
	var w where
	w.add("TRUE")
	if f.Page.Cursor != "" {
		parts, err := decodeCursor(f.Page.Cursor, n)
		if err != nil {
			return nil, "", err
		}
		cond, cur := keyset(parts)
		if cur == nil {
			return nil, "", crm.Errorf(crm.EINVALID, "invalid cursor")
		}
		w.add(cond, cur...)
	}
	rows, err := db.rdb().QueryContext(ctx, `SELECT id, unnamed, lname, n, last FROM (`+inner+`) x WHERE `+w.String()+
		` ORDER BY `+order+` LIMIT ?`, append(append(args, w.args...), limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("query contacts: %w", err)
	}
	defer rows.Close()
	type key struct {
		id, unnamed, last int64
		lname             string
		n                 int
	}
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.id, &k.unnamed, &k.lname, &k.n, &k.last); err != nil {
			return nil, "", fmt.Errorf("scan contact: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("query contacts: %w", err)
	}
	rows.Close()
	var next string
	if len(keys) > limit {
		keys = keys[:limit]
		k := keys[limit-1]
		switch f.Sort {
		case crm.ContactsName:
			next = encodeCursor(itoa(k.unnamed), k.lname, itoa(k.id))
		case crm.ContactsLastContacted:
			next = encodeCursor(itoa(k.last), itoa(k.id))
		default:
			next = encodeCursor(itoa(k.id))
		}
	}
	ids := make([]int64, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	list := []*crm.Contact{}
	if len(ids) == 0 {
		return list, next, nil
	}
	customers, err := queryCustomers(ctx, db.rdb(), `SELECT `+customerCols+` FROM customers c
		WHERE c.id = ANY(?)`, ids)
	if err != nil {
		return nil, "", err
	}
	byID := map[int64]*crm.Customer{}
	for _, c := range customers {
		byID[c.ID] = c
	}
	for _, k := range keys {
		c := byID[k.id]
		if c == nil {
			continue
		}
		ct := &crm.Contact{Customer: *c, TicketCount: k.n}
		if k.last > 0 {
			at := fromMS(k.last)
			ct.LastContactAt = &at
		}
		list = append(list, ct)
	}
	return list, next, nil
}

// contactOrder returns the ORDER BY of a contacts sort over the columns of Contacts'
// inner query, the keyset condition after a cursor's parts and how many parts its
// cursor has. keyset returns nil arguments for parts that do not parse.
func contactOrder(sort string) (string, func([]string) (string, []any), int, error) {
	num := func(s string) (int64, bool) {
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil
	}
	switch sort {
	case "", crm.ContactsNewest:
		return "x.id DESC", func(p []string) (string, []any) {
			id, ok := num(p[0])
			if !ok {
				return "", nil
			}
			return "x.id < ?", []any{id}
		}, 1, nil
	case crm.ContactsLastContacted:
		return "x.last DESC, x.id DESC", func(p []string) (string, []any) {
			last, ok1 := num(p[0])
			id, ok2 := num(p[1])
			if !ok1 || !ok2 {
				return "", nil
			}
			return "(x.last < ? OR (x.last = ? AND x.id < ?))", []any{last, last, id}
		}, 2, nil
	case crm.ContactsName:
		return "x.unnamed, x.lname, x.id", func(p []string) (string, []any) {
			unnamed, ok1 := num(p[0])
			id, ok2 := num(p[2])
			if !ok1 || !ok2 {
				return "", nil
			}
			return "(x.unnamed > ? OR (x.unnamed = ? AND (x.lname > ? OR (x.lname = ? AND x.id > ?))))",
				[]any{unnamed, unnamed, p[1], p[1], id}
		}, 3, nil
	}
	return "", nil, 0, crm.Errorf(crm.EINVALID, "sort must be newest, name or last_contacted")
}

// maxSplit bounds the messages one split moves.
const maxSplit = 500

// SplitTicket moves messageIDs of ticket from to a new ticket of the same customer and
// inbox and notes in both threads where they went. Returns invalid, not_found or
// conflict.
func (db *DB) SplitTicket(ctx context.Context, from int64, messageIDs []int64, subject string) (*crm.Ticket, error) {
	ids, subject, err := checkSplit(messageIDs, subject)
	if err != nil {
		return nil, err
	}
	var dst *crm.Ticket
	err = db.update(ctx, func(tx *Tx) error {
		src, err := findTicket(ctx, tx, from)
		if err != nil {
			return err
		}
		if src.MergedInto != 0 || src.Status == crm.StatusClosed {
			return crm.Errorf(crm.ECONFLICT, "ticket #%d is closed: it cannot be split", from)
		}
		var total, picked int
		if err := tx.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE id = ANY(?))
			FROM messages WHERE ticket_id = ?`, ids, from).Scan(&total, &picked); err != nil {
			return fmt.Errorf("count messages: %w", err)
		}
		if picked != len(ids) {
			return crm.Errorf(crm.EINVALID, "some of the messages are not in ticket #%d", from)
		} else if picked == total {
			return crm.Errorf(crm.EINVALID, "leave at least one message on ticket #%d", from)
		}
		if subject == "" {
			subject = src.Subject
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO tickets (inbox_id, customer_id, subject, status, priority, channel,
			created_at, updated_at, last_message_at, search) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, to_tsvector('parley', ?)) RETURNING id`,
			src.InboxID, src.CustomerID, subject, crm.StatusOpen, src.Priority, src.Channel, ms(tx.now), ms(tx.now), ms(tx.now),
			searchText(subject)).Scan(&id); err != nil {
			return fmt.Errorf("insert ticket: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET ticket_id = ? WHERE ticket_id = ? AND id = ANY(?)`,
			id, from, ids); err != nil {
			return fmt.Errorf("move messages: %w", err)
		}
		for _, tid := range []int64{id, from} {
			if err := tx.resetActivity(ctx, tid); err != nil {
				return err
			}
		}
		sys := crm.AsSystem(ctx)
		if dst, err = findTicket(sys, tx, id); err != nil {
			return err
		}
		if src, err = findTicket(sys, tx, from); err != nil {
			return err
		}
		actor := actorFrom(ctx, systemActor)
		if err := tx.ticketEvent(ctx, crm.EventTicketCreated, dst, actor, dst); err != nil {
			return err
		}
		if err := tx.ticketEvent(ctx, crm.EventTicketUpdated, src, actor, src); err != nil {
			return err
		}
		moved := plural(len(ids), "message")
		if _, err := tx.addMessage(ctx, src, fmt.Sprintf("Moved %s to #%d (split).", moved, id), true, "", nil, nil); err != nil {
			return err
		}
		_, err = tx.addMessage(ctx, dst, fmt.Sprintf("Split from #%d: %s moved here.", from, moved), true, "", nil, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// checkSplit returns the distinct message ids of a split and its checked subject.
func checkSplit(messageIDs []int64, subject string) ([]int64, string, error) {
	ids := slices.Clone(messageIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil, "", crm.Errorf(crm.EINVALID, "pick at least one message to move")
	} else if len(ids) > maxSplit {
		return nil, "", crm.Errorf(crm.EINVALID, "at most %d messages can move at once", maxSplit)
	}
	if subject = strings.TrimSpace(subject); subject != "" {
		var err error
		if subject, err = checkSubject(subject); err != nil {
			return nil, "", err
		}
	}
	return ids, subject, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// resetActivity sets what a ticket's messages say of it after messages moved: its last
// message, its first response and since when the customer waits (notes count for none).
func (tx *Tx) resetActivity(ctx context.Context, id int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE tickets SET
		last_message_at = coalesce((SELECT max(created_at) FROM messages WHERE ticket_id = ? AND direction <> 'note'), created_at),
		first_response_at = (SELECT min(created_at) FROM messages WHERE ticket_id = ? AND direction = 'out'),
		waiting_since = (SELECT min(created_at) FROM messages WHERE ticket_id = ? AND direction = 'in'
			AND created_at > coalesce((SELECT max(created_at) FROM messages WHERE ticket_id = ? AND direction = 'out'), 0))
		WHERE id = ?`, id, id, id, id, id)
	if err != nil {
		return fmt.Errorf("update activity of ticket %d: %w", id, err)
	}
	return nil
}

// RecordProof remembers that chat visitor visitorID proved email with order number
// (once per visitor and email). It runs as the system. Returns invalid.
func (db *DB) RecordProof(ctx context.Context, visitorID, email, orderNumber string) error {
	if !crm.IsSystem(ctx) {
		return crm.Errorf(crm.EFORBIDDEN, "only the widget records proofs")
	}
	if err := checkIdentity(crm.Identity{Kind: crm.IdentityEmail, Address: email}); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO identity_proofs (visitor_id, email, order_number, created_at)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, visitorID, email, orderNumber, ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert identity proof: %w", err)
		}
		return nil
	})
}

// IdentityProofs lists the emails the chat visitors of customer customerID proved,
// newest first, with the customer who has each email now. Returns not_found.
func (db *DB) IdentityProofs(ctx context.Context, customerID int64) ([]*crm.IdentityProof, error) {
	if _, err := findCustomer(ctx, db.rdb(), customerID); err != nil {
		return nil, err
	}
	return identityProofs(ctx, db.rdb(), customerID, 0)
}

func identityProofs(ctx context.Context, q queryer, customerID, proofID int64) ([]*crm.IdentityProof, error) {
	rows, err := q.QueryContext(ctx, `SELECT p.id, p.email, p.order_number, p.created_at,
		coalesce(o.id, 0), coalesce(o.name, '')
		FROM identity_proofs p JOIN identities i ON i.kind = 'chat' AND i.address = p.visitor_id
		LEFT JOIN identities oi ON oi.kind = 'email' AND oi.address = p.email
		LEFT JOIN customers o ON o.id = coalesce((SELECT merged_into FROM customers WHERE id = oi.customer_id), oi.customer_id)
		WHERE i.customer_id = ? AND (?::bigint = 0 OR p.id = ?) ORDER BY p.id DESC LIMIT 20`, customerID, proofID, proofID)
	if err != nil {
		return nil, fmt.Errorf("query identity proofs: %w", err)
	}
	defer rows.Close()
	list := []*crm.IdentityProof{}
	for rows.Next() {
		var p crm.IdentityProof
		var at int64
		if err := rows.Scan(&p.ID, &p.Email, &p.OrderNumber, &at, &p.OwnerID, &p.OwnerName); err != nil {
			return nil, fmt.Errorf("scan identity proof: %w", err)
		}
		p.CreatedAt, p.Linked = fromMS(at), p.OwnerID == customerID
		list = append(list, &p)
	}
	return list, rows.Err()
}

// LinkProof merges customer customerID into the customer with the proved email, or
// adds the email, verified, when nobody has it. Returns not_found, forbidden or
// conflict.
func (db *DB) LinkProof(ctx context.Context, customerID, proofID int64) (*crm.Customer, error) {
	var out *crm.Customer
	err := db.update(ctx, func(tx *Tx) error {
		c, err := findCustomer(ctx, tx, customerID)
		if err != nil {
			return err
		}
		if c.MergedInto != 0 {
			return crm.Errorf(crm.ECONFLICT, "customer %d was merged into %d", customerID, c.MergedInto)
		}
		proofs, err := identityProofs(ctx, tx, customerID, proofID)
		if err != nil {
			return err
		} else if len(proofs) == 0 {
			return crm.Errorf(crm.ENOTFOUND, "proof %d not found", proofID)
		}
		p := proofs[0]
		if p.Linked {
			return crm.Errorf(crm.ECONFLICT, "%s is linked already", p.Email)
		}
		sys := crm.AsSystem(ctx)
		if p.OwnerID == 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO identities (customer_id, kind, address, verified, created_at)
				VALUES (?, 'email', ?, true, ?)`, customerID, p.Email, ms(tx.now)); err != nil {
				return fmt.Errorf("insert identity: %w", err)
			}
			if err := tx.touchCustomer(ctx, customerID); err != nil {
				return err
			}
			if out, err = findCustomer(sys, tx, customerID); err != nil {
				return err
			}
			_, err = tx.event(ctx, crm.EventCustomerUpdated, 0, customerID, 0, actorFrom(ctx, systemActor), out)
			return err
		}
		// The shopper's proof vouches for the owner, whom the agent may not see yet (a
		// customer with orders only): it is read as the system. The agent must still see
		// every ticket that moves.
		owner, err := findCustomer(sys, tx, p.OwnerID)
		if err != nil {
			return err
		}
		if _, err := tx.mergeCustomers(ctx, c, owner); err != nil {
			return err
		}
		out, err = findCustomer(sys, tx, p.OwnerID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CustomerMerges lists the latest 20 merges into customer customerID, newest first, each
// undoable while it is the latest merge of its customer and was not undone. Returns
// not_found.
func (db *DB) CustomerMerges(ctx context.Context, customerID int64) ([]*crm.CustomerMerge, error) {
	if _, err := findCustomer(ctx, db.rdb(), customerID); err != nil {
		return nil, err
	}
	rows, err := db.rdb().QueryContext(ctx, `SELECT e.id, e.actor_kind, e.actor_id, e.data, e.at FROM events e
		WHERE e.customer_id = ? AND e.type = 'customer.merged' ORDER BY e.id DESC LIMIT 20`, customerID)
	if err != nil {
		return nil, fmt.Errorf("query merges: %w", err)
	}
	defer rows.Close()
	list := []*crm.CustomerMerge{}
	for rows.Next() {
		var m crm.CustomerMerge
		var data string
		var at int64
		if err := rows.Scan(&m.EventID, &m.Actor.Kind, &m.Actor.ID, &data, &at); err != nil {
			return nil, fmt.Errorf("scan merge: %w", err)
		}
		var rec mergeRecord
		if err := json.Unmarshal([]byte(data), &rec); err != nil {
			return nil, fmt.Errorf("unmarshal merge event: %w", err)
		}
		m.From, m.Into, m.Identities, m.TicketIDs, m.At = rec.From, rec.Into, rec.Identities, rec.TicketIDs, fromMS(at)
		list = append(list, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query merges: %w", err)
	}
	rows.Close()
	seen := map[int64]bool{}
	for _, m := range list {
		var merged sql.NullInt64
		if err := db.rdb().QueryRowContext(ctx, `SELECT name, merged_into FROM customers WHERE id = ?`, m.From).Scan(&m.FromName, &merged); err != nil {
			return nil, fmt.Errorf("find merged customer: %w", err)
		}
		m.Undoable = !seen[m.From] && merged.Int64 == m.Into
		seen[m.From] = true
	}
	return list, nil
}
