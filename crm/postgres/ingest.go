package postgres

import (
	"context"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"

	"parley/crm"

	"github.com/jackc/pgx/v5"
)

// Limits of inbound messages.
const (
	maxExternalID = 998 // the longest line RFC 5322 allows, so any Message-ID fits
	maxInboundLen = 1 << 20
	maxReferences = 100
	maxClockSkew  = 5 * time.Minute
	// maxAttachments is beyond what any channel delivers (Twilio 10, Discord 10, the
	// widget 10, a mail's parts are capped by its size): the store's own bound.
	maxAttachments = 100
)

func checkInbound(in *crm.Inbound) error {
	if in == nil {
		return crm.Errorf(crm.EINVALID, "inbound message required")
	}
	if in.ExternalID == "" {
		return crm.Errorf(crm.EINVALID, "external id required")
	} else if len(in.ExternalID) > maxExternalID {
		return crm.Errorf(crm.EINVALID, "external id is longer than %d bytes", maxExternalID)
	}
	if len(in.ThreadKey) > maxExternalID {
		return crm.Errorf(crm.EINVALID, "thread key is longer than %d bytes", maxExternalID)
	}
	if len(in.From) == 0 {
		return crm.Errorf(crm.EINVALID, "sender identity required")
	}
	for _, id := range in.From {
		if err := checkIdentity(id); err != nil {
			return err
		}
	}
	switch in.Channel {
	case "", crm.ChannelEmail, crm.ChannelSMS, crm.ChannelWhatsApp, crm.ChannelVoice, crm.ChannelChat,
		crm.ChannelDiscord, crm.ChannelAPI:
	default:
		return crm.Errorf(crm.EINVALID, "invalid channel %q", in.Channel)
	}
	if len(in.Text)+len(in.HTML) > maxInboundLen {
		return crm.Errorf(crm.ETOOLARGE, "message text is larger than 1 MiB")
	}
	if len(in.Attachments) > maxAttachments {
		return crm.Errorf(crm.ETOOLARGE, "a message has at most %d attachments", maxAttachments)
	}
	for _, a := range in.Attachments {
		if len(a.ContentType) > 255 {
			return crm.Errorf(crm.EINVALID, "attachment content type is longer than 255 bytes")
		}
		if len(a.Data) > crm.MaxAttachmentSize {
			return crm.Errorf(crm.ETOOLARGE, "attachment %q is larger than %d MiB", a.Filename, crm.MaxAttachmentSize>>20)
		}
	}
	if len(in.ContentIDs) > maxAttachments {
		return crm.Errorf(crm.ETOOLARGE, "a message has at most %d inline parts", maxAttachments)
	}
	for cid, i := range in.ContentIDs {
		if cid == "" || i < 0 || i >= len(in.Attachments) {
			return crm.Errorf(crm.EINVALID, "content id %q names no attachment", crm.CutRunes(cid, 100))
		}
	}
	if in.Bounce != nil && len(in.Bounce.ExternalIDs) > maxReferences {
		return crm.Errorf(crm.EINVALID, "a delivery report names at most %d messages", maxReferences)
	}
	return crm.CheckInboundMail(in, maxExternalID)
}

// Ingest files an inbound message: the customer by identity, the ticket by thread and the
// message, deduplicated on (inbox, external id), all in one transaction, together with
// the tags of a new ticket, the links of inline images and the failure a bounce reports.
// Attachment content is written before it, so a crash leaves at most an unreferenced
// file. A repeat of a stored message changes nothing and returns the first result with
// Duplicate set.
// Returns invalid, too_large, not_found (an unknown inbox) or unavailable (another node
// stored the same message, or one of its sender identities, at the same moment: the same
// call may succeed again, and then finds the message stored).
func (db *DB) Ingest(ctx context.Context, in *crm.Inbound) (*crm.IngestResult, error) {
	sums, err := db.prepareInbound(ctx, in)
	if err != nil {
		return nil, err
	}
	var res *crm.IngestResult
	// Outside the writer: the model's work is not the writer's. Whether the sender is
	// known is not asked first, as on SQLite: here that read is a round trip, which
	// costs the database more than the model costs Parley.
	guess := db.FirstGuess(inboundSubject(in), in.Text, nil)
	err = db.update(ctx, func(tx *Tx) error {
		tx.firstGuess = guess
		r, _, err := tx.ingest(ctx, in, sums, false)
		res = r
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// prepareInbound checks an inbound message and writes its attachment content, returning
// the SHA-256 names of the files. Returns invalid, too_large or not_found.
func (db *DB) prepareInbound(ctx context.Context, in *crm.Inbound) ([]string, error) {
	if err := checkInbound(in); err != nil {
		return nil, err
	}
	crm.StripNUL(in) // also out of the events, which the statements' own guard cannot reach
	if len(in.NewTicketTags) > 0 {
		tags, err := normalizeTags(in.NewTicketTags)
		if err != nil {
			return nil, err
		}
		in.NewTicketTags = tags
	}
	if len(in.ClearTicketTags) > 0 {
		tags, err := normalizeTags(in.ClearTicketTags)
		if err != nil {
			return nil, err
		}
		in.ClearTicketTags = tags
	}
	sums := make([]string, len(in.Attachments))
	if len(in.Attachments) > 0 {
		// Checked here too, so that a message to no inbox leaves no files behind.
		if _, err := inboxKind(ctx, db.rdb(), in.InboxID); err != nil {
			return nil, err
		}
		for i, a := range in.Attachments {
			var err error
			if sums[i], err = db.writeBlob(a.Data); err != nil {
				return nil, err
			}
		}
	}
	return sums, nil
}

// ingest files an inbound message checked by prepareInbound, whose attachment files are
// named by sums, inside tx. It returns the ticket the message went to, or nil for a
// duplicate. fresh says that the message is the first of a sender stored in tx itself
// (a chat visitor): nothing stored can match its external id, thread key or identities,
// so none of them is looked up. Returns not_found (an unknown inbox) or unavailable (a
// race with another node; see raced).
func (tx *Tx) ingest(ctx context.Context, in *crm.Inbound, sums []string, fresh bool) (*crm.IngestResult, *crm.Ticket, error) {
	r, t, err := tx.ingestOnce(ctx, in, sums, fresh)
	tx.taken.message, tx.taken.customer, tx.taken.ticket = 0, 0, 0 // ids the message did not use are lost
	if err == nil {
		err = tx.flush(ctx) // the inserts queued by later fail here, raced or not
	}
	return r, t, raced(err)
}

// errRaced is what a unit answers when another node inserted the same message or sender
// identity between its look-up and its insert: PostgreSQL refused the second row and the
// unit rolled back. Trying again finds the other node's row.
var errRaced = crm.Errorf(crm.EUNAVAILABLE, "the same message or sender was being stored elsewhere at the same moment: nothing was saved; try again")

// raced turns the unique violation of a message's (inbox, external id) or of an
// identity's (kind, address), which only a concurrent insert by another node can cause
// (this node's writer runs one unit at a time, after its look-ups), into errRaced, with
// err kept in the chain.
func raced(err error) error {
	if isUnique(err, "messages_inbox_id_external_id_key") || isUnique(err, "identities_kind_address_key") {
		return fmt.Errorf("%w: %w", errRaced, err)
	}
	return err
}

// ingestOnce is ingest without the translation of races.
func (tx *Tx) ingestOnce(ctx context.Context, in *crm.Inbound, sums []string, fresh bool) (*crm.IngestResult, *crm.Ticket, error) {
	name := crm.CutRunes(strings.TrimSpace(in.FromName), 200)
	if fresh {
		return tx.file(ctx, in, sums, name, crm.KindChat, nil, owners{owned: make([]bool, len(in.From))})
	}
	// One round trip reads the inbox, a stored copy of the message, the owners of the
	// sender's identities and the newest ticket of the thread key, which every inbound
	// message needs: the writer runs statements one at a time, and each costs a round
	// trip.
	vis, visArgs := inboxFilter(ctx, "i.id")
	kinds, addresses := identityArrays(in.From)
	var b pgx.Batch
	// It also takes the ids of the message, of a customer for a sender never seen and of
	// a ticket for a message that can only open one (nothing names a ticket and its
	// thread key has none), so that their inserts need no answer and go out with the next
	// statement (see later); one is lost now and then (a duplicate, a sender filed
	// otherwise), as a rolled back insert loses one.
	newThread := in.TicketID == 0 && len(in.References) == 0 && !in.FindReferrer && in.GuessTicketID == 0 && in.Bounce == nil
	b.Queue(`SELECT i.kind, coalesce(m.id, 0), coalesce(m.ticket_id, 0), coalesce(t.customer_id, 0),
		coalesce(m.sender, ''), coalesce(m.content_hash, ''), nextval(pg_get_serial_sequence('messages', 'id')),
		CASE WHEN EXISTS (SELECT 1 FROM identities d WHERE d.kind = ? AND d.address = ?) THEN 0
			ELSE nextval(pg_get_serial_sequence('customers', 'id')) END,
		CASE WHEN ?::boolean AND m.id IS NULL AND NOT EXISTS (SELECT 1 FROM tickets x
			WHERE x.inbox_id = i.id AND x.thread_key = ? AND x.thread_key <> '')
			THEN nextval(pg_get_serial_sequence('tickets', 'id')) ELSE 0 END
		FROM inboxes i LEFT JOIN messages m ON m.inbox_id = i.id AND m.external_id = ?
		LEFT JOIN tickets t ON t.id = m.ticket_id WHERE i.id = ? AND `+vis,
		append([]any{in.From[0].Kind, in.From[0].Address, newThread, in.ThreadKey, in.ExternalID, in.InboxID}, visArgs...)...)
	b.Queue(ownersQuery, kinds, addresses)
	b.Queue(`SELECT `+ticketListCols+` FROM tickets t WHERE t.inbox_id = ? AND t.thread_key = ?
		AND t.thread_key <> '' ORDER BY t.id DESC LIMIT 1`, in.InboxID, in.ThreadKey)
	br, err := tx.sendBatch(ctx, &b)
	if err != nil {
		return nil, nil, err
	}
	defer br.Close()
	var kind, sender, hash string
	var r crm.IngestResult
	err = br.QueryRow().Scan(&kind, &r.MessageID, &r.TicketID, &r.CustomerID, &sender, &hash,
		&tx.taken.message, &tx.taken.customer, &tx.taken.ticket)
	if isNoRows(err) {
		return nil, nil, crm.Errorf(crm.ENOTFOUND, "inbox %d not found", in.InboxID)
	} else if err != nil {
		return nil, nil, fmt.Errorf("find inbox and duplicate: %w", err)
	}
	reused := false
	if r.MessageID != 0 {
		if crm.SameInbound(in, sender, hash) {
			r.Duplicate = true
			return &r, nil, nil
		}
		reused = true
	}
	rows, err := br.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("find identities: %w", err)
	}
	o, err := readOwners(rows, len(in.From))
	if err != nil {
		return nil, nil, err
	}
	thread, err := scanTicketWithTags(br.QueryRow())
	if isNoRows(err) {
		thread = nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("find ticket of thread: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, nil, fmt.Errorf("find inbox and duplicate: %w", err)
	}
	if reused {
		// Another message that reuses the id: filed under an id of its own, unless that
		// one is stored already.
		in = crm.ReusedID(in)
		var d crm.IngestResult
		err := tx.QueryRowContext(ctx, `SELECT m.id, m.ticket_id, t.customer_id FROM messages m
			JOIN tickets t ON t.id = m.ticket_id WHERE m.inbox_id = ? AND m.external_id = ?`,
			in.InboxID, in.ExternalID).Scan(&d.MessageID, &d.TicketID, &d.CustomerID)
		if err == nil {
			d.Duplicate = true
			return &d, nil, nil
		} else if !isNoRows(err) {
			return nil, nil, fmt.Errorf("find duplicate: %w", err)
		}
	}
	if o, err = tx.followMerged(ctx, o); err != nil {
		return nil, nil, err
	}
	// An agent's API call files by identity only among the customers it may see: naming
	// another inbox's customer would hand that customer, its notes and orders to the
	// agent. Channels ingest as the system and file by identity everywhere.
	if err := tx.ownersVisible(ctx, in.From); err != nil {
		return nil, nil, err
	}
	return tx.file(ctx, in, sums, name, kind, thread, o)
}

// file is the part of ingest after the look-ups: kind is the inbox's, thread the newest
// ticket of the thread key (or nil), and o the owners of the sender's identities.
func (tx *Tx) file(ctx context.Context, in *crm.Inbound, sums []string, name, kind string, thread *crm.Ticket, o owners) (*crm.IngestResult, *crm.Ticket, error) {
	channel := in.Channel
	if channel == "" {
		channel = channelOfInbox[kind]
	}

	newSender := o.cid == 0 // the customer is made just now
	at := in.ReceivedAt
	if at.IsZero() || at.After(tx.now.Add(maxClockSkew)) {
		at = tx.now
	}
	at = fromMS(ms(at))

	rep, err := tx.reportedMessage(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	// A delivery report about no message of the inbox joins no conversation: it opens a
	// closed ticket of its own (see crm.Bounce).
	orphan := in.Bounce != nil && rep.id == 0
	var t *crm.Ticket
	if !orphan {
		if t, err = tx.threadTicket(ctx, in, thread, rep.ticketID, o.cid); err != nil {
			return nil, nil, err
		}
	}
	rated, err := tx.csatReply(ctx, t, in.Text, channel) // a survey answer does not reopen
	if err != nil {
		return nil, nil, err
	}
	var linked int64
	if t != nil && !rated {
		switch t.Status {
		case crm.StatusPending:
			setStatus(t, crm.StatusOpen, tx.now)
		case crm.StatusResolved:
			if t.ResolvedAt == nil || tx.now.Sub(*t.ResolvedAt) <= tx.db.opt.ReopenWindow {
				setStatus(t, crm.StatusOpen, tx.now)
			} else {
				linked, t = t.ID, nil
			}
		case crm.StatusClosed:
			linked, t = t.ID, nil
		}
	}

	// Someone copied on the ticket who writes into it is a participant, not a customer:
	// no customer is made for them and the ticket's reply address stays the customer's.
	participant := t != nil && in.From[0].Kind == crm.IdentityEmail && crm.IsParticipant(t, in.From[0].Address) &&
		o.cid != t.CustomerID
	var c *crm.Customer
	var author crm.Author
	var actor crm.Actor
	var customerEvent *crm.Event
	if participant {
		author = crm.Author{Kind: "participant", Name: name}
		if author.Name == "" {
			author.Name = in.From[0].Address
		}
		actor = actorFrom(ctx, systemActor)
	} else {
		var customerChanged bool
		if c, customerChanged, err = tx.customerOwning(ctx, name, in.From, true, o); err != nil {
			return nil, nil, err
		}
		actor = actorFrom(ctx, crm.Actor{Kind: "customer", ID: c.ID})
		if customerChanged {
			if customerEvent, err = tx.event(ctx, crm.EventCustomerUpdated, 0, c.ID, 0, actor, c); err != nil {
				return nil, nil, err
			}
		}
		author = crm.Author{Kind: "customer", ID: c.ID, Name: c.Name}
	}

	newTicket, guessed := t == nil, false
	if newTicket {
		status, tags := crm.StatusOpen, in.NewTicketTags
		if orphan {
			status = crm.StatusClosed
			if !slices.Contains(tags, crm.TagBounce) {
				tags = append(slices.Clip(tags), crm.TagBounce)
				slices.Sort(tags)
			}
		}
		participants, err := tx.addParticipants(ctx, nil, in, c.ID)
		if err != nil {
			return nil, nil, err
		}
		// Built here rather than read back: every column is one written just now.
		t = &crm.Ticket{InboxID: in.InboxID, CustomerID: c.ID, Subject: inboundSubject(in),
			Status: status, Priority: crm.PriorityNormal, Channel: channel, LinkedTicketID: linked,
			Participants: participants, CreatedAt: tx.now, UpdatedAt: tx.now, LastMessageAt: at, Tags: []string{}}
		startWaiting(t, in, at)
		// A new customer's first ticket gets the guess of their message as it opens.
		var model int64
		if newSender && status == crm.StatusOpen {
			model, guessed = crm.ApplyFirstGuess(t, tx.firstGuess)
		}
		reason, confidence, suggestions, err := crm.ReasonColumns(t)
		if err != nil {
			return nil, nil, err
		}
		insert := `INSERT INTO tickets (id, inbox_id, customer_id, subject, status,
			priority, channel, thread_key, linked_ticket_id, participants, created_at, updated_at, last_message_at, search,
			waiting_since, reason_id, reason_source, reason_confidence, reason_suggestions, reason_model)
			VALUES (coalesce(?::bigint, nextval(pg_get_serial_sequence('tickets', 'id'))),
				?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, to_tsvector('parley', ?), ?::bigint, ?::bigint, ?, ?::bigint, ?, ?)`
		args := []any{nullID(tx.taken.ticket), t.InboxID, t.CustomerID, t.Subject, t.Status, t.Priority, t.Channel,
			in.ThreadKey, nullID(linked), crm.ParticipantsJSON(participants), ms(tx.now), ms(tx.now), ms(at), searchText(t.Subject),
			nullMS(t.WaitingSince), reason, t.ReasonSource, confidence, suggestions, model}
		if t.ID, tx.taken.ticket = tx.taken.ticket, 0; t.ID != 0 {
			tx.later(insert, args...)
		} else if err := tx.QueryRowContext(ctx, insert+` RETURNING id`, args...).Scan(&t.ID); err != nil {
			return nil, nil, fmt.Errorf("insert ticket: %w", err)
		}
		if len(tags) > 0 {
			tx.later(`INSERT INTO ticket_tags (ticket_id, tag) SELECT ?::bigint, unnest(?::text[])`, t.ID, tags)
			t.Tags = append(t.Tags, tags...)
		}
	} else {
		if at.After(t.LastMessageAt) {
			t.LastMessageAt = at
		}
		t.UpdatedAt = tx.now
		startWaiting(t, in, at)
		if err := tx.saveActivity(ctx, t); err != nil {
			return nil, nil, err
		}
		if err := tx.clearTags(ctx, t, in.ClearTicketTags); err != nil {
			return nil, nil, err
		}
		participants, err := tx.addParticipants(ctx, t.Participants, in, t.CustomerID)
		if err != nil {
			return nil, nil, err
		}
		if len(participants) != len(t.Participants) {
			if err := tx.saveParticipants(ctx, t.ID, participants); err != nil {
				return nil, nil, err
			}
			t.Participants = participants
		}
	}

	m := &crm.Message{TicketID: t.ID, InboxID: in.InboxID, Direction: crm.DirIn, Channel: channel,
		Author: author, Text: in.Text, HTML: in.HTML, Status: crm.MsgReceived, ExternalID: in.ExternalID,
		Attachments: []*crm.Attachment{}, CreatedAt: at, MailAddresses: in.Mail}
	insert := `INSERT INTO messages (id, ticket_id, inbox_id, direction, channel,
		author_kind, author_id, author_name, text, html, status, external_id, sender, mail, content_hash,
		created_at, updated_at, search)
		VALUES (coalesce(?::bigint, nextval(pg_get_serial_sequence('messages', 'id'))),
			?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, to_tsvector('parley', ?))`
	args := []any{nullID(tx.taken.message), m.TicketID, m.InboxID, m.Direction, m.Channel, author.Kind, author.ID,
		author.Name, m.Text, m.HTML, m.Status, m.ExternalID, in.From[0].Kind + ":" + in.From[0].Address,
		crm.MailJSON(in.Mail), in.ContentHash, ms(at), ms(tx.now), searchText(m.Text)}
	if m.ID, tx.taken.message = tx.taken.message, 0; m.ID != 0 {
		tx.later(insert, args...)
	} else if err := tx.QueryRowContext(ctx, insert+` RETURNING id`, args...).Scan(&m.ID); err != nil {
		return nil, nil, fmt.Errorf("insert message: %w", err)
	}
	if err := tx.saveReferences(ctx, m.ID, in); err != nil {
		return nil, nil, err
	}
	if c != nil && !newSender { // a customer made just now has no orders to link
		if err := tx.linkOrders(ctx, t.ID, c.ID, in.Subject+"\n"+in.Text); err != nil {
			return nil, nil, err
		}
	}
	if guessed && t.ReasonID != nil {
		if err := tx.insertReasonText(ctx, t.ID, *t.ReasonID, crm.ReasonText(t.Subject, in.Text)); err != nil {
			return nil, nil, err
		}
	}

	for i, na := range in.Attachments {
		a := &crm.Attachment{MessageID: m.ID, ContentType: na.ContentType, Size: int64(len(na.Data)), SHA256: sums[i]}
		if a.ContentType == "" {
			a.ContentType = "application/octet-stream"
		}
		a.Filename = crm.AttachmentName(na.Filename, a.ContentType)
		err := tx.QueryRowContext(ctx, `INSERT INTO attachments (message_id, filename, content_type, size, sha256, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, a.MessageID, a.Filename, a.ContentType, a.Size, a.SHA256, ms(tx.now)).Scan(&a.ID)
		if err != nil {
			return nil, nil, fmt.Errorf("insert attachment: %w", err)
		}
		a.URL = fmt.Sprintf("/api/v1/attachments/%d", a.ID)
		m.Attachments = append(m.Attachments, a)
	}
	// The attachment ids exist only now, and the message row had to come first; the
	// HTML is linked before the event, so that nobody ever sees the cid: links.
	if h := linkContentIDs(m.HTML, in.ContentIDs, m.Attachments); h != m.HTML && len(m.Text)+len(h) <= maxInboundLen {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET html = ? WHERE id = ?`, h, m.ID); err != nil {
			return nil, nil, fmt.Errorf("link inline images: %w", err)
		}
		m.HTML = h
	}

	if newSender && customerEvent != nil {
		// The customer made just now has tickets only if this message opened one: its
		// event's inboxes are known without asking (see eventInboxes).
		customerEvent.InboxIDs = []int64{}
		if newTicket {
			customerEvent.InboxIDs = []int64{t.InboxID}
		}
	}
	typ := crm.EventTicketUpdated
	if newTicket {
		typ = crm.EventTicketCreated
	}
	if err := tx.ticketEvent(ctx, typ, t, actor, t); err != nil {
		return nil, nil, err
	}
	if err := tx.ticketEvent(ctx, crm.EventMessageCreated, t, actor, m); err != nil {
		return nil, nil, err
	}
	if rep.id != 0 && in.Bounce.Failed && rep.status != crm.MsgFailed {
		if err := tx.failMessage(ctx, rep.id, in.Bounce.Reason); err != nil {
			return nil, nil, fmt.Errorf("mark bounced message failed: %w", err)
		}
	}
	r := &crm.IngestResult{TicketID: t.ID, MessageID: m.ID, CustomerID: t.CustomerID, NewTicket: newTicket}
	if c != nil { // a participant's message is filed for the ticket's customer
		r.CustomerID = c.ID
	}
	return r, t, nil
}

// clearTags removes the tags of clear from ticket t, which has its tags.
func (tx *Tx) clearTags(ctx context.Context, t *crm.Ticket, clear []string) error {
	kept := slices.DeleteFunc(slices.Clone(t.Tags), func(tag string) bool { return slices.Contains(clear, tag) })
	if len(kept) == len(t.Tags) {
		return nil
	}
	tx.later(`DELETE FROM ticket_tags WHERE ticket_id = ? AND tag = ANY(?::text[])`, t.ID, clear)
	t.Tags = kept
	return ctx.Err()
}

// addParticipants returns the participants have of a ticket of customerID with the
// people in.Participants names added, leaving out the customer's own addresses. The
// customer's addresses are read only when someone new would be added.
func (tx *Tx) addParticipants(ctx context.Context, have []crm.Address, in *crm.Inbound, customerID int64) ([]crm.Address, error) {
	if _, added := crm.AddParticipants(have, in.Participants, nil); !added {
		return have, nil
	}
	own, err := queryStrings(ctx, tx, `SELECT address FROM identities WHERE customer_id = ? AND kind = 'email'`, customerID)
	if err != nil {
		return nil, err
	}
	list, _ := crm.AddParticipants(slices.Clip(have), in.Participants, func(a string) bool { return slices.Contains(own, a) })
	return list, nil
}

// saveParticipants writes the participants of ticket id.
func (tx *Tx) saveParticipants(ctx context.Context, id int64, list []crm.Address) error {
	tx.later(`UPDATE tickets SET participants = ? WHERE id = ?`, crm.ParticipantsJSON(list), id)
	return ctx.Err()
}

// saveReferences records the References of inbound message id, the newest
// maxReferences, in their order.
func (tx *Tx) saveReferences(ctx context.Context, id int64, in *crm.Inbound) error {
	refs := in.References
	if len(refs) == 0 {
		return nil
	}
	if len(refs) > maxReferences {
		refs = refs[len(refs)-maxReferences:]
	}
	tx.later(`INSERT INTO message_refs (message_id, pos, inbox_id, ref)
		SELECT ?::bigint, j.key - 1, ?::bigint, j.value FROM unnest(?::text[]) WITH ORDINALITY j (value, key)`,
		id, in.InboxID, refs)
	return ctx.Err()
}

// reported is the outbound message a delivery report is about.
type reported struct {
	id, ticketID int64
	status       string
}

// reportedMessage returns the outbound message of the inbox that in.Bounce names first,
// or the zero value. Only the inbox's own outbound messages count: a report can be
// about nothing else, and it must not fail, or join the ticket of, anything else.
func (tx *Tx) reportedMessage(ctx context.Context, in *crm.Inbound) (reported, error) {
	var r reported
	if in.Bounce == nil || len(in.Bounce.ExternalIDs) == 0 {
		return r, nil
	}
	err := tx.QueryRowContext(ctx, `SELECT m.id, m.ticket_id, m.status FROM unnest(?::text[]) WITH ORDINALITY j (value, key)
		JOIN messages m ON m.inbox_id = ? AND m.external_id = j.value
		WHERE m.direction = 'out' ORDER BY j.key LIMIT 1`, in.Bounce.ExternalIDs, in.InboxID).Scan(&r.id, &r.ticketID, &r.status)
	if err != nil && !isNoRows(err) {
		return r, fmt.Errorf("find bounced message: %w", err)
	}
	return r, nil
}

// linkContentIDs returns h with the "cid:" links that cids names pointed at the
// attachments of those indexes. It reads h once, whatever the number of inline parts:
// it runs in the writer, and h may be 1 MiB.
func linkContentIDs(h string, cids map[string]int, atts []*crm.Attachment) string {
	if len(cids) == 0 || !strings.Contains(h, `"cid:`) {
		return h
	}
	urls := make(map[string]string, 2*len(cids))
	for cid, i := range cids { // sanitized HTML has attribute values escaped
		urls[html.EscapeString(cid)] = atts[i].URL
	}
	for cid, i := range cids {
		urls[cid] = atts[i].URL
	}
	var b strings.Builder
	for {
		i := strings.Index(h, `"cid:`)
		if i < 0 {
			break
		}
		rest := h[i+len(`"cid:`):]
		j := strings.IndexByte(rest, '"')
		if j < 0 {
			break
		}
		if url, ok := urls[rest[:j]]; ok {
			b.WriteString(h[:i+1])
			b.WriteString(url)
			b.WriteByte('"')
			h = rest[j+1:]
			continue
		}
		b.WriteString(h[:i+len(`"cid:`)])
		h = rest
	}
	b.WriteString(h)
	return b.String()
}

// threadTicket finds the ticket of the inbox an inbound message continues: the ticket
// of the message a delivery report is about (reportTicket), else the verified TicketID,
// else the newest message it references, else (with FindReferrer) the newest message
// that references it, else the guessed GuessTicketID when it is the ticket of the
// sender's customer (owner, 0 for none) and no referenced message exists, else the
// newest ticket with its thread key, thread, read with the duplicate check. Merged
// tickets are followed. It returns nil when none matches.
func (tx *Tx) threadTicket(ctx context.Context, in *crm.Inbound, thread *crm.Ticket, reportTicket, owner int64) (*crm.Ticket, error) {
	// follow returns t, or the ticket it was merged into, if it is of the inbox.
	follow := func(t *crm.Ticket, err error) (*crm.Ticket, error) {
		for i := 0; err == nil && t != nil && t.MergedInto != 0 && i < 10; i++ {
			t, err = tx.ticketWhere(ctx, `t.id = ?`, t.MergedInto)
		}
		if err != nil || t == nil || t.InboxID != in.InboxID {
			return nil, err
		}
		return t, nil
	}
	for _, id := range []int64{reportTicket, in.TicketID} {
		if id == 0 {
			continue
		}
		if t, err := follow(tx.ticketWhere(ctx, `t.id = ?`, id)); t != nil || err != nil {
			return t, err
		}
	}
	guess := in.GuessTicketID
	if refs := in.References; len(refs) > 0 {
		if len(refs) > maxReferences {
			refs = refs[len(refs)-maxReferences:]
		}
		t, err := tx.ticketWhere(ctx, `t.id = (SELECT ticket_id FROM messages WHERE inbox_id = ?
			AND external_id = ANY(?::text[]) ORDER BY id DESC LIMIT 1)`, in.InboxID, refs)
		if err != nil {
			return nil, err
		}
		if t != nil {
			guess = 0 // a known reference outranks a guess, even one that leads nowhere
			if t, err := follow(t, nil); t != nil || err != nil {
				return t, err
			}
		}
	}
	if in.FindReferrer {
		t, err := tx.ticketWhere(ctx, `t.id = (SELECT m.ticket_id FROM message_refs r
			JOIN messages m ON m.id = r.message_id WHERE r.inbox_id = ? AND r.ref = ?
			ORDER BY r.message_id DESC LIMIT 1)`, in.InboxID, in.ExternalID)
		if err != nil {
			return nil, err
		}
		if t != nil {
			guess = 0
			if t, err := follow(t, nil); t != nil || err != nil {
				return t, err
			}
		}
	}
	if guess != 0 {
		t, err := follow(tx.ticketWhere(ctx, `t.id = ?`, guess))
		if err != nil || (t != nil && owner != 0 && t.CustomerID == owner) {
			return t, err
		}
	}
	if thread != nil {
		return follow(thread, nil)
	}
	return nil, nil
}

// ticketWhere returns the first ticket matching cond, on tickets t, with its tags, or
// nil when none does. It sees every inbox: Ingest works for the system.
func (tx *Tx) ticketWhere(ctx context.Context, cond string, args ...any) (*crm.Ticket, error) {
	t, err := scanTicketWithTags(tx.QueryRowContext(ctx, `SELECT `+ticketListCols+` FROM tickets t WHERE `+cond, args...))
	if isNoRows(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("find ticket: %w", err)
	}
	return t, nil
}

// inboxKind returns the kind of an inbox the agent in ctx may see. Returns not_found.
func inboxKind(ctx context.Context, q queryer, id int64) (string, error) {
	vis, args := inboxFilter(ctx, "i.id")
	var kind string
	err := q.QueryRowContext(ctx, `SELECT i.kind FROM inboxes i WHERE i.id = ? AND `+vis,
		append([]any{id}, args...)...).Scan(&kind)
	if isNoRows(err) {
		return "", crm.Errorf(crm.ENOTFOUND, "inbox %d not found", id)
	} else if err != nil {
		return "", fmt.Errorf("find inbox: %w", err)
	}
	return kind, nil
}

// inboundSubject is the subject of a ticket an inbound message opens: its own subject,
// else the first line of its text.
func inboundSubject(in *crm.Inbound) string {
	if s := strings.TrimSpace(in.Subject); s != "" {
		return crm.CutRunes(s, 300)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(in.Text), "\n")
	if line = strings.TrimSpace(line); line != "" {
		return crm.CutRunes(line, 120)
	}
	return "(no subject)"
}
