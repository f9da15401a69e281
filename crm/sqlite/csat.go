package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"parley/crm"
)

// CSAT limits. A text reply counts as an answer only within csatReplyWindow of the
// survey; an email link works for csatLinkTTL.
const (
	csatReplyWindow = 7 * 24 * time.Hour
	csatLinkTTL     = 30 * 24 * time.Hour
	maxCSATComment  = 2000
	settingCSAT     = "csat"
)

// CSATChannels are the channels a survey can go out on.
var CSATChannels = []string{crm.ChannelEmail, crm.ChannelSMS, crm.ChannelWhatsApp, crm.ChannelChat, crm.ChannelDiscord}

// getSetting reads the JSON setting key into v and reports whether it was set.
func getSetting(ctx context.Context, q queryer, key string, v any) (bool, error) {
	var s string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&s)
	if isNoRows(err) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("read setting %s: %w", key, err)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return false, fmt.Errorf("unmarshal setting %s: %w", key, err)
	}
	return true, nil
}

func (tx *Tx) putSetting(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal setting %s: %w", key, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, string(b), ms(tx.now))
	if err != nil {
		return fmt.Errorf("save setting %s: %w", key, err)
	}
	return nil
}

func csatSettings(ctx context.Context, q queryer) (*crm.CSATSettings, error) {
	s := &crm.CSATSettings{Enabled: true, Channels: slices.Clone(CSATChannels)}
	if _, err := getSetting(ctx, q, settingCSAT, s); err != nil {
		return nil, err
	}
	if s.Channels == nil {
		s.Channels = []string{}
	}
	return s, nil
}

// CSATSettings returns whether surveys are sent and on which channels; by default they
// are, on every channel.
func (db *DB) CSATSettings(ctx context.Context) (*crm.CSATSettings, error) {
	return csatSettings(ctx, db.rdb)
}

// SetCSATSettings saves the survey settings. Returns invalid for an unknown channel.
func (db *DB) SetCSATSettings(ctx context.Context, s *crm.CSATSettings) error {
	if s == nil {
		return crm.Errorf(crm.EINVALID, "settings required")
	}
	chans := []string{}
	for _, c := range s.Channels {
		if !slices.Contains(CSATChannels, c) {
			return crm.Errorf(crm.EINVALID, "channels: %q is not one of %s", crm.CutRunes(c, 20), strings.Join(CSATChannels, ", "))
		}
		if !slices.Contains(chans, c) {
			chans = append(chans, c)
		}
	}
	return db.update(ctx, func(tx *Tx) error {
		return tx.putSetting(ctx, settingCSAT, crm.CSATSettings{Enabled: s.Enabled, Channels: chans})
	})
}

const csatCols = `c.id, c.ticket_id, c.inbox_id, c.customer_id, c.channel, c.status, c.rating, c.comment,
	c.sent_at, c.expires_at, c.answered_at, t.subject`

func scanSurvey(s scanner) (*crm.CSATSurvey, error) {
	var v crm.CSATSurvey
	var rating, answered sql.NullInt64
	var sent, expires int64
	if err := s.Scan(&v.ID, &v.TicketID, &v.InboxID, &v.CustomerID, &v.Channel, &v.Status, &rating, &v.Comment,
		&sent, &expires, &answered, &v.Subject); err != nil {
		return nil, err
	}
	v.Rating = int(rating.Int64)
	v.SentAt, v.ExpiresAt, v.AnsweredAt = fromMS(sent), fromMS(expires), nullTime(answered)
	return &v, nil
}

// findSurvey returns the survey matching cond, or nil.
func findSurvey(ctx context.Context, q queryer, cond string, args ...any) (*crm.CSATSurvey, error) {
	v, err := scanSurvey(q.QueryRowContext(ctx, `SELECT `+csatCols+` FROM csat_surveys c
		JOIN tickets t ON t.id = c.ticket_id WHERE `+cond, args...))
	if isNoRows(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("find csat survey: %w", err)
	}
	return v, nil
}

// QueueCSATSurvey queues the survey of a resolved ticket on the channel the customer last
// wrote on: the email text with its link, or the reply text on SMS, WhatsApp and Discord,
// as a system message in the outbox; a chat customer gets a csat.requested event for the
// widget instead. A ticket is asked once ever: an opted-out number gets a "skipped"
// survey and no message. It returns nil, doing nothing, when the ticket is not resolved,
// already has a survey, its channel is not in r.Channels, or the customer cannot be
// reached there. Returns invalid or not_found.
func (db *DB) QueueCSATSurvey(ctx context.Context, r *crm.CSATRequest) (*crm.CSATSurvey, error) {
	if r == nil || r.TicketID <= 0 {
		return nil, crm.Errorf(crm.EINVALID, "ticket required")
	}
	sys := crm.AsSystem(ctx) // surveys are the system's, across every inbox
	var out *crm.CSATSurvey
	err := db.update(ctx, func(tx *Tx) error {
		out = nil
		t, err := findTicket(sys, tx, r.TicketID)
		if err != nil {
			return err
		}
		if t.Status != crm.StatusResolved || t.MergedInto != 0 {
			return nil
		}
		if v, err := findSurvey(ctx, tx, `c.ticket_id = ?`, t.ID); err != nil || v != nil {
			return err
		}
		channel := t.Channel
		err = tx.QueryRowContext(ctx, `SELECT channel FROM messages WHERE ticket_id = ? AND direction = 'in'
			ORDER BY id DESC LIMIT 1`, t.ID).Scan(&channel)
		if err != nil && !isNoRows(err) {
			return fmt.Errorf("find survey channel: %w", err)
		}
		asked := channel
		if asked == crm.ChannelVoice {
			channel, asked = crm.ChannelSMS, crm.ChannelSMS // a caller is asked by text
		}
		if !slices.Contains(r.Channels, asked) {
			return nil
		}
		c, err := findCustomer(sys, tx, t.CustomerID)
		if err != nil {
			return err
		}
		status, text := "sent", r.ReplyText
		switch channel {
		case crm.ChannelEmail:
			if !hasIdentity(c, crm.IdentityEmail) || r.Token == "" {
				return nil
			}
			text = r.EmailText
		case crm.ChannelSMS, crm.ChannelWhatsApp:
			phone := identityOf(c, crm.IdentityPhone)
			if phone == "" {
				return nil
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM phone_opt_outs WHERE inbox_id = ? AND phone = ?`,
				t.InboxID, phone).Scan(&n); err != nil {
				return fmt.Errorf("find opt-out: %w", err)
			}
			if n > 0 {
				status = "skipped"
			}
		case crm.ChannelDiscord, crm.ChannelChat:
		default:
			return nil
		}
		var hash any
		if channel == crm.ChannelEmail {
			hash = tokenHash(r.Token)
		}
		var msgID any
		if status == "sent" && channel != crm.ChannelChat {
			m, err := tx.systemMessage(ctx, t, channel, text)
			if err != nil {
				return err
			}
			msgID = m.ID
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO csat_surveys (ticket_id, inbox_id, customer_id, channel, status,
			token_hash, message_id, sent_at, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.InboxID, t.CustomerID, channel, status, hash, msgID, ms(tx.now), ms(tx.now.Add(csatLinkTTL)), ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert csat survey: %w", err)
		}
		id, _ := res.LastInsertId()
		if out, err = findSurvey(ctx, tx, `c.id = ?`, id); err != nil {
			return err
		}
		if status == "sent" {
			return tx.ticketEvent(ctx, crm.EventCSATRequested, t, systemActor,
				map[string]any{"ticket_id": t.ID, "channel": channel, "message_id": msgID})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// systemMessage queues an outbound message of Parley itself on ticket t. Unlike an
// agent's reply it is no first response and does not move the ticket's activity.
func (tx *Tx) systemMessage(ctx context.Context, t *crm.Ticket, channel, text string) (*crm.Message, error) {
	author := crm.Author{Kind: "system", Name: "Parley"}
	m := &crm.Message{TicketID: t.ID, InboxID: t.InboxID, Direction: crm.DirOut, Channel: channel, Author: author,
		Text: text, Status: crm.MsgQueued, Attachments: []*crm.Attachment{}, CreatedAt: tx.now}
	res, err := tx.ExecContext(ctx, `INSERT INTO messages (ticket_id, inbox_id, direction, channel,
		author_kind, author_id, author_name, text, status, next_attempt_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`,
		m.TicketID, m.InboxID, m.Direction, m.Channel, author.Kind, author.Name, m.Text, m.Status,
		ms(tx.now), ms(tx.now), ms(tx.now))
	if err != nil {
		return nil, fmt.Errorf("insert system message: %w", err)
	}
	m.ID, _ = res.LastInsertId()
	tx.unindexed()
	return m, tx.ticketEvent(ctx, crm.EventMessageCreated, t, systemActor, m)
}

func hasIdentity(c *crm.Customer, kind string) bool { return identityOf(c, kind) != "" }

func identityOf(c *crm.Customer, kind string) string {
	for _, id := range c.Identities {
		if id.Kind == kind {
			return id.Address
		}
	}
	return ""
}

// CSATSurveyByToken returns the survey of an email link. Returns not_found, or invalid
// when the link expired.
func (db *DB) CSATSurveyByToken(ctx context.Context, token string) (*crm.CSATSurvey, error) {
	v, err := findSurvey(ctx, db.rdb, `c.token_hash = ?`, tokenHash(token))
	if err != nil {
		return nil, err
	}
	return v, db.checkLink(v)
}

func (db *DB) checkLink(v *crm.CSATSurvey) error {
	if v == nil {
		return crm.Errorf(crm.ENOTFOUND, "survey not found")
	} else if db.now().After(v.ExpiresAt) {
		return crm.Errorf(crm.EINVALID, "this survey link has expired")
	}
	return nil
}

// AnswerCSATToken records or changes the answer of an email link; a nil comment keeps
// the current one. Returns invalid (rating, comment, expired link) or not_found.
func (db *DB) AnswerCSATToken(ctx context.Context, token string, rating int, comment *string) (*crm.CSATSurvey, error) {
	if token == "" || len(token) > 200 {
		return nil, crm.Errorf(crm.ENOTFOUND, "survey not found")
	}
	var out *crm.CSATSurvey
	err := db.update(ctx, func(tx *Tx) error {
		v, err := findSurvey(ctx, tx, `c.token_hash = ?`, tokenHash(token))
		if err != nil {
			return err
		}
		if err := db.checkLink(v); err != nil {
			return err
		}
		out, err = tx.answerSurvey(ctx, v, rating, comment, crm.ChannelEmail)
		return err
	})
	return out, err
}

// AnswerCSAT records or changes the answer to a ticket's survey from a channel (the chat
// widget). Returns invalid (rating, comment) or not_found (no survey that is still open).
func (db *DB) AnswerCSAT(ctx context.Context, ticketID int64, rating int, comment, channel string) (*crm.CSATSurvey, error) {
	var out *crm.CSATSurvey
	err := db.update(ctx, func(tx *Tx) error {
		v, err := findSurvey(ctx, tx, `c.ticket_id = ? AND c.status = 'sent' AND c.expires_at >= ?`, ticketID, ms(tx.now))
		if err != nil {
			return err
		} else if v == nil {
			return crm.Errorf(crm.ENOTFOUND, "ticket %d has no open survey", ticketID)
		}
		out, err = tx.answerSurvey(ctx, v, rating, &comment, channel)
		return err
	})
	return out, err
}

// answerSurvey saves a rating and, unless nil, a comment, and stores a csat.answered
// event. The first answer's time stays: re-answering changes the answer, not when the
// customer answered. Returns invalid.
func (tx *Tx) answerSurvey(ctx context.Context, v *crm.CSATSurvey, rating int, comment *string, channel string) (*crm.CSATSurvey, error) {
	if rating < 1 || rating > 5 {
		return nil, crm.Errorf(crm.EINVALID, "rating must be a whole number from 1 to 5")
	}
	if comment != nil {
		c := strings.TrimSpace(strings.ToValidUTF8(*comment, ""))
		if utf8.RuneCountInString(c) > maxCSATComment {
			return nil, crm.Errorf(crm.EINVALID, "comment is longer than %d characters", maxCSATComment)
		}
		v.Comment = c
	}
	v.Rating = rating
	if v.AnsweredAt == nil {
		v.AnsweredAt = &tx.now
	}
	if _, err := tx.ExecContext(ctx, `UPDATE csat_surveys SET rating = ?, comment = ?, answer_channel = ?,
		answered_at = ?, updated_at = ? WHERE id = ?`, rating, v.Comment, channel, ms(*v.AnsweredAt), ms(tx.now), v.ID); err != nil {
		return nil, fmt.Errorf("save csat answer: %w", err)
	}
	t, err := findTicket(crm.AsSystem(ctx), tx, v.TicketID)
	if err != nil {
		return nil, err
	}
	actor := crm.Actor{Kind: "customer", ID: t.CustomerID}
	return v, tx.ticketEvent(ctx, crm.EventCSATAnswered, t, actor,
		map[string]any{"ticket_id": t.ID, "rating": rating, "comment": v.Comment, "channel": channel})
}

// csatReplyRe matches a reply that is a rating: one digit 1-5, alone or followed by a
// separator and a comment ("5", "4 thanks!", "3: slow but fine").
var csatReplyRe = regexp.MustCompile(`^([1-5])(?:$|[\s.,;:!)/-]+(.*)$)`)

// csatReply records an inbound text as the answer to the survey of ticket t when t is
// resolved, was asked by text (not email) within the last 7 days and the text is a
// rating. It reports whether it did: the caller then files the message without
// reopening the ticket.
func (tx *Tx) csatReply(ctx context.Context, t *crm.Ticket, text string, channel string) (bool, error) {
	if t == nil || t.Status != crm.StatusResolved {
		return false, nil
	}
	m := csatReplyRe.FindStringSubmatch(strings.TrimSpace(text))
	if m == nil {
		return false, nil
	}
	v, err := findSurvey(ctx, tx, `c.ticket_id = ? AND c.status = 'sent' AND c.channel <> 'email' AND c.sent_at >= ?`,
		t.ID, ms(tx.now.Add(-csatReplyWindow)))
	if err != nil || v == nil {
		return false, err
	}
	comment := crm.CutRunes(strings.TrimSpace(m[2]), maxCSATComment)
	if _, err := tx.answerSurvey(ctx, v, int(m[1][0]-'0'), &comment, channel); err != nil {
		return false, err
	}
	return true, nil
}
