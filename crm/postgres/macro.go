package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"parley/crm"
)

var _ crm.MacroService = (*DB)(nil)

const macroCols = `id, name, body, actions, shared, owner_id, created_at, updated_at`

func scanMacro(row interface{ Scan(...any) error }) (*crm.Macro, error) {
	var m crm.Macro
	var actions string
	var owner sql.NullInt64
	var created, updated int64
	if err := row.Scan(&m.ID, &m.Name, &m.Body, &actions, &m.Shared, &owner, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(actions), &m.Actions); err != nil {
		return nil, fmt.Errorf("actions of macro %d: %w", m.ID, err)
	}
	m.OwnerID = owner.Int64
	m.CreatedAt, m.UpdatedAt = fromMS(created), fromMS(updated)
	return &m, nil
}

// macroFilter is the condition that the agent in ctx may use a macro: the shared ones
// and its own. The system uses every one.
func macroFilter(ctx context.Context) (string, []any) {
	if a := crm.AgentFrom(ctx); a != nil {
		return `(shared OR owner_id = ?)`, []any{a.ID}
	}
	if crm.IsSystem(ctx) {
		return "1 = 1", nil
	}
	return "1 = 0", nil
}

// Macros lists the macros the agent in ctx may use, by name.
func (db *DB) Macros(ctx context.Context) ([]*crm.Macro, error) {
	cond, args := macroFilter(ctx)
	rows, err := db.rdb().QueryContext(ctx, `SELECT `+macroCols+` FROM macros WHERE `+cond+` ORDER BY lower(name), id LIMIT ?`,
		append(args, crm.MaxMacros)...)
	if err != nil {
		return nil, fmt.Errorf("query macros: %w", err)
	}
	defer rows.Close()
	list := []*crm.Macro{}
	for rows.Next() {
		m, err := scanMacro(rows)
		if err != nil {
			return nil, fmt.Errorf("scan macro: %w", err)
		}
		list = append(list, m)
	}
	return list, rows.Err()
}

// Macro returns a macro the agent in ctx may use. Returns not_found.
func (db *DB) Macro(ctx context.Context, id int64) (*crm.Macro, error) {
	return findMacro(ctx, db.rdb(), id)
}

func findMacro(ctx context.Context, q queryer, id int64) (*crm.Macro, error) {
	cond, args := macroFilter(ctx)
	m, err := scanMacro(q.QueryRowContext(ctx, `SELECT `+macroCols+` FROM macros WHERE id = ? AND `+cond, append([]any{id}, args...)...))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "macro %d not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find macro: %w", err)
	}
	return m, nil
}

// mayChangeMacro returns forbidden unless the agent in ctx may change m: a shared macro
// managers and admins, a personal one its owner.
func mayChangeMacro(ctx context.Context, m *crm.Macro) error {
	if m.Shared {
		return crm.MayShareMacros(ctx)
	}
	if a := crm.AgentFrom(ctx); a != nil && a.ID == m.OwnerID || a == nil && crm.IsSystem(ctx) {
		return nil
	}
	return crm.Errorf(crm.EFORBIDDEN, "only its owner changes a personal macro")
}

// checkMacroRefs returns invalid when the macro's actions name an agent or team that
// does not exist.
func checkMacroRefs(ctx context.Context, q queryer, a *crm.MacroActions) error {
	if a.AssigneeID != nil && *a.AssigneeID != 0 {
		if _, err := findAgent(ctx, q, *a.AssigneeID); crm.ErrorCode(err) == crm.ENOTFOUND {
			return crm.Errorf(crm.EINVALID, "agent %d not found", *a.AssigneeID)
		} else if err != nil {
			return err
		}
	}
	if a.TeamID != nil && *a.TeamID != 0 {
		if _, err := findTeam(ctx, q, *a.TeamID); crm.ErrorCode(err) == crm.ENOTFOUND {
			return crm.Errorf(crm.EINVALID, "team %d not found", *a.TeamID)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreateMacro stores a macro owned by the agent in ctx. Returns invalid, forbidden or
// conflict.
func (db *DB) CreateMacro(ctx context.Context, in *crm.Macro) (*crm.Macro, error) {
	if in == nil {
		return nil, crm.Errorf(crm.EINVALID, "macro required")
	}
	m := *in
	if err := m.Check(); err != nil {
		return nil, err
	}
	var owner any
	if a := crm.AgentFrom(ctx); a != nil {
		owner = a.ID
	} else if !crm.IsSystem(ctx) {
		return nil, crm.Errorf(crm.EFORBIDDEN, "no agent or system acts here")
	} else {
		m.Shared = true // the system's macros are nobody's own
	}
	if m.Shared {
		if err := crm.MayShareMacros(ctx); err != nil {
			return nil, err
		}
	}
	actions, _ := json.Marshal(m.Actions)
	var out *crm.Macro
	err := db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM macros`).Scan(&n); err != nil {
			return fmt.Errorf("count macros: %w", err)
		} else if n >= crm.MaxMacros {
			return crm.Errorf(crm.ECONFLICT, "there are already %d macros", n)
		}
		if err := checkMacroRefs(ctx, tx, &m.Actions); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO macros (name, body, actions, shared, owner_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, m.Name, m.Body, string(actions), m.Shared, owner,
			ms(tx.now), ms(tx.now)).Scan(&id); err != nil {
			return fmt.Errorf("insert macro: %w", err)
		}
		var err error
		out, err = findMacro(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateMacro changes a macro. Returns invalid, forbidden or not_found.
func (db *DB) UpdateMacro(ctx context.Context, id int64, u crm.MacroUpdate) (*crm.Macro, error) {
	var out *crm.Macro
	err := db.update(ctx, func(tx *Tx) error {
		m, err := findMacro(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := mayChangeMacro(ctx, m); err != nil {
			return err
		}
		if u.Name != nil {
			m.Name = *u.Name
		}
		if u.Body != nil {
			m.Body = *u.Body
		}
		if u.Actions != nil {
			m.Actions = *u.Actions
		}
		if u.Shared != nil && *u.Shared != m.Shared {
			if err := crm.MayShareMacros(ctx); err != nil {
				return err
			}
			m.Shared = *u.Shared
			if !m.Shared && m.OwnerID == 0 {
				return crm.Errorf(crm.EINVALID, "a macro without an owner stays shared")
			}
		}
		if err := m.Check(); err != nil {
			return err
		}
		if err := checkMacroRefs(ctx, tx, &m.Actions); err != nil {
			return err
		}
		actions, _ := json.Marshal(m.Actions)
		if _, err := tx.ExecContext(ctx, `UPDATE macros SET name = ?, body = ?, actions = ?, shared = ?, updated_at = ? WHERE id = ?`,
			m.Name, m.Body, string(actions), m.Shared, ms(tx.now), id); err != nil {
			return fmt.Errorf("update macro: %w", err)
		}
		out, err = findMacro(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteMacro removes a macro. Returns forbidden or not_found.
func (db *DB) DeleteMacro(ctx context.Context, id int64) error {
	return db.update(ctx, func(tx *Tx) error {
		m, err := findMacro(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := mayChangeMacro(ctx, m); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM macros WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete macro: %w", err)
		}
		return nil
	})
}

// ApplyMacro makes the macro's changes to a ticket in one transaction, by the agent in
// ctx: the reply first when send is set (a macro that closes the ticket still answers),
// then the note, then the ticket's fields in one ticket.updated event. Returns invalid,
// not_found or conflict (a closed ticket).
func (db *DB) ApplyMacro(ctx context.Context, ticketID, macroID int64, send bool, fill func(string) string) (*crm.MacroResult, error) {
	if fill == nil {
		fill = func(s string) string { return s }
	}
	var out *crm.MacroResult
	err := db.update(ctx, func(tx *Tx) error {
		m, err := findMacro(ctx, tx, macroID)
		if err != nil {
			return err
		}
		t, err := findTicket(ctx, tx, ticketID)
		if err != nil {
			return err
		}
		if t.Status == crm.StatusClosed {
			return crm.Errorf(crm.ECONFLICT, "ticket %d is closed", t.ID)
		}
		res := &crm.MacroResult{Macro: m, Body: fill(m.Body)}
		if send && res.Body != "" {
			if res.Reply, err = tx.addMessage(ctx, t, res.Body, false, "", nil, nil); err != nil {
				return err
			}
		}
		a := m.Actions
		if a.Note != "" {
			if res.Note, err = tx.addMessage(ctx, t, fill(a.Note), true, "", nil, nil); err != nil {
				return err
			}
		}
		changed := false
		if a.Status != "" && setStatus(t, a.Status, tx.now) {
			changed = true
		}
		if a.Priority != "" && a.Priority != t.Priority {
			t.Priority, changed = a.Priority, true
		}
		// The team first, so that an assignee in the same macro can be one of it.
		if a.TeamID != nil {
			ch, err := tx.setTeam(ctx, t, *a.TeamID)
			if err != nil {
				return err
			}
			changed = changed || ch
		}
		assignee := a.AssigneeID
		if me := crm.AgentFrom(ctx); a.AssignToMe && me != nil {
			assignee = &me.ID
		}
		if assignee != nil {
			if *assignee == 0 {
				if t.AssigneeID != nil {
					t.AssigneeID, changed = nil, true
				}
			} else if t.AssigneeID == nil || *t.AssigneeID != *assignee {
				ag, err := findAgent(ctx, tx, *assignee)
				if crm.ErrorCode(err) == crm.ENOTFOUND || (ag != nil && (ag.Disabled || !ag.CanSeeInbox(t.InboxID))) {
					return crm.Errorf(crm.EINVALID, "agent %d cannot be assigned to ticket %d", *assignee, t.ID)
				} else if err != nil {
					return err
				}
				t.AssigneeID, changed = &ag.ID, true
			}
		}
		tags := slices.DeleteFunc(slices.Clone(t.Tags), func(tag string) bool { return slices.Contains(a.RemoveTags, tag) })
		tags = append(tags, a.AddTags...)
		if tags, err = normalizeTags(tags); err != nil {
			return err
		}
		tagsChanged := !slices.Equal(tags, t.Tags)
		if tagsChanged {
			t.Tags, changed = tags, true
		}
		if changed {
			t.UpdatedAt = tx.now
			if err := tx.saveTicket(ctx, t); err != nil {
				return err
			}
			if tagsChanged {
				if _, err := tx.ExecContext(ctx, `DELETE FROM ticket_tags WHERE ticket_id = ?`, t.ID); err != nil {
					return fmt.Errorf("delete tags: %w", err)
				}
				for _, tag := range tags {
					if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_tags (ticket_id, tag) VALUES (?, ?)`, t.ID, tag); err != nil {
						return fmt.Errorf("insert tag: %w", err)
					}
				}
			}
			if err := tx.ticketEvent(ctx, crm.EventTicketUpdated, t, actorFrom(ctx, systemActor), t); err != nil {
				return err
			}
		}
		if res.Ticket, err = findTicket(crm.AsSystem(ctx), tx, t.ID); err != nil {
			return err
		}
		out = res
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
