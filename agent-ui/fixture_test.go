package agentui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	agentui "parley/agent-ui"
	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
	"parley/outbound"
	"parley/server"
)

const password = "correct horse battery"

// fixture is a running Parley: a real store (teststore's), the HTTP server with the console and the
// WebSocket hub, an admin and one api inbox. It records the requests the server got and
// the connections it accepted.
type fixture struct {
	t     *testing.T
	db    storetest.Store
	bus   *crm.LocalBus
	srv   *httptest.Server
	admin *crm.Agent
	inbox int64
	token string // the admin's API token, for POST /api/v1/inbound
	// server is the server under test, for workers a test runs beside it (its presence).
	server *server.Server

	mu    sync.Mutex
	reqs  []*url.URL
	conns []net.Conn
	holds map[string]chan struct{} // request path -> closed when the request may go on
	late  map[string]chan struct{} // request path -> closed when its answer may go out
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.Default()
	}
	s := server.New(db, server.Options{UI: agentui.Handler(), Bus: bus, Logger: logger,
		Outbound: outbound.New(outbound.Options{AllowPrivateNetwork: true})}) // fakes are on loopback
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	f := &fixture{t: t, db: db, bus: bus, server: s}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := *r.URL
		f.mu.Lock()
		f.reqs = append(f.reqs, &u)
		hold := f.holds[r.URL.Path]
		late := f.late[r.URL.Path]
		f.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if late != nil {
			// Handled now, answered later: an answer that arrives after the live events.
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			select {
			case <-late:
			case <-r.Context().Done():
				return
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		s.ServeHTTP(w, r)
	}))
	srv.Listener = &trackingListener{Listener: srv.Listener, f: f}
	srv.Start()
	f.srv = srv
	t.Cleanup(func() {
		cancel()
		<-done
		srv.Close()
	})
	f.admin = f.agent("ada@test.example", "Ada Admin", crm.RoleAdmin)
	in, err := db.CreateInbox(crm.WithAgent(crm.AsSystem(context.Background()), f.admin), &crm.Inbox{Kind: crm.KindAPI, Name: "Web shop", Config: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	f.inbox = in.ID
	if f.token, _, err = db.CreateToken(crm.AsSystem(context.Background()), f.admin.ID, "test", nil); err != nil {
		t.Fatal(err)
	}
	return f
}

// agent creates an agent in the fixture's inbox.
func (f *fixture) agent(email, name, role string, inboxes ...int64) *crm.Agent {
	f.t.Helper()
	a, err := f.db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: email, Name: name, Role: role, Password: password, InboxIDs: inboxes})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// inbound files a customer message through POST /api/v1/inbound, as a shop's backend
// would, and returns the ticket id.
func (f *fixture) inbound(extID, name, email, subject, text string) int64 {
	f.t.Helper()
	body, _ := json.Marshal(map[string]any{"inbox": f.inbox, "external_id": extID,
		"from": map[string]string{"name": name, "email": email}, "subject": subject, "text": text})
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/inbound", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var res crm.IngestResult
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&res) != nil || res.TicketID == 0 {
		f.t.Fatalf("POST /api/v1/inbound: %d", resp.StatusCode)
	}
	return res.TicketID
}

// ingest files a message straight into the store, skipping the API's sanitizer, as a
// careless connector might.
func (f *fixture) ingest(in *crm.Inbound) *crm.IngestResult {
	f.t.Helper()
	in.InboxID = f.inbox
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = time.Now()
	}
	res, err := f.db.Ingest(crm.AsSystem(context.Background()), in)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) ticket(id int64) *crm.Ticket {
	f.t.Helper()
	t, err := f.db.Ticket(crm.AsSystem(context.Background()), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return t
}

func (f *fixture) messages(ticketID int64) []*crm.Message {
	f.t.Helper()
	msgs, _, err := f.db.Messages(crm.AsSystem(context.Background()), ticketID, crm.Page{Limit: 200})
	if err != nil {
		f.t.Fatal(err)
	}
	return msgs
}

// trackingListener remembers every connection it accepts, so a test can cut them all,
// WebSockets included, as a network failure or a server restart would.
type trackingListener struct {
	net.Listener
	f *fixture
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.f.mu.Lock()
		l.f.conns = append(l.f.conns, c)
		l.f.mu.Unlock()
	}
	return c, err
}

// dropConnections closes every connection the server accepted so far.
func (f *fixture) dropConnections() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

// requests counts the requests the server got that match.
func (f *fixture) requests(match func(u *url.URL) bool) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, u := range f.reqs {
		if match(u) {
			n++
		}
	}
	return n
}

// lateAnswer makes the server handle requests to path at once but hold their answers
// until release is called.
func (f *fixture) lateAnswer(path string) (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	if f.late == nil {
		f.late = map[string]chan struct{}{}
	}
	f.late[path] = ch
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.late, path)
			f.mu.Unlock()
			close(ch)
		})
	}
}

// hold makes requests for path wait until release is called, as a slow network would;
// the test's end releases them too.
func (f *fixture) hold(path string) (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	if f.holds == nil {
		f.holds = map[string]chan struct{}{}
	}
	f.holds[path] = ch
	f.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.holds, path)
			f.mu.Unlock()
			close(ch)
		})
	}
	f.t.Cleanup(release)
	return release
}
