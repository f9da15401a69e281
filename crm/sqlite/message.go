package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"parley/crm"
)

// maxBody is the largest body of an agent's reply or note.
const maxBody = 64 << 10

// messageCols ends with whether the message has attachments, so that a thread without
// any (most) costs no query for them.
const messageCols = `m.id, m.ticket_id, m.inbox_id, m.direction, m.channel, m.author_kind, m.author_id,
	m.author_name, m.text, m.html, m.status, m.error, m.external_id, m.created_at, m.mail, m.template,
	EXISTS (SELECT 1 FROM attachments x WHERE x.message_id = m.id)`

// scanMessage scans a row of messageCols and says whether the message has attachments.
func scanMessage(s scanner) (*crm.Message, bool, error) {
	var m crm.Message
	var ext sql.NullString
	var created int64
	var mail, tmpl string
	var attached bool
	if err := s.Scan(&m.ID, &m.TicketID, &m.InboxID, &m.Direction, &m.Channel, &m.Author.Kind, &m.Author.ID,
		&m.Author.Name, &m.Text, &m.HTML, &m.Status, &m.Error, &ext, &created, &mail, &tmpl, &attached); err != nil {
		return nil, false, err
	}
	if mail != "" {
		if err := json.Unmarshal([]byte(mail), &m.MailAddresses); err != nil {
			return nil, false, fmt.Errorf("message %d addresses: %w", m.ID, err)
		}
	}
	if tmpl != "" {
		if err := json.Unmarshal([]byte(tmpl), &m.Template); err != nil {
			return nil, false, fmt.Errorf("message %d template: %w", m.ID, err)
		}
	}
	m.ExternalID = ext.String
	m.CreatedAt = fromMS(created)
	m.Attachments = []*crm.Attachment{}
	return &m, attached, nil
}

// queryMessages runs a query selecting messageCols and loads the attachments of the
// messages that have any in one extra query.
func queryMessages(ctx context.Context, q queryer, query string, args ...any) ([]*crm.Message, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query messages: %w", err)
	}
	defer rows.Close()
	msgs := []*crm.Message{}
	var attached []*crm.Message
	for rows.Next() {
		m, has, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		msgs = append(msgs, m)
		if has {
			attached = append(attached, m)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query messages: %w", err)
	}
	rows.Close()
	return msgs, loadAttachments(ctx, q, attached)
}

func findMessage(ctx context.Context, q queryer, id int64) (*crm.Message, error) {
	msgs, err := queryMessages(ctx, q, `SELECT `+messageCols+` FROM messages m WHERE m.id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(msgs) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "message %d not found", id)
	}
	return msgs[0], nil
}

// Messages lists the thread of a ticket the agent in ctx may see, oldest first, or newest
// first with p.Desc, so that a long thread can be shown from its end. Returns not_found
// or invalid (a bad cursor).
func (db *DB) Messages(ctx context.Context, ticketID int64, p crm.Page) ([]*crm.Message, string, error) {
	if err := checkTicket(ctx, db.rdb, ticketID); err != nil {
		return nil, "", err
	}
	limit := limitOf(p.Limit, crm.DefaultLimit, crm.MaxLimit)
	var from int64
	if p.Cursor != "" {
		c, err := decodeIntCursor(p.Cursor, 1)
		if err != nil {
			return nil, "", err
		}
		from = c[0]
	}
	query := `SELECT ` + messageCols + ` FROM messages m WHERE m.ticket_id = ? AND m.id > ? ORDER BY m.id LIMIT ?`
	if p.Desc {
		if p.Cursor == "" {
			from = math.MaxInt64
		}
		query = `SELECT ` + messageCols + ` FROM messages m WHERE m.ticket_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?`
	}
	msgs, err := queryMessages(ctx, db.rdb, query, ticketID, from, limit+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(msgs) > limit {
		msgs = msgs[:limit]
		next = encodeCursor(itoa(msgs[limit-1].ID))
	}
	return msgs, next, nil
}

// AddMessage stores an agent's reply, queued in the outbox, or an internal note, and
// applies nm.Status to the ticket in the same transaction. Returns invalid, too_large,
// not_found or conflict (a closed ticket).
func (db *DB) AddMessage(ctx context.Context, nm *crm.NewMessage) (*crm.Message, error) {
	if nm == nil {
		return nil, crm.Errorf(crm.EINVALID, "message required")
	}
	body := strings.TrimSpace(nm.Body)
	if body == "" && len(nm.Attachments) == 0 {
		return nil, crm.Errorf(crm.EINVALID, "message body required")
	} else if len(body) > maxBody {
		return nil, crm.Errorf(crm.ETOOLARGE, "message body is larger than 64 KiB")
	}
	if nm.Status != "" && !validStatus(nm.Status) {
		return nil, crm.Errorf(crm.EINVALID, "invalid status %q", nm.Status)
	}
	if _, err := crm.ParseCC(nm.CC); err != nil {
		return nil, err
	}
	if nm.Template != nil {
		if nm.Internal {
			return nil, crm.Errorf(crm.EINVALID, "a note cannot be a template")
		}
		if err := nm.Template.Check(); err != nil {
			return nil, err
		}
	}
	sums, err := db.prepareReply(ctx, nm)
	if err != nil {
		return nil, err
	}
	var m *crm.Message
	err = db.update(ctx, func(tx *Tx) error {
		t, err := findTicket(ctx, tx, nm.TicketID)
		if err != nil {
			return err
		}
		m, err = tx.addReply(ctx, t, nm, body, sums)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// addMessage inserts an agent's reply or note on ticket t, updates t and appends the
// events. A reply by email is copied to cc, or with a nil cc to the ticket's
// participants, and an explicit cc becomes the participants. Returns conflict when t is
// closed or a free-form WhatsApp reply falls after the WhatsApp window, or invalid (a
// cc on anything but an email reply, a template on anything but a WhatsApp reply).
func (tx *Tx) addMessage(ctx context.Context, t *crm.Ticket, body string, internal bool, status string, cc []string,
	tmpl *crm.MessageTemplate) (*crm.Message, error) {
	return tx.addReply(ctx, t, &crm.NewMessage{TicketID: t.ID, Internal: internal, Status: status, CC: cc, Template: tmpl}, body, nil)
}

// addReply is addMessage with the rest of nm: its Bcc, formatted body and files, whose
// contents were written under sums (see writeReplyFiles). Returns what addMessage returns.
func (tx *Tx) addReply(ctx context.Context, t *crm.Ticket, nm *crm.NewMessage, body string, sums []string) (*crm.Message, error) {
	internal, status, cc, tmpl := nm.Internal, nm.Status, nm.CC, nm.Template
	if t.Status == crm.StatusClosed {
		return nil, crm.Errorf(crm.ECONFLICT, "ticket %d is closed", t.ID)
	}
	author := crm.Author{Kind: "system", Name: "Parley"}
	if id := crm.RuleFrom(ctx); id != 0 {
		// A rule's note or reply is signed with the rule's name, as its history shows it.
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM rules WHERE id = ?`, id).Scan(&name); err == nil {
			author.Name = name
		}
	}
	if a := crm.AgentFrom(ctx); a != nil {
		author = crm.Author{Kind: "agent", ID: a.ID, Name: a.Name}
	}
	m := &crm.Message{TicketID: t.ID, InboxID: t.InboxID, Author: author, Text: body,
		Attachments: []*crm.Attachment{}, CreatedAt: tx.now}
	changed := false
	var next any
	if internal {
		m.Direction, m.Channel = crm.DirNote, t.Channel
	} else {
		m.Direction, m.Status, next = crm.DirOut, crm.MsgQueued, ms(tx.now)
		err := tx.QueryRowContext(ctx, `SELECT channel FROM messages WHERE ticket_id = ? AND direction = 'in'
			ORDER BY id DESC LIMIT 1`, t.ID).Scan(&m.Channel)
		if errors.Is(err, sql.ErrNoRows) {
			m.Channel = t.Channel
		} else if err != nil {
			return nil, fmt.Errorf("find reply channel: %w", err)
		}
		if m.Channel == crm.ChannelVoice {
			m.Channel = crm.ChannelSMS // a call is answered by text message: say so
		}
		if err := tx.checkWhatsApp(ctx, t, m.Channel, tmpl); err != nil {
			return nil, err
		}
		m.Template = tmpl
		if t.FirstResponseAt == nil && author.Kind == "agent" {
			t.FirstResponseAt = &tx.now // an agent's answer: a rule's or Parley's own is not one
		}
		t.WaitingSince = nil // answered
		t.LastMessageAt, changed = tx.now, true
		if err := tx.assignOnReply(ctx, t, author); err != nil {
			return nil, err
		}
	}
	if m.Direction != crm.DirOut || m.Channel != crm.ChannelEmail {
		if len(cc) > 0 {
			return nil, crm.Errorf(crm.EINVALID, "cc is only for replies by email")
		}
	} else {
		moved, err := tx.replyAddresses(ctx, t, m, cc)
		if err != nil {
			return nil, err
		}
		changed = changed || moved
	}
	if err := crm.ShapeReply(m, nm); err != nil {
		return nil, err
	}
	if status != "" && setStatus(t, status, tx.now) {
		changed = true
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO messages (ticket_id, inbox_id, direction, channel,
		author_kind, author_id, author_name, text, html, status, next_attempt_at, mail, template, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.TicketID, m.InboxID, m.Direction, m.Channel, author.Kind, author.ID, author.Name, m.Text, m.HTML,
		m.Status, next, crm.MailJSON(m.MailAddresses), templateJSON(m.Template), ms(tx.now), ms(tx.now))
	if err != nil {
		return nil, fmt.Errorf("insert message: %w", err)
	}
	m.ID, _ = res.LastInsertId()
	tx.unindexed()
	if err := tx.addFiles(ctx, m, nm.Attachments, sums); err != nil {
		return nil, err
	}
	actor := actorFrom(ctx, systemActor)
	if changed {
		t.UpdatedAt = tx.now
		if err := tx.saveActivity(ctx, t); err != nil {
			return nil, err
		}
	}
	if err := tx.ticketEvent(ctx, crm.EventMessageCreated, t, actor, m); err != nil {
		return nil, err
	}
	if changed {
		if err := tx.ticketEvent(ctx, crm.EventTicketUpdated, t, actor, t); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// replyAddresses sets the To and CC of an email reply m on ticket t: to the address the
// customer last wrote from, copied to cc, or to t's participants when cc is nil. An
// explicit cc becomes t's participants; it reports whether they changed.
func (tx *Tx) replyAddresses(ctx context.Context, t *crm.Ticket, m *crm.Message, cc []string) (bool, error) {
	var sender string
	err := tx.QueryRowContext(ctx, `SELECT sender FROM messages WHERE ticket_id = ? AND direction = 'in'
		AND author_kind = 'customer' AND sender LIKE 'email:%' ORDER BY id DESC LIMIT 1`, t.ID).Scan(&sender)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("find reply address: %w", err)
	}
	if addr, ok := strings.CutPrefix(sender, "email:"); ok && !strings.HasSuffix(addr, ".invalid") {
		m.To = []crm.Address{{Address: addr}}
	}
	if cc == nil {
		m.CC = t.Participants
		return false, nil
	}
	list, err := crm.ParseCC(cc)
	if err != nil {
		return false, err
	}
	m.CC = list
	if slices.Equal(list, t.Participants) {
		return false, nil
	}
	t.Participants = list
	return true, tx.saveParticipants(ctx, t.ID, list)
}

// assignOnReply gives an unassigned ticket to the agent who replies to it, when the
// workflow settings say so (the default): whoever answers first owns the conversation.
func (tx *Tx) assignOnReply(ctx context.Context, t *crm.Ticket, author crm.Author) error {
	if t.AssigneeID != nil || author.Kind != "agent" {
		return nil
	}
	set, err := workflowSettings(ctx, tx)
	if err != nil || !set.AssignOnReply {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tickets SET assignee_id = ? WHERE id = ? AND assignee_id IS NULL`, author.ID, t.ID); err != nil {
		return fmt.Errorf("assign ticket %d on reply: %w", t.ID, err)
	}
	id := author.ID
	t.AssigneeID = &id
	return nil
}
