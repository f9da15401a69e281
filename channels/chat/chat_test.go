package chat

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

const (
	shopOrigin = "https://shop.example"
	testSecret = "test-identity-secret-0123456789"
)

// env is a chat channel over a real store, served by an httptest server.
type env struct {
	t     testing.TB
	dir   string // the data dir
	db    storetest.Store
	bus   *crm.LocalBus
	reg   *channels.Registry
	ch    *Channel
	srv   *httptest.Server
	inbox *crm.Inbox
	agent *crm.Agent
	stop  context.CancelFunc // ends Run, as a shutdown does
}

// newEnv starts a channel with one chat inbox allowing shopOrigin; config adds to or
// replaces the inbox's settings.
func newEnv(t testing.TB, opt Options, config map[string]any) *env {
	t.Helper()
	return newEnvWith(t, func(storetest.Store) Options { return opt }, config)
}

// newEnvWith is newEnv with options that need the store.
func newEnvWith(t testing.TB, options func(db storetest.Store) Options, config map[string]any) *env {
	t.Helper()
	st := teststore.Open(t, teststore.Options{})
	dir, db, bus := st.DataDir, st.Store, st.Bus
	reg := channels.NewRegistry()
	opt := options(db)
	opt.Connectors = reg
	ch := New(db, bus, opt)
	reg.Register(crm.KindChat, ch)
	e := &env{t: t, dir: dir, db: db, bus: bus, reg: reg, ch: ch}
	e.inbox = e.createInbox(config)
	var err error
	e.agent, err = db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: "dana@shop.example", Name: "Dana", Role: crm.RoleAgent,
		Password: "correct horse battery staple", InboxIDs: []int64{e.inbox.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	done := make(chan struct{})
	go func() { ch.Run(ctx); close(done) }()
	e.srv = httptest.NewServer(ch.Handler())
	e.stop = cancel
	t.Cleanup(func() { e.srv.Close(); cancel(); <-done })
	return e
}

func (e *env) createInbox(config map[string]any) *crm.Inbox {
	e.t.Helper()
	c := map[string]any{"allowed_origins": []any{shopOrigin}, "identity_secret": testSecret}
	for k, v := range config {
		c[k] = v
	}
	in := &crm.Inbox{Kind: crm.KindChat, Name: "Shop chat", Config: c}
	if err := e.ch.PrepareInbox(crm.AsSystem(context.Background()), in); err != nil {
		e.t.Fatal(err)
	}
	in, err := e.db.CreateInbox(crm.AsSystem(context.Background()), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return in
}

func (e *env) wsURL(inboxID int64) string {
	return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/widget/ws?inbox=" + itoa(inboxID)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// dial opens a widget socket from a page of origin.
func (e *env) dial(origin string) (*client, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(e.wsURL(e.inbox.ID), h)
	if err != nil {
		return nil, resp, err
	}
	c := &client{t: e.t, ws: ws}
	e.t.Cleanup(func() { ws.Close() })
	return c, resp, nil
}

// visitor dials from the shop and says hello with the given frame fields.
func (e *env) visitor(hello map[string]any) (*client, *serverFrame) {
	e.t.Helper()
	c, _, err := e.dial(shopOrigin)
	if err != nil {
		e.t.Fatal(err)
	}
	f := map[string]any{"type": "hello", "visitor_token": nil}
	for k, v := range hello {
		f[k] = v
	}
	c.send(f)
	w := c.next()
	if w.Type != "welcome" {
		e.t.Fatalf("got %s frame %+v, want welcome", w.Type, w)
	}
	return c, w
}

// visitorRow returns the stored visitor of a token.
func (e *env) visitorRow(token string) *crm.ChatVisitor {
	e.t.Helper()
	v, err := e.db.ChatVisitorByToken(crm.AsSystem(context.Background()), e.inbox.ID, hashToken(token))
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// reply stores an agent's reply (or note) as Dana.
func (e *env) reply(ticketID int64, body string, internal bool) *crm.Message {
	e.t.Helper()
	m, err := e.db.AddMessage(crm.WithAgent(crm.AsSystem(context.Background()), e.agent), &crm.NewMessage{TicketID: ticketID, Body: body, Internal: internal})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) messages(ticketID int64) []*crm.Message {
	e.t.Helper()
	msgs, _, err := e.db.Messages(crm.AsSystem(context.Background()), ticketID, crm.Page{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return msgs
}

// serverFrame is any frame the server sends.
type serverFrame struct {
	Type          string          `json:"type"`
	VisitorToken  string          `json:"visitor_token"`
	Messages      []widgetMessage `json:"messages"`
	Message       *widgetMessage  `json:"message"`
	ClientID      string          `json:"client_id"`
	MessageID     int64           `json:"message_id"`
	Duplicate     bool            `json:"duplicate"`
	Online        bool            `json:"online"`
	Email         string          `json:"email"`
	EmailVerified bool            `json:"email_verified"`
	EmailRequired bool            `json:"email_required"`
	TicketID      int64           `json:"ticket_id"`
	For           string          `json:"for"`
	Offer         string          `json:"offer"`
	Error         struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type client struct {
	t  testing.TB
	ws *websocket.Conn
}

func (c *client) send(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

// next reads the next frame, failing after a deadline.
func (c *client) next() *serverFrame {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var f serverFrame
	if err := c.ws.ReadJSON(&f); err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return &f
}

// until reads frames until one matches, returning it and the frames skipped.
func (c *client) until(match func(f *serverFrame) bool) (*serverFrame, []*serverFrame) {
	c.t.Helper()
	var skipped []*serverFrame
	for {
		f := c.next()
		if match(f) {
			return f, skipped
		}
		skipped = append(skipped, f)
	}
}

func isType(t string) func(*serverFrame) bool {
	return func(f *serverFrame) bool { return f.Type == t }
}

func isReply(f *serverFrame) bool {
	return f.Type == "message" && f.Message != nil && f.Message.Direction != crm.DirIn
}

// say sends a message and returns its ack.
func (c *client) say(clientID, text string) *serverFrame {
	c.t.Helper()
	c.send(map[string]any{"type": "message", "client_id": clientID, "text": text})
	f, _ := c.until(func(f *serverFrame) bool { return f.Type == "ack" || f.Type == "error" })
	if f.Type != "ack" || f.ClientID != clientID || f.MessageID == 0 {
		c.t.Fatalf("got %+v, want ack of %s", f, clientID)
	}
	return f
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func sign(email string) string {
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(email))
	return hex.EncodeToString(mac.Sum(nil))
}

// existingCustomer files an email from addr on an api inbox: a customer with history.
func (e *env) existingCustomer(addr, text string) *crm.IngestResult {
	e.t.Helper()
	ctx := crm.AsSystem(context.Background())
	api, err := e.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Backoffice", Config: map[string]any{}})
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.db.Ingest(ctx, &crm.Inbound{InboxID: api.ID, Channel: crm.ChannelAPI, ExternalID: "x-" + addr,
		FromName: "Alice", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: addr}}, Subject: "Order 1001", Text: text})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func TestHelloMessageAck(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	c, w := e.visitor(map[string]any{"name": "Sam", "page_url": "https://shop.example/mugs/blue"})
	if len(w.VisitorToken) != 64 || len(w.Messages) != 0 || !w.Online || w.EmailRequired {
		t.Fatalf("welcome = %+v", w)
	}
	ack := c.say("c-1", "Do you ship to Canada?")
	if ack.Duplicate {
		t.Fatal("first message acknowledged as duplicate")
	}
	v := e.visitorRow(w.VisitorToken)
	if v.TicketID == 0 || v.Name != "Sam" || v.PageURL != "https://shop.example/mugs/blue" {
		t.Fatalf("visitor = %+v", v)
	}
	msgs := e.messages(v.TicketID)
	if msgs[0].ID != ack.MessageID || msgs[0].Text != "Do you ship to Canada?" || msgs[0].Channel != crm.ChannelChat || msgs[0].Direction != crm.DirIn {
		t.Fatalf("stored message = %+v", msgs[0])
	}
	// Agents see where the shopper is in a note; the shopper never does.
	if len(msgs) != 2 || msgs[1].Direction != crm.DirNote || !strings.Contains(msgs[1].Text, "https://shop.example/mugs/blue") {
		t.Fatalf("want a note with the page URL, got %+v", msgs)
	}
	cust, err := e.db.Customer(crm.AsSystem(context.Background()), v.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if cust.Name != "Sam" || len(cust.Identities) != 1 || cust.Identities[0] != (crm.Identity{Kind: crm.IdentityChat, Address: v.ID}) {
		t.Fatalf("customer = %+v", cust)
	}
}

func TestAgentReplyReachesOnlyItsVisitor(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	a, wa := e.visitor(nil)
	b, wb := e.visitor(nil)
	a.say("a-1", "Hello from A")
	b.say("b-1", "Hello from B")
	ta, tb := e.visitorRow(wa.VisitorToken).TicketID, e.visitorRow(wb.VisitorToken).TicketID
	if ta == tb {
		t.Fatal("two visitors share a ticket")
	}

	e.reply(ta, "Internal: A looks like a returning customer", true)
	e.reply(ta, "Hi A, yes we do!", false)
	got, skipped := a.until(isReply)
	if got.Message.Text != "Hi A, yes we do!" || got.Message.Direction != crm.DirOut || got.Message.Author.Name != "Dana" {
		t.Fatalf("A got %+v", got.Message)
	}
	for _, f := range append(skipped, got) {
		if f.Message != nil && strings.Contains(f.Message.Text, "Internal") {
			t.Fatalf("a note reached the widget: %+v", f.Message)
		}
	}

	// Replies are delivered in order, so had A's reply gone to B it would come first.
	e.reply(tb, "Hi B!", false)
	got, _ = b.until(isReply)
	if got.Message.Text != "Hi B!" {
		t.Fatalf("B's first reply is %q, want its own", got.Message.Text)
	}

	// The welcome of a reconnect lists the conversation without the note.
	_, w := e.visitor(map[string]any{"visitor_token": wa.VisitorToken})
	var texts []string
	for _, m := range w.Messages {
		texts = append(texts, m.Direction+":"+m.Text)
	}
	if strings.Join(texts, "|") != "in:Hello from A|out:Hi A, yes we do!" {
		t.Fatalf("history = %q", texts)
	}
	if w.Messages[0].ClientID != "a-1" {
		t.Fatalf("own message lost its client id: %+v", w.Messages[0])
	}
}

func TestReconnectResendIsNotDuplicated(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	c, w := e.visitor(nil)
	first := c.say("4f1c2b9e-0000-4000-8000-000000000001", "Is the blue mug dishwasher safe?")
	c.ws.Close() // the ack got lost on a flaky network; the widget resends after reconnecting

	c2, w2 := e.visitor(map[string]any{"visitor_token": w.VisitorToken})
	if w2.VisitorToken != w.VisitorToken || len(w2.Messages) != 1 {
		t.Fatalf("reconnect welcome = %+v", w2)
	}
	again := c2.say("4f1c2b9e-0000-4000-8000-000000000001", "Is the blue mug dishwasher safe?")
	if !again.Duplicate || again.MessageID != first.MessageID {
		t.Fatalf("resend ack = %+v, want duplicate of %d", again, first.MessageID)
	}
	c2.say("c-2", "And microwave safe?")
	v := e.visitorRow(w.VisitorToken)
	in := 0
	for _, m := range e.messages(v.TicketID) {
		if m.Direction == crm.DirIn {
			in++
		}
	}
	if in != 2 {
		t.Fatalf("%d inbound messages, want 2", in)
	}
	// A token from another inbox or a made-up one starts a new conversation.
	_, w3 := e.visitor(map[string]any{"visitor_token": "not-a-real-token"})
	if w3.VisitorToken == w.VisitorToken || len(w3.Messages) != 0 {
		t.Fatalf("unknown token welcome = %+v", w3)
	}
}

func TestOriginChecks(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	for _, origin := range []string{"https://evil.example", "", "http://shop.example", "https://shop.example.evil.example"} {
		_, resp, err := e.dial(origin)
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: err %v, resp %v; want 403", origin, err, resp)
		}
	}
	if _, _, err := e.dial("https://SHOP.example:443"); err != nil {
		t.Errorf("the allowed origin with its default port was refused: %v", err)
	}
	resp, err := http.Get(e.srv.URL + "/widget/ws?inbox=999")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown inbox: %d, want 404", resp.StatusCode)
	}
}

func TestSignedIdentity(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	alice := e.existingCustomer("alice@shop.example", "Where is my order 1001?")

	// A wrong hash is refused and links nothing.
	c, _, err := e.dial(shopOrigin)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "hello", "identity": map[string]string{"email": "alice@shop.example", "hash": sign("mallory@shop.example")}})
	f := c.next()
	if f.Type != "error" || f.Error.Code != crm.EFORBIDDEN {
		t.Fatalf("got %+v, want a forbidden error", f)
	}
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := c.ws.ReadMessage(); !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
		t.Fatalf("socket not closed after a bad identity: %v", err)
	}
	cust, err := e.db.Customer(crm.AsSystem(context.Background()), alice.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cust.Identities) != 1 {
		t.Fatalf("a refused identity changed the customer: %+v", cust.Identities)
	}

	// A valid hash joins the chat to Alice, yet the widget shows only this conversation.
	c, w := e.visitor(map[string]any{"identity": map[string]string{"email": "Alice@Shop.example", "hash": sign("alice@shop.example")}})
	if w.Email != "alice@shop.example" || !w.EmailVerified || len(w.Messages) != 0 {
		t.Fatalf("welcome = %+v", w)
	}
	c.say("c-1", "Any news on my order?")
	v := e.visitorRow(w.VisitorToken)
	if v.CustomerID != alice.CustomerID {
		t.Fatalf("signed-in chat filed under customer %d, want Alice %d", v.CustomerID, alice.CustomerID)
	}
	_, w = e.visitor(map[string]any{"visitor_token": w.VisitorToken, "identity": map[string]string{"email": "alice@shop.example", "hash": sign("alice@shop.example")}})
	if len(w.Messages) != 1 || w.Messages[0].Text != "Any news on my order?" {
		t.Fatalf("history of a signed-in shopper = %+v", w.Messages)
	}

	// Signed out on the same browser: the conversation stays hidden.
	_, w2 := e.visitor(map[string]any{"visitor_token": w.VisitorToken})
	if w2.VisitorToken == w.VisitorToken || len(w2.Messages) != 0 {
		t.Fatalf("signed-out welcome = %+v", w2)
	}
}

func TestUnverifiedEmailDoesNotExposeHistory(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	alice := e.existingCustomer("alice@shop.example", "My address is 1 Secret Lane")
	c, w := e.visitor(map[string]any{"name": "Not Alice", "email": "alice@shop.example"})
	if len(w.Messages) != 0 || w.EmailVerified {
		t.Fatalf("welcome of a claimed email = %+v", w)
	}
	c.say("c-1", "What is my address?")
	_, w = e.visitor(map[string]any{"visitor_token": w.VisitorToken, "email": "alice@shop.example"})
	for _, m := range w.Messages {
		if strings.Contains(m.Text, "Secret Lane") {
			t.Fatal("the claimed customer's history reached the widget")
		}
	}
	v := e.visitorRow(w.VisitorToken)
	if v.CustomerID == alice.CustomerID || v.EmailVerified || v.Email != "alice@shop.example" {
		t.Fatalf("claimed email linked the chat: %+v", v)
	}
	cust, err := e.db.Customer(crm.AsSystem(context.Background()), alice.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cust.Identities) != 1 || cust.Identities[0].Kind != crm.IdentityEmail {
		t.Fatalf("Alice's identities changed: %+v", cust.Identities)
	}
	// Agents are told the address is unverified.
	found := false
	for _, m := range e.messages(v.TicketID) {
		found = found || (m.Direction == crm.DirNote && strings.Contains(m.Text, "alice@shop.example (unverified"))
	}
	if !found {
		t.Fatal("no note tells agents about the unverified email")
	}
}

func TestRateLimits(t *testing.T) {
	slow := Limit{Rate: rate.Every(time.Hour), Burst: 2}
	e := newEnv(t, Options{Limits: Limits{NewVisitorsPerIP: slow, MessagesPerVisitor: slow}}, nil)
	c, _ := e.visitor(nil)
	c.say("c-1", "one")
	c.say("c-2", "two")
	c.send(map[string]any{"type": "message", "client_id": "c-3", "text": "three"})
	f, _ := c.until(isType("error"))
	if f.Error.Code != crm.ERATELIMITED || f.ClientID != "c-3" {
		t.Fatalf("got %+v, want rate_limited for c-3", f)
	}

	e.visitor(nil) // the second new conversation from this address is still allowed
	c, _, err := e.dial(shopOrigin)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "hello"})
	if f := c.next(); f.Type != "error" || f.Error.Code != crm.ERATELIMITED {
		t.Fatalf("third new conversation: %+v, want rate_limited", f)
	}
}

func TestFrameLimits(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	c, _ := e.visitor(nil)

	c.send(map[string]any{"type": "message", "client_id": "big", "text": strings.Repeat("x", 40<<10)})
	if f := c.next(); f.Type != "error" || f.Error.Code != crm.ETOOLARGE {
		t.Fatalf("40 KiB frame: %+v, want too_large", f)
	}
	c.send(map[string]any{"type": "message", "client_id": "long", "text": strings.Repeat("é", 5001)})
	if f := c.next(); f.Type != "error" || f.Error.Code != crm.ETOOLARGE || f.ClientID != "long" {
		t.Fatalf("5,001 characters: %+v, want too_large", f)
	}
	for _, bad := range []string{`not json`, `{"type":"message","client_id":"has space","text":"x"}`, `{"type":"nope"}`, `{"type":"message","client_id":"e"}`} {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(bad)); err != nil {
			t.Fatal(err)
		}
		if f := c.next(); f.Type != "error" || f.Error.Code != crm.EINVALID {
			t.Fatalf("%s: %+v, want invalid", bad, f)
		}
	}
	c.say("ok", strings.Repeat("é", 5000)) // still usable

	if err := c.ws.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), 70<<10)); err != nil {
		// The server refuses the frame from its header, and may close before the rest of
		// it is written: a reset is that refusal, seen from this side.
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			return
		}
		t.Fatal(err)
	}
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue // frames queued before the close, such as the live copy of "ok"
		}
		if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
			t.Fatalf("70 KiB frame: %v, want close 1009", err)
		}
		break
	}
}

func TestHelloRequired(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	c, _, err := e.dial(shopOrigin)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "message", "client_id": "c", "text": "hi"})
	if f := c.next(); f.Type != "error" || f.Error.Code != crm.EINVALID {
		t.Fatalf("message before hello: %+v", f)
	}
}

func TestRequireEmail(t *testing.T) {
	e := newEnv(t, Options{}, map[string]any{"require_email": true})
	c, w := e.visitor(nil)
	if !w.EmailRequired {
		t.Fatalf("welcome = %+v, want email_required", w)
	}
	c.send(map[string]any{"type": "message", "client_id": "c-1", "text": "hi"})
	if f := c.next(); f.Type != "error" || f.Error.Code != crm.EINVALID {
		t.Fatalf("message before the pre-chat form: %+v", f)
	}
	c.send(map[string]any{"type": "contact", "name": "Sam", "email": "not an email"})
	if f := c.next(); f.Type != "error" {
		t.Fatalf("bad email accepted: %+v", f)
	}
	c.send(map[string]any{"type": "contact", "name": "Sam", "email": "Sam@Example.com"})
	if f := c.next(); f.Type != "contact" || f.Email != "sam@example.com" {
		t.Fatalf("contact = %+v", f)
	}
	c.say("c-1", "hi")
}

// fakeEmail is an email connector that records what it is asked to send.
type fakeEmail struct {
	mu   sync.Mutex
	sent []*crm.Outbound
}

func (f *fakeEmail) Send(ctx context.Context, out *crm.Outbound) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, out)
	return "<reply@parley.test>", nil
}

func (f *fakeEmail) list() []*crm.Outbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*crm.Outbound(nil), f.sent...)
}

func TestOfflineEmailContinuity(t *testing.T) {
	e := newEnv(t, Options{Online: func(int64) []int64 { return nil }}, nil)
	ctx := crm.AsSystem(context.Background())
	mailbox, err := e.db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Support mail", Config: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	e.inbox = e.createInbox(map[string]any{"email_inbox_id": float64(mailbox.ID)})
	if e.agent, err = e.db.UpdateAgent(ctx, e.agent.ID, crm.AgentUpdate{InboxIDs: &[]int64{e.inbox.ID}}); err != nil {
		t.Fatal(err)
	}
	email := &fakeEmail{}
	e.reg.Register(crm.KindEmail, email)
	runDispatcher(t, e)

	resp, err := http.Get(e.srv.URL + "/widget/config?inbox=" + itoa(e.inbox.ID))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if cfg["online"] != false {
		t.Fatalf("config = %v, want online false", cfg)
	}

	c, w := e.visitor(nil)
	if w.Online {
		t.Fatal("welcome says online with no agent online")
	}
	c.send(map[string]any{"type": "contact", "email": "sam@example.com"})
	if f := c.next(); f.Type != "contact" {
		t.Fatalf("contact = %+v", f)
	}
	c.say("c-1", "Anyone there? I need a refund.")
	ticket := e.visitorRow(w.VisitorToken).TicketID

	// While the widget is open the reply goes only to it.
	live := e.reply(ticket, "Yes, looking now.", false)
	if f, _ := c.until(isReply); f.Message.ID != live.ID {
		t.Fatalf("live reply = %+v", f.Message)
	}
	waitSent(t, e, ticket, live.ID)
	if n := len(email.list()); n != 0 {
		t.Fatalf("%d emails sent while the widget was open", n)
	}

	c.ws.Close()
	v := e.visitorRow(w.VisitorToken)
	waitFor(t, "the socket to unregister", func() bool { return !e.ch.hub.connected(v.ID) })
	later := e.reply(ticket, "Refund issued, sorry for the wait.", false)
	waitFor(t, "the email", func() bool { return len(email.list()) == 1 })
	out := email.list()[0]
	if out.Inbox.ID != mailbox.ID || out.Message.ID != later.ID || out.Message.Text != "Refund issued, sorry for the wait." ||
		out.Customer.Identities[0] != (crm.Identity{Kind: crm.IdentityEmail, Address: "sam@example.com"}) {
		t.Fatalf("email outbound = inbox %d, message %+v, customer %+v", out.Inbox.ID, out.Message, out.Customer)
	}
	waitSent(t, e, ticket, later.ID)

	// Back on the site, the shopper finds the reply in the widget too.
	_, w = e.visitor(map[string]any{"visitor_token": w.VisitorToken})
	if n := len(w.Messages); n != 3 || w.Messages[2].Text != "Refund issued, sorry for the wait." {
		t.Fatalf("history after returning = %+v", w.Messages)
	}
}

func runDispatcher(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	d := &channels.Dispatcher{Outbox: e.db, Bus: e.bus, Connectors: e.reg, Poll: 20 * time.Millisecond}
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func waitSent(t *testing.T, e *env, ticket, id int64) {
	t.Helper()
	waitFor(t, "the reply to be sent", func() bool {
		for _, m := range e.messages(ticket) {
			if m.ID == id {
				return m.Status == crm.MsgSent
			}
		}
		return false
	})
}

func TestTyping(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	sub := e.bus.Subscribe(64)
	defer sub.Close()
	c, w := e.visitor(map[string]any{"page_url": "https://shop.example/cart"})
	c.say("c-1", "hi")
	v := e.visitorRow(w.VisitorToken)

	c.send(map[string]any{"type": "typing"})
	deadline := time.After(10 * time.Second)
	for found := false; !found; {
		select {
		case ev := <-sub.C:
			if ev.Type != crm.EventTyping {
				continue
			}
			var data map[string]any
			json.Unmarshal(ev.Data, &data)
			if ev.ID != 0 || ev.TicketID != v.TicketID || ev.Actor != (crm.Actor{Kind: "customer", ID: v.CustomerID}) ||
				data["customer"] != true || data["page_url"] != "https://shop.example/cart" {
				t.Fatalf("typing event = %+v %s", ev, ev.Data)
			}
			found = true
		case <-deadline:
			t.Fatal("no typing event")
		}
	}

	e.bus.Publish(&crm.Event{Type: crm.EventTyping, TicketID: v.TicketID, Actor: crm.Actor{Kind: "agent", ID: e.agent.ID}})
	if f, _ := c.until(isType("typing")); f.Type != "typing" {
		t.Fatal("agent typing not shown")
	}

	c.send(map[string]any{"type": "page", "url": "javascript:alert(1)"})
	if f := c.next(); f.Type != "error" || f.Error.Code != crm.EINVALID {
		t.Fatalf("bad page URL: %+v", f)
	}
	c.send(map[string]any{"type": "page", "url": "https://shop.example/checkout"})
	waitFor(t, "the page to be saved", func() bool { return e.visitorRow(w.VisitorToken).PageURL == "https://shop.example/checkout" })
}

func pngBytes(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUpload(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	c, w := e.visitor(nil)
	name := "../photo.png"
	post := func(origin, token string, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/widget/upload?inbox="+itoa(e.inbox.ID)+"&name="+url.QueryEscape(name), bytes.NewReader(body))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if token != "" {
			req.Header.Set("X-Parley-Visitor", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	for _, tc := range []struct {
		origin, token string
		body          []byte
		want          int
	}{
		{shopOrigin, "", pngBytes(t), 401},
		{"https://evil.example", w.VisitorToken, pngBytes(t), 403},
		{shopOrigin, w.VisitorToken, []byte("#!/bin/sh\nrm -rf /\n"), 400},
		{shopOrigin, w.VisitorToken, []byte("<html><script>alert(1)</script>"), 400},
		{shopOrigin, w.VisitorToken, bytes.Repeat([]byte{0x89}, maxUpload+1), 413},
	} {
		if got, out := post(tc.origin, tc.token, tc.body); got != tc.want {
			t.Errorf("upload from %s with %d bytes: %d %v, want %d", tc.origin, len(tc.body), got, out, tc.want)
		}
	}
	code, out := post(shopOrigin, w.VisitorToken, pngBytes(t))
	if code != 201 || out["content_type"] != "image/png" || out["filename"] != "photo.png" {
		t.Fatalf("upload = %d %v", code, out)
	}
	c.send(map[string]any{"type": "message", "client_id": "pic", "text": "", "attachments": []string{out["upload_id"].(string)}})
	if f, _ := c.until(isType("ack")); f.ClientID != "pic" {
		t.Fatalf("ack = %+v", f)
	}
	msgs := e.messages(e.visitorRow(w.VisitorToken).TicketID)
	if a := msgs[0].Attachments; len(a) != 1 || a[0].ContentType != "image/png" || a[0].Filename != "photo.png" {
		t.Fatalf("attachments = %+v", msgs[0].Attachments)
	}
	// A GIF named like a web page is named for what it is: a browser opening the
	// download must not run it as a page. Bidi overrides are gone from the name too.
	name = "invoice\u202egpj.poly.html"
	code, out2 := post(shopOrigin, w.VisitorToken, []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	if code != 201 || out2["content_type"] != "image/gif" || out2["filename"] != "invoicegpj.poly.gif" {
		t.Fatalf("upload of a GIF named poly.html = %d %v", code, out2)
	}
	c.send(map[string]any{"type": "message", "client_id": "gif", "attachments": []string{out2["upload_id"].(string)}})
	if f, _ := c.until(isType("ack")); f.ClientID != "gif" {
		t.Fatalf("ack = %+v", f)
	}
	msgs = e.messages(e.visitorRow(w.VisitorToken).TicketID)
	if a := msgs[len(msgs)-1].Attachments; len(a) != 1 || a[0].Filename != "invoicegpj.poly.gif" {
		t.Fatalf("attachments = %+v", a)
	}
	// Another visitor cannot use the upload.
	c2, _ := e.visitor(nil)
	c2.send(map[string]any{"type": "message", "client_id": "steal", "attachments": []string{out["upload_id"].(string)}})
	if f := c2.next(); f.Type != "error" || f.Error.Code != crm.ENOTFOUND {
		t.Fatalf("foreign upload: %+v", f)
	}
}

func TestConfigAndScript(t *testing.T) {
	e := newEnv(t, Options{}, map[string]any{"color": "#ABC", "greeting": "Hej!", "position": "left"})
	req, _ := http.NewRequest("GET", e.srv.URL+"/widget/config?inbox="+itoa(e.inbox.ID), nil)
	req.Header.Set("Origin", shopOrigin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != shopOrigin || cfg["color"] != "#abc" || cfg["greeting"] != "Hej!" ||
		cfg["position"] != "left" || cfg["online"] != true || cfg["require_email"] != false {
		t.Fatalf("config = %v (CORS %q)", cfg, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if _, ok := cfg["identity_secret"]; ok {
		t.Fatal("config leaks the identity secret")
	}
	for _, bad := range []string{"?inbox=abc", "?inbox=999", ""} {
		resp, err := http.Get(e.srv.URL + "/widget/config" + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("config%s = %d", bad, resp.StatusCode)
		}
	}

	req, _ = http.NewRequest("GET", e.srv.URL+"/widget.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || len(body) > 30<<10 || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
		t.Fatalf("widget.js: %d bytes, headers %v", len(body), resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(zr)
	if !bytes.Contains(js, []byte("attachShadow")) || bytes.Contains(js, []byte(".innerHTML")) {
		t.Fatal("widget.js must draw in a shadow root and never use innerHTML")
	}
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation = %d, want 304", resp.StatusCode)
	}
}

func TestDemoPage(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	get := func() string {
		resp, err := http.Get(e.srv.URL + "/demo")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if page := get(); !strings.Contains(page, "There is no demo chat inbox") || strings.Contains(page, "widget.js") {
		t.Fatal("the demo page without a demo inbox should say so")
	}
	// The page on Parley's own origin may not open a shop's inbox...
	if _, resp, err := e.dial(e.srv.URL); err == nil || resp.StatusCode != 403 {
		t.Fatalf("own origin opened a non-demo inbox: %v", err)
	}
	// ...but may open the demo inbox, which the seed creates without allowed origins.
	demo, err := e.db.CreateInbox(crm.AsSystem(context.Background()), &crm.Inbox{Kind: crm.KindChat, Name: "Demo: shop chat", Config: map[string]any{"demo": true}})
	if err != nil {
		t.Fatal(err)
	}
	if page := get(); !strings.Contains(page, `data-inbox="`+itoa(demo.ID)+`"`) || !strings.Contains(page, "demo shop") {
		t.Fatalf("demo page does not embed inbox %d", demo.ID)
	}
	e.inbox = demo
	c, _, err := e.dial(e.srv.URL)
	if err != nil {
		t.Fatalf("the demo page's origin was refused: %v", err)
	}
	c.send(map[string]any{"type": "hello"})
	if f := c.next(); f.Type != "welcome" {
		t.Fatalf("demo hello: %+v", f)
	}
	if _, resp, err := e.dial(shopOrigin); err == nil || resp.StatusCode != 403 {
		t.Fatal("a shop origin opened the demo inbox")
	}
}

// TestDemoPagePublicURL checks that with a public URL the demo inbox opens from that
// origin (a default port and upper case make no difference) and no longer from the
// address the request came to.
func TestDemoPagePublicURL(t *testing.T) {
	e := newEnv(t, Options{PublicURL: &url.URL{Scheme: "https", Host: "desk.example.test"}}, nil)
	demo, err := e.db.CreateInbox(crm.AsSystem(context.Background()), &crm.Inbox{Kind: crm.KindChat, Name: "Demo: shop chat", Config: map[string]any{"demo": true}})
	if err != nil {
		t.Fatal(err)
	}
	e.inbox = demo
	for _, origin := range []string{"https://desk.example.test", "https://Desk.Example.test:443"} {
		if _, _, err := e.dial(origin); err != nil {
			t.Errorf("the public origin %s was refused: %v", origin, err)
		}
	}
	for _, origin := range []string{e.srv.URL, "http://desk.example.test"} {
		if _, resp, err := e.dial(origin); err == nil || resp.StatusCode != 403 {
			t.Errorf("origin %s opened the demo inbox", origin)
		}
	}
}

func TestPrepareInbox(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	ctx := crm.AsSystem(context.Background())
	prep := func(config map[string]any) (*crm.Inbox, error) {
		in := &crm.Inbox{Kind: crm.KindChat, Name: "x", Config: config, Secrets: map[string]string{}}
		return in, e.ch.PrepareInbox(ctx, in)
	}
	in, err := prep(map[string]any{"allowed_origins": []any{"https://Shop.example/", "http://localhost:3000"}})
	if err != nil {
		t.Fatal(err)
	}
	c := in.Config
	secret := in.Secrets["identity_secret"]
	if _, inConfig := c["identity_secret"]; inConfig || len(secret) != 64 || c["color"] != defaultColor || c["position"] != "right" || c["require_email"] != false ||
		c["greeting"] != defaultGreeting {
		t.Fatalf("defaults = %v", c)
	}
	if o := c["allowed_origins"].([]any); len(o) != 2 || o[0] != "https://shop.example" || o[1] != "http://localhost:3000" {
		t.Fatalf("origins = %v", o)
	}
	stored, err := e.db.CreateInbox(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := stored.Config["identity_secret"]; ok || stored.Secrets["identity_secret"] != secret {
		t.Fatal("the identity secret is not sealed")
	}
	// An update that leaves the secret out keeps it.
	upd := &crm.Inbox{ID: stored.ID, Kind: crm.KindChat, Config: map[string]any{"allowed_origins": []any{"https://shop.example"}}, Secrets: stored.Secrets}
	if err := e.ch.PrepareInbox(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if _, ok := upd.Config["identity_secret"]; ok {
		t.Fatal("an update replaced the stored secret")
	}

	for _, bad := range []map[string]any{
		{},
		{"allowed_origins": "https://shop.example"},
		{"allowed_origins": []any{"shop.example"}},
		{"allowed_origins": []any{"https://shop.example/path"}},
		{"allowed_origins": []any{"ftp://shop.example"}},
		{"allowed_origins": []any{"https://*.shop.example"}},
		{"allowed_origins": []any{"https://shop.example"}, "color": "red"},
		{"allowed_origins": []any{"https://shop.example"}, "color": "#12345"},
		{"allowed_origins": []any{"https://shop.example"}, "position": "top"},
		{"allowed_origins": []any{"https://shop.example"}, "require_email": "yes"},
		{"allowed_origins": []any{"https://shop.example"}, "identity_secret": "short"},
		{"allowed_origins": []any{"https://shop.example"}, "email_inbox_id": float64(e.inbox.ID)},
		{"allowed_origins": []any{"https://shop.example"}, "email_inbox_id": 1.5},
		{"allowed_origins": []any{"https://shop.example"}, "greeting": strings.Repeat("x", 501)},
		{"allowed_origins": []any{"https://shop.example"}, "colour": "#fff"},
	} {
		if _, err := prep(bad); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("PrepareInbox(%v) = %v, want invalid", bad, err)
		}
	}
}

func TestInboxChangeAppliesWithoutRestart(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	const newShop = "https://new-shop.example"
	if _, resp, err := e.dial(newShop); err == nil || resp.StatusCode != 403 {
		t.Fatal("a foreign origin was allowed")
	}
	in, err := e.db.Inbox(crm.AsSystem(context.Background()), e.inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	in.Config = map[string]any{"allowed_origins": []any{shopOrigin, newShop}}
	if err := e.ch.PrepareInbox(crm.AsSystem(context.Background()), in); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateInbox(crm.AsSystem(context.Background()), in); err != nil {
		t.Fatal(err)
	}
	// The store announces the change (published here too, in case it does not yet).
	e.bus.Publish(&crm.Event{Type: crm.EventInboxUpdated, InboxID: in.ID})
	waitFor(t, "the new origin to be allowed", func() bool {
		c, _, err := e.dial(newShop)
		if err == nil {
			c.ws.Close()
		}
		return err == nil
	})
}
