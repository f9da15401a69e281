package channels_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
)

// queueReply files an inbound message on a new api inbox and queues an agent reply to it.
func queueReply(t *testing.T, db storetest.Store, text string) *crm.Message {
	t.Helper()
	ctx := crm.AsSystem(context.Background())
	in, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Backoffice", Config: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Ingest(ctx, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelAPI, ExternalID: "in-1",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "a@x.example"}}, Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: res.TicketID, Body: text})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != crm.MsgQueued {
		t.Fatalf("reply status %q, want queued", m.Status)
	}
	return m
}

// waitStatus waits until the message reaches status or the deadline passes.
func waitStatus(t *testing.T, db storetest.Store, m *crm.Message, status string) *crm.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, _, err := db.Messages(crm.AsSystem(context.Background()), m.TicketID, crm.Page{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range msgs {
			if x.ID == m.ID && x.Status == status {
				return x
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d never reached %q: %+v", m.ID, status, msgs[len(msgs)-1])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func run(t *testing.T, d *channels.Dispatcher) {
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestDispatcherRetriesThenSends(t *testing.T) {
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	m := queueReply(t, db, "your refund is on its way")

	var calls atomic.Int32
	reg := channels.NewRegistry()
	reg.Register(crm.KindAPI, channels.ConnectorFunc(func(ctx context.Context, out *crm.Outbound) (string, error) {
		if out.Message.Text != "your refund is on its way" || out.Customer == nil || out.Ticket.ID != m.TicketID {
			return "", channels.Permanent(errors.New("wrong outbound"))
		}
		if calls.Add(1) < 3 {
			return "", errors.New("smtp: 421 try again later")
		}
		return "ext-42", nil
	}))
	run(t, &channels.Dispatcher{Outbox: db, Bus: bus, Connectors: reg, Poll: 20 * time.Millisecond, BaseBackoff: 10 * time.Millisecond})
	sent := waitStatus(t, db, m, crm.MsgSent)
	if calls.Load() != 3 || sent.Error != "" {
		t.Fatalf("calls %d, error %q", calls.Load(), sent.Error)
	}
}

func TestDispatcherPermanentAndExhaustedFailures(t *testing.T) {
	db := teststore.Open(t, teststore.Options{}).Store
	m := queueReply(t, db, "hi")
	reg := channels.NewRegistry()
	reg.Register(crm.KindAPI, channels.ConnectorFunc(func(ctx context.Context, out *crm.Outbound) (string, error) {
		return "", channels.Permanent(errors.New("21211: invalid 'To' phone number"))
	}))
	run(t, &channels.Dispatcher{Outbox: db, Connectors: reg, Poll: 20 * time.Millisecond})
	failed := waitStatus(t, db, m, crm.MsgFailed)
	if failed.Error != "21211: invalid 'To' phone number" {
		t.Fatalf("error = %q", failed.Error)
	}

	db2 := teststore.Open(t, teststore.Options{}).Store
	m2 := queueReply(t, db2, "hi")
	var calls atomic.Int32
	reg2 := channels.NewRegistry()
	reg2.Register(crm.KindAPI, channels.ConnectorFunc(func(ctx context.Context, out *crm.Outbound) (string, error) {
		calls.Add(1)
		return "", errors.New("connection refused")
	}))
	run(t, &channels.Dispatcher{Outbox: db2, Connectors: reg2, Poll: 10 * time.Millisecond, MaxAttempts: 3, BaseBackoff: time.Millisecond})
	failed = waitStatus(t, db2, m2, crm.MsgFailed)
	if calls.Load() != 3 || failed.Error != "connection refused" {
		t.Fatalf("calls %d, error %q", calls.Load(), failed.Error)
	}
}

// TestDispatcherResumesAfterRestart queues a reply while no dispatcher runs, "crashes"
// mid-send, and checks a new process delivers it exactly once after the lease.
func TestDispatcherResumesAfterRestart(t *testing.T) {
	st := teststore.Open(t, teststore.Options{})
	db := st.Store
	m := queueReply(t, db, "queued before the restart")
	// A dispatcher claims the message and dies before recording the result.
	if outs, err := db.ClaimOutbound(crm.AsSystem(context.Background()), 50*time.Millisecond, 10); err != nil || len(outs) != 1 {
		t.Fatalf("claim = %d, %v", len(outs), err)
	}
	st.Reopen(t)
	db = st.Store
	var sent atomic.Int32
	reg := channels.NewRegistry()
	reg.Register(crm.KindAPI, channels.ConnectorFunc(func(ctx context.Context, out *crm.Outbound) (string, error) {
		sent.Add(1)
		return "ok-1", nil
	}))
	run(t, &channels.Dispatcher{Outbox: db, Connectors: reg, Poll: 20 * time.Millisecond})
	waitStatus(t, db, m, crm.MsgSent)
	if sent.Load() != 1 {
		t.Fatalf("sent %d times, want 1", sent.Load())
	}
}

// TestDispatcherDemoInbox checks that a demo inbox's replies count as sent without any
// connector, so `make run` works with no channel configured.
func TestDispatcherDemoInbox(t *testing.T) {
	db := teststore.Open(t, teststore.Options{}).Store
	ctx := crm.AsSystem(context.Background())
	in, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Demo mail", Config: map[string]any{"demo": true}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Ingest(ctx, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelEmail, ExternalID: "<1@x>",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "a@x.example"}}, Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: res.TicketID, Body: "hi there"})
	if err != nil {
		t.Fatal(err)
	}
	run(t, &channels.Dispatcher{Outbox: db, Connectors: channels.NewRegistry(), Poll: 20 * time.Millisecond})
	waitStatus(t, db, m, crm.MsgSent)
}

// countingOutbox counts the claims made on the store's outbox.
type countingOutbox struct {
	crm.Outbox
	claims atomic.Int32
}

func (o *countingOutbox) ClaimOutbound(ctx context.Context, lease time.Duration, limit int) ([]*crm.Outbound, error) {
	o.claims.Add(1)
	return o.Outbox.ClaimOutbound(ctx, lease, limit)
}

// TestDispatcherWakesForRepliesOnly: inbound messages that an agent files through the
// API leave the outbox alone (under load they made the dispatcher look at it after every
// commit); the reply queued after them goes out at once, with no tick to wait for.
func TestDispatcherWakesForRepliesOnly(t *testing.T) {
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	ctx := crm.AsSystem(context.Background())
	agent, err := db.CreateAgent(ctx, &crm.NewAgent{Email: "ann@shop.example", Name: "Ann", Role: crm.RoleAdmin,
		Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Backoffice", Config: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan string, 1)
	reg := channels.NewRegistry()
	reg.Register(crm.KindAPI, channels.ConnectorFunc(func(ctx context.Context, out *crm.Outbound) (string, error) {
		sent <- out.Message.Text
		return "ext-1", nil
	}))
	outbox := &countingOutbox{Outbox: db}
	run(t, &channels.Dispatcher{Outbox: outbox, Bus: bus, Connectors: reg, Poll: time.Hour})
	deadline := time.Now().Add(10 * time.Second)
	for outbox.claims.Load() == 0 { // the first look, at start
		if time.Now().After(deadline) {
			t.Fatal("the dispatcher never looked at the outbox")
		}
		time.Sleep(time.Millisecond)
	}

	asAnn := crm.WithAgent(ctx, agent)
	var ticket int64
	for i := range 20 {
		res, err := db.Ingest(asAnn, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelAPI, ExternalID: fmt.Sprint("in-", i),
			ThreadKey: "order-7", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "a@x.example"}}, Text: "hello"})
		if err != nil {
			t.Fatal(err)
		}
		ticket = res.TicketID
	}
	if _, err := db.AddMessage(asAnn, &crm.NewMessage{TicketID: ticket, Body: "on its way"}); err != nil {
		t.Fatal(err)
	}
	select {
	case text := <-sent:
		if text != "on its way" {
			t.Errorf("sent %q", text)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reply was not sent")
	}
	// The events reach the dispatcher in order: the inbound ones came before the reply's.
	if n := outbox.claims.Load(); n != 2 {
		t.Errorf("the outbox was looked at %d times, want 2 (at start and for the reply)", n)
	}
}
