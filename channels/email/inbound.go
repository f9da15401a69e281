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
	// bounceSender files every delivery report, so that no mail server's
	// MAILER-DAEMON becomes a customer.
	bounceSender = "mailer-daemon@parley.invalid"
	bounceName   = "Mail delivery reports"
)

// Bounds of a plausible Date header, against the mail's arrival.
const (
	maxDateSkew = 5 * time.Minute    // clocks of mail servers differ
	maxDateAge  = 3 * 24 * time.Hour // greylisting and retries delay mail by days at most
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
	// Mail the inbox's own address sent (someone answering from a mail program) is no
	// customer's; but a group that is the support address itself rewrites the From of
	// the customers' mail to its own, and names the writer elsewhere.
	if p.FromAddress == cfg.Address && writerOf(cfg, p).via == nil {
		return &Delivery{Ignored: "sent from the inbox's own address"}, nil
	}
	if strings.HasPrefix(p.MessageID, "parley.") && strings.HasSuffix(p.MessageID, "@"+cfg.Domain()) {
		return &Delivery{Ignored: "a copy of a message Parley sent"}, nil
	}
	res, err := c.store.Ingest(ctx, inbound(inbox, cfg, p, raw, hashID, received, time.Now()))
	if code := crm.ErrorCode(err); code == crm.EINVALID || code == crm.ETOOLARGE {
		return c.quarantine(ctx, inbox, raw, hashID, received, err)
	} else if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	if res.Duplicate {
		c.logger.Info("duplicate mail dropped", "inbox", inbox.ID, "message_id", p.MessageID, "from", p.FromAddress,
			"ticket", res.TicketID, "message", res.MessageID)
	}
	return &Delivery{Result: res}, nil
}

// inbound turns a parsed mail into a crm.Inbound with everything the store files along
// with it (the report of a bounce, inline images, tags, addresses), so that one mail is
// one commit and one set of events, and agents never see a mail before its images are
// linked. received is when the mail arrived (zero for unknown), now the time.
func inbound(inbox *crm.Inbox, cfg *Config, p *Parsed, raw *rawCopy, hashID string, received, now time.Time) *crm.Inbound {
	in := &crm.Inbound{InboxID: inbox.ID, Channel: crm.ChannelEmail, ExternalID: p.MessageID,
		Subject: p.Subject, References: p.References, ReceivedAt: messageTime(p.Date, received, now),
		ContentHash: contentHash(p)}
	if in.ExternalID == "" {
		in.ExternalID = hashID
	}
	notes := p.Notes
	w := writerOf(cfg, p)
	in.FromName = w.name
	in.Bounce = bounceReport(p)
	if in.Bounce != nil {
		// A delivery report is no one's message: filed under one placeholder, it never
		// makes a customer of a mail server.
		in.From = []crm.Identity{{Kind: crm.IdentityEmail, Address: bounceSender}}
		in.FromName = bounceName
	} else {
		from, err := identity.Normalize(crm.IdentityEmail, w.address, "")
		if err != nil || strings.HasSuffix(from, ".invalid") {
			from = unknownSender
			if in.FromName == "" {
				in.FromName = "Unknown sender"
			}
			notes = append(notes, "The sender's address is missing or unreadable.")
		}
		in.From = []crm.Identity{{Kind: crm.IdentityEmail, Address: from}}
		in.Participants = participants(cfg, p, from, w.list)
	}
	in.Mail = crm.MailAddresses{To: addresses(p.To), CC: addresses(p.CC), Via: w.via}
	if p.FromAddress != "" {
		in.Mail.From = &crm.Address{Name: p.FromName, Address: p.FromAddress}
	}

	// Threading, strongest first: the message a bounce reports on, the signed reply-to
	// address, then the Message-IDs the store knows (References, and those that
	// reference this mail), then a subject token of the ticket's own customer; the store
	// checks each inside its transaction.
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
	if failed == "" {
		in.GuessTicketID = TicketOfSubject(p.Subject)
		in.FindReferrer = p.MessageID != ""
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
	switch {
	case in.Bounce != nil:
	case p.AutoReply:
		in.NewTicketTags = []string{TagAutoReply}
	default:
		// The auto-reply tag says what opened the ticket; a real message ends that.
		in.ClearTicketTags = []string{TagAutoReply}
	}
	return in
}

// messageTime is when a mail was written as agents should see it: its Date header when
// that is plausible (not in the future, and not more than maxDateAge before it
// arrived), else when it arrived; received is zero when unknown (then now).
func messageTime(date, received, now time.Time) time.Time {
	arrived := received
	if arrived.IsZero() || arrived.After(now) {
		arrived = now
	}
	if date.IsZero() || date.After(now.Add(maxDateSkew)) || date.After(arrived.Add(maxDateSkew)) ||
		arrived.Sub(date) > maxDateAge {
		return arrived
	}
	return date
}

// contentHash is the hash of what a mail says: its sender, subject, date, text, HTML and
// attachments, without the header lines that each delivery adds (Received, Delivered-To),
// so that the same mail delivered twice has the same hash.
func contentHash(p *Parsed) string {
	h := sha256.New()
	for _, s := range []string{p.FromAddress, p.Subject, p.Date.UTC().Format(time.RFC3339), p.Text, p.HTML} {
		io.WriteString(h, s)
		h.Write([]byte{0})
	}
	for _, a := range p.Attachments {
		sum := sha256.Sum256(a.Data)
		h.Write(sum[:])
		io.WriteString(h, a.Filename)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writer is who wrote a mail as Parley files it.
type writer struct {
	address, name string
	via           *crm.Address // the address the mail came through, when not the writer's
	list          string       // the mailing list the writer wrote through, copied on replies
}

// viaName matches the display name a list or group gives mail it rewrites for DMARC:
// "Ann Lee via Shop Group", "'Ann Lee' via Shop Group".
var viaName = regexp.MustCompile(`^(.*?)\s+via\s+\S`)

// writerOf decides who wrote a mail: the sender of From; the original sender of mail
// that a list or group passed on under its own From (X-Original-From, X-Original-Sender,
// or the one Reply-To address that is not the list's); else, unless the inbox turns
// it off, the one address of a Reply-To other than From, as contact forms and shop
// systems send it. An empty, broken or multi-address Reply-To leaves From.
func writerOf(cfg *Config, p *Parsed) writer {
	w := writer{address: p.FromAddress, name: p.FromName}
	from := &crm.Address{Name: p.FromName, Address: p.FromAddress}
	valid := func(a string) bool {
		n, err := identity.Normalize(crm.IdentityEmail, a, "")
		return err == nil && a != p.FromAddress && !isOwnAddress(cfg, n) && !strings.HasSuffix(n, ".invalid")
	}
	nameOf := func(name string) string {
		if name != "" {
			return name
		}
		if m := viaName.FindStringSubmatch(p.FromName); m != nil {
			return strings.Trim(m[1], `'" `)
		}
		return ""
	}
	list := p.ListPost
	if list != "" || p.ListID != "" {
		rewritten := p.FromAddress == list || viaName.MatchString(p.FromName)
		switch o := p.OriginalFrom; {
		case o.Address != "" && valid(o.Address):
			w = writer{address: o.Address, name: nameOf(o.Name), via: from}
		case rewritten:
			var others []Addr
			for _, a := range p.ReplyTo {
				if a.Address != list && a.Address != p.FromAddress {
					others = append(others, a)
				}
			}
			if len(others) == 1 && valid(others[0].Address) {
				w = writer{address: others[0].Address, name: nameOf(others[0].Name), via: from}
			}
		}
		if list == "" && rewritten && w.via != nil {
			list = p.FromAddress
		}
		if list != "" && list != w.address && !isOwnAddress(cfg, list) {
			w.list = list
		}
		return w
	}
	if cfg.UseReplyTo && !p.ReplyToBroken && len(p.ReplyTo) == 1 && valid(p.ReplyTo[0].Address) {
		w = writer{address: p.ReplyTo[0].Address, name: p.ReplyTo[0].Name, via: from}
	}
	return w
}

// isOwnAddress reports whether addr is the inbox's address or one of its reply
// addresses (local+token@domain).
func isOwnAddress(cfg *Config, addr string) bool {
	local, domain, _ := strings.Cut(cfg.Address, "@")
	return addr == cfg.Address || (local != "" && strings.HasPrefix(addr, local+"+") && strings.HasSuffix(addr, "@"+domain))
}

// maxShown is how many To and CC addresses of a mail the thread shows.
const maxShown = 50

// addresses returns the first maxShown of list for the store.
func addresses(list []Addr) []crm.Address {
	var out []crm.Address
	for _, a := range list[:min(len(list), maxShown)] {
		out = append(out, crm.Address{Name: a.Name, Address: a.Address})
	}
	return out
}

// participants returns who else a mail went to: its To and CC and the list it came
// through, without the inbox's own addresses and the writer (customer).
func participants(cfg *Config, p *Parsed, customer, list string) []crm.Address {
	var out []crm.Address
	seen := map[string]bool{customer: true}
	add := func(a Addr) {
		if seen[a.Address] || isOwnAddress(cfg, a.Address) || strings.HasSuffix(a.Address, ".invalid") ||
			len(out) == crm.MaxParticipants {
			return
		}
		if _, err := identity.Normalize(crm.IdentityEmail, a.Address, ""); err != nil {
			return
		}
		seen[a.Address] = true
		out = append(out, crm.Address{Name: a.Name, Address: a.Address})
	}
	if list != "" {
		add(Addr{Address: list})
	}
	for _, a := range append(append([]Addr{}, p.To...), p.CC...) {
		add(a)
	}
	return out
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
	bounceTitle = regexp.MustCompile(`(?i)(undeliver|delivery status notification|delivery failure|delivery has failed|mail delivery failed|returned mail|failure notice|non remis|unzustellbar|nicht zustellbar)`)
)

// bounceReport returns what a bounce says about the message it reports on, or nil for
// a mail that is no bounce. Reports that follow RFC 3464 name the message in their copy
// of it; other bounces are recognised by their sender (MAILER-DAEMON, postmaster) or by
// a machine-sent (Auto-Submitted) mail with a bounce's subject, and searched for
// Parley's Message-IDs. The store picks the first id that is one of the inbox's.
func bounceReport(p *Parsed) *crm.Bounce {
	if p.Bounce == nil && (bounceFrom.MatchString(p.FromAddress) || p.AutoSubmitted && bounceTitle.MatchString(p.Subject)) {
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
