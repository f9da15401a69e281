package sqlite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/sqlite"
)

// TestClaimSkipsBrokenMessage checks that a queued reply that cannot be prepared (its
// inbox's secrets no longer decrypt after a key change) fails alone with the reason,
// while the replies behind it still go out.
func TestClaimSkipsBrokenMessage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "parley.db")
	open := func(key byte) *sqlite.DB {
		db, err := sqlite.Open(path, sqlite.Options{DataDir: dir, SecretKey: bytes.Repeat([]byte{key}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	ctx := crm.AsSystem(context.Background())
	db := open(1)
	reply := func(in *crm.Inbox, ext string) int64 {
		res, err := db.Ingest(ctx, &crm.Inbound{InboxID: in.ID, ExternalID: ext, Text: "hi", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: ext + "@example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := db.AddMessage(ctx, &crm.NewMessage{TicketID: res.TicketID, Body: "hello"})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	secret, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindPhone, Name: "Hotline", Config: map[string]any{"auth_token": "t0ken"}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "API", Config: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	broken, fine := reply(secret, "a"), reply(plain, "b")
	db.Close()

	db = open(2) // the wrong key
	defer db.Close()
	outs, err := db.ClaimOutbound(ctx, time.Minute, 10)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if len(outs) != 1 || outs[0].Message.ID != fine {
		t.Fatalf("claimed %d messages, want only %d", len(outs), fine)
	}
	events, _ := db.Events(ctx, 0, 1000)
	var failed *crm.Message
	for _, e := range events {
		if e.Type == crm.EventMessageUpdated && e.TicketID != 0 {
			msgs, _, _ := db.Messages(ctx, e.TicketID, crm.Page{})
			for _, m := range msgs {
				if m.ID == broken {
					failed = m
				}
			}
		}
	}
	if failed == nil || failed.Status != crm.MsgFailed || failed.Error == "" {
		t.Fatalf("broken message = %+v, want failed with a reason", failed)
	}
}
