package main_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/channels/email/imaptest"
	"parley/crm/blobs/s3/s3test"
	"parley/crm/postgres/pgtest"

	"github.com/emersion/go-smtp"
	"github.com/gorilla/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
)

// natsOn runs a NATS server in the test on a loopback port (0: a free one), until
// stopped.
func natsOn(t *testing.T, port int) *natsserver.Server {
	t.Helper()
	if port == 0 {
		port = -1
	}
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// clusterOf3 is three `parley serve` processes on one PostgreSQL schema and one NATS.
type clusterOf3 struct {
	t     *testing.T
	bin   string
	env   []string
	args  []string
	nodes []*server
}

const (
	clusterAdmin    = "boss@shop.example"
	clusterPassword = "a long admin password"
)

func startCluster(t *testing.T, natsURL string) *clusterOf3 {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	c := &clusterOf3{t: t, bin: buildBinary(t),
		env: append(os.Environ(), "PARLEY_ADMIN_EMAIL="+clusterAdmin, "PARLEY_ADMIN_PASSWORD="+clusterPassword,
			"PARLEY_SECRET_KEY="+hex.EncodeToString(key)),
		args: []string{"--database", pgtest.URL(t), "--nats", natsURL, "--allow-private-network"}}
	for range 3 { // one after another: the first makes the schema and the admin
		c.nodes = append(c.nodes, c.start())
	}
	return c
}

func (c *clusterOf3) start() *server {
	cmd := exec.Command(c.bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", c.t.TempDir()}, c.args...)...)
	cmd.Env = c.env
	s := startServer(c.t, cmd)
	s.login(clusterAdmin, clusterPassword)
	return s
}

// kill ends node i with SIGKILL, as a power cut would.
func (c *clusterOf3) kill(i int) {
	s := c.nodes[i]
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	s.cmd.Wait()
}

// leaseHolder returns the node whose log says it took the lease name last, or -1.
func (c *clusterOf3) leaseHolder(name string) int {
	re := regexp.MustCompile(`msg="lease taken: this node does the work" lease=` + regexp.QuoteMeta(name) + ` .*token=(\d+)`)
	holder, best := -1, int64(0)
	for i, s := range c.nodes {
		for _, m := range re.FindAllStringSubmatch(s.logs(), -1) {
			if tok, _ := strconv.ParseInt(m[1], 10, 64); tok > best {
				holder, best = i, tok
			}
		}
	}
	return holder
}

// socket is an agent's WebSocket to one node.
type socket struct {
	t      *testing.T
	ws     *websocket.Conn
	mu     sync.Mutex
	frames []map[string]any
	closed chan struct{}
	// resume makes the socket reconnect and resume after its last event when the server
	// closes it, as the console does; reconnects counts how often.
	resume     bool
	reconnects int
}

// resumingSocket is socket with resume set.
func (s *server) resumingSocket(t *testing.T) *socket {
	t.Helper()
	return s.openSocket(t, "", 0, true)
}

func (s *server) socket(t *testing.T, bearer string, resumeAfter int64) *socket {
	t.Helper()
	return s.openSocket(t, bearer, resumeAfter, false)
}

func (s *server) openSocket(t *testing.T, bearer string, resumeAfter int64, resume bool) *socket {
	t.Helper()
	h := http.Header{"Origin": {s.base}}
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	} else {
		u, _ := http.NewRequest("GET", s.base, nil)
		for _, ck := range s.hc.Jar.Cookies(u.URL) {
			h.Add("Cookie", ck.Name+"="+ck.Value)
		}
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.base, "http")+"/api/v1/ws", h)
	if err != nil {
		t.Fatalf("dial %s: %v", s.base, err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := ws.WriteJSON(map[string]any{"type": "resume", "after": resumeAfter}); err != nil {
		t.Fatal(err)
	}
	k := &socket{t: t, ws: ws, closed: make(chan struct{}), resume: resume}
	go func() {
		defer close(k.closed)
		for {
			var f map[string]any
			if err := ws.ReadJSON(&f); err != nil {
				if !k.resume || t.Context().Err() != nil {
					return
				}
				// As the console does: open a new socket and resume after the last event.
				k.mu.Lock()
				k.reconnects++
				k.mu.Unlock()
				t.Logf("socket to %s closed (%v): resuming after %d", s.base, err, k.lastID())
				if ws, _, err = websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.base, "http")+"/api/v1/ws", h); err != nil {
					return
				}
				t.Cleanup(func() { ws.Close() })
				ws.WriteJSON(map[string]any{"type": "resume", "after": k.lastID()})
				continue
			}
			k.mu.Lock()
			k.frames = append(k.frames, f)
			k.mu.Unlock()
		}
	}()
	return k
}

// events returns the stored events the socket got so far, in order.
func (k *socket) events() []map[string]any {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []map[string]any
	for _, f := range k.frames {
		if id, _ := f["id"].(float64); id > 0 {
			out = append(out, f)
		}
	}
	return out
}

// messageIDs counts the message.created events per message id.
func (k *socket) messageIDs() map[int64]int {
	n := map[int64]int{}
	for _, f := range k.events() {
		if f["type"] == "message.created" {
			d, _ := f["data"].(map[string]any)
			if m, ok := d["message"].(map[string]any); ok {
				id, _ := m["id"].(float64)
				n[int64(id)]++
			} else if id, ok := d["id"].(float64); ok {
				n[int64(id)]++
			}
		}
	}
	return n
}

// inOrder fails unless the socket's event ids only grow; with consecutive, unless each
// is one more than the one before (an admin sees every event).
func (k *socket) inOrder(consecutive bool) {
	k.t.Helper()
	var last int64
	for _, f := range k.events() {
		id := int64(f["id"].(float64))
		if id <= last || (consecutive && last != 0 && id != last+1) {
			k.t.Fatalf("event %d after %d: a gap or a repeat", id, last)
		}
		last = id
	}
}

func (k *socket) lastID() int64 {
	ev := k.events()
	if len(ev) == 0 {
		return 0
	}
	return int64(ev[len(ev)-1]["id"].(float64))
}

// inbound files one message through the api channel of node s and returns its id, or
// 0 when it was not acknowledged.
func inbound(s *server, inbox any, extID, email, text string) int64 {
	body, _ := json.Marshal(map[string]any{"inbox": inbox, "external_id": extID, "thread_key": email,
		"from": map[string]string{"email": email}, "subject": "Load", "text": text})
	req, _ := http.NewRequest("POST", s.base+"/api/v1/inbound", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", s.csrf)
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var out struct {
		MessageID int64 `json:"message_id"`
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return 0
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0
	}
	return out.MessageID
}

func waitCond(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", within, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestClusterOfThreeNodes runs three real `parley serve` processes on one PostgreSQL
// database and one NATS server, as docs/operations.md ("Running several nodes") sets
// them up, and checks what the agents and shoppers of each node see.
func TestClusterOfThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	pgtest.URL(t) // skips, loudly, without PostgreSQL
	ns := natsOn(t, 0)
	natsPort := ns.Addr().(*net.TCPAddr).Port
	c := startCluster(t, ns.ClientURL())
	outer := t
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]

	api := n1.call("POST", "/api/v1/inboxes", map[string]any{"kind": "api", "name": "Backoffice"}, 201)["id"]
	chat := n1.call("POST", "/api/v1/inboxes", map[string]any{"kind": "chat", "name": "Shop chat",
		"config": map[string]any{"allowed_origins": []string{"https://shop.test"}}}, 201)["id"]
	token := n1.call("POST", "/api/v1/tokens", map[string]any{"name": "ops"}, 201)

	t.Run("a message filed on node 2 reaches an agent on node 1 once", func(t *testing.T) {
		agent := n1.socket(t, "", 0)
		id := inbound(n2, api, "m-1", "ann@example.com", "Where is my parcel?")
		if id == 0 {
			t.Fatal("node 2 did not take the message")
		}
		marker := inbound(n3, api, "m-2", "ann@example.com", "Also, the invoice.")
		waitCond(t, 10*time.Second, "both messages on node 1's socket", func() bool {
			got := agent.messageIDs()
			return got[id] > 0 && got[marker] > 0
		})
		if got := agent.messageIDs(); got[id] != 1 || got[marker] != 1 {
			t.Fatalf("message events on node 1: %v", got)
		}
		agent.inOrder(true)
	})

	t.Run("the agent's reply through node 1 reaches the widget on node 3 once", func(t *testing.T) {
		h := http.Header{"Origin": {"https://shop.test"}}
		ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws%s/widget/ws?inbox=%v", strings.TrimPrefix(n3.base, "http"), chat), h)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		ws.WriteJSON(map[string]any{"type": "hello", "visitor_token": nil})
		ws.WriteJSON(map[string]any{"type": "message", "client_id": "c-1", "text": "Is the blue one back?"})
		var ticket float64
		replies := 0
		ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		for replies == 0 || ticket == 0 {
			var f map[string]any
			if err := ws.ReadJSON(&f); err != nil {
				t.Fatalf("widget on node 3: %v (ticket %v, replies %d)", err, ticket, replies)
			}
			switch f["type"] {
			case "ack":
				list, _ := n1.call("GET", fmt.Sprintf("/api/v1/tickets?inbox=%v", chat), nil, 200)["tickets"].([]any)
				if len(list) != 1 {
					t.Fatalf("chat tickets on node 1: %v", list)
				}
				ticket, _ = list[0].(map[string]any)["id"].(float64)
				n1.call("POST", fmt.Sprintf("/api/v1/tickets/%d/messages", int64(ticket)), map[string]any{"body": "Yes, since today."}, 201)
				n1.call("POST", fmt.Sprintf("/api/v1/tickets/%d/messages", int64(ticket)), map[string]any{"body": "A note", "internal": true}, 201)
			case "message":
				m, _ := f["message"].(map[string]any)
				if m["text"] == "A note" {
					t.Fatal("an internal note reached the widget")
				}
				if m["text"] == "Yes, since today." {
					replies++
				}
			}
		}
		// A second reply, as a marker: the first came once.
		n1.call("POST", fmt.Sprintf("/api/v1/tickets/%d/messages", int64(ticket)), map[string]any{"body": "Anything else?"}, 201)
		for {
			var f map[string]any
			if err := ws.ReadJSON(&f); err != nil {
				t.Fatalf("widget on node 3: %v", err)
			}
			if m, _ := f["message"].(map[string]any); m != nil {
				if m["text"] == "Yes, since today." {
					replies++
				}
				if m["text"] == "Anything else?" {
					break
				}
			}
		}
		if replies != 1 {
			t.Fatalf("the reply reached the widget %d times", replies)
		}
	})

	t.Run("a picture uploaded on node 2 and sent through node 3 is downloaded on node 1", func(t *testing.T) {
		sent, got := chatAttachment(t, n2, n3, n1, chat)
		if !bytes.Equal(sent, got) {
			t.Fatalf("downloaded %d bytes, sent %d", len(got), len(sent))
		}
	})

	t.Run("a token revoked on node 1 closes its socket on node 3", func(t *testing.T) {
		k := n3.socket(t, token["token"].(string), 0)
		waitCond(t, 5*time.Second, "the socket's first frame", func() bool {
			k.mu.Lock()
			defer k.mu.Unlock()
			return len(k.frames) > 0
		})
		n1.call("DELETE", fmt.Sprintf("/api/v1/tokens/%v", token["id"]), nil, 204)
		select {
		case <-k.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the socket on node 3 stayed open 5 s after its token was revoked on node 1")
		}
		req, _ := http.NewRequest("GET", n2.base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token["token"].(string))
		waitCond(t, 6*time.Second, "the revoked token refused on node 2", func() bool {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusUnauthorized
		})
	})

	// It uses up the sign-in attempts of 127.0.0.1 for a minute: no one signs in after.
	t.Run("sign-in limits hold for the cluster, not per node", func(t *testing.T) {
		limited := 0
		for i := range 12 { // each node's own buckets would let 10 through, 30 in all
			body, _ := json.Marshal(map[string]string{"email": "nobody@shop.example", "password": "wrong " + strconv.Itoa(i)})
			resp, err := http.Post(c.nodes[i%3].base+"/api/v1/login", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				limited++
			} else if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d", i, resp.StatusCode)
			}
		}
		if limited == 0 {
			t.Fatal("12 wrong passwords over three nodes were all answered: the limit is per node")
		}
	})

	t.Run("NATS stopped and started under load loses no event", func(t *testing.T) {
		agent := n1.resumingSocket(t)
		var acked []int64
		for i := range 120 {
			if i == 40 {
				ns.Shutdown()
			}
			if i == 80 {
				ns = natsOn(outer, natsPort) // it runs on for the subtests after this one
			}
			node := c.nodes[1+i%2]
			if id := inbound(node, api, fmt.Sprintf("nats-%d", i), fmt.Sprintf("n%d@example.com", i%5), "load "+strconv.Itoa(i)); id != 0 {
				acked = append(acked, id)
			} else {
				t.Fatalf("message %d not taken by node %s", i, node.base)
			}
		}
		waitCond(t, 15*time.Second, "every message on node 1's socket", func() bool {
			got := agent.messageIDs()
			for _, id := range acked {
				if got[id] == 0 {
					return false
				}
			}
			return true
		})
		got := agent.messageIDs()
		for _, id := range acked {
			if got[id] != 1 {
				t.Fatalf("message %d reached the socket %d times", id, got[id])
			}
		}
		agent.inOrder(true)
	})

	t.Run("kill -9 a node under load: every acknowledged message once, resume elsewhere without a gap", func(t *testing.T) {
		watcher := n2.socket(t, "", 0)
		var mu sync.Mutex
		acked := map[string]int64{}
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				for i := range 60 {
					ext := fmt.Sprintf("kill-%d-%d", w, i)
					if id := inbound(c.nodes[w], api, ext, fmt.Sprintf("k%d@example.com", w), ext); id != 0 {
						mu.Lock()
						acked[ext] = id
						mu.Unlock()
					}
				}
			})
		}
		waitCond(t, 30*time.Second, "some load on node 2", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(acked) > 30
		})
		last := watcher.lastID()
		c.kill(1)
		wg.Wait()
		// Every acknowledged message is stored once: sent again, each is a duplicate of
		// itself.
		for ext, id := range acked {
			if again := inbound(n1, api, ext, "whoever@example.com", ext); again != id {
				t.Fatalf("message %s: acknowledged as %d, stored as %d", ext, id, again)
			}
		}
		resumed := n3.socket(t, "", last)
		marker := inbound(n1, api, "kill-marker", "k0@example.com", "marker")
		waitCond(t, 10*time.Second, "the resumed socket reaches the marker", func() bool { return resumed.messageIDs()[marker] > 0 })
		resumed.inOrder(true)
		if ev := resumed.events(); len(ev) == 0 || int64(ev[0]["id"].(float64)) != last+1 {
			t.Fatalf("resume after %d on node 3 started at %v", last, ev)
		}
	})

	t.Run("a mailbox is fetched by one node, and by another within 15 s of its death", func(t *testing.T) {
		imap, err := imaptest.Start("support@shop.test", "imap-pass", imaptest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer imap.Close()
		sink := startSink(t)
		host, port, _ := net.SplitHostPort(imap.Addr)
		ip, _ := strconv.Atoi(port)
		sh, sp, _ := net.SplitHostPort(sink.addr)
		spn, _ := strconv.Atoi(sp)
		mbox := n1.call("POST", "/api/v1/inboxes", map[string]any{"kind": "email", "name": "Support", "config": map[string]any{
			"address": "support@shop.test", "imap_host": host, "imap_port": ip, "imap_security": "none",
			"imap_username": "support@shop.test", "imap_password": "imap-pass",
			"smtp_host": sh, "smtp_port": spn, "smtp_security": "none"}}, 201)["id"]
		lease := fmt.Sprintf("email/%v", mbox)
		alive := []int{0, 2}
		waitCond(t, 20*time.Second, "a node takes the mailbox", func() bool { return c.leaseHolder(lease) >= 0 })
		holder := c.leaseHolder(lease)
		elsewhere := c.nodes[alive[0]]
		if alive[0] == holder {
			elsewhere = c.nodes[alive[1]]
		}
		var seen any
		defer func() {
			if t.Failed() {
				t.Logf("status %v; holder's log:\n%s", seen, c.nodes[holder].logs())
			}
		}()
		waitCond(t, 15*time.Second, "the mailbox connected, as a node that does not fetch it says", func() bool {
			seen = elsewhere.call("GET", fmt.Sprintf("/api/v1/inboxes/%v", mbox), nil, 200)["status"]
			st, _ := seen.(map[string]any)
			return st["state"] == "connected"
		})
		imap.Deliver("INBOX", mail("one", "First mail"))
		tickets := func(s *server) []any {
			list, _ := s.call("GET", fmt.Sprintf("/api/v1/tickets?inbox=%v", mbox), nil, 200)["tickets"].([]any)
			return list
		}
		waitCond(t, 15*time.Second, "the first mail filed", func() bool { return len(tickets(n1)) == 1 })
		first := tickets(n1)[0].(map[string]any)
		n1.call("POST", fmt.Sprintf("/api/v1/tickets/%v/messages", first["id"]), map[string]any{"body": "On its way."}, 201)
		waitCond(t, 15*time.Second, "the reply at the SMTP server", func() bool { return sink.count() == 1 })

		c.kill(holder)
		other := alive[0]
		if other == holder {
			other = alive[1]
		}
		died := time.Now()
		imap.Deliver("INBOX", mail("two", "Second mail"))
		waitCond(t, 15*time.Second, "the second mail filed by another node", func() bool { return len(tickets(c.nodes[other])) == 2 })
		t.Logf("the mailbox moved in %s", time.Since(died).Round(100*time.Millisecond))
		if h := c.leaseHolder(lease); h != other {
			t.Fatalf("the mailbox's lease is with node %d, want %d", h+1, other+1)
		}
		for _, tk := range tickets(c.nodes[other]) {
			msgs, _ := c.nodes[other].call("GET", fmt.Sprintf("/api/v1/tickets/%v/messages", tk.(map[string]any)["id"]), nil, 200)["messages"].([]any)
			in := 0
			for _, m := range msgs {
				if m.(map[string]any)["direction"] == "in" {
					in++
				}
			}
			if in != 1 {
				t.Fatalf("ticket %v has %d inbound messages, want 1", tk.(map[string]any)["id"], in)
			}
		}
		if n := sink.count(); n != 1 {
			t.Fatalf("the reply was sent %d times", n)
		}
	})
}

// mail is a customer's mail with its own Message-ID.
func mail(id, subject string) string {
	return "From: Ann <ann@example.com>\r\nTo: support@shop.test\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + id + "@example.com>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nHello, " + subject + ".\r\n"
}

// sink is an SMTP server that keeps what it is sent.
type sink struct {
	addr string
	mu   sync.Mutex
	msgs [][]byte
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func startSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.AllowInsecureAuth = true
	srv.Domain = "sink.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

type sinkSession struct{ s *sink }

func (*sinkSession) AuthPlain(string, string) error       { return nil }
func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, b)
	ss.s.mu.Unlock()
	return nil
}

// TestClusterFlags checks that serve refuses a cluster it cannot run: NATS without
// PostgreSQL, attachments in a node's own directory, storage it does not have, and a
// node whose secret key differs from the one the database's secrets were sealed with.
func TestClusterFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	run := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("serve %v started", args)
		}
		return string(out)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--nats", "nats://127.0.0.1:4222"}, "--nats: the nodes of a cluster share one PostgreSQL database"},
		{[]string{"--nats", "nats://127.0.0.1:4222", "--database", "postgres://parley@127.0.0.1:1/parley", "--blobs", "dir"}, "--blobs dir: the nodes of a cluster must all read every attachment"},
		{[]string{"--blobs", "s3://bucket"}, "--blobs s3://... needs --database"},
		{[]string{"--blobs", "postgres"}, "--blobs postgres needs --database"},
		{[]string{"--blobs", "cloud"}, `--blobs "cloud": want dir, postgres or s3://bucket`},
	} {
		if out := run(nil, tc.args...); !strings.Contains(out, tc.says) {
			t.Errorf("serve %v printed %q, want %q", tc.args, out, tc.says)
		}
	}

	dbURL := pgtest.URL(t)
	key := func(b byte) string { return "PARLEY_SECRET_KEY=" + strings.Repeat(hex.EncodeToString([]byte{b}), 32) }
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--database", dbURL)
	cmd.Env = append(os.Environ(), key(1), "PARLEY_ADMIN_EMAIL="+clusterAdmin, "PARLEY_ADMIN_PASSWORD="+clusterPassword)
	startServer(t, cmd).stop()
	if out := run([]string{key(2)}, "--database", dbURL); !strings.Contains(out, "is not the one this database's secrets were sealed with") {
		t.Errorf("a node with another secret key: %s", out)
	}
}

// pgProxy forwards loopback connections to the PostgreSQL server, and can cut them all
// and refuse new ones, as a database that goes away would.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
}

func startPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *pgProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// TestPostgresDown cuts a node off its database: writes answer 503 unavailable and
// acknowledge nothing, open agent sockets stay open, and once the database is back the
// node writes again and its sockets get what happens next.
func TestPostgresDown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dbURL := pgtest.URL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startPGProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	bin := buildBinary(t)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--database", u.String())
	cmd.Env = append(os.Environ(), "PARLEY_ADMIN_EMAIL="+clusterAdmin, "PARLEY_ADMIN_PASSWORD="+clusterPassword)
	s := startServer(t, cmd)
	s.login(clusterAdmin, clusterPassword)
	api := s.call("POST", "/api/v1/inboxes", map[string]any{"kind": "api", "name": "Backoffice"}, 201)["id"]
	before := inbound(s, api, "before", "ann@example.com", "Before the outage")
	if before == 0 {
		t.Fatal("no message before the outage")
	}
	agent := s.socket(t, "", 0)

	proxy.cut()
	body, _ := json.Marshal(map[string]any{"inbox": api, "external_id": "during", "from": map[string]string{"email": "ann@example.com"}, "text": "During"})
	req, _ := http.NewRequest("POST", s.base+"/api/v1/inbound", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", s.csrf)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(raw), `"code":"unavailable"`) {
		t.Fatalf("a write with the database down: %d %s", resp.StatusCode, raw)
	}
	// The credential check runs every 3 seconds and reads the store: the socket must
	// outlive a round of it.
	select {
	case <-agent.closed:
		t.Fatal("the agent's socket closed while the database was down")
	case <-time.After(4 * time.Second):
	}

	proxy.restore()
	var after int64
	waitCond(t, 20*time.Second, "a write once the database is back", func() bool {
		after = inbound(s, api, "after", "ann@example.com", "After the outage")
		return after != 0
	})
	waitCond(t, 10*time.Second, "the socket gets the message written after the outage", func() bool { return agent.messageIDs()[after] == 1 })
	if again := inbound(s, api, "before", "ann@example.com", "Before the outage"); again != before {
		t.Fatalf("the message acknowledged before the outage: %d, now %d", before, again)
	}
	if again := inbound(s, api, "during", "ann@example.com", "During"); again == 0 {
		t.Fatal("the message refused during the outage cannot be sent again")
	}
}

// chatAttachment has a shopper upload a picture to the chat inbox through node up and
// send it in a message through node send (nodes with no sticky sessions behind a load
// balancer may split them so), then an agent download it through node get. It returns
// the picture and what the agent downloaded.
func chatAttachment(t *testing.T, up, send, get *server, inbox any) (sent, got []byte) {
	t.Helper()
	var img bytes.Buffer
	png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 2, 2)))
	ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws%s/widget/ws?inbox=%v", strings.TrimPrefix(send.base, "http"), inbox),
		http.Header{"Origin": {"https://shop.test"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	ws.WriteJSON(map[string]any{"type": "hello", "visitor_token": nil})
	var welcome struct {
		Type         string `json:"type"`
		VisitorToken string `json:"visitor_token"`
	}
	if err := ws.ReadJSON(&welcome); err != nil || welcome.Type != "welcome" {
		t.Fatalf("welcome: %+v %v", welcome, err)
	}
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/widget/upload?inbox=%v&name=photo.png", up.base, inbox), bytes.NewReader(img.Bytes()))
	req.Header.Set("X-Parley-Visitor", welcome.VisitorToken)
	req.Header.Set("Origin", "https://shop.test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var upload struct {
		UploadID string `json:"upload_id"`
	}
	json.NewDecoder(resp.Body).Decode(&upload)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || upload.UploadID == "" {
		t.Fatalf("upload through %s: %d %+v", up.base, resp.StatusCode, upload)
	}
	ws.WriteJSON(map[string]any{"type": "message", "client_id": "with-photo", "text": "This one", "attachments": []string{upload.UploadID}})
	var messageID float64
	for messageID == 0 {
		var f map[string]any
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("widget: %v", err)
		}
		if f["type"] == "error" {
			t.Fatalf("the message with the upload of another node: %v", f)
		}
		if f["type"] == "ack" {
			messageID, _ = f["message_id"].(float64)
		}
	}
	list, _ := get.call("GET", fmt.Sprintf("/api/v1/tickets?inbox=%v", inbox), nil, 200)["tickets"].([]any)
	for _, tk := range list {
		msgs, _ := get.call("GET", fmt.Sprintf("/api/v1/tickets/%v/messages", tk.(map[string]any)["id"]), nil, 200)["messages"].([]any)
		for _, m := range msgs {
			m := m.(map[string]any)
			if m["id"] != messageID {
				continue
			}
			atts, _ := m["attachments"].([]any)
			if len(atts) != 1 {
				t.Fatalf("message %v has attachments %v", messageID, atts)
			}
			r, err := get.hc.Get(fmt.Sprintf("%s/api/v1/attachments/%v", get.base, atts[0].(map[string]any)["id"]))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Body.Close()
			got, _ = io.ReadAll(r.Body)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("download through %s: %d %s", get.base, r.StatusCode, got)
			}
			return img.Bytes(), got
		}
	}
	t.Fatalf("message %v not found through %s", messageID, get.base)
	return nil, nil
}

// TestBlobsOnS3 runs a node with its attachments in S3-compatible storage (the fake
// of crm/blobs/s3/s3test): a shopper's picture lands in the bucket and an agent
// downloads it from there.
func TestBlobsOnS3(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dbURL := pgtest.URL(t)
	bucket := s3test.Start("parley-files")
	defer bucket.Close()
	bin := buildBinary(t)
	blobsURL := "s3://parley-files/desk?endpoint=" + bucket.Endpoint() + "&insecure=1&region=us-east-1"
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--database", dbURL, "--blobs", blobsURL)
	cmd.Env = append(os.Environ(), "PARLEY_ADMIN_EMAIL="+clusterAdmin, "PARLEY_ADMIN_PASSWORD="+clusterPassword,
		"AWS_ACCESS_KEY_ID=WRONG", "AWS_SECRET_ACCESS_KEY="+bucket.SecretKey)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "Access Denied") {
		t.Fatalf("serve with a wrong S3 key: %v\n%s", err, out)
	}
	cmd = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--database", dbURL, "--blobs", blobsURL)
	cmd.Env = append(os.Environ(), "PARLEY_ADMIN_EMAIL="+clusterAdmin, "PARLEY_ADMIN_PASSWORD="+clusterPassword,
		"AWS_ACCESS_KEY_ID="+bucket.AccessKey, "AWS_SECRET_ACCESS_KEY="+bucket.SecretKey)
	s := startServer(t, cmd)
	s.login(clusterAdmin, clusterPassword)
	chat := s.call("POST", "/api/v1/inboxes", map[string]any{"kind": "chat", "name": "Shop chat",
		"config": map[string]any{"allowed_origins": []string{"https://shop.test"}}}, 201)["id"]
	sent, got := chatAttachment(t, s, s, s, chat)
	if !bytes.Equal(sent, got) {
		t.Fatalf("downloaded %d bytes, sent %d", len(got), len(sent))
	}
	sum := sha256.Sum256(sent)
	hexSum := hex.EncodeToString(sum[:])
	if obj, ok := bucket.Object("parley-files", "desk/"+hexSum[:2]+"/"+hexSum); !ok || !bytes.Equal(obj, sent) {
		t.Fatalf("the picture is not in the bucket (%d objects written)", bucket.Puts())
	}
}

// TestDocsSeveralNodes runs the command of "Running several nodes" in docs/operations.md
// as written, twice (two nodes), with the docs' database, NATS server and key made the
// test's own: the two nodes form a cluster, and a message filed on the second reaches an
// agent's socket on the first.
func TestDocsSeveralNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dbURL := pgtest.URL(t)
	blocks := docBlocks(t, "operations.md", "## Running several nodes")
	if len(blocks) != 1 || !strings.Contains(blocks[0].text, "parley serve") {
		t.Fatalf("the docs' examples are %+v; this test runs one sh block ending in parley serve", blocks)
	}
	bin := buildBinary(t)
	ns := natsOn(t, 0)
	key := make([]byte, 32)
	rand.Read(key)
	node := func() *server {
		block := strings.NewReplacer(
			"'postgres://parley:change-me@db.internal:5432/parley?sslmode=verify-full'", "'"+dbURL+"'",
			"nats://nats.internal:4222", ns.ClientURL(),
			"PARLEY_SECRET_KEY=...", "PARLEY_SECRET_KEY="+hex.EncodeToString(key),
			"--addr 0.0.0.0:8080", "--addr 127.0.0.1:0",
			"/var/lib/parley", t.TempDir(),
			" --public-url https://desk.shop.example", "",
			"\nparley serve", "\nexec parley serve",
		).Replace(blocks[0].text)
		cmd := exec.Command("sh", "-c", block)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"),
			"PARLEY_ADMIN_EMAIL="+clusterAdmin, "PARLEY_ADMIN_PASSWORD="+clusterPassword)
		s := startServer(t, cmd)
		s.login(clusterAdmin, clusterPassword)
		return s
	}
	n1, n2 := node(), node()
	if !strings.Contains(n1.logs(), "msg=cluster") || !strings.Contains(n2.logs(), "msg=cluster") {
		t.Fatalf("a node does not say it runs in a cluster:\n%s", n1.logs())
	}
	api := n1.call("POST", "/api/v1/inboxes", map[string]any{"kind": "api", "name": "Backoffice"}, 201)["id"]
	agent := n1.socket(t, "", 0)
	id := inbound(n2, api, "docs-1", "ann@example.com", "Where is my parcel?")
	waitCond(t, 10*time.Second, "the message of node 2 on node 1's socket", func() bool { return agent.messageIDs()[id] == 1 })
}
