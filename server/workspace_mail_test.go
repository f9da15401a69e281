package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/channels/email"
	"parley/crm"
	"parley/notify"
	"parley/outbound"
)

// TestNotificationEmail: an agent who chose email notifications gets each one by mail
// too, from the shop's email inbox, with a link to the ticket; one who did not, does not.
func TestNotificationEmail(t *testing.T) {
	e := newEnv(t)
	sink := newSMTPSink(t)
	host, port, _ := net.SplitHostPort(sink.addr)
	p, _ := strconv.Atoi(port)
	if _, err := e.db.CreateInbox(ctxSystem(), &crm.Inbox{Kind: crm.KindEmail, Name: "Mail", Config: map[string]any{
		"address": "support@shop.example", "smtp_host": host, "smtp_port": float64(p), "smtp_security": "none"}}); err != nil {
		t.Fatal(err)
	}
	api := e.inbox(crm.KindAPI, "Web shop")
	ann := e.agent("ann@shop.example", crm.RoleAgent, api)
	e.agent("bob@shop.example", crm.RoleAgent, api)
	ann.mustDo("PATCH", "/api/v1/me", map[string]any{"notifications": map[string]bool{"assigned": true, "email": true}}, 200, nil)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ch := email.New(e.db, e.bus, logger)
	ch.Outbound = outbound.New(outbound.Options{AllowPrivateNetwork: true}) // the sink is on loopback
	pub, _ := url.Parse("https://desk.example")
	w := notify.New(notify.Options{Store: e.db, Bus: e.bus, Logger: logger, Mailer: ch, PublicURL: pub, Poll: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := w.Pass(ctxSystem()); err != nil { // the cursor starts here
		t.Fatal(err)
	}

	r := e.inbound(api, "m1", "alice@example.com", "broken lamp")
	for _, who := range []string{"ann@shop.example", "bob@shop.example"} {
		a, err := e.db.AgentByEmail(ctxSystem(), who)
		if err != nil {
			t.Fatal(err)
		}
		e.admin.mustDo("PATCH", "/api/v1/tickets/"+itoa(r.TicketID), map[string]any{"assignee_id": a.ID}, 200, nil)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sink.mails()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	mails := sink.mails()
	if len(mails) != 1 || len(mails[0].rcpt) != 1 || mails[0].rcpt[0] != "ann@shop.example" {
		t.Fatalf("mails %+v, want one to ann", mails)
	}
	data := strings.ReplaceAll(string(mails[0].data), "\r\n", "\n")
	for _, want := range []string{"Subject: [Parley] Assigned to you: #" + itoa(r.TicketID) + " Help: broken lamp",
		"support@shop.example>", "https://desk.example/#/tickets/" + itoa(r.TicketID)} {
		if !strings.Contains(data, want) {
			t.Errorf("mail lacks %q:\n%s", want, data)
		}
	}
}
