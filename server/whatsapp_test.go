package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/channels/phone"
	"parley/channels/phone/twiliotest"
	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/outbound"
	"parley/server"
)

const (
	waSID    = "AC0123456789abcdef0123456789abcdef"
	waToken  = "0123456789abcdef0123456789abcdef"
	waNumber = "+14155550101"
	shipped  = "HX0123456789abcdef0123456789abcdef"
	customer = "+447700900123"
)

// offsetClock is real time moved by an offset, so that a test can file a message
// yesterday and answer it today.
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *offsetClock) Set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = d
}

// waServer is the API with the phone channel listing templates from twiliotest, and a
// WhatsApp ticket whose customer wrote at the clock's time.
type waServer struct {
	*env
	tw     *twiliotest.Fake
	clock  *offsetClock
	ticket int64
}

func newWAServer(t *testing.T, wroteAgo time.Duration) *waServer {
	t.Helper()
	tw := twiliotest.New(waSID, waToken)
	t.Cleanup(tw.Close)
	tw.AddTemplate(twiliotest.Template{SID: shipped, Name: "order_shipped", Language: "en", Status: "approved",
		Category: "UTILITY", Body: "Hi {{1}}, your order {{2}} has shipped.", Samples: map[string]string{"1": "Alice", "2": "#1001"}})
	clock := &offsetClock{}
	st := teststore.Open(t, teststore.Options{Now: clock.Now})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tel := phone.New(st.Store, phone.Options{Logger: logger, Outbound: outbound.New(outbound.Options{AllowPrivateNetwork: true})})
	srv := httptest.NewServer(server.New(st.Store, server.Options{Logger: logger, WhatsApp: tel}))
	t.Cleanup(srv.Close)
	e := &env{t: t, st: st, db: st.Store, bus: st.Bus, srv: srv}
	ctx := crm.AsSystem(context.Background())
	if _, err := e.db.CreateAgent(ctx, &crm.NewAgent{Email: "admin@test.example", Name: "Ada Admin", Role: crm.RoleAdmin, Password: adminPassword}); err != nil {
		t.Fatal(err)
	}
	e.admin = e.login("admin@test.example", adminPassword)
	in := &crm.Inbox{Kind: crm.KindPhone, Name: "WhatsApp", Config: map[string]any{"account_sid": waSID, "auth_token": waToken,
		"phone_number": "+14155550100", "whatsapp_number": waNumber, "api_base_url": tw.URL}}
	if err := tel.PrepareInbox(ctx, in); err != nil {
		t.Fatal(err)
	}
	in, err := e.db.CreateInbox(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(-wroteAgo)
	r, err := e.db.Ingest(ctx, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelWhatsApp, ExternalID: "SMwa1",
		FromName: "Grace Hopper", From: []crm.Identity{{Kind: crm.IdentityPhone, Address: customer}}, Text: "Where is my order?"})
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(0)
	return &waServer{env: e, tw: tw, clock: clock, ticket: r.TicketID}
}

// TestWhatsAppWindowAPI: inside the window the ticket says when it ends and a free-form
// reply is queued; the composer's endpoint lists the approved templates.
func TestWhatsAppWindowAPI(t *testing.T) {
	w := newWAServer(t, time.Hour)
	var tk struct {
		EndsAt *time.Time `json:"whatsapp_window_ends_at"`
	}
	w.admin.mustDo("GET", "/api/v1/tickets/"+itoa(w.ticket), nil, 200, &tk)
	if tk.EndsAt == nil || time.Until(*tk.EndsAt) < 22*time.Hour || time.Until(*tk.EndsAt) > 23*time.Hour {
		t.Fatalf("whatsapp_window_ends_at = %v, want in 23 hours", tk.EndsAt)
	}
	var wa struct {
		WhatsApp   bool                   `json:"whatsapp"`
		Open       bool                   `json:"window_open"`
		EndsAt     time.Time              `json:"window_ends_at"`
		Templates  []crm.WhatsAppTemplate `json:"templates"`
		TemplError string                 `json:"templates_error"`
	}
	w.admin.mustDo("GET", "/api/v1/tickets/"+itoa(w.ticket)+"/whatsapp", nil, 200, &wa)
	if !wa.WhatsApp || !wa.Open || !wa.EndsAt.Equal(*tk.EndsAt) || len(wa.Templates) != 1 || wa.Templates[0].SID != shipped ||
		strings.Join(wa.Templates[0].Variables, ",") != "1,2" || wa.TemplError != "" {
		t.Fatalf("whatsapp = %+v", wa)
	}
	w.admin.mustDo("POST", "/api/v1/tickets/"+itoa(w.ticket)+"/messages", map[string]any{"body": "Checking now."}, 201, nil)

	// An email ticket has no window.
	mail := w.inbox("api", "API")
	res := w.inbound(mail, "x1", "bob@example.test", "hello")
	var plain map[string]any
	w.admin.mustDo("GET", "/api/v1/tickets/"+itoa(res.TicketID), nil, 200, &plain)
	if _, ok := plain["whatsapp_window_ends_at"]; ok {
		t.Fatalf("a ticket answered by the api channel has a WhatsApp window: %v", plain)
	}
	w.admin.mustDo("GET", "/api/v1/tickets/"+itoa(res.TicketID)+"/whatsapp", nil, 200, &plain)
	if plain["whatsapp"] != false {
		t.Fatalf("whatsapp of an api ticket = %v", plain)
	}
}

// TestWhatsAppOutsideWindowAPI: a day after the customer's last message a free-form
// reply is refused up front with 409 and a reason, nothing queued; a template reply is
// queued with its text filled in; a bad template is refused with 400.
func TestWhatsAppOutsideWindowAPI(t *testing.T) {
	w := newWAServer(t, 25*time.Hour)
	path := "/api/v1/tickets/" + itoa(w.ticket) + "/messages"
	status, body := w.admin.do("POST", path, map[string]any{"body": "Sorry for the wait!"})
	if status != 409 || errCode(t, body) != "conflict" || !strings.Contains(string(body), "24-hour window closed") ||
		!strings.Contains(string(body), "approved template") {
		t.Fatalf("free-form reply outside the window: %d %s", status, body)
	}
	var msgs struct{ Messages []crm.Message }
	w.admin.mustDo("GET", path, nil, 200, &msgs)
	if len(msgs.Messages) != 1 {
		t.Fatalf("a refused reply left %d messages, want 1", len(msgs.Messages))
	}
	var wa struct {
		Open bool `json:"window_open"`
	}
	w.admin.mustDo("GET", "/api/v1/tickets/"+itoa(w.ticket)+"/whatsapp", nil, 200, &wa)
	if wa.Open {
		t.Fatal("the window is open a day later")
	}

	var m crm.Message
	w.admin.mustDo("POST", path, map[string]any{"template": map[string]any{"sid": shipped,
		"variables": map[string]string{"1": "Grace", "2": "#1042"}}}, 201, &m)
	if m.Text != "Hi Grace, your order #1042 has shipped." || m.Template == nil || m.Template.SID != shipped ||
		m.Template.Name != "order_shipped" || m.Status != crm.MsgQueued || m.Channel != crm.ChannelWhatsApp {
		t.Fatalf("template reply = %+v", m)
	}
	for _, tt := range []struct {
		name string
		body map[string]any
	}{
		{"missing variable", map[string]any{"template": map[string]any{"sid": shipped, "variables": map[string]string{"1": "Grace"}}}},
		{"unknown variable", map[string]any{"template": map[string]any{"sid": shipped, "variables": map[string]string{"1": "a", "2": "b", "3": "c"}}}},
		{"unknown template", map[string]any{"template": map[string]any{"sid": "HX99999999999999999999999999999999"}}},
		{"bad sid", map[string]any{"template": map[string]any{"sid": "hello"}}},
		{"template note", map[string]any{"internal": true, "template": map[string]any{"sid": shipped}}},
	} {
		if status, body := w.admin.do("POST", path, tt.body); status != 400 || errCode(t, body) != "invalid" {
			t.Errorf("%s: %d %s", tt.name, status, body)
		}
	}
}
