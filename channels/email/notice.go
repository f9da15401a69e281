package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"parley/crm"
	"parley/identity"

	"github.com/emersion/go-message/mail"
)

// SendNotice mails a plain-text notice of Parley's own, not part of any ticket (an
// invitation to a new agent), from the inbox's address through its SMTP server, at once
// and without the outbox: the admin who asked waits for the answer, and sees an error to
// act on. It is marked Auto-Submitted, so that autoresponders do not answer it. Returns
// invalid for a bad address or an inbox that cannot send; other errors are the server's.
func (c *Channel) SendNotice(ctx context.Context, in *crm.Inbox, to, subject, text string) error {
	if err := in.Accepts(); err != nil {
		return crm.Errorf(crm.EINVALID, "inbox %s cannot send: %s", in.Name, crm.ErrorMessage(err))
	}
	cfg := ConfigOf(in)
	if cfg.Address == "" || cfg.SMTPHost == "" {
		return crm.Errorf(crm.EINVALID, "inbox %s has no address or smtp server", in.Name)
	}
	addr, err := identity.Normalize(crm.IdentityEmail, to, "")
	if err != nil {
		return crm.Errorf(crm.EINVALID, "invalid email address %q", to)
	}
	rnd := make([]byte, 8)
	rand.Read(rnd)
	var h mail.Header
	h.SetDate(time.Now())
	h.SetAddressList("From", []*mail.Address{{Name: headerSafe(cfg.FromName), Address: cfg.Address}})
	h.SetAddressList("To", []*mail.Address{{Address: addr}})
	h.SetSubject(headerSafe(subject))
	h.SetMessageID("parley.notice." + hex.EncodeToString(rnd) + "@" + cfg.Domain())
	h.Set("Auto-Submitted", "auto-generated")
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return fmt.Errorf("write notice: %w", err)
	}
	io.WriteString(w, text)
	if err := w.Close(); err != nil {
		return fmt.Errorf("write notice: %w", err)
	}
	sc, err := c.dialSMTP(ctx, cfg)
	if err != nil {
		return err
	}
	defer sc.Close()
	if err := sc.SendMail(cfg.Address, []string{addr}, &buf); err != nil {
		return smtpError(err)
	}
	if err := sc.Quit(); err != nil {
		c.logger.Debug("smtp quit", "err", err) // the message was accepted already
	}
	return nil
}
