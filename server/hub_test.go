package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
	"parley/server"

	"github.com/gorilla/websocket"
)

// hubEnv is env with the bus wired into the server and the hub running.
type hubEnv struct {
	*env
	api  *server.Server
	stop func() // stops the hub and waits for Run to return
}

func newHubEnv(t *testing.T) *hubEnv { return newHubEnvWith(t, server.Options{}) }

// newHubEnvWith is newHubEnv with server options of the test's own.
func newHubEnvWith(t *testing.T, opt server.Options) *hubEnv {
	t.Helper()
	return newHubEnvStore(t, opt, func(db storetest.Store) server.Store { return db })
}

// newHubEnvStore is newHubEnvWith with the server reading the store through wrap.
func newHubEnvStore(t *testing.T, opt server.Options, wrap func(storetest.Store) server.Store) *hubEnv {
	t.Helper()
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	if opt.Bus == nil { // a test may give the hub a bus of its own, apart from the store's
		opt.Bus = bus
	}
	srv := server.New(wrap(db), opt)
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	done := make(chan struct{})
	go func() {
		srv.Run(ctx)
		close(done)
	}()
	hs := httptest.NewServer(srv)
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(func() {
		hs.Close()
		stop()
	})
	e := &env{t: t, st: st, db: db, bus: bus, srv: hs}
	if _, err := db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: "admin@test.example", Name: "Ada Admin", Role: crm.RoleAdmin, Password: adminPassword}); err != nil {
		t.Fatal(err)
	}
	e.admin = e.login("admin@test.example", adminPassword)
	he := &hubEnv{env: e, api: srv, stop: stop}
	// Run starts on its own goroutine; wait until the hub accepts sockets.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws, resp, err := he.dialRaw(e.admin, http.Header{"Origin": {hs.URL}})
		if err == nil {
			ws.Close()
			break
		}
		if resp == nil || resp.StatusCode != http.StatusInternalServerError || time.Now().After(deadline) {
			t.Fatalf("dial the hub: %v", err)
		}
		runtime.Gosched()
	}
	return he
}

// agentID returns the id of the agent with that email.
func (e *hubEnv) agentID(email string) int64 {
	e.t.Helper()
	a, err := e.db.AgentByEmail(crm.AsSystem(context.Background()), email)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

func (e *hubEnv) wsURL() string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/ws" }

// dialRaw opens a socket as client c (cookie or bearer token) with the given headers.
func (e *hubEnv) dialRaw(c *client, h http.Header) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	if h == nil {
		h = http.Header{}
	}
	if c != nil {
		if c.token != "" {
			h.Set("Authorization", "Bearer "+c.token)
		} else {
			d.Jar = c.hc.Jar
		}
	}
	return d.Dial(e.wsURL(), h)
}

// dial opens a socket as c from the console's own origin.
func (e *hubEnv) dial(c *client) *wsConn {
	e.t.Helper()
	ws, resp, err := e.dialRaw(c, http.Header{"Origin": {e.srv.URL}})
	if err != nil {
		body := ""
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			body = fmt.Sprintf(" (%d %s)", resp.StatusCode, b)
		}
		e.t.Fatalf("dial: %v%s", err, body)
	}
	w := &wsConn{t: e.t, ws: ws}
	e.t.Cleanup(func() { ws.Close() })
	return w
}

// wsConn is a test client socket that remembers every frame it read.
type wsConn struct {
	t      testing.TB
	ws     *websocket.Conn
	frames []wsFrame
	used   map[int]bool // frames a waitFor already returned
}

type wsFrame struct {
	ID    int64           `json:"id"`
	Type  string          `json:"type"`
	At    string          `json:"at"`
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	raw string
}

// num returns the number at key of the frame's data object, 0 if absent.
func (f wsFrame) num(key string) int64 {
	var m map[string]any
	json.Unmarshal(f.Data, &m)
	n, _ := m[key].(float64)
	return int64(n)
}

func (f wsFrame) str(key string) string {
	var m map[string]any
	json.Unmarshal(f.Data, &m)
	s, _ := m[key].(string)
	return s
}

// read returns the next frame, failing after a generous deadline.
func (w *wsConn) read() (wsFrame, error) {
	w.ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	typ, data, err := w.ws.ReadMessage()
	if err != nil {
		return wsFrame{}, err
	}
	if typ != websocket.TextMessage {
		w.t.Fatalf("got a binary frame")
	}
	var f wsFrame
	if err := json.Unmarshal(data, &f); err != nil {
		w.t.Fatalf("frame is not JSON: %s", data)
	}
	f.raw = string(data)
	w.frames = append(w.frames, f)
	return f, nil
}

// waitFor returns the first matching frame that no earlier waitFor returned, reading
// more frames until one arrives.
func (w *wsConn) waitFor(what string, match func(wsFrame) bool) wsFrame {
	w.t.Helper()
	if w.used == nil {
		w.used = map[int]bool{}
	}
	for i, f := range w.frames {
		if !w.used[i] && match(f) {
			w.used[i] = true
			return f
		}
	}
	for {
		f, err := w.read()
		if err != nil {
			w.t.Fatalf("waiting for %s: %v; frames so far:\n%s", what, err, w.dump())
		}
		if match(f) {
			w.used[len(w.frames)-1] = true
			return f
		}
	}
}

// waitText waits for a stored event frame of type typ whose JSON contains text.
func (w *wsConn) waitText(typ, text string) wsFrame {
	w.t.Helper()
	return w.waitFor(typ+" with "+text, func(f wsFrame) bool { return f.Type == typ && strings.Contains(f.raw, text) })
}

// never fails if any frame read so far contains text.
func (w *wsConn) never(text string) {
	w.t.Helper()
	for _, f := range w.frames {
		if strings.Contains(f.raw, text) {
			w.t.Fatalf("socket got a frame it must not see: %s", f.raw)
		}
	}
}

func (w *wsConn) send(v any) {
	w.t.Helper()
	var data []byte
	if s, ok := v.(string); ok {
		data = []byte(s)
	} else {
		data, _ = json.Marshal(v)
	}
	if err := w.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		w.t.Fatal(err)
	}
}

// closed reads until the server ends the connection and returns the close error.
func (w *wsConn) closed() error {
	w.t.Helper()
	for {
		if _, err := w.read(); err != nil {
			return err
		}
	}
}

func (w *wsConn) dump() string {
	var b strings.Builder
	for _, f := range w.frames {
		b.WriteString(f.raw + "\n")
	}
	return b.String()
}

func TestHubDeliversOnlyToAgentsOfTheInbox(t *testing.T) {
	e := newHubEnv(t)
	inA, inB := e.inbox("api", "Shop A"), e.inbox("api", "Shop B")
	alice := e.dial(e.agent("alice@test.example", crm.RoleAgent, inA))
	bob := e.dial(e.agent("bob@test.example", crm.RoleAgent, inB))
	boss := e.dial(e.agent("boss@test.example", crm.RoleManager))

	ra := e.inbound(inA, "a-1", "anna@example.com", "parcel-missing")
	f := alice.waitFor("message.created", func(f wsFrame) bool { return f.Type == "message.created" && f.num("id") == ra.MessageID })
	if f.ID <= 0 || f.num("ticket_id") != ra.TicketID || f.str("text") != "parcel-missing" {
		t.Fatalf("frame = %s", f.raw)
	}
	if at, err := time.Parse(time.RFC3339, f.At); err != nil || time.Since(at) > time.Hour {
		t.Fatalf("at = %q: %v", f.At, err)
	}
	alice.waitFor("ticket.created", func(f wsFrame) bool { return f.Type == "ticket.created" && f.num("id") == ra.TicketID })
	alice.waitText("customer.updated", "anna@example.com")
	boss.waitText("message.created", "parcel-missing")

	rb := e.inbound(inB, "b-1", "bert@example.com", "refund-please")
	bob.waitText("message.created", "refund-please")
	boss.waitText("message.created", "refund-please")
	bob.never("parcel-missing")
	bob.never("anna@example.com")

	// A later event of inbox A arrives at Alice; nothing of inbox B came before it.
	e.inbound(inA, "a-2", "anna@example.com", "second-note")
	alice.waitText("message.created", "second-note")
	alice.never("refund-please")
	alice.never("bert@example.com")

	// A customer change reaches the agents of inboxes where the customer has a ticket.
	e.admin.mustDo("PATCH", "/api/v1/customers/"+itoa(rb.CustomerID), map[string]any{"name": "Bert Renamed"}, 200, nil)
	e.admin.mustDo("PATCH", "/api/v1/customers/"+itoa(ra.CustomerID), map[string]any{"name": "Anna Renamed"}, 200, nil)
	bob.waitText("customer.updated", "Bert Renamed")
	alice.waitText("customer.updated", "Anna Renamed")
	alice.never("Bert Renamed")
	boss.waitText("customer.updated", "Anna Renamed")
	for _, w := range []*wsConn{alice, bob, boss} {
		for _, f := range w.frames {
			if f.Type == crm.EventAgentUpdated || f.Type == crm.EventInboxUpdated {
				t.Fatalf("sockets must not get %s", f.raw)
			}
		}
	}
}

func TestHubMembershipChangeTakesEffectPerEvent(t *testing.T) {
	e := newHubEnv(t)
	inA, inB := e.inbox("api", "Shop A"), e.inbox("api", "Shop B")
	alice := e.dial(e.agent("alice@test.example", crm.RoleAgent, inA))
	id := itoa(e.agentID("alice@test.example"))

	e.admin.mustDo("PATCH", "/api/v1/agents/"+id, map[string]any{"inbox_ids": []int64{inB}}, 200, nil)
	e.inbound(inA, "a-1", "anna@example.com", "now-hidden")
	e.inbound(inB, "b-1", "bert@example.com", "now-visible")
	alice.waitText("message.created", "now-visible")
	alice.never("now-hidden")

	e.admin.mustDo("PATCH", "/api/v1/agents/"+id, map[string]any{"inbox_ids": []int64{inA}}, 200, nil)
	e.inbound(inB, "b-2", "bert@example.com", "hidden-again")
	e.inbound(inA, "a-2", "anna@example.com", "visible-again")
	alice.waitText("message.created", "visible-again")
	alice.never("hidden-again")

	e.admin.mustDo("PATCH", "/api/v1/agents/"+id, map[string]any{"disabled": true}, 200, nil)
	var ce *websocket.CloseError
	if err := alice.closed(); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "account disabled" {
		t.Fatalf("disabled agent's socket ended with %v, want close 1008 account disabled", err)
	}
}

func TestHubClosesSocketsOfEndedSessions(t *testing.T) {
	e := newHubEnv(t)
	inA := e.inbox("api", "Shop A")
	laptop := e.agent("alice@test.example", crm.RoleAgent, inA)
	phone := e.login("alice@test.example", "password-123")
	api := e.bearer("alice@test.example")
	onLaptop, onPhone, onAPI := e.dial(laptop), e.dial(phone), e.dial(api)

	// Signing out on the laptop closes the laptop's socket only.
	laptop.mustDo("POST", "/api/v1/logout", nil, 204, nil)
	var ce *websocket.CloseError
	if err := onLaptop.closed(); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "signed out" {
		t.Fatalf("signed-out socket ended with %v, want close 1008 signed out", err)
	}
	e.inbound(inA, "a-1", "anna@example.com", "after-logout")
	onPhone.waitText("message.created", "after-logout")
	onAPI.waitText("message.created", "after-logout")

	// A new password ends every browser session: the phone's socket closes too, the API
	// token's stays.
	id := itoa(e.agentID("alice@test.example"))
	e.admin.mustDo("PATCH", "/api/v1/agents/"+id, map[string]any{"password": "password-456"}, 200, nil)
	if err := onPhone.closed(); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("socket of an ended session ended with %v, want close 1008", err)
	}
	e.inbound(inA, "a-2", "anna@example.com", "after-password")
	onAPI.waitText("message.created", "after-password")
}

func TestHubClosesSlowClientWithoutBlockingOthers(t *testing.T) {
	e := newHubEnv(t)
	inA := e.inbox("api", "Shop A")
	e.agent("slow@test.example", crm.RoleAgent, inA)
	fast := e.dial(e.agent("fast@test.example", crm.RoleAgent, inA))

	// The slow client never reads and keeps a tiny receive buffer, so the server's
	// socket buffer fills and then its send queue.
	d := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		return nd.Dial(network, addr)
	}}
	slowClient := e.bearer("slow@test.example")
	slowWS, _, err := d.Dial(e.wsURL(), http.Header{"Authorization": {"Bearer " + slowClient.token}})
	if err != nil {
		t.Fatal(err)
	}
	defer slowWS.Close()

	ctx := crm.AsSystem(context.Background())
	big := strings.Repeat("0123456789abcdef", 2048) // 32 KiB per message
	dropped := false
	for i := 0; i < 3000 && !dropped; i++ {
		text := fmt.Sprintf("burst-%d %s", i, big)
		_, err := e.db.Ingest(ctx, &crm.Inbound{InboxID: inA, Channel: crm.ChannelAPI, ExternalID: fmt.Sprint("m", i),
			ThreadKey: "one-thread", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "anna@example.com"}}, Text: text})
		if err != nil {
			t.Fatal(err)
		}
		fast.waitText("message.created", fmt.Sprintf("burst-%d ", i))
		fast.frames, fast.used = fast.frames[:0], nil
		if i%20 == 19 {
			dropped = metric(t, e, "parley_ws_slow_drops_total") >= 1
		}
	}
	if !dropped {
		t.Fatal("the slow client was never closed")
	}
	// The reading client keeps getting events; the slow one finds its socket closed.
	e.inbound(inA, "after", "anna@example.com", "after-the-drop")
	fast.waitText("message.created", "after-the-drop")
	slowWS.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		if _, _, err := slowWS.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("slow socket still open: %v", err)
			}
			break
		}
	}
}

// metric reads one unlabelled series from /metrics.
func metric(t *testing.T, e *hubEnv, name string) float64 {
	t.Helper()
	_, body := e.anon().do("GET", "/metrics", nil)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestHubResumeHasNoGapAndNoDuplicate(t *testing.T) {
	// Either way the replayed events come first, then the live ones, in id order.
	t.Run("frame", func(t *testing.T) { testResume(t, false) })
	t.Run("url", func(t *testing.T) { testResume(t, true) })
}

func testResume(t *testing.T, inURL bool) {
	e := newHubEnv(t)
	inA, inB := e.inbox("api", "Shop A"), e.inbox("api", "Shop B")
	aliceClient := e.agent("alice@test.example", crm.RoleAgent, inA)
	alice := e.dial(aliceClient)
	e.inbound(inA, "a-1", "anna@example.com", "before-break")
	last := alice.waitText("message.created", "before-break").ID
	alice.ws.Close()

	// Events while Alice is away, of her inbox and of another one.
	e.inbound(inA, "a-2", "anna@example.com", "missed-1")
	e.inbound(inB, "b-1", "bert@example.com", "not-hers")
	e.inbound(inA, "a-3", "carl@example.com", "missed-2")

	var again *wsConn
	if inURL {
		ws, _, err := websocket.DefaultDialer.Dial(e.wsURL()+"?after="+itoa(last), http.Header{"Origin": {e.srv.URL}, "Cookie": {cookieHeader(aliceClient, e.srv.URL)}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		again = &wsConn{t: t, ws: ws}
	} else {
		again = e.dial(aliceClient)
		again.send(map[string]any{"type": "resume", "after": last})
	}
	// More events race with the replay.
	for i := range 5 {
		e.inbound(inA, fmt.Sprint("a-live-", i), "anna@example.com", fmt.Sprint("live-", i))
	}
	end := again.waitText("message.created", "live-4").ID
	again.waitFor("resumed", func(f wsFrame) bool { return f.Type == "resumed" })

	var got []int64
	for _, f := range again.frames {
		if f.ID > 0 && f.ID <= end {
			got = append(got, f.ID)
		}
	}
	// What Alice may see, decided independently: her inbox's events, and the events of
	// customers the store shows her.
	a, _ := e.db.AgentByEmail(crm.AsSystem(context.Background()), "alice@test.example")
	asAlice := crm.WithAgent(crm.AsSystem(context.Background()), a)
	stored, err := e.db.Events(crm.AsSystem(context.Background()), last, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, ev := range stored {
		if ev.ID > end || ev.Type == crm.EventAgentUpdated || ev.Type == crm.EventInboxUpdated {
			continue
		}
		if ev.InboxID != 0 && !a.CanSeeInbox(ev.InboxID) {
			continue
		}
		if ev.InboxID == 0 {
			if _, err := e.db.Customer(asAlice, ev.CustomerID); err != nil {
				continue
			}
		}
		want = append(want, ev.ID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("resumed ids %v, want %v", got, want)
	}
	again.never("not-hers")
	again.never("bert@example.com")
}

// cookieHeader returns the Cookie header c's browser would send to base.
func cookieHeader(c *client, base string) string {
	u, _ := url.Parse(base)
	var parts []string
	for _, ck := range c.hc.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

func TestHubRecoversWhenTheBusOverflows(t *testing.T) {
	e := newHubEnv(t)
	inA := e.inbox("api", "Shop A")
	alice := e.dial(e.agent("alice@test.example", crm.RoleAgent, inA))
	flood := make([]*crm.Event, 3*4096)
	for i := range flood {
		flood[i] = &crm.Event{Type: crm.EventTyping} // live noise the hub ignores
	}
	for i := range 3 {
		// The flood overflows the hub's subscription, so the message's events are
		// likely dropped by the bus; the hub must re-read them from the store.
		e.bus.Publish(flood...)
		text := fmt.Sprint("after-flood-", i)
		e.inbound(inA, fmt.Sprint("a-", i), "anna@example.com", text)
		alice.waitText("message.created", text)
	}
	if metric(t, e, "parley_ws_bus_lag_total") == 0 {
		t.Fatal("the bus never overflowed; the test did not test recovery")
	}
	seen := map[int64]bool{}
	for _, f := range alice.frames {
		if f.ID > 0 && seen[f.ID] {
			t.Fatalf("event %d delivered twice", f.ID)
		}
		seen[f.ID] = true
	}
}

func TestHubGarbageFrames(t *testing.T) {
	e := newHubEnv(t)
	inA := e.inbox("api", "Shop A")
	c := e.agent("alice@test.example", crm.RoleAgent, inA)
	w := e.dial(c)
	isError := func(code string) func(wsFrame) bool {
		return func(f wsFrame) bool {
			return f.Type == "error" && f.Error != nil && f.Error.Code == code && f.Error.Message != ""
		}
	}
	for _, frame := range []string{
		"hello", "", "[1,2]", "null", "42", `{"type":"dance"}`, `{"type":""}`, `{"type":"resume"}`,
		`{"type":"resume","after":-1}`, `{"type":"resume","after":"x"}`, `{"type":"typing"}`,
		`{"type":"typing","ticket_id":"7"}`, `{"type":"viewing","ticket_id":-3}`, `{"type":"presence","status":"asleep"}`,
		"{\"type\":\"typ\xffing\"}",
	} {
		w.send(frame)
		w.waitFor(fmt.Sprintf("error frame for %q", frame), isError(crm.EINVALID))
	}
	w.send(`{"type":"typing","ticket_id":999999}`)
	w.waitFor("not_found", isError(crm.ENOTFOUND))
	if err := w.ws.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	w.waitFor("error frame for binary", isError(crm.EINVALID))

	// The socket still works.
	e.inbound(inA, "a-1", "anna@example.com", "still-alive")
	w.waitText("message.created", "still-alive")

	// An oversized frame ends the connection, and only that one.
	other := e.dial(c)
	// The server stops reading at the limit, so the write itself may be cut off.
	w.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"resume","after":1,"pad":"`+strings.Repeat("x", 8<<10)+`"}`))
	var ce *websocket.CloseError
	var ne net.Error
	if err := w.closed(); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("an oversized frame did not end the connection")
	} else if errors.As(err, &ce) && ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("oversized frame ended with %v, want close 1009", err)
	}
	e.inbound(inA, "a-2", "anna@example.com", "others-fine")
	other.waitText("message.created", "others-fine")
}

func TestHubUpgradeChecks(t *testing.T) {
	e := newHubEnv(t)
	cookie := e.agent("alice@test.example", crm.RoleAgent)
	bearer := e.bearer("alice@test.example")
	own := e.srv.URL
	tests := []struct {
		name   string
		c      *client
		origin string
		want   int
	}{
		{"cookie from own origin", cookie, own, http.StatusSwitchingProtocols},
		{"cookie from another site", cookie, "https://evil.example", http.StatusForbidden},
		{"cookie from a lookalike port", cookie, strings.Replace(own, "127.0.0.1:", "127.0.0.1:1", 1), http.StatusForbidden},
		{"cookie with origin null", cookie, "null", http.StatusForbidden},
		{"cookie without origin", cookie, "", http.StatusForbidden},
		{"bearer without origin", bearer, "", http.StatusSwitchingProtocols},
		{"bearer from another site", bearer, "https://evil.example", http.StatusForbidden},
		{"nobody", nil, own, http.StatusUnauthorized},
		{"wrong token", &client{token: "nope"}, "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ws, resp, err := e.dialRaw(tt.c, h)
			if ws != nil {
				ws.Close()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want != http.StatusSwitchingProtocols {
				body, _ := io.ReadAll(resp.Body)
				errCode(t, body)
			}
		})
	}
	// A plain GET is told to upgrade, not served a 500.
	status, body := cookie.do("GET", "/api/v1/ws", nil)
	if status != http.StatusBadRequest || errCode(t, body) != crm.EINVALID {
		t.Fatalf("plain GET: %d %s", status, body)
	}
}

func TestHubTypingAndViewing(t *testing.T) {
	e := newHubEnv(t)
	inA, inB := e.inbox("api", "Shop A"), e.inbox("api", "Shop B")
	c1 := e.agent("dana@test.example", crm.RoleAgent, inA)
	dana, eve, bert := e.dial(c1), e.dial(e.agent("eve@test.example", crm.RoleAgent, inA)), e.dial(e.agent("bert@test.example", crm.RoleAgent, inB))
	boss := e.agent("boss@test.example", crm.RoleManager)
	danaID, bossID := e.agentID("dana@test.example"), e.agentID("boss@test.example")
	ta := e.inbound(inA, "a-1", "anna@example.com", "ticket-a")
	tb := e.inbound(inB, "b-1", "bob@example.com", "ticket-b")
	sub := e.bus.Subscribe(256)
	defer sub.Close()

	dana.send(map[string]any{"type": "typing", "ticket_id": ta.TicketID})
	f := eve.waitFor("typing", func(f wsFrame) bool { return f.Type == "typing" })
	if f.num("ticket_id") != ta.TicketID || f.num("agent_id") != danaID || f.str("agent_name") != "dana@test.example" || f.ID != 0 {
		t.Fatalf("typing frame = %s", f.raw)
	}
	// The chat widget sees it on the bus, as an event that is never stored.
	for ev := range sub.C {
		if ev.Type == crm.EventTyping {
			if ev.ID != 0 || ev.TicketID != ta.TicketID || ev.InboxID != inA || ev.Actor != (crm.Actor{Kind: "agent", ID: danaID}) {
				t.Fatalf("bus event = %+v", ev)
			}
			break
		}
	}

	dana.send(map[string]any{"type": "viewing", "ticket_id": ta.TicketID})
	eve.waitFor("viewing", func(f wsFrame) bool {
		return f.Type == "viewing" && f.num("ticket_id") == ta.TicketID && f.num("agent_id") == danaID
	})
	// An agent who opens the console later learns who is viewing what.
	frank := e.dial(e.agent("frank@test.example", crm.RoleAgent, inA))
	frank.waitFor("current viewing", func(f wsFrame) bool { return f.Type == "viewing" && f.num("agent_id") == danaID })
	dana.send(map[string]any{"type": "viewing", "ticket_id": 0})
	eve.waitFor("viewing stopped", func(f wsFrame) bool {
		return f.Type == "viewing" && f.num("ticket_id") == 0 && f.num("agent_id") == danaID
	})

	// A shopper typing in the widget shows up for the agents of the ticket.
	e.bus.Publish(&crm.Event{Type: crm.EventTyping, TicketID: ta.TicketID, InboxID: inA, Actor: crm.Actor{Kind: "customer", ID: ta.CustomerID}, Data: json.RawMessage(`{"preview":"<b>hi"}`)})
	cf := eve.waitFor("customer typing", func(f wsFrame) bool { return f.Type == "typing" && f.num("customer_id") == ta.CustomerID })
	if cf.num("ticket_id") != ta.TicketID || strings.Contains(cf.raw, "preview") {
		t.Fatalf("customer typing frame = %s", cf.raw)
	}
	dana.waitFor("customer typing", func(f wsFrame) bool { return f.Type == "typing" && f.num("customer_id") == ta.CustomerID })

	// Dana may not type on a ticket of inbox B.
	dana.send(map[string]any{"type": "typing", "ticket_id": tb.TicketID})
	dana.waitFor("not_found", func(f wsFrame) bool { return f.Type == "error" && f.Error.Code == crm.ENOTFOUND })

	// Bert of inbox B gets the manager typing on his ticket, and nothing of inbox A before it.
	bw := e.dial(boss)
	bw.send(map[string]any{"type": "typing", "ticket_id": tb.TicketID})
	bert.waitFor("manager typing", func(f wsFrame) bool { return f.Type == "typing" && f.num("agent_id") == bossID })
	for _, f := range bert.frames {
		if (f.Type == "typing" || f.Type == "viewing") && f.num("ticket_id") == ta.TicketID {
			t.Fatalf("agent of another inbox got %s", f.raw)
		}
	}
	for _, f := range dana.frames {
		if f.Type == "typing" && f.num("agent_id") == danaID {
			t.Fatalf("typing echoed to its sender: %s", f.raw)
		}
	}
}

func TestHubPresence(t *testing.T) {
	e := newHubEnv(t)
	inA, inB := e.inbox("api", "Shop A"), e.inbox("api", "Shop B")
	alice := e.dial(e.agent("alice@test.example", crm.RoleAgent, inA))
	aliceID, bobID := e.agentID("alice@test.example"), int64(0)
	first := alice.waitFor("presence list", func(f wsFrame) bool { return f.Type == "presence" })
	if !strings.Contains(first.raw, fmt.Sprintf(`{"agent_id":%d,"name":"alice@test.example","status":"online","availability":"available"}`, aliceID)) {
		t.Fatalf("first frame = %s", first.raw)
	}

	bob := e.dial(e.agent("bob@test.example", crm.RoleAgent, inB))
	bobID = e.agentID("bob@test.example")
	alice.waitFor("bob online", func(f wsFrame) bool {
		return f.Type == "presence" && f.num("agent_id") == bobID && f.str("status") == "online"
	})
	list := bob.waitFor("presence list", func(f wsFrame) bool { return f.Type == "presence" })
	var l struct {
		Agents []struct {
			AgentID int64  `json:"agent_id"`
			Status  string `json:"status"`
		} `json:"agents"`
	}
	json.Unmarshal(list.Data, &l)
	if len(l.Agents) != 2 || l.Agents[0].AgentID != aliceID || l.Agents[1].AgentID != bobID {
		t.Fatalf("presence list = %s", list.raw)
	}
	if got := e.api.AgentsOnline(inB); !slices.Equal(got, []int64{bobID}) {
		t.Fatalf("AgentsOnline(B) = %v", got)
	}

	bob.send(map[string]any{"type": "presence", "status": "away"})
	alice.waitFor("bob away", func(f wsFrame) bool {
		return f.Type == "presence" && f.num("agent_id") == bobID && f.str("status") == "away"
	})
	if got := e.api.AgentsOnline(inB); len(got) != 0 {
		t.Fatalf("AgentsOnline(B) with bob away = %v", got)
	}
	if got := e.api.AgentsOnline(inA); !slices.Equal(got, []int64{aliceID}) {
		t.Fatalf("AgentsOnline(A) = %v", got)
	}

	// A second tab does not announce Bob again; closing both makes him offline.
	bob2 := e.dial(e.login("bob@test.example", "password-123"))
	bob2.send(map[string]any{"type": "presence", "status": "online"})
	alice.waitFor("bob back", func(f wsFrame) bool {
		return f.Type == "presence" && f.num("agent_id") == bobID && f.str("status") == "online"
	})
	bob.ws.Close()
	bob2.ws.Close()
	alice.waitFor("bob offline", func(f wsFrame) bool {
		return f.Type == "presence" && f.num("agent_id") == bobID && f.str("status") == "offline"
	})
	n := 0
	for _, f := range alice.frames {
		if f.Type == "presence" && f.num("agent_id") == bobID && f.str("status") == "online" {
			n++
		}
	}
	if n != 2 { // the first connection, then back from away
		t.Fatalf("bob announced online %d times:\n%s", n, alice.dump())
	}
}

func TestHubNoGoroutineLeak(t *testing.T) {
	e := newHubEnv(t)
	inA := e.inbox("api", "Shop A")
	c := e.agent("alice@test.example", crm.RoleAgent, inA)
	res := e.inbound(inA, "a-0", "anna@example.com", "warm-up")
	waitGoroutines := func(max int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for runtime.NumGoroutine() > max {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), max, buf[:runtime.Stack(buf, true)])
			}
			runtime.Gosched()
		}
	}
	w := e.dial(c)
	w.waitFor("presence", func(f wsFrame) bool { return f.Type == "presence" })
	w.ws.Close()
	base := runtime.NumGoroutine()

	var conns []*wsConn
	for range 20 {
		w := e.dial(c)
		w.send(map[string]any{"type": "resume", "after": 0})
		w.send(map[string]any{"type": "viewing", "ticket_id": res.TicketID})
		conns = append(conns, w)
	}
	if _, err := e.db.Ingest(crm.AsSystem(context.Background()), &crm.Inbound{InboxID: inA, Channel: crm.ChannelAPI, ExternalID: "a-1",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "anna@example.com"}}, Text: "leak-check"}); err != nil {
		t.Fatal(err)
	}
	for _, w := range conns {
		w.waitText("message.created", "leak-check")
		w.ws.Close()
	}
	waitGoroutines(base)

	// Stopping the hub closes open sockets with "going away".
	w = e.dial(c)
	e.stop()
	var ce *websocket.CloseError
	if err := w.closed(); !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Fatalf("socket ended with %v, want close 1001", err)
	}
	waitGoroutines(base - 1) // the hub itself is gone too
}

// benchEnv is a running server with one agent in one inbox, for benchmarks.
type benchEnv struct {
	db     storetest.Store
	inbox  int64
	token  string
	hs     *httptest.Server
	cancel func()
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	st := teststore.Open(b, teststore.Options{})
	db, bus := st.Store, st.Bus
	ctx := crm.AsSystem(context.Background())
	in, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindAPI, Name: "Bench", Config: map[string]any{}})
	if err != nil {
		b.Fatal(err)
	}
	a, err := db.CreateAgent(ctx, &crm.NewAgent{Email: "bench@test.example", Name: "Bench", Role: crm.RoleAgent, Password: adminPassword, InboxIDs: []int64{in.ID}})
	if err != nil {
		b.Fatal(err)
	}
	token, _, err := db.CreateToken(ctx, a.ID, "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := server.New(db, server.Options{Bus: bus})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Run(rctx); close(done) }()
	hs := httptest.NewServer(srv)
	be := &benchEnv{db: db, inbox: in.ID, token: token, hs: hs}
	be.cancel = func() { hs.Close(); cancel(); <-done }
	return be
}

func (be *benchEnv) dial() (*websocket.Conn, error) {
	for {
		ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(be.hs.URL, "http")+"/api/v1/ws",
			http.Header{"Authorization": {"Bearer " + be.token}})
		if err != nil && resp != nil && resp.StatusCode == http.StatusInternalServerError {
			runtime.Gosched() // the hub is starting
			continue
		}
		return ws, err
	}
}

func BenchmarkFanout100(b *testing.B)  { benchmarkFanout(b, 100) }
func BenchmarkFanout1000(b *testing.B) { benchmarkFanout(b, 1000) }

// benchmarkFanout measures the time from store.Ingest to the message.created frame
// arriving on all n sockets.
func benchmarkFanout(b *testing.B, n int) {
	be := newBenchEnv(b)
	defer be.cancel()
	type round struct {
		left atomic.Int64
		done chan struct{}
	}
	var cur atomic.Pointer[round]
	var wg sync.WaitGroup
	var conns []*websocket.Conn
	for range n {
		ws, err := be.dial()
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, ws)
		// Any first frame tells the hub this client will not resume: it goes live now.
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"presence","status":"online"}`))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if bytes.Contains(data, []byte(`"type":"message.created"`)) {
					if r := cur.Load(); r != nil && r.left.Add(-1) == 0 {
						close(r.done)
					}
				}
			}
		}()
	}
	defer func() {
		for _, ws := range conns {
			ws.Close()
		}
		wg.Wait()
	}()
	ctx := crm.AsSystem(context.Background())
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := &round{done: make(chan struct{})}
		r.left.Store(int64(n))
		cur.Store(r)
		start := time.Now()
		_, err := be.db.Ingest(ctx, &crm.Inbound{InboxID: be.inbox, Channel: crm.ChannelAPI, ExternalID: fmt.Sprint("b", i),
			ThreadKey: "bench", From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "anna@example.com"}}, Text: "Where is my parcel?"})
		if err != nil {
			b.Fatal(err)
		}
		select {
		case <-r.done:
		case <-time.After(time.Minute):
			b.Fatalf("round %d: %d sockets never got the message", i, r.left.Load())
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkIdleSocket measures the server's memory per idle agent socket. The clients
// are bare TCP connections that did the handshake by hand, so nearly all of the heap
// and stack growth is the server's.
func BenchmarkIdleSocket(b *testing.B) {
	be := newBenchEnv(b)
	defer be.cancel()
	const n = 1000
	u, _ := url.Parse(be.hs.URL)
	handshake := func() (net.Conn, error) {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(c, "GET /api/v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n", u.Host, be.token)
		buf := make([]byte, 4096)
		got := ""
		for !strings.Contains(got, "\r\n\r\n") {
			m, err := c.Read(buf)
			if err != nil {
				c.Close()
				return nil, err
			}
			got += string(buf[:m])
		}
		if !strings.HasPrefix(got, "HTTP/1.1 101") {
			c.Close()
			return nil, fmt.Errorf("handshake: %s", got)
		}
		return c, nil
	}
	// Warm up the hub, the pools and the HTTP server.
	ws, err := be.dial()
	if err != nil {
		b.Fatal(err)
	}
	ws.Close()
	settle := func(max int) {
		for deadline := time.Now().Add(time.Minute); runtime.NumGoroutine() > max; {
			if time.Now().After(deadline) {
				b.Fatalf("%d goroutines, want %d", runtime.NumGoroutine(), max)
			}
			runtime.Gosched()
		}
	}
	base := runtime.NumGoroutine()
	for b.Loop() {
		settle(base) // the sockets of the last round are gone
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		conns := make([]net.Conn, 0, n)
		for range n {
			c, err := handshake()
			if err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		// Each collection halves the stacks that grew during the handshake; a running
		// server collects often, so measure the settled state.
		for range 4 {
			runtime.GC()
		}
		runtime.ReadMemStats(&after)
		used := float64(after.HeapInuse+after.StackInuse) - float64(before.HeapInuse+before.StackInuse)
		b.ReportMetric(used/n, "bytes/socket")
		b.ReportMetric((float64(after.StackInuse)-float64(before.StackInuse))/n, "stack-bytes/socket")
		for _, c := range conns {
			c.Close()
		}
	}
}

// TestHubPresenceAcrossNodes checks that agents another node announces on the bus count
// as online here (sockets and AgentsOnline), that an agent online on either node is
// online, and that the other node's full list replaces what it said before.
func TestHubPresenceAcrossNodes(t *testing.T) {
	e := newHubEnv(t)
	inA := e.inbox("api", "Shop A")
	alice := e.dial(e.agent("alice@test.example", crm.RoleAgent, inA))
	alice.waitFor("presence list", func(f wsFrame) bool { return f.Type == "presence" })
	e.agent("carol@test.example", crm.RoleAgent, inA)
	carol, err := e.db.AgentByEmail(ctxSystem(), "carol@test.example")
	if err != nil {
		t.Fatal(err)
	}
	announce := func(full bool, status string) {
		entries := []map[string]any{}
		if status != "" {
			entries = append(entries, map[string]any{"agent": carol, "status": status})
		}
		data, _ := json.Marshal(map[string]any{"full": full, "agents": entries})
		e.bus.Publish(&crm.Event{Type: crm.EventPresence, Node: "node-b", Data: data})
	}

	announce(false, "online")
	alice.waitFor("carol online on node b", func(f wsFrame) bool {
		return f.Type == "presence" && f.num("agent_id") == carol.ID && f.str("status") == "online"
	})
	waitUntil(t, "carol in AgentsOnline", func() bool { return slices.Contains(e.api.AgentsOnline(inA), carol.ID) })

	// Carol opens the console here too, then goes away on node b: she is still online.
	here := e.dial(e.login("carol@test.example", "password-123"))
	here.waitFor("presence list", func(f wsFrame) bool { return f.Type == "presence" })
	announce(false, "away")
	announce(true, "") // node b's list: no one
	// A live event after them on the bus: once alice has it, the hub has taken both
	// announcements, and closing carol's socket here cannot overtake them.
	e.bus.Publish(&crm.Event{Type: crm.EventTyping, TicketID: 1, InboxID: inA, Actor: crm.Actor{Kind: "agent", ID: 9999},
		Data: json.RawMessage(`{"ticket_id":1}`)})
	alice.waitFor("the marker after the announcements", func(f wsFrame) bool { return f.Type == "typing" })
	here.ws.Close()
	alice.waitFor("carol offline", func(f wsFrame) bool {
		return f.Type == "presence" && f.num("agent_id") == carol.ID && f.str("status") == "offline"
	})
	for _, f := range alice.frames {
		if f.Type == "presence" && f.num("agent_id") == carol.ID && f.str("status") == "away" {
			t.Fatalf("carol shown away while online here:\n%s", alice.dump())
		}
	}
	if got := e.api.AgentsOnline(inA); slices.Contains(got, carol.ID) {
		t.Fatalf("AgentsOnline = %v after node b dropped carol", got)
	}
}

// TestHubPresenceOfADeadNode checks that the agents of a node that stops announcing
// go offline here once its announcements are older than the presence TTL.
func TestHubPresenceOfADeadNode(t *testing.T) {
	e := newHubEnvWith(t, server.Options{PresenceTTL: 400 * time.Millisecond})
	inA := e.inbox("api", "Shop A")
	alice := e.dial(e.agent("alice@test.example", crm.RoleAgent, inA))
	alice.waitFor("presence list", func(f wsFrame) bool { return f.Type == "presence" })
	e.agent("carol@test.example", crm.RoleAgent, inA)
	carol, err := e.db.AgentByEmail(ctxSystem(), "carol@test.example")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(map[string]any{"full": true, "agents": []map[string]any{{"agent": carol, "status": "online"}}})
	start := time.Now() // the hub hears it no earlier than this
	e.bus.Publish(&crm.Event{Type: crm.EventPresence, Node: "node-b", Data: data})
	alice.waitFor("carol online on node b", func(f wsFrame) bool {
		return f.Type == "presence" && f.num("agent_id") == carol.ID && f.str("status") == "online"
	})
	alice.waitFor("carol offline once node b is quiet", func(f wsFrame) bool {
		return f.Type == "presence" && f.num("agent_id") == carol.ID && f.str("status") == "offline"
	})
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("carol went offline %s after node b's last word, before its TTL of 400ms", d)
	}
}

// waitUntil waits for ok with a deadline.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHubBurstKeepsAReadingSocket hands the hub a thousand stored events at once, as a
// big group commit or the log read after a NATS outage does: a socket that reads is not
// closed for the burst overflowing its queue, and gets every event once, in order.
func TestHubBurstKeepsAReadingSocket(t *testing.T) {
	hubBus := crm.NewBus() // the store's commits do not reach the hub by themselves
	e := newHubEnvWith(t, server.Options{Bus: hubBus})
	inbox := e.inbox("api", "Shop")
	before, err := e.db.Events(ctxSystem(), 0, 10000)
	if err != nil || len(before) == 0 {
		t.Fatalf("events before: %d, %v", len(before), err)
	}
	latest := before[len(before)-1].ID
	w := e.dial(e.admin)
	w.send(map[string]any{"type": "resume", "after": latest})
	w.waitFor("resumed", func(f wsFrame) bool { return f.Type == "resumed" })
	for i := range 400 {
		e.inbound(inbox, fmt.Sprintf("burst-%d", i), fmt.Sprintf("b%d@example.com", i%20), "burst")
	}
	events, err := e.db.Events(ctxSystem(), latest, 5000)
	if err != nil || len(events) < 800 {
		t.Fatalf("%d events, %v", len(events), err)
	}
	hubBus.Publish(events...)
	last := events[len(events)-1].ID
	next := latest + 1
	for next <= last {
		f, err := w.read()
		if err != nil {
			t.Fatalf("the socket closed after event %d of %d..%d: %v", next-1, latest+1, last, err)
		}
		switch {
		case f.Type == "resumed":
			t.Fatalf("a resumed frame the client did not ask for: %s", f.raw)
		case f.ID == 0:
		case f.ID != next:
			t.Fatalf("event %d, want %d: each once, in order", f.ID, next)
		default:
			next++
		}
	}
}
