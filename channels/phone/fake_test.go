package phone_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/channels"
	"parley/channels/phone"
	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
	"parley/outbound"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "0123456789abcdef0123456789abcdef"
	inboxNum  = "+14155550100"
	waNum     = "+14155550101"
	publicURL = "https://desk.example.test"
	badNumber = "+15005550001" // Twilio's test number that is "invalid"
)

// fakeTwilio is an httptest fake of the parts of Twilio's REST API Parley uses. It
// checks the account's basic auth and records the form posts it gets.
type fakeTwilio struct {
	srv      *httptest.Server
	mu       sync.Mutex
	messages []url.Values
	sids     []string // the MessageSid given to each of messages
	calls    []url.Values
	fetched  []string
	media    map[string][]byte // path -> content
}

func newFakeTwilio(t testing.TB) *fakeTwilio {
	f := &fakeTwilio{media: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func randSID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func (f *fakeTwilio) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != testSID || pass != testToken {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	prefix := "/2010-04-01/Accounts/" + testSID
	now := time.Now().UTC().Format(time.RFC1123Z)
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix+".json":
		json.NewEncoder(w).Encode(map[string]any{"sid": testSID, "friendly_name": "Test shop", "status": "active",
			"type": "Full", "date_created": now, "uri": prefix + ".json"})
	case r.Method == http.MethodPost && r.URL.Path == prefix+"/Messages.json":
		r.ParseForm()
		to := strings.TrimPrefix(r.PostForm.Get("To"), "whatsapp:")
		if to == badNumber || !strings.HasPrefix(to, "+") {
			twilioError(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
			return
		}
		sid := randSID("SM")
		f.mu.Lock()
		f.messages = append(f.messages, r.PostForm)
		f.sids = append(f.sids, sid)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": sid, "account_sid": testSID, "status": "queued",
			"to": r.PostForm.Get("To"), "from": r.PostForm.Get("From"), "body": r.PostForm.Get("Body"),
			"num_segments": "1", "num_media": "0", "direction": "outbound-api", "api_version": "2010-04-01",
			"date_created": now, "date_updated": now, "uri": prefix + "/Messages/" + sid + ".json"})
	case r.Method == http.MethodPost && r.URL.Path == prefix+"/Calls.json":
		r.ParseForm()
		sid := randSID("CA")
		f.mu.Lock()
		f.calls = append(f.calls, r.PostForm)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": sid, "account_sid": testSID, "status": "queued",
			"to": r.PostForm.Get("To"), "from": r.PostForm.Get("From"), "direction": "outbound-api",
			"date_created": now, "uri": prefix + "/Calls/" + sid + ".json"})
	case r.Method == http.MethodGet:
		f.mu.Lock()
		data, ok := f.media[r.URL.Path]
		f.fetched = append(f.fetched, r.URL.Path)
		f.mu.Unlock()
		if !ok {
			twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
			return
		}
		ct := "image/jpeg"
		if strings.HasSuffix(r.URL.Path, ".mp3") {
			ct = "audio/mpeg"
		}
		w.Header().Set("Content-Type", ct)
		w.Write(data)
	default:
		twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
	}
}

func (f *fakeTwilio) addMedia(path string, data []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.media[path] = data
	return f.srv.URL + path
}

func (f *fakeTwilio) sentMessages() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.messages...)
}

func (f *fakeTwilio) sentSIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sids...)
}

func (f *fakeTwilio) placedCalls() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.calls...)
}

// env is a phone channel over a real store, its webhooks served by an httptest
// server that Twilio would reach at publicURL through a reverse proxy.
type env struct {
	t     testing.TB
	db    storetest.Store
	bus   *crm.LocalBus
	ch    *phone.Channel
	tw    *fakeTwilio
	web   *httptest.Server
	inbox *crm.Inbox
	admin *crm.Agent
}

func newEnv(t testing.TB, opt phone.Options, extra map[string]any) *env {
	t.Helper()
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	e := &env{t: t, db: db, bus: bus, tw: newFakeTwilio(t)}
	opt.PublicURL, _ = url.Parse(publicURL)
	if opt.Outbound == nil { // the fake Twilio is on loopback
		opt.Outbound = outbound.New(outbound.Options{AllowPrivateNetwork: true})
	}
	if opt.Logger == nil {
		opt.Logger = testLogger(t)
	}
	e.ch = phone.New(db, opt)
	e.web = httptest.NewServer(e.ch.Handler())
	t.Cleanup(e.web.Close)

	ctx := crm.AsSystem(context.Background())
	var err error
	e.admin, err = db.CreateAgent(ctx, &crm.NewAgent{Email: "admin@example.test", Name: "Ada Admin",
		Role: crm.RoleAdmin, Password: "correct horse battery", Phone: "+14155550199"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{"account_sid": testSID, "auth_token": testToken, "phone_number": inboxNum,
		"whatsapp_number": waNum, "forward_numbers": []any{"+14155550198", "+14155550199"},
		"api_base_url": e.tw.srv.URL}
	for k, v := range extra {
		cfg[k] = v
	}
	in := &crm.Inbox{Kind: crm.KindPhone, Name: "Hotline", Config: cfg}
	if err := e.ch.PrepareInbox(ctx, in); err != nil {
		t.Fatal(err)
	}
	if e.inbox, err = db.CreateInbox(ctx, in); err != nil {
		t.Fatal(err)
	}
	return e
}

// testLogger logs through t, so that logs show only for failing tests and with -v.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// hookPath is the path of a webhook of the env's inbox, with its query.
func (e *env) hookPath(hook string) string {
	return fmt.Sprintf("/webhooks/twilio/%d/%s", e.inbox.ID, hook)
}

// post sends a webhook signed for the public URL, as Twilio would, and returns the
// status and body.
func (e *env) post(hook string, form url.Values) (int, string) {
	e.t.Helper()
	return e.postSigned(hook, form, phone.Signature(testToken, publicURL+e.hookPath(hook), form))
}

func (e *env) postSigned(hook string, form url.Values, sig string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.web.URL+e.hookPath(hook), strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func smsForm(sid, from, body string) url.Values {
	return url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {testSID}, "From": {from},
		"To": {inboxNum}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"}, "ApiVersion": {"2010-04-01"},
		"FromCountry": {"US"}, "SmsStatus": {"received"}}
}

func callForm(sid, from string) url.Values {
	return url.Values{"CallSid": {sid}, "AccountSid": {testSID}, "From": {from}, "To": {inboxNum},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}}
}

// with returns a copy of form with more fields.
func with(form url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Set(kv[i], kv[i+1])
	}
	return out
}

// tickets lists every ticket, as the system sees them.
func (e *env) tickets() []*crm.Ticket {
	e.t.Helper()
	ts, _, err := e.db.Tickets(crm.AsSystem(context.Background()), crm.TicketFilter{Page: crm.Page{Limit: 200}})
	if err != nil {
		e.t.Fatal(err)
	}
	return ts
}

func (e *env) messages(ticketID int64) []*crm.Message {
	e.t.Helper()
	ms, _, err := e.db.Messages(crm.AsSystem(context.Background()), ticketID, crm.Page{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

// onlyTicket returns the one ticket there is.
func (e *env) onlyTicket() *crm.Ticket {
	e.t.Helper()
	ts := e.tickets()
	if len(ts) != 1 {
		e.t.Fatalf("got %d tickets, want 1", len(ts))
	}
	return ts[0]
}

// dispatch runs an outbox dispatcher with the phone connector until the test ends.
func (e *env) dispatch() {
	reg := channels.NewRegistry()
	reg.Register(crm.KindPhone, e.ch)
	d := &channels.Dispatcher{Outbox: e.db, Bus: e.bus, Connectors: reg, Poll: 20 * time.Millisecond,
		BaseBackoff: time.Hour, Logger: testLogger(e.t)}
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// reply stores an agent's reply on a ticket, queued in the outbox.
func (e *env) reply(ticketID int64, body string) *crm.Message {
	e.t.Helper()
	m, err := e.db.AddMessage(crm.WithAgent(crm.AsSystem(context.Background()), e.admin), &crm.NewMessage{TicketID: ticketID, Body: body})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// waitFor polls cond until it holds or five seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// message returns a message of a ticket by id.
func (e *env) message(ticketID, id int64) *crm.Message {
	e.t.Helper()
	for _, m := range e.messages(ticketID) {
		if m.ID == id {
			return m
		}
	}
	e.t.Fatalf("message %d not found on ticket %d", id, ticketID)
	return nil
}

// xmlNode is a parsed TwiML element.
type xmlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []xmlNode  `xml:",any"`
}

func (n xmlNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// find returns the first descendant (or n itself) named name.
func (n xmlNode) find(name string) (xmlNode, bool) {
	if n.XMLName.Local == name {
		return n, true
	}
	for _, c := range n.Children {
		if f, ok := c.find(name); ok {
			return f, true
		}
	}
	return xmlNode{}, false
}

// verbs lists the names of the top-level verbs.
func (n xmlNode) verbs() []string {
	var v []string
	for _, c := range n.Children {
		v = append(v, c.XMLName.Local)
	}
	return v
}

// says joins the text of every <Say>.
func (n xmlNode) says() string {
	var b strings.Builder
	if n.XMLName.Local == "Say" {
		b.WriteString(n.Text + " ")
	}
	for _, c := range n.Children {
		b.WriteString(c.says())
	}
	return b.String()
}

func parseTwiML(t *testing.T, body string) xmlNode {
	t.Helper()
	var n xmlNode
	if err := xml.Unmarshal([]byte(body), &n); err != nil {
		t.Fatalf("response is not XML: %v\n%s", err, body)
	}
	if n.XMLName.Local != "Response" {
		t.Fatalf("root is <%s>, want <Response>", n.XMLName.Local)
	}
	return n
}
