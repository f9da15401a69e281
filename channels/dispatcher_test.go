package channels_test

import (
	"context"
	"errors"
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
