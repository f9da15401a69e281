package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/crm"
)

var _ crm.ReasonService = (*DB)(nil)

const settingReasons = "reasons"

// Limits of what the classifier reads and keeps.
const (
	// keptReasonModels is how many trained models are kept: the newest and a few before
	// it, to compare.
	keptReasonModels = 10
	// maxExamples is the largest page of ReasonExamples.
	maxExamples = 5000
	// maxHandleItems is the most items one AddHandleTime takes.
	maxHandleItems = 1000
	// seedChunk is how many tickets SeedReasonsFromTags changes per transaction, so
	// that seeding a long history never holds up the writer for long.
	seedChunk = 200
)

const reasonCols = `r.id, r.slug, r.name, r.position, r.archived, r.created_at, r.updated_at,
	ARRAY(SELECT tag FROM reason_tags g WHERE g.reason_id = r.id ORDER BY tag)`

func scanReasonRow(s scanner) (*crm.Reason, error) {
	var r crm.Reason
	var created, updated int64
	var tags []string
	if err := s.Scan(&r.ID, &r.Slug, &r.Name, &r.Position, &r.Archived, &created, &updated, &tags); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	r.Tags = []string{}
	if len(tags) > 0 {
		r.Tags = tags
	}
	return &r, nil
}

func queryReasons(ctx context.Context, q queryer, cond string, args ...any) ([]*crm.Reason, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+reasonCols+` FROM reasons r WHERE `+cond+` ORDER BY r.position, r.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("query contact reasons: %w", err)
	}
	defer rows.Close()
	list := []*crm.Reason{}
	for rows.Next() {
		r, err := scanReasonRow(rows)
		if err != nil {
			return nil, fmt.Errorf("scan contact reason: %w", err)
		}
		list = append(list, r)
	}
	return list, rows.Err()
}

// findReason returns reason id. Returns not_found.
func findReason(ctx context.Context, q queryer, id int64) (*crm.Reason, error) {
	list, err := queryReasons(ctx, q, `r.id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(list) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "contact reason %d not found", id)
	}
	return list[0], nil
}

// Reasons lists every contact reason, archived ones too, by position.
func (db *DB) Reasons(ctx context.Context) ([]*crm.Reason, error) {
	return queryReasons(ctx, db.rdb(), `TRUE`)
}

// checkSlugFree returns conflict when another reason than id has slug.
func checkSlugFree(ctx context.Context, q queryer, slug string, id int64) error {
	var other int64
	err := q.QueryRowContext(ctx, `SELECT id FROM reasons WHERE slug = ? AND id <> ?`, slug, id).Scan(&other)
	if isNoRows(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("find contact reason slug: %w", err)
	}
	return crm.Errorf(crm.ECONFLICT, "the contact reason slug %q is taken: choose another name or slug", slug)
}

// setReasonTags makes tags the tags of reason id. Returns conflict when one maps to
// another reason.
func (tx *Tx) setReasonTags(ctx context.Context, id int64, tags []string) error {
	var tag, other string
	err := tx.QueryRowContext(ctx, `SELECT g.tag, r.name FROM reason_tags g JOIN reasons r ON r.id = g.reason_id
		WHERE g.tag = ANY(?::text[]) AND g.reason_id <> ? ORDER BY g.tag LIMIT 1`, tags, id).Scan(&tag, &other)
	if err == nil {
		return crm.Errorf(crm.ECONFLICT, "the tag %q already maps to the contact reason %q", tag, other)
	} else if !isNoRows(err) {
		return fmt.Errorf("find reason tags: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM reason_tags WHERE reason_id = ?`, id); err != nil {
		return fmt.Errorf("delete reason tags: %w", err)
	}
	if len(tags) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reason_tags (tag, reason_id) SELECT unnest(?::text[]), ?::bigint`,
			tags, id); err != nil {
			if isUnique(err, "") { // another node mapped it meanwhile
				return crm.Errorf(crm.ECONFLICT, "a tag of this contact reason already maps to another")
			}
			return fmt.Errorf("insert reason tags: %w", err)
		}
	}
	return nil
}

// CreateReason adds a contact reason, its slug made from its name when not given and
// at the end of the list when no position is given. Returns invalid or conflict (the
// slug or a tag is taken).
func (db *DB) CreateReason(ctx context.Context, in crm.ReasonInput) (*crm.Reason, error) {
	c := in
	err := c.Check()
	if err != nil {
		return nil, err
	}
	if c.Name == nil {
		return nil, crm.Errorf(crm.EINVALID, "a contact reason needs a name")
	}
	slug := crm.ReasonSlug(*c.Name)
	if c.Slug != nil {
		slug = *c.Slug
	}
	var r *crm.Reason
	err = db.update(ctx, func(tx *Tx) error {
		var n, pos int
		if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(max(position), 0) + 1 FROM reasons`).Scan(&n, &pos); err != nil {
			return fmt.Errorf("count contact reasons: %w", err)
		}
		if n >= crm.MaxReasons {
			return crm.Errorf(crm.EINVALID, "a shop has at most %d contact reasons: archive one or rename it instead", crm.MaxReasons)
		}
		if err := checkSlugFree(ctx, tx, slug, 0); err != nil {
			return err
		}
		if c.Position != nil {
			pos = *c.Position
		}
		archived := c.Archived != nil && *c.Archived
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO reasons (slug, name, position, archived, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, slug, *c.Name, pos, archived, ms(tx.now), ms(tx.now)).Scan(&id)
		if isUnique(err, "") { // another node took the slug meanwhile
			return crm.Errorf(crm.ECONFLICT, "the contact reason slug %q is taken: choose another name or slug", slug)
		} else if err != nil {
			return fmt.Errorf("insert contact reason: %w", err)
		}
		if c.Tags != nil {
			if err := tx.setReasonTags(ctx, id, *c.Tags); err != nil {
				return err
			}
		}
		r, err = findReason(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// UpdateReason changes a contact reason's slug, name, position, archived flag or tags.
// Returns invalid, not_found or conflict (the slug or a tag is taken).
func (db *DB) UpdateReason(ctx context.Context, id int64, in crm.ReasonInput) (*crm.Reason, error) {
	c := in
	err := c.Check()
	if err != nil {
		return nil, err
	}
	var r *crm.Reason
	err = db.update(ctx, func(tx *Tx) error {
		if r, err = findReason(ctx, tx, id); err != nil {
			return err
		}
		changed := false
		if c.Slug != nil && *c.Slug != r.Slug {
			if err := checkSlugFree(ctx, tx, *c.Slug, id); err != nil {
				return err
			}
			r.Slug, changed = *c.Slug, true
		}
		if c.Name != nil && *c.Name != r.Name {
			r.Name, changed = *c.Name, true
		}
		if c.Position != nil && *c.Position != r.Position {
			r.Position, changed = *c.Position, true
		}
		if c.Archived != nil && *c.Archived != r.Archived {
			r.Archived, changed = *c.Archived, true
		}
		if c.Tags != nil && !slices.Equal(*c.Tags, r.Tags) {
			if err := tx.setReasonTags(ctx, id, *c.Tags); err != nil {
				return err
			}
			r.Tags, changed = *c.Tags, true
		}
		if !changed {
			return nil
		}
		r.UpdatedAt = tx.now
		if _, err := tx.ExecContext(ctx, `UPDATE reasons SET slug = ?, name = ?, position = ?, archived = ?, updated_at = ?
			WHERE id = ?`, r.Slug, r.Name, r.Position, r.Archived, ms(tx.now), id); isUnique(err, "") {
			return crm.Errorf(crm.ECONFLICT, "the contact reason slug %q is taken: choose another name or slug", r.Slug)
		} else if err != nil {
			return fmt.Errorf("update contact reason %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// ReasonSettings returns the shop's settings of contact reasons, the defaults
// (crm.DefaultReasonSettings) until they are saved.
func (db *DB) ReasonSettings(ctx context.Context) (*crm.ReasonSettings, error) {
	s := crm.DefaultReasonSettings()
	if _, err := getSetting(ctx, db.rdb(), settingReasons, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// SetReasonSettings saves the settings of contact reasons. Returns invalid.
func (db *DB) SetReasonSettings(ctx context.Context, s *crm.ReasonSettings) error {
	if err := s.Check(); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error { return tx.putSetting(ctx, settingReasons, s) })
}

// scanTicketReason fills in t's reason from its columns: the confidence is kept in
// millionths, the suggestions as JSON (empty when there are none).
func scanTicketReason(t *crm.Ticket, id, confidence sql.NullInt64, suggestions string) error {
	if id.Valid {
		v := id.Int64
		t.ReasonID = &v
	}
	if confidence.Valid {
		c := float64(confidence.Int64) / 1e6
		t.ReasonConfidence = &c
	}
	if suggestions != "" {
		if err := json.Unmarshal([]byte(suggestions), &t.ReasonSuggestions); err != nil {
			return fmt.Errorf("ticket %d reason suggestions: %w", t.ID, err)
		}
	}
	return nil
}

// millionths is a confidence as the stores keep it.
func millionths(c float64) int64 { return int64(math.Round(c * 1e6)) }

// checkReasonUsable returns invalid unless reason id exists and is not archived.
func checkReasonUsable(ctx context.Context, q queryer, id int64) error {
	var archived bool
	err := q.QueryRowContext(ctx, `SELECT archived FROM reasons WHERE id = ?`, id).Scan(&archived)
	if isNoRows(err) || err == nil && archived {
		return crm.Errorf(crm.EINVALID, "unknown contact reason %d", id)
	} else if err != nil {
		return fmt.Errorf("find contact reason: %w", err)
	}
	return nil
}

// setReason changes t's reason in memory to id (0: none), given by source, and reports
// whether anything changed. A reason set this way (by an agent, a rule or a tag) has
// no confidence and ends the classifier's suggestions; clearing it leaves them. Returns
// invalid for an unknown or archived reason, unless t has it already.
func (tx *Tx) setReason(ctx context.Context, t *crm.Ticket, id int64, source string) (bool, error) {
	if id == 0 {
		if t.ReasonID == nil {
			return false, nil
		}
		t.ReasonID, t.ReasonSource, t.ReasonConfidence = nil, "", nil
		return true, nil
	}
	same := t.ReasonID != nil && *t.ReasonID == id
	if same && t.ReasonSource == source && t.ReasonConfidence == nil && len(t.ReasonSuggestions) == 0 {
		return false, nil
	}
	if !same {
		if err := checkReasonUsable(ctx, tx, id); err != nil {
			return false, err
		}
	}
	t.ReasonID, t.ReasonSource, t.ReasonConfidence, t.ReasonSuggestions = &id, source, nil, nil
	return true, nil
}

// saveReason writes t's reason columns and updated_at; model is the version of the model
// that guessed (0: none).
func (tx *Tx) saveReason(ctx context.Context, t *crm.Ticket, model int64) error {
	id, confidence, suggestions, err := crm.ReasonColumns(t)
	if err != nil {
		return err
	}
	tx.later(`UPDATE tickets SET reason_id = ?, reason_source = ?, reason_confidence = ?,
		reason_suggestions = ?, reason_model = ?, updated_at = ? WHERE id = ?`,
		id, t.ReasonSource, confidence, suggestions, model, ms(t.UpdatedAt), t.ID)
	return ctx.Err()
}

// GuessReason records what the classifier (or a tag, or a rule) says of a ticket: its
// suggestions, and the reason when g names one, with g's confidence when it is the
// classifier's. A reason an agent chose stays, and so does a closed or merged ticket.
// Suggestions of archived or unknown reasons are left out. A change is a ticket.updated
// event by the actor in ctx. Returns the ticket and whether it changed, invalid (an
// unknown or archived reason, a bad confidence) or not_found.
func (db *DB) GuessReason(ctx context.Context, ticketID int64, g crm.ReasonGuess) (*crm.Ticket, bool, error) {
	source, suggestions, err := g.Check()
	if err != nil {
		return nil, false, err
	}
	var t *crm.Ticket
	changed := false
	err = db.update(ctx, func(tx *Tx) error {
		if t, err = findTicket(ctx, tx, ticketID); err != nil {
			return err
		}
		// A person chose an agent's or a tag's reason: a guess does not replace it.
		if t.ReasonSource == crm.ReasonByAgent || t.ReasonSource == crm.ReasonByTag || t.Status == crm.StatusClosed || t.MergedInto != 0 {
			return nil
		}
		active, err := queryIDs(ctx, tx, `SELECT id FROM reasons WHERE NOT archived`)
		if err != nil {
			return err
		}
		suggestions = slices.DeleteFunc(suggestions, func(s crm.ReasonScore) bool { return !slices.Contains(active, s.ReasonID) })
		before := *t
		if g.ReasonID != 0 {
			if t.ReasonID == nil || *t.ReasonID != g.ReasonID {
				if !slices.Contains(active, g.ReasonID) {
					return crm.Errorf(crm.EINVALID, "unknown contact reason %d", g.ReasonID)
				}
			}
			id := g.ReasonID
			t.ReasonID, t.ReasonSource, t.ReasonConfidence = &id, source, nil
			if source == crm.ReasonByAuto {
				c := float64(millionths(g.Confidence)) / 1e6
				t.ReasonConfidence = &c
			}
		}
		t.ReasonSuggestions = nil
		if len(suggestions) > 0 {
			t.ReasonSuggestions = suggestions
		}
		if changed = !crm.SameReason(&before, t); !changed {
			return nil
		}
		t.UpdatedAt = tx.now
		if err := tx.saveReason(ctx, t, g.Model); err != nil {
			return err
		}
		if reasonOf(&before) != reasonOf(t) {
			if err := tx.indexReasonText(ctx, t); err != nil {
				return err
			}
		}
		return tx.ticketEvent(ctx, crm.EventTicketUpdated, t, actorFrom(ctx, systemActor), t)
	})
	if err != nil {
		return nil, false, err
	}
	return t, changed, nil
}

// reasonOf is t's reason id, 0 when it has none.
func reasonOf(t *crm.Ticket) int64 {
	if t.ReasonID == nil {
		return 0
	}
	return *t.ReasonID
}

// exampleCols selects what the classifier reads of a ticket t: its id, reason, subject
// and creation, the text of the customer's first ten messages (each cut to
// crm.MaxReasonText characters, joined by newlines), and the customer's latest order placed
// before the ticket as "placed_at,updated_at,status".
const exampleCols = `t.id, coalesce(t.reason_id, 0), t.subject, t.created_at,
	coalesce((SELECT string_agg(x.text, E'\n' ORDER BY x.id) FROM (SELECT m.id, substr(m.text, 1, 2000) AS text
		FROM messages m WHERE m.ticket_id = t.id AND m.direction = 'in' AND m.text <> '' ORDER BY m.id LIMIT 10) x), ''),
	coalesce((SELECT o.placed_at::text || ',' || o.updated_at::text || ',' || o.status FROM orders o
		WHERE o.customer_id = t.customer_id AND o.placed_at < t.created_at ORDER BY o.placed_at DESC, o.number DESC LIMIT 1), '')`

// scanExample scans a row of exampleCols.
func scanExample(s scanner) (*crm.ReasonExample, error) {
	var x crm.ReasonExample
	var subject, msgs, order string
	var created int64
	if err := s.Scan(&x.TicketID, &x.ReasonID, &subject, &created, &msgs, &order); err != nil {
		return nil, err
	}
	x.Text = crm.ReasonText(subject, msgs)
	x.OrderStatus, x.OrderAgeDays = orderFacts(order, created)
	return &x, nil
}

// orderFacts reads the order of exampleCols ("placed_at,updated_at,status", "" for
// none): its status and how many whole days before created (the ticket's creation) it
// last changed, or was placed when it changed since. A customer without an order has
// status "" and 0 days.
func orderFacts(order string, created int64) (string, int) {
	parts := strings.SplitN(order, ",", 3)
	if len(parts) != 3 {
		return "", 0
	}
	placed, _ := strconv.ParseInt(parts[0], 10, 64)
	updated, _ := strconv.ParseInt(parts[1], 10, 64)
	ref := updated
	if ref > created {
		ref = placed // the status now is not the one the customer saw then
	}
	days := int((created - ref) / int64(24*time.Hour/time.Millisecond))
	return parts[2], max(days, 0)
}

func queryExamples(ctx context.Context, q queryer, cond string, args ...any) ([]*crm.ReasonExample, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+exampleCols+` FROM tickets t WHERE `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("query reason examples: %w", err)
	}
	defer rows.Close()
	list := []*crm.ReasonExample{}
	for rows.Next() {
		x, err := scanExample(rows)
		if err != nil {
			return nil, fmt.Errorf("scan reason example: %w", err)
		}
		list = append(list, x)
	}
	return list, rows.Err()
}

// ReasonExamples returns up to limit (default 500, at most 5000) tickets whose reason an
// agent or a tag gave, with ids above after, by id, as the classifier learns from them.
// Tickets merged into another are left out: their messages moved.
func (db *DB) ReasonExamples(ctx context.Context, after int64, limit int) ([]*crm.ReasonExample, error) {
	vis, args := inboxFilter(ctx, "t.inbox_id")
	return queryExamples(ctx, db.rdb(), `t.id > ? AND t.reason_source IN ('agent', 'tag') AND t.reason_id IS NOT NULL
		AND t.merged_into IS NULL AND `+vis+` ORDER BY t.id LIMIT ?`,
		append(append([]any{after}, args...), limitOf(limit, 500, maxExamples))...)
}

// ReasonText returns what the classifier reads of a ticket the agent in ctx may see,
// with its reason if it has one. Returns not_found.
func (db *DB) ReasonText(ctx context.Context, ticketID int64) (*crm.ReasonExample, error) {
	vis, args := inboxFilter(ctx, "t.inbox_id")
	list, err := queryExamples(ctx, db.rdb(), `t.id = ? AND `+vis, append([]any{ticketID}, args...)...)
	if err != nil {
		return nil, err
	} else if len(list) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "ticket %d not found", ticketID)
	}
	return list[0], nil
}

// SeedReasonsFromTags gives every ticket without a reason that has a tag mapped to a
// reason that reason (source "tag"; of several, the first by position), closed tickets
// too: they are the history the classifier learns from. Each ticket changed gets a
// ticket.updated event by the actor in ctx; its updated_at stays, as this files history
// rather than working the ticket. It works through the tickets in transactions of a few
// hundred and returns how many it changed.
func (db *DB) SeedReasonsFromTags(ctx context.Context) (int, error) {
	vis, args := inboxFilter(ctx, "t.inbox_id")
	total := 0
	var after int64
	for {
		type seed struct{ ticket, reason int64 }
		rows, err := db.rdb().QueryContext(ctx, `SELECT x.id, x.reason FROM (SELECT t.id, (SELECT r.id FROM ticket_tags g
				JOIN reason_tags rt ON rt.tag = g.tag JOIN reasons r ON r.id = rt.reason_id
				WHERE g.ticket_id = t.id AND NOT r.archived ORDER BY r.position, r.id LIMIT 1) AS reason
			FROM tickets t WHERE t.id > ? AND t.reason_id IS NULL AND t.merged_into IS NULL AND `+vis+`) x
			WHERE x.reason IS NOT NULL ORDER BY x.id LIMIT ?`, append(append([]any{after}, args...), seedChunk)...)
		if err != nil {
			return total, fmt.Errorf("find tickets to seed: %w", err)
		}
		var seeds []seed
		for rows.Next() {
			var s seed
			if err := rows.Scan(&s.ticket, &s.reason); err != nil {
				rows.Close()
				return total, fmt.Errorf("scan ticket to seed: %w", err)
			}
			seeds = append(seeds, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("find tickets to seed: %w", err)
		}
		if len(seeds) == 0 {
			return total, nil
		}
		n := 0
		err = db.update(ctx, func(tx *Tx) error {
			n = 0
			actor := actorFrom(ctx, systemActor)
			for _, s := range seeds {
				t, err := findTicket(ctx, tx, s.ticket)
				if err != nil {
					return err
				}
				if t.ReasonID != nil { // given one since it was read
					continue
				}
				id := s.reason
				t.ReasonID, t.ReasonSource, t.ReasonConfidence, t.ReasonSuggestions = &id, crm.ReasonByTag, nil, nil
				if err := tx.saveReason(ctx, t, 0); err != nil {
					return err
				}
				if err := tx.indexReasonText(ctx, t); err != nil {
					return err
				}
				if err := tx.ticketEvent(ctx, crm.EventTicketUpdated, t, actor, t); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		after = seeds[len(seeds)-1].ticket
	}
}

// SaveReasonModel stores a newly trained model as the next version and keeps the newest
// few. Returns invalid (no data, a macro-F1 outside [0, 1]).
func (db *DB) SaveReasonModel(ctx context.Context, m *crm.ReasonModel) (*crm.ReasonModel, error) {
	if m == nil || len(m.Data) == 0 {
		return nil, crm.Errorf(crm.EINVALID, "a model needs its data")
	}
	if !crm.ValidConfidence(m.MacroF1) || m.Examples < 0 {
		return nil, crm.Errorf(crm.EINVALID, "a model needs a macro-F1 between 0 and 1 and a count of examples")
	}
	out := *m
	err := db.update(ctx, func(tx *Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO reason_models (examples, macro_f1, report, data, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING version`, m.Examples, millionths(m.MacroF1), string(m.Report), m.Data,
			ms(tx.now)).Scan(&out.Version); err != nil {
			return fmt.Errorf("insert reason model: %w", err)
		}
		out.CreatedAt = tx.now
		if _, err := tx.ExecContext(ctx, `DELETE FROM reason_models WHERE version <= ?`, out.Version-keptReasonModels); err != nil {
			return fmt.Errorf("delete old reason models: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.MacroF1 = float64(millionths(m.MacroF1)) / 1e6
	return &out, nil
}

// LatestReasonModel returns the newest model. Returns not_found when none was trained.
func (db *DB) LatestReasonModel(ctx context.Context) (*crm.ReasonModel, error) {
	var m crm.ReasonModel
	var f1, created int64
	var report string
	err := db.rdb().QueryRowContext(ctx, `SELECT version, examples, macro_f1, report, data, created_at FROM reason_models
		ORDER BY version DESC LIMIT 1`).Scan(&m.Version, &m.Examples, &f1, &report, &m.Data, &created)
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "no contact reason model has been trained yet")
	} else if err != nil {
		return nil, fmt.Errorf("read reason model: %w", err)
	}
	m.MacroF1, m.Report, m.CreatedAt = float64(f1)/1e6, []byte(report), fromMS(created)
	return &m, nil
}

// RecordSuggestionUse counts that the agent in ctx inserted the suggested reply
// messageID on ticketID. Returns not_found (a ticket the agent may not see, or no
// such reply).
func (db *DB) RecordSuggestionUse(ctx context.Context, ticketID, messageID int64) error {
	var agentID int64
	if a := crm.AgentFrom(ctx); a != nil {
		agentID = a.ID
	}
	return db.update(ctx, func(tx *Tx) error {
		if err := checkTicket(ctx, tx, ticketID); err != nil {
			return err
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM messages WHERE id = ? AND direction = 'out'`, messageID).Scan(&one)
		if isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "reply %d not found", messageID)
		} else if err != nil {
			return fmt.Errorf("find reply: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO suggestion_uses (ticket_id, message_id, agent_id, at) VALUES (?, ?, ?, ?)`,
			ticketID, messageID, agentID, ms(tx.now)); err != nil {
			return fmt.Errorf("insert suggestion use: %w", err)
		}
		return nil
	})
}

// AddHandleTime adds agents' time to tickets, each item's Secs cut to 0 to
// crm.MaxHandleSecs (an item's At, when set, is when it was spent). Returns invalid (a
// missing ticket or agent id, an unknown agent, too many items) or not_found (a ticket
// the agent in ctx may not see); then nothing is added.
func (db *DB) AddHandleTime(ctx context.Context, items []crm.HandleTime) error {
	if len(items) == 0 {
		return nil
	}
	if len(items) > maxHandleItems {
		return crm.Errorf(crm.EINVALID, "at most %d handle times at once", maxHandleItems)
	}
	for _, h := range items {
		if h.TicketID <= 0 || h.AgentID <= 0 {
			return crm.Errorf(crm.EINVALID, "a handle time needs a ticket and an agent")
		}
	}
	return db.update(ctx, func(tx *Tx) error {
		checked := map[[2]int64]bool{}
		for _, h := range items {
			if !checked[[2]int64{h.TicketID, 0}] {
				if err := checkTicket(ctx, tx, h.TicketID); err != nil {
					return err
				}
				checked[[2]int64{h.TicketID, 0}] = true
			}
			if !checked[[2]int64{0, h.AgentID}] {
				var one int
				err := tx.QueryRowContext(ctx, `SELECT 1 FROM agents WHERE id = ?`, h.AgentID).Scan(&one)
				if isNoRows(err) {
					return crm.Errorf(crm.EINVALID, "agent %d not found", h.AgentID)
				} else if err != nil {
					return fmt.Errorf("find agent: %w", err)
				}
				checked[[2]int64{0, h.AgentID}] = true
			}
			secs := min(max(h.Secs, 0), crm.MaxHandleSecs)
			if secs == 0 {
				continue
			}
			at := tx.now
			if !h.At.IsZero() {
				at = h.At
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO handle_time (ticket_id, agent_id, secs, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (ticket_id, agent_id) DO UPDATE SET secs = handle_time.secs + excluded.secs,
					updated_at = greatest(handle_time.updated_at, excluded.updated_at)`,
				h.TicketID, h.AgentID, secs, ms(at)); err != nil {
				return fmt.Errorf("add handle time: %w", err)
			}
		}
		return nil
	})
}

// validSelfService reports whether kind is a kind of self-service.
func validSelfService(kind string) bool {
	return kind == crm.SelfServiceOffered || kind == crm.SelfServiceLookup
}

// RecordSelfService counts one thing a shopper did for themselves in the widget of an
// inbox. Returns invalid (an unknown kind) or not_found (no such inbox).
func (db *DB) RecordSelfService(ctx context.Context, inboxID int64, kind string) error {
	if !validSelfService(kind) {
		return crm.Errorf(crm.EINVALID, "unknown kind of self-service %q", kind)
	}
	return db.update(ctx, func(tx *Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM inboxes WHERE id = ?`, inboxID).Scan(&one)
		if isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "inbox %d not found", inboxID)
		} else if err != nil {
			return fmt.Errorf("find inbox: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO self_service (inbox_id, kind, at) VALUES (?, ?, ?)`,
			inboxID, kind, ms(tx.now)); err != nil {
			return fmt.Errorf("insert self-service: %w", err)
		}
		return nil
	})
}

// SelfServiceCounts counts self-service by kind in [f.From, f.To), in f's inbox when it
// names one. It all happens in the widget: a filter on another channel than chat counts
// none. Every kind is in the map, 0 when none happened.
func (db *DB) SelfServiceCounts(ctx context.Context, f crm.ReportFilter) (map[string]int, error) {
	counts := map[string]int{crm.SelfServiceOffered: 0, crm.SelfServiceLookup: 0}
	if f.Channel != "" && f.Channel != crm.ChannelChat {
		return counts, nil
	}
	var w where
	w.add("at >= ? AND at < ?", ms(f.From), ms(f.To))
	if f.InboxID != 0 {
		w.add("inbox_id = ?", f.InboxID)
	}
	rows, err := db.rdb().QueryContext(ctx, `SELECT kind, count(*) FROM self_service WHERE `+w.String()+` GROUP BY kind`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("count self-service: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return nil, fmt.Errorf("scan self-service count: %w", err)
		}
		counts[kind] = n
	}
	return counts, rows.Err()
}

// CountSuggestionUses counts the suggested replies agents inserted in [f.From, f.To) on
// tickets of the filter's inbox and channel.
func (db *DB) CountSuggestionUses(ctx context.Context, f crm.ReportFilter) (int, error) {
	var w where
	w.add("u.at >= ? AND u.at < ?", ms(f.From), ms(f.To))
	if f.InboxID != 0 {
		w.add("t.inbox_id = ?", f.InboxID)
	}
	if f.Channel != "" {
		w.add("t.channel = ?", f.Channel)
	}
	var n int
	if err := db.rdb().QueryRowContext(ctx, `SELECT count(*) FROM suggestion_uses u JOIN tickets t ON t.id = u.ticket_id WHERE `+w.String(),
		w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count suggestion uses: %w", err)
	}
	return n, nil
}

// CountOrders counts the orders placed in [f.From, f.To), in every inbox and channel:
// orders belong to the shop, not to an inbox.
func (db *DB) CountOrders(ctx context.Context, f crm.ReportFilter) (int, error) {
	var n int
	if err := db.rdb().QueryRowContext(ctx, `SELECT count(*) FROM orders WHERE placed_at >= ? AND placed_at < ?`,
		ms(f.From), ms(f.To)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count orders: %w", err)
	}
	return n, nil
}

// ReasonCursor returns the id of the last event the classifier's worker handled; before
// its first run, the newest stored event, which is then stored.
func (db *DB) ReasonCursor(ctx context.Context) (int64, error) {
	var after int64
	err := db.rdb().QueryRowContext(ctx, `SELECT after FROM reason_cursor WHERE id = 1`).Scan(&after)
	if err == nil {
		return after, nil
	} else if !isNoRows(err) {
		return 0, fmt.Errorf("read reason cursor: %w", err)
	}
	err = db.update(ctx, func(tx *Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT after FROM reason_cursor WHERE id = 1),
			(SELECT max(id) FROM events), 0)`).Scan(&after); err != nil {
			return fmt.Errorf("start reason cursor: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO reason_cursor (id, after) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`,
			after); err != nil {
			return fmt.Errorf("store reason cursor: %w", err)
		}
		return nil
	})
	return after, err
}

// SetReasonCursor stores the id of the last event the classifier's worker handled.
func (db *DB) SetReasonCursor(ctx context.Context, after int64) error {
	return db.update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO reason_cursor (id, after) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET after = excluded.after`, after); err != nil {
			return fmt.Errorf("store reason cursor: %w", err)
		}
		return nil
	})
}
