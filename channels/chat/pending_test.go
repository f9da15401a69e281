package chat

import (
	"context"
	"sync/atomic"
	"testing"

	"parley/crm"
	"parley/crm/storetest"
)

// writingVisitors is the real store, counting the visitor writes other than IngestChat.
type writingVisitors struct {
	crm.ChatService
	writes atomic.Int64
}

func (w *writingVisitors) CreateChatVisitor(ctx context.Context, v *crm.ChatVisitor, tokenHash []byte) error {
	w.writes.Add(1)
	return w.ChatService.CreateChatVisitor(ctx, v, tokenHash)
}

func (w *writingVisitors) UpdateChatVisitor(ctx context.Context, v *crm.ChatVisitor) error {
	w.writes.Add(1)
	return w.ChatService.UpdateChatVisitor(ctx, v)
}

func TestNewChatIsOneWrite(t *testing.T) {
	wv := &writingVisitors{}
	e := newEnvWith(t, func(db storetest.Store) Options {
		wv.ChatService = db
		return Options{Visitors: wv}
	}, nil)
	a, w := e.visitor(map[string]any{"name": "Ann", "page_url": "https://shop.example/mugs"})
	if _, err := e.db.ChatVisitorByToken(crm.AsSystem(context.Background()), e.inbox.ID, hashToken(w.VisitorToken)); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("a visitor who has not written is stored already: %v", err)
	}
	ack := a.say("c1", "Do you ship to Norway?")
	if n := wv.writes.Load(); n != 0 {
		t.Fatalf("a new chat wrote the visitor %d times besides its message", n)
	}
	v := e.visitorRow(w.VisitorToken)
	if v.Name != "Ann" || v.PageURL != "https://shop.example/mugs" || v.TicketID == 0 {
		t.Fatalf("stored visitor = %+v", v)
	}
	msgs := e.messages(v.TicketID)
	if len(msgs) != 2 || msgs[0].ID != ack.MessageID || msgs[0].Text != "Do you ship to Norway?" ||
		msgs[1].Direction != crm.DirNote || msgs[1].Text != "New chat conversation.\nThe shopper is on https://shop.example/mugs" {
		t.Fatalf("messages = %+v", msgs)
	}
	// A resend is acknowledged with the same message and adds no second note.
	if again := a.say("c1", "Do you ship to Norway?"); again.MessageID != ack.MessageID || !again.Duplicate {
		t.Fatalf("resend ack = %+v, want duplicate of %d", again, ack.MessageID)
	}
	if msgs := e.messages(v.TicketID); len(msgs) != 2 {
		t.Fatalf("resend stored %d messages, want 2", len(msgs))
	}
}

func TestPendingVisitorSurvivesReload(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	_, w := e.visitor(map[string]any{"name": "Ann", "page_url": "https://shop.example/mugs"})
	// A reload before the first message keeps the conversation: same token, now stored.
	b, w2 := e.visitor(map[string]any{"visitor_token": w.VisitorToken, "page_url": "https://shop.example/cups"})
	if w2.VisitorToken != w.VisitorToken {
		t.Fatalf("reload got token %q, want %q", w2.VisitorToken, w.VisitorToken)
	}
	if v := e.visitorRow(w.VisitorToken); v.Name != "Ann" || v.PageURL != "https://shop.example/cups" {
		t.Fatalf("stored visitor = %+v", v)
	}
	ack := b.say("c1", "Hello")
	v := e.visitorRow(w.VisitorToken)
	if msgs := e.messages(v.TicketID); len(msgs) != 2 || msgs[0].ID != ack.MessageID ||
		msgs[1].Text != "New chat conversation.\nThe shopper is on https://shop.example/cups" {
		t.Fatalf("messages = %+v", msgs)
	}
	// Another inbox's widget cannot use the token.
	other := e.createInbox(nil)
	_, err := e.ch.visitorByToken(crm.AsSystem(context.Background()), other.ID, w.VisitorToken)
	if crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("token of another inbox: %v", err)
	}
}
