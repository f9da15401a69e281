package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"parley/crm"
)

// RecordAudit appends an entry to the audit log; the store sets its id and time. An
// empty actor kind is "anonymous" (a failed login). Returns invalid.
func (db *DB) RecordAudit(ctx context.Context, e *crm.AuditEntry) error {
	if e == nil || e.Type == "" || len(e.Type) > 64 {
		return crm.Errorf(crm.EINVALID, "audit entry type required")
	}
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	if len(data) > 64<<10 {
		return crm.Errorf(crm.ETOOLARGE, "audit data is larger than 64 KiB")
	}
	kind := e.Actor.Kind
	if kind == "" {
		kind = "anonymous"
	}
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audit (type, actor_kind, actor_id, ip, data, at) VALUES (?, ?, ?, ?, ?, ?)`,
			e.Type, kind, e.Actor.ID, crm.CutRunes(e.IP, 64), string(data), ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert audit entry: %w", err)
		}
		id, _ := res.LastInsertId()
		e.ID, e.At, e.Actor.Kind = "a"+itoa(id), tx.now, kind
		return nil
	})
}

// AuditLog lists audit entries newest first, merged with the order.action events the
// orders engine stores and the changes automation rules made. Entry ids are "a<n>" for
// audit rows and "e<n>" for events.
// Returns invalid for a bad cursor.
func (db *DB) AuditLog(ctx context.Context, f crm.AuditFilter) ([]*crm.AuditEntry, string, error) {
	limit := limitOf(f.Limit, crm.DefaultLimit, crm.MaxLimit)
	var w where
	if !f.From.IsZero() {
		w.add("x.at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		w.add("x.at < ?", ms(f.To))
	}
	if f.Type != "" {
		w.add("x.type = ?", f.Type)
	}
	if f.ActorID != 0 {
		w.add("x.actor_kind = 'agent' AND x.actor_id = ?", f.ActorID)
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
		w.add("(x.at, x.key) < (?, ?)", at, c[1])
	}
	// The key sorts rows of one millisecond; zero-padding keeps it in id order.
	rows, err := db.rdb.QueryContext(ctx, `SELECT x.key, x.type, x.actor_kind, x.actor_id, coalesce(a.name, r.name, ''),
		x.ip, x.data, x.at FROM (
			SELECT printf('a%020d', id) AS key, type, actor_kind, actor_id, ip, data, at FROM audit
			UNION ALL
			SELECT printf('e%020d', id), type, actor_kind, actor_id, '', data, at FROM events WHERE type = ? OR actor_kind = 'rule'
		) x LEFT JOIN agents a ON x.actor_kind = 'agent' AND a.id = x.actor_id
		LEFT JOIN rules r ON x.actor_kind = 'rule' AND r.id = x.actor_id
		WHERE `+w.String()+` ORDER BY x.at DESC, x.key DESC LIMIT ?`,
		append(append([]any{crm.EventOrderAction}, w.args...), limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("query audit log: %w", err)
	}
	defer rows.Close()
	list := []*crm.AuditEntry{}
	var keys []string
	for rows.Next() {
		var e crm.AuditEntry
		var key, data string
		var at int64
		if err := rows.Scan(&key, &e.Type, &e.Actor.Kind, &e.Actor.ID, &e.Actor.Name, &e.IP, &data, &at); err != nil {
			return nil, "", fmt.Errorf("scan audit entry: %w", err)
		}
		id, _ := strconv.ParseInt(strings.TrimLeft(key[1:], "0"), 10, 64)
		e.ID, e.Data, e.At = key[:1]+itoa(id), json.RawMessage(data), fromMS(at)
		list = append(list, &e)
		keys = append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("query audit log: %w", err)
	}
	var next string
	if len(list) > limit {
		list = list[:limit]
		next = encodeCursor(itoa(ms(list[limit-1].At)), keys[limit-1])
	}
	return list, next, nil
}
