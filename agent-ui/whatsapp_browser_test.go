package agentui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	agentui "parley/agent-ui"
	"parley/channels/phone"
	"parley/channels/phone/twiliotest"
	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/outbound"
	"parley/server"
)

// shiftedClock is real time moved back while a test files a message "yesterday".
type shiftedClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *shiftedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *shiftedClock) set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = d
}

// newWhatsAppFixture is the console with a phone inbox whose templates come from
// twiliotest, and two WhatsApp tickets: one whose customer wrote 25 hours ago (the
// window closed) and one who wrote an hour ago.
func newWhatsAppFixture(t *testing.T) (f *fixture, late, fresh int64) {
	t.Helper()
	tw := twiliotest.New("AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef")
	t.Cleanup(tw.Close)
	tw.AddTemplate(twiliotest.Template{SID: "HX0123456789abcdef0123456789abcdef", Name: "order_shipped", Language: "en",
		Status: "approved", Category: "UTILITY", Body: "Hi {{1}}, your order {{2}} has shipped.",
		Samples: map[string]string{"1": "Alice", "2": "#1001"}})
	clock := &shiftedClock{}
	st := teststore.Open(t, teststore.Options{Now: clock.Now})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	out := outbound.New(outbound.Options{AllowPrivateNetwork: true}) // the fake is on loopback
	tel := phone.New(st.Store, phone.Options{Logger: logger, Outbound: out})
	s := server.New(st.Store, server.Options{UI: agentui.Handler(), Bus: st.Bus, Logger: logger, Outbound: out, WhatsApp: tel})
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	f = &fixture{t: t, db: st.Store, bus: st.Bus, srv: srv}
	f.admin = f.agent("ada@test.example", "Ada Admin", crm.RoleAdmin)
	sys := crm.AsSystem(context.Background())
	in := &crm.Inbox{Kind: crm.KindPhone, Name: "WhatsApp", Config: map[string]any{"account_sid": tw.SID, "auth_token": tw.Token,
		"phone_number": "+14155550100", "whatsapp_number": "+14155550101", "api_base_url": tw.URL}}
	if err := tel.PrepareInbox(sys, in); err != nil {
		t.Fatal(err)
	}
	in, err := st.Store.CreateInbox(sys, in)
	if err != nil {
		t.Fatal(err)
	}
	file := func(ago time.Duration, sid, phone, name, text string) int64 {
		clock.set(-ago)
		defer clock.set(0)
		r, err := st.Store.Ingest(sys, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelWhatsApp, ExternalID: sid,
			FromName: name, From: []crm.Identity{{Kind: crm.IdentityPhone, Address: phone}}, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return r.TicketID
	}
	late = file(25*time.Hour, "SMlate", "+447700900123", "Grace Hopper", "Where is my order?")
	fresh = file(time.Hour, "SMfresh", "+447700900456", "Alan Turing", "Can I change my address?")
	return f, late, fresh
}

// TestWhatsAppComposer: on a WhatsApp ticket the reply box shows the time left in the
// 24-hour window; once it closed, the box offers the inbox's approved templates instead
// of free text, fills the variables in as the agent types, and sends the template.
func TestWhatsAppComposer(t *testing.T) {
	f, late, fresh := newWhatsAppFixture(t)
	b := f.newTab(t)
	b.login("ada@test.example", "#/tickets/"+strconv.FormatInt(fresh, 10))
	b.waitText("#wa-window", "left to reply freely")
	b.waitJS("the text box inside the window", `() => { const ta = document.querySelector('#reply-body'); return ta && !ta.hidden &&
		document.querySelector('#wa-templates').hidden; }`)
	b.shot("whatsapp-open")

	b.eval(`location.hash = '#/tickets/` + strconv.FormatInt(late, 10) + `'`)
	b.waitText("#wa-window", "WhatsApp window closed")
	b.waitText("#wa-window", "only an approved template")
	b.waitJS("the template picker instead of the text box", `() => document.querySelector('#reply-body').hidden &&
		!!document.querySelector('#wa-template') && document.querySelector('#send').textContent === 'Send template'`)
	b.waitText("#wa-template", "order_shipped (en)")
	b.click("#send")
	b.waitText("#reply-error", "Fill in {{1}} first.")
	b.setValue("#wa-var-1", "Grace")
	b.setValue("#wa-var-2", "#1042")
	b.waitText("#wa-preview", "Hi Grace, your order #1042 has shipped.")
	b.waitJS("the error gone once the values are in", `() => document.querySelector('#reply-error').textContent === ''`)
	b.shot("whatsapp-template")
	b.click("#send")
	b.waitText("#thread", "Hi Grace, your order #1042 has shipped.")
	b.waitJS("the values cleared after sending", `() => document.querySelector('#wa-var-1').value === ''`)

	// The reply was queued as the template, with nothing free-form beside it.
	msgs, _, err := f.db.Messages(crm.AsSystem(context.Background()), late, crm.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	last := msgs[len(msgs)-1]
	if len(msgs) != 2 || last.Template == nil || last.Template.Variables["2"] != "#1042" || last.Status != crm.MsgQueued {
		t.Fatalf("messages = %d, last %+v", len(msgs), last)
	}
	b.noScriptErrors()
}
