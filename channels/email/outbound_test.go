package email_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"parley/channels/email"
	"parley/crm"
	"parley/outbound"
)

// allowPrivate is the outbound client of tests whose mail servers listen on loopback.
var allowPrivate = outbound.New(outbound.Options{AllowPrivateNetwork: true})

// TestMailHostsRefusedAtSave refuses IMAP and SMTP hosts on internal addresses when an
// inbox is saved, naming the setting and the address; the private network allows them.
func TestMailHostsRefusedAtSave(t *testing.T) {
	e := newEnv(t, nil)
	strict := email.New(e.db, nil, quietLogger())
	for _, tt := range []struct{ key, host, want string }{
		{"imap_host", "127.0.0.1", "config.imap_host must name a public host, not 127.0.0.1 (loopback address)"},
		{"imap_host", "localhost", "not localhost (loopback address)"},
		{"imap_host", "169.254.169.254", "not 169.254.169.254 (link-local address)"},
		{"smtp_host", "10.0.0.5", "config.smtp_host must name a public host, not 10.0.0.5 (private address)"},
		{"smtp_host", "[::1]", "not ::1 (loopback address)"},
		{"smtp_host", "fd00::25", "not fd00::25 (private address)"},
	} {
		cfg := map[string]any{"address": "help@shop.example", "imap_host": "imap.shop.example", "imap_password": "x",
			"smtp_host": "smtp.shop.example"}
		cfg[tt.key] = tt.host
		err := strict.PrepareInbox(e.ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "x", Config: cfg})
		if crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(crm.ErrorMessage(err), tt.want) {
			t.Errorf("%s=%s: %v, want invalid %q", tt.key, tt.host, err, tt.want)
		}
		cfg[tt.key] = tt.host
		if err := e.ch.PrepareInbox(e.ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "x", Config: cfg}); err != nil {
			t.Errorf("%s=%s with the private network allowed: %v", tt.key, tt.host, err)
		}
	}
}

// TestMailConnectionsGoThroughOutbound names the test's IMAP and SMTP servers on
// loopback by made-up host names. The strict client refuses to connect at the dial check;
// with the private network allowed the same connection test passes.
func TestMailConnectionsGoThroughOutbound(t *testing.T) {
	e := newEnv(t, nil)
	ih, ip := hostPort(t, e.imap.Addr)
	sh, sp := hostPort(t, e.sink.addr)
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "imap.shop.example":
			return []netip.Addr{netip.MustParseAddr(ih)}, nil
		case "smtp.shop.example":
			return []netip.Addr{netip.MustParseAddr(sh)}, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	in := *e.inbox
	in.Config = map[string]any{}
	for k, v := range e.inbox.Config {
		in.Config[k] = v
	}
	in.Config["imap_host"], in.Config["imap_port"] = "imap.shop.example", ip
	in.Config["smtp_host"], in.Config["smtp_port"] = "smtp.shop.example", sp
	in.Config["imap_password"] = imapPass

	strict := e.newChannel()
	strict.Outbound = outbound.New(outbound.Options{Lookup: lookup})
	open := func(lookup func(context.Context, string) ([]netip.Addr, error)) *email.Channel {
		ch := e.newChannel()
		ch.Outbound = outbound.New(outbound.Options{AllowPrivateNetwork: true, Lookup: lookup})
		return ch
	}
	err := strict.TestInbox(e.ctx, &in)
	if err == nil || !strings.Contains(err.Error(), "refusing to connect to 127.0.0.1: loopback address") {
		t.Fatalf("IMAP with the strict client: %v, want the refusal", err)
	}
	// A reply goes out by SMTP alone: refused too, and the sink gets nothing.
	out := &crm.Outbound{Inbox: &in, Ticket: &crm.Ticket{ID: 1, Subject: "Hello"},
		Message:  &crm.Message{ID: 1, TicketID: 1, Direction: crm.DirOut, Text: "Hi"},
		Customer: &crm.Customer{ID: 1, Identities: []crm.Identity{{Kind: crm.IdentityEmail, Address: "alice@example.test"}}}}
	if _, err := strict.Send(e.ctx, out); err == nil || !strings.Contains(err.Error(), "connect to smtp server") ||
		!strings.Contains(err.Error(), "refusing to connect to 127.0.0.1: loopback address") {
		t.Fatalf("SMTP with the strict client: %v, want the refusal", err)
	}
	if _, err := open(lookup).Send(e.ctx, out); err != nil {
		t.Fatalf("SMTP with the private network allowed: %v", err)
	}
	if err := open(lookup).TestInbox(e.ctx, &in); err != nil {
		t.Fatalf("with the private network allowed: %v", err)
	}
}
