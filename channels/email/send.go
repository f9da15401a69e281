package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/identity"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

// maxRefHeader is how many ids the References header of a reply carries: the first of
// the thread and the newest ones, as RFC 5322 suggests for long threads.
const maxRefHeader = 20

// Send delivers an agent's reply by SMTP from the inbox address to the customer's email
// address and returns the Message-ID it generated, so that the customer's answer, which
// references it, threads into the ticket. A 5xx reply of the server, a customer without
// an email address or a broken inbox config fail at once (channels.Permanent); network
// errors and 4xx replies are retried by the dispatcher.
func (c *Channel) Send(ctx context.Context, out *crm.Outbound) (string, error) {
	cfg := ConfigOf(out.Inbox)
	if cfg.Address == "" || cfg.SMTPHost == "" {
		return "", channels.Permanent(errors.New("the email inbox has no address or smtp server"))
	}
	to := replyEmail(out)
	if to == "" {
		return "", channels.Permanent(errNoEmail)
	}
	cc := copied(cfg, out, to)
	id, msg, err := c.compose(ctx, cfg, out, to, cc)
	if err != nil {
		return "", err
	}
	sc, err := c.dialSMTP(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer sc.Close()
	rcpt := []string{to}
	for _, a := range cc {
		rcpt = append(rcpt, a.Address)
	}
	// Bcc goes only into the envelope: no header of the mail names it.
	rcpt = append(rcpt, blind(cfg, out, rcpt)...)
	if err := sc.SendMail(cfg.Address, rcpt, bytes.NewReader(msg)); err != nil {
		return "", smtpError(err)
	}
	if err := sc.Quit(); err != nil {
		c.logger.Debug("smtp quit", "err", err) // the message was accepted already
	}
	return id, nil
}

// smtpError marks rejections of the server (5xx) as permanent, keeping its reply.
func smtpError(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		e := fmt.Errorf("smtp server replied %d %s", se.Code, se.Message)
		if se.Code >= 500 {
			return channels.Permanent(e)
		}
		return e
	}
	return fmt.Errorf("smtp: %w", err)
}

// replyEmail returns the address to answer: the latest one the customer wrote from in this
// ticket, else the customer's first usable one, else "".
func replyEmail(out *crm.Outbound) string {
	ids := append([]crm.Identity{}, out.ReplyTo...)
	if out.Customer != nil {
		ids = append(ids, out.Customer.Identities...)
	}
	for _, id := range ids {
		if id.Kind == crm.IdentityEmail && !strings.HasSuffix(id.Address, ".invalid") {
			if a, err := identity.Normalize(crm.IdentityEmail, id.Address, ""); err == nil {
				return a
			}
		}
	}
	return ""
}

// copied returns who a reply is copied to: the CC the agent gave (or the ticket's
// participants), without the customer's address to, the inbox's own addresses and
// addresses that cannot receive mail.
func copied(cfg *Config, out *crm.Outbound, to string) []*mail.Address {
	var cc []*mail.Address
	seen := map[string]bool{to: true}
	for _, a := range out.Message.CC {
		addr, err := identity.Normalize(crm.IdentityEmail, a.Address, "")
		if err != nil || seen[addr] || isOwnAddress(cfg, addr) || strings.HasSuffix(addr, ".invalid") {
			continue
		}
		seen[addr] = true
		cc = append(cc, &mail.Address{Name: headerSafe(a.Name), Address: addr})
	}
	return cc
}

// blind returns the Bcc addresses of a reply that are not among rcpt already, nor the
// inbox's own, nor addresses that cannot receive mail.
func blind(cfg *Config, out *crm.Outbound, rcpt []string) []string {
	seen := map[string]bool{}
	for _, a := range rcpt {
		seen[a] = true
	}
	var list []string
	for _, a := range out.Message.BCC {
		addr, err := identity.Normalize(crm.IdentityEmail, a.Address, "")
		if err != nil || seen[addr] || isOwnAddress(cfg, addr) || strings.HasSuffix(addr, ".invalid") {
			continue
		}
		seen[addr] = true
		list = append(list, addr)
	}
	return list
}

// looksLikeMsgID reports whether a stored external id is a Message-ID that may go into
// In-Reply-To and References (other ids, like a hash of a message without one, may not).
func looksLikeMsgID(s string) bool {
	if len(s) > 250 || !strings.Contains(s, "@") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b >= 0x7f || b == '<' || b == '>' || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// compose writes the MIME message of a reply: multipart text and HTML, attachments,
// threading headers and the signed reply-to address.
func (c *Channel) compose(ctx context.Context, cfg *Config, out *crm.Outbound, to string, cc []*mail.Address) (string, []byte, error) {
	rnd := make([]byte, 8)
	rand.Read(rnd)
	id := "parley." + strconv.FormatInt(out.Message.ID, 10) + "." + hex.EncodeToString(rnd) + "@" + cfg.Domain()

	var refs []string
	for _, r := range out.References {
		if looksLikeMsgID(r) && r != id {
			refs = append(refs, r)
		}
	}
	if len(refs) > maxRefHeader {
		refs = append(refs[:1], refs[len(refs)-maxRefHeader+1:]...)
	}

	var h mail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*mail.Address{{Name: headerSafe(cfg.FromName), Address: cfg.Address}})
	h.SetAddressList("To", []*mail.Address{{Name: headerSafe(out.Customer.Name), Address: to}})
	if len(cc) > 0 {
		h.SetAddressList("Cc", cc)
	}
	if cfg.ReplySecret != "" {
		h.SetAddressList("Reply-To", []*mail.Address{{Name: headerSafe(cfg.FromName),
			Address: ReplyAddress(cfg.Address, cfg.ReplySecret, out.Ticket.ID)}})
	}
	h.SetSubject(ReplySubject(out.Ticket.Subject, out.Ticket.ID))
	h.SetMessageID(id)
	if len(refs) > 0 {
		h.SetMsgIDList("In-Reply-To", refs[len(refs)-1:])
		h.SetMsgIDList("References", refs)
	}
	h.Set("X-Parley-Ticket", strconv.FormatInt(out.Ticket.ID, 10))

	var buf bytes.Buffer
	mw, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return "", nil, fmt.Errorf("write message header: %w", err)
	}
	iw, err := mw.CreateInline()
	if err != nil {
		return "", nil, fmt.Errorf("write message body: %w", err)
	}
	text := strings.ReplaceAll(out.Message.Text, "\r\n", "\n")
	// A formatted reply has its HTML already (rendered from the agent's markup and
	// sanitized when stored); a plain one gets paragraphs of its text.
	body := out.Message.HTML
	if body == "" {
		body = textHTML(text)
	}
	for _, part := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", body}} {
		var ph mail.InlineHeader
		ph.SetContentType(part.typ, map[string]string{"charset": "utf-8"})
		w, err := iw.CreatePart(ph)
		if err != nil {
			return "", nil, fmt.Errorf("write %s part: %w", part.typ, err)
		}
		io.WriteString(w, part.body)
		w.Close()
	}
	iw.Close()
	for _, a := range out.Message.Attachments {
		if err := c.attach(ctx, mw, a); err != nil {
			return "", nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return "", nil, fmt.Errorf("write message: %w", err)
	}
	return id, buf.Bytes(), nil
}

func (c *Channel) attach(ctx context.Context, mw *mail.Writer, a *crm.Attachment) error {
	meta, f, err := c.store.Attachment(ctx, a.ID)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return channels.Permanent(fmt.Errorf("attachment %d is gone", a.ID))
	} else if err != nil {
		return fmt.Errorf("open attachment %d: %w", a.ID, err)
	}
	defer f.Close()
	var ah mail.AttachmentHeader
	ah.SetContentType(meta.ContentType, nil)
	ah.SetFilename(headerSafe(meta.Filename))
	w, err := mw.CreateAttachment(ah)
	if err != nil {
		return fmt.Errorf("write attachment: %w", err)
	}
	if _, err := io.Copy(w, io.LimitReader(f, crm.MaxAttachmentSize)); err != nil {
		return fmt.Errorf("write attachment: %w", err)
	}
	return w.Close()
}

// dialSMTP connects to the inbox's SMTP server with its security mode and logs in. The
// connection's deadline is ctx's (or five minutes), so a stalled server cannot hold a send.
func (c *Channel) dialSMTP(ctx context.Context, cfg *Config) (*smtp.Client, error) {
	c.defaults()
	addr := net.JoinHostPort(cfg.SMTPHost, strconv.Itoa(cfg.SMTPPort))
	dctx, cancel := context.WithTimeout(ctx, c.DialTimeout)
	defer cancel()
	conn, err := c.Outbound.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to smtp server: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Minute)
	}
	conn.SetDeadline(deadline)
	var sc *smtp.Client
	switch cfg.SMTPSecurity {
	case SecurityTLS:
		sc = smtp.NewClient(tls.Client(conn, c.tlsConfig(cfg.SMTPHost)))
		err = sc.Hello(helloName(cfg))
	case SecurityStartTLS:
		sc, err = smtp.NewClientStartTLS(conn, c.tlsConfig(cfg.SMTPHost))
	default:
		sc = smtp.NewClient(conn)
		err = sc.Hello(helloName(cfg))
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("smtp hello: %w", err)
	}
	// A failed login is a setting an admin fixes (or a sign-in an admin renews), so it
	// is retried, not permanent.
	if _, err := c.smtpLogin(ctx, sc, cfg); err != nil {
		sc.Close()
		return nil, err
	}
	return sc, nil
}

func helloName(cfg *Config) string {
	if d := cfg.Domain(); validHost(d) {
		return d
	}
	return "localhost"
}
