package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"html"
	"io"
	"regexp"
	"strings"
	"time"

	"parley/crm"
	"parley/identity"
)

// Placeholder senders. The .invalid domain (RFC 2606) can never receive mail, so Send
// refuses to write to them.
const (
	unknownSender    = "unknown-sender@parley.invalid"
	quarantineSender = "quarantine@parley.invalid"
)

// Tags put on tickets the email channel opens for noise.
const (
	TagAutoReply  = "auto-reply"
	TagQuarantine = "quarantine"
)

// maxStoredText is what the store takes of text and HTML together, with room for notes.
const maxStoredText = 1<<20 - 8<<10

// rawCopy keeps the first max bytes of a message, hashes all of it and remembers the
// first read error of the source, so that a message cut short by a broken connection is
// retried instead of filed half.
type rawCopy struct {
	src   io.Reader
	buf   bytes.Buffer
	max   int
	n     int64
	over  bool
	sum   hash.Hash
	rdErr error
}

func newRawCopy(src io.Reader, max int) *rawCopy {
	return &rawCopy{src: src, max: max, sum: sha256.New()}
}

func (r *rawCopy) Read(p []byte) (int, error) {
	n, err := r.src.Read(p)
	if n > 0 {
		r.sum.Write(p[:n])
		r.n += int64(n)
		if !r.over && r.buf.Len()+n <= r.max {
			r.buf.Write(p[:n])
		} else if !r.over {
			r.over = true
			r.buf = bytes.Buffer{}
		}
	}
	if err != nil && err != io.EOF && r.rdErr == nil {
		r.rdErr = err
	}
	return n, err
}

// Delivery is the outcome of filing one fetched mail.
type Delivery struct {
	Result  *crm.IngestResult // nil when the mail was ignored
	Ignored string            // why the mail was not filed, for the log
}

// Deliver parses a raw mail from r and files it in the inbox: threaded, deduplicated
// by its Message-ID (or the hash of its bytes), with bounces matched to the message they
// bounce and a mail that cannot be read quarantined. received is when the mail server
// got it (zero for unknown). An error means the mail was not filed and should be tried
// again later: the source failed or the store is unavailable.
func (c *Channel) Deliver(ctx context.Context, inbox *crm.Inbox, r io.Reader, received time.Time) (*Delivery, error) {
	return c.deliver(ctx, inbox, r, received, "")
}

// deliver is Deliver with a note for the agent about how the mail was read.
func (c *Channel) deliver(ctx context.Context, inbox *crm.Inbox, r io.Reader, received time.Time, note string) (*Delivery, error) {
	cfg := ConfigOf(inbox)
	raw := newRawCopy(r, crm.MaxAttachmentSize)
	p, perr := Parse(raw)
	if _, err := io.Copy(io.Discard, raw); err != nil && raw.rdErr == nil {
		raw.rdErr = err
	}
	if raw.rdErr != nil {
		return nil, fmt.Errorf("read message: %w", raw.rdErr)
	}
	hashID := "sha256:" + hex.EncodeToString(raw.sum.Sum(nil))
	if perr == nil && note != "" {
		p.Notes = append(p.Notes, note)
	}
	if perr != nil {
		return c.quarantine(ctx, inbox, raw, hashID, received, perr)
	}
	if p.FromAddress == cfg.Address {
		return &Delivery{Ignored: "sent from the inbox's own address"}, nil
	}
	if strings.HasPrefix(p.MessageID, "parley.") && strings.HasSuffix(p.MessageID, "@"+cfg.Domain()) {
		return &Delivery{Ignored: "a copy of a message Parley sent"}, nil
	}
	res, err := c.store.Ingest(ctx, inbound(inbox, cfg, p, raw, hashID, received))
	if code := crm.ErrorCode(err); code == crm.EINVALID || code == crm.ETOOLARGE {
		return c.quarantine(ctx, inbox, raw, hashID, received, err)
	} else if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return &Delivery{Result: res}, nil
}

// inbound turns a parsed mail into a crm.Inbound with everything the store files along
// with it (the report of a bounce, inline images, tags), so that one mail is one commit
// and one set of events, and agents never see a mail before its images are linked.
func inbound(inbox *crm.Inbox, cfg *Config, p *Parsed, raw *rawCopy, hashID string, received time.Time) *crm.Inbound {
	in := &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: p.MessageID,
		FromName: p.FromName, Subject: p.Subject, References: p.References, ReceivedAt: received}
	if in.ExternalID == "" {
		in.ExternalID = hashID
	}
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = p.Date
	}
	notes := p.Notes
	from, err := identity.Normalize(crm.IdentityEmail, p.FromAddress, "")
	if err != nil || strings.HasSuffix(from, ".invalid") {
		from = unknownSender
		if in.FromName == "" {
			in.FromName = "Unknown sender"
		}
		notes = append(notes, "The sender's address is missing or unreadable.")
	}
	in.From = []crm.Identity{{Kind: crm.IdentityEmail, Address: from}}

	// Threading, strongest first: the message a bounce reports on, the signed reply-to
	// address, then the Message-IDs the store knows (References), then a subject token
	// of the ticket's own customer; the store checks each inside its transaction.
	// A mail that failed the sender checks may be forged: the reply-to address, the
	// Message-IDs of a thread (no secret: anyone copied on it has them) and the subject
	// token would let it join a customer's ticket, so it gets none of them.
	failed := senderCheckFailure(p.AuthResults, cfg.TrustedAuthservID)
	if failed != "" {
		in.References = nil
	}
	for _, addr := range p.Recipients {
		if failed != "" {
			break
		}
		if id := TicketOfAddress(cfg.Address, cfg.ReplySecret, addr); id != 0 {
			in.TicketID = id
			break
		}
	}
	in.Bounce = bounceReport(p)
	if failed == "" {
		in.GuessTicketID = TicketOfSubject(p.Subject)
	}

	reply, quoted := trimQuoted(p.Text)
	in.HTML = p.HTML
	if in.HTML == "" && quoted != "" {
		in.HTML = quotedHTML(reply, quoted)
	}
	in.Text = reply
	if in.Text == "" && len(p.Attachments) == 0 && p.Bounce == nil {
		in.Text = "(empty message)"
	}
	if failed != "" {
		line := unverifiedLine + " (" + failed + ")"
		in.Text = strings.TrimSpace(line + "\n\n" + in.Text)
		if in.HTML != "" {
			in.HTML = "<p><strong>" + html.EscapeString(line) + "</strong></p>" + in.HTML
		}
	}

	for i, a := range p.Attachments {
		in.Attachments = append(in.Attachments, a.NewAttachment)
		if a.ContentID == "" {
			continue
		}
		if in.ContentIDs == nil {
			in.ContentIDs = map[string]int{}
		}
		if _, ok := in.ContentIDs[a.ContentID]; !ok { // the first part with a content-id is the one
			in.ContentIDs[a.ContentID] = i
		}
	}
	if raw.over {
		notes = append(notes, fmt.Sprintf("The original message (%d MiB) is too large to keep as message.eml.", raw.n>>20))
	} else {
		in.Attachments = append(in.Attachments, crm.NewAttachment{Filename: "message.eml",
			ContentType: "message/rfc822", Data: raw.buf.Bytes()})
	}
	if len(in.Text)+len(in.HTML) > maxStoredText {
		in.HTML = sanitize(crm.CutBytes(in.HTML, max(0, maxStoredText-len(in.Text))))
		if len(in.Text)+len(in.HTML) > maxStoredText {
			in.HTML = ""
		}
	}
	addNotes(in, notes)
	if p.AutoReply && p.Bounce == nil {
		in.NewTicketTags = []string{TagAutoReply}
	}
	return in
}

// addNotes tells the agent what Parley dropped or could not read.
func addNotes(in *crm.Inbound, notes []string) {
	if len(notes) == 0 {
		return
	}
	var t, h strings.Builder
	for _, n := range notes {
		t.WriteString("\n\n[Parley: " + n + "]")
		h.WriteString("<p><em>Parley: " + html.EscapeString(n) + "</em></p>")
	}
	in.Text = strings.TrimSpace(in.Text + t.String())
	if in.HTML != "" {
		in.HTML += h.String()
	}
}

var (
	parleyID    = regexp.MustCompile(`parley\.\d+\.[0-9a-f]+@[A-Za-z0-9.\-]+`)
	bounceFrom  = regexp.MustCompile(`(?i)^(mailer-daemon|postmaster|mail-daemon)@`)
	bounceTitle = regexp.MustCompile(`(?i)(undeliver|delivery status notification|delivery failure|mail delivery failed|returned mail|failure notice|non remis|unzustellbar)`)
)

// bounceReport returns what a bounce says about the message it reports on, or nil for
// a mail that is no bounce. Reports that follow RFC 3464 name the message in their copy
// of it; other bounces are recognised by their sender and subject and searched for
// Parley's Message-IDs. The store picks the first id that is one of the inbox's.
func bounceReport(p *Parsed) *crm.Bounce {
	if p.Bounce == nil && bounceFrom.MatchString(p.FromAddress) && bounceTitle.MatchString(p.Subject) {
		p.Bounce = &Bounce{Failed: true}
	}
	if p.Bounce == nil {
		return nil
	}
	b := &crm.Bounce{Failed: p.Bounce.Failed, Reason: "bounced"}
	if p.Bounce.Reason != "" {
		b.Reason += ": " + p.Bounce.Reason
	}
	if p.Bounce.OriginalMessageID != "" {
		b.ExternalIDs = append(b.ExternalIDs, p.Bounce.OriginalMessageID)
	}
	b.ExternalIDs = append(b.ExternalIDs, parleyID.FindAllString(p.Text, 5)...)
	return b
}

// quarantine files a mail that cannot be read or filed as it is: a ticket from a
// placeholder sender, tagged quarantine, with the raw mail attached, so that nothing is
// lost, an admin sees it, and the fetcher moves on.
func (c *Channel) quarantine(ctx context.Context, inbox *crm.Inbox, raw *rawCopy, hashID string, received time.Time,
	cause error) (*Delivery, error) {
	c.logger.Warn("quarantined unreadable mail", "inbox", inbox.ID, "id", hashID, "err", cause)
	in := &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: hashID, FromName: "Unreadable email",
		From:    []crm.Identity{{Kind: crm.IdentityEmail, Address: quarantineSender}},
		Subject: "Unreadable email (quarantined)", ReceivedAt: received,
		Text: "Parley could not read or file this email (" + crm.CutBytes(strings.ToValidUTF8(cause.Error(), ""), 500) +
			"). The original is attached as message.eml."}
	if raw.over {
		in.Text = "Parley could not read or file this email, and it is too large to keep here; it is still in the mailbox."
	} else {
		in.Attachments = []crm.NewAttachment{{Filename: "message.eml", ContentType: "message/rfc822", Data: raw.buf.Bytes()}}
	}
	in.NewTicketTags = []string{TagQuarantine}
	res, err := c.store.Ingest(ctx, in)
	if code := crm.ErrorCode(err); code == crm.EINVALID || code == crm.ETOOLARGE {
		c.logger.Error("dropped mail that cannot be quarantined", "inbox", inbox.ID, "id", hashID, "err", err)
		return &Delivery{Ignored: "cannot be filed: " + err.Error()}, nil
	} else if err != nil {
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	return &Delivery{Result: res}, nil
}

var errNoEmail = errors.New("the customer has no email address")
