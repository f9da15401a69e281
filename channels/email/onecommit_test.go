package email_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"parley/channels/email"
	"parley/crm"
)

// deliverEvents files a raw mail and returns the events it published, which is what the
// console's sockets receive. The store publishes a commit's events before the write
// returns, so once Deliver is back nothing is on its way.
func deliverEvents(t *testing.T, e *env, raw string) (*crm.IngestResult, []*crm.Event) {
	t.Helper()
	sub := e.bus.Subscribe(100)
	defer sub.Close()
	res := deliver(t, e, raw)
	var events []*crm.Event
	for {
		select {
		case ev := <-sub.C:
			events = append(events, ev)
		default:
			return res, events
		}
	}
}

func types(events []*crm.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

// TestInlineImageArrivesLinked files a mail with an inline image: agents get one
// message.created whose HTML already points at the stored image, never a version with
// broken cid: links followed by an update.
func TestInlineImageArrivesLinked(t *testing.T) {
	e := newEnv(t, nil)
	raw, err := os.ReadFile(filepath.Join("testdata", "05-apple-mail.eml"))
	if err != nil {
		t.Fatal(err)
	}
	_, events := deliverEvents(t, e, string(raw))
	want := []string{crm.EventCustomerUpdated, crm.EventTicketCreated, crm.EventMessageCreated}
	if got := types(events); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	var m crm.Message
	if err := json.Unmarshal(events[2].Data, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 2 || m.Attachments[0].Filename != "box.png" {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	if strings.Contains(m.HTML, "cid:") || !strings.Contains(m.HTML, `src="`+m.Attachments[0].URL+`"`) {
		t.Fatalf("message.created html is not linked: %s", m.HTML)
	}
}

// TestNoiseArrivesTagged files an auto-reply and an unreadable mail: the tag is in the
// ticket.created event, with no ticket.updated after it.
func TestNoiseArrivesTagged(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, raw, tag string
	}{
		{"auto-reply", customerMail("ooo@example.com", "ooo1@example.com", "Out of office", "I am away until Monday.",
			"Auto-Submitted: auto-replied"), email.TagAutoReply},
		{"quarantined", "From: ann@example.com\r\nX-Long: " + strings.Repeat("a", 2<<20) + "\r\n\r\nbody\r\n", email.TagQuarantine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, events := deliverEvents(t, e, tt.raw)
			want := []string{crm.EventCustomerUpdated, crm.EventTicketCreated, crm.EventMessageCreated}
			if got := types(events); !slices.Equal(got, want) {
				t.Fatalf("events = %v, want %v", got, want)
			}
			var tk crm.Ticket
			if err := json.Unmarshal(events[1].Data, &tk); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tk.Tags, []string{tt.tag}) {
				t.Fatalf("ticket.created tags = %v, want [%s]", tk.Tags, tt.tag)
			}
		})
	}
	// An auto-reply in an existing conversation leaves the ticket's tags alone.
	first := deliver(t, e, customerMail("ann@example.com", "a1@example.com", "Question", "Hi"))
	res, events := deliverEvents(t, e, customerMail("ann@example.com", "a2@example.com", "Re: Question", "Away",
		"In-Reply-To: <a1@example.com>", "Auto-Submitted: auto-replied"))
	if res.TicketID != first.TicketID {
		t.Fatalf("auto-reply filed in %d, want %d", res.TicketID, first.TicketID)
	}
	if got := types(events); !slices.Equal(got, []string{crm.EventTicketUpdated, crm.EventMessageCreated}) {
		t.Fatalf("events = %v", got)
	}
	if tk, _ := e.db.Ticket(e.ctx, first.TicketID); len(tk.Tags) != 0 {
		t.Fatalf("tags = %v, want none", tk.Tags)
	}
}
