package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/storetest"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// resolve resolves a ticket as Dana and queues its chat survey, as the reports service
// does when a ticket is resolved.
func (e *env) resolve(ticketID int64) *crm.CSATSurvey {
	e.t.Helper()
	ctx := crm.AsSystem(context.Background())
	resolved := crm.StatusResolved
	if _, err := e.db.UpdateTicket(crm.WithAgent(ctx, e.agent), ticketID, crm.TicketUpdate{Status: &resolved}); err != nil {
		e.t.Fatal(err)
	}
	s, err := e.db.QueueCSATSurvey(ctx, &crm.CSATRequest{TicketID: ticketID, Channels: []string{crm.ChannelChat}})
	if err != nil {
		e.t.Fatal(err)
	}
	if s == nil || s.Channel != crm.ChannelChat {
		e.t.Fatalf("survey = %+v, want a chat survey", s)
	}
	return s
}

// csatAnswers returns the stored csat.answered events of a ticket.
func (e *env) csatAnswers(ticketID int64) []map[string]any {
	e.t.Helper()
	events, err := e.db.Events(crm.AsSystem(context.Background()), 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range events {
		if ev.Type == crm.EventCSATAnswered && ev.TicketID == ticketID {
			var d map[string]any
			json.Unmarshal(ev.Data, &d)
			out = append(out, d)
		}
	}
	return out
}

// expectClose reads until the socket closes and checks the close code.
func (c *client) expectClose(code int) {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, code) {
			c.t.Fatalf("socket ended with %v, want close %d", err, code)
		}
		return
	}
}

func TestCSATSurveyInWidget(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	a, wa := e.visitor(nil)
	a.say("a-1", "My mug arrived broken")
	ticket := e.visitorRow(wa.VisitorToken).TicketID
	b, _ := e.visitor(nil)
	b.say("b-1", "Hello")

	e.resolve(ticket)
	f, _ := a.until(isType("csat"))
	if f.TicketID != ticket {
		t.Fatalf("csat frame = %+v, want ticket %d", f, ticket)
	}

	// Another visitor cannot answer it: the ticket is always the socket's own.
	b.send(map[string]any{"type": "csat_answer", "rating": 1, "comment": "sabotage", "ticket_id": ticket})
	if f, _ := b.until(isType("error")); f.Error.Code != crm.ENOTFOUND || f.For != "csat_answer" {
		t.Fatalf("foreign answer: %+v, want not_found for csat_answer", f)
	}
	if _, err := e.db.OpenChatSurvey(crm.AsSystem(context.Background()), ticket); err != nil {
		t.Fatalf("the survey was answered by another visitor: %v", err)
	}

	for _, bad := range []map[string]any{
		{"type": "csat_answer", "rating": 0},
		{"type": "csat_answer", "rating": 6},
		{"type": "csat_answer"},
		{"type": "csat_answer", "rating": 5, "comment": strings.Repeat("é", 1001)},
	} {
		a.send(bad)
		if f, _ := a.until(isType("error")); f.Error.Code != crm.EINVALID || f.For != "csat_answer" {
			t.Fatalf("%v: %+v, want invalid", bad, f)
		}
	}

	// A shopper who comes back finds the survey still waiting.
	a.ws.Close()
	a2, _ := e.visitor(map[string]any{"visitor_token": wa.VisitorToken})
	if f := a2.next(); f.Type != "csat" || f.TicketID != ticket {
		t.Fatalf("after reconnecting: %+v, want the csat frame", f)
	}
	a2.send(map[string]any{"type": "csat_answer", "rating": 5, "comment": "  Quick and friendly  "})
	if f, _ := a2.until(isType("csat_thanks")); f.TicketID != ticket {
		t.Fatalf("thanks = %+v", f)
	}
	answers := e.csatAnswers(ticket)
	if len(answers) != 1 || answers[0]["rating"] != 5.0 || answers[0]["comment"] != "Quick and friendly" || answers[0]["channel"] != "chat" {
		t.Fatalf("stored answers = %v", answers)
	}
	if _, err := e.db.OpenChatSurvey(crm.AsSystem(context.Background()), ticket); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Fatalf("answered survey still open: %v", err)
	}

	// Once answered, a reconnect shows no survey: the next frame after the welcome is
	// the ack of a message sent right after the hello.
	a3, _ := e.visitor(map[string]any{"visitor_token": wa.VisitorToken})
	a3.send(map[string]any{"type": "message", "client_id": "a-2", "text": "Thanks!"})
	if f := a3.next(); f.Type == "csat" {
		t.Fatalf("answered survey shown again: %+v", f)
	}
}

// countingVisitors is the real store, counting the visitor writes.
type countingVisitors struct {
	crm.ChatService
	updates atomic.Int64
}

func (c *countingVisitors) UpdateChatVisitor(ctx context.Context, v *crm.ChatVisitor) error {
	c.updates.Add(1)
	return c.ChatService.UpdateChatVisitor(ctx, v)
}

func TestHelloSkipsWriteAndIsRateLimited(t *testing.T) {
	cv := &countingVisitors{}
	e := newEnvWith(t, func(db storetest.Store) Options {
		cv.ChatService = db
		return Options{Visitors: cv, Limits: Limits{HellosPerIP: Limit{Rate: rate.Every(time.Hour), Burst: 4}}}
	}, nil)
	_, w := e.visitor(map[string]any{"page_url": "https://shop.example/a"})                          // 1: new
	e.visitor(map[string]any{"visitor_token": w.VisitorToken, "page_url": "https://shop.example/a"}) // 2: nothing changed
	if n := cv.updates.Load(); n != 0 {
		t.Fatalf("a hello that changed nothing wrote the visitor %d times", n)
	}
	e.visitor(map[string]any{"visitor_token": w.VisitorToken, "page_url": "https://shop.example/b"}) // 3: a new page
	if n := cv.updates.Load(); n != 1 || e.visitorRow(w.VisitorToken).PageURL != "https://shop.example/b" {
		t.Fatalf("a changed page: %d writes, row %+v", n, e.visitorRow(w.VisitorToken))
	}
	e.visitor(map[string]any{"visitor_token": w.VisitorToken}) // 4

	// The fifth hello from this address, of a known visitor too, is refused for now.
	c, _, err := e.dial(shopOrigin)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "hello", "visitor_token": w.VisitorToken})
	if f := c.next(); f.Type != "error" || f.Error.Code != crm.ERATELIMITED {
		t.Fatalf("fifth hello: %+v, want rate_limited", f)
	}
	c.expectClose(websocket.CloseTryAgainLater)
}

func TestSocketCaps(t *testing.T) {
	e := newEnv(t, Options{Limits: Limits{SocketsPerIP: 3, SocketsPerVisitor: 2}}, nil)
	_, w := e.visitor(nil)
	e.visitor(map[string]any{"visitor_token": w.VisitorToken})

	// A third tab of the same visitor is refused after its hello.
	c, _, err := e.dial(shopOrigin)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "hello", "visitor_token": w.VisitorToken})
	if f := c.next(); f.Type != "error" || f.Error.Code != crm.ERATELIMITED {
		t.Fatalf("third tab: %+v, want rate_limited", f)
	}
	c.expectClose(websocket.CloseTryAgainLater)
	waitFor(t, "the refused socket to be uncounted", func() bool { return e.ch.hub.ipCount("127.0.0.1") == 2 })

	other, _ := e.visitor(nil) // the third socket of the address
	c, _, err = e.dial(shopOrigin)
	if err != nil {
		t.Fatal(err)
	}
	// The fourth is refused at once, before it says anything.
	if f := c.next(); f.Type != "error" || f.Error.Code != crm.ERATELIMITED {
		t.Fatalf("fourth socket: %+v, want rate_limited", f)
	}
	c.expectClose(websocket.CloseTryAgainLater)

	other.ws.Close()
	waitFor(t, "a closed socket to free its place", func() bool { return e.ch.hub.ipCount("127.0.0.1") == 2 })
	e.visitor(nil)
}

// upload posts a file as the visitor with token and returns the status and body.
func (e *env) upload(token string, body []byte) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/widget/upload?inbox="+itoa(e.inbox.ID)+"&name=photo.png", bytes.NewReader(body))
	req.Header.Set("Origin", shopOrigin)
	req.Header.Set("X-Parley-Visitor", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// sizedPNG returns a PNG padded to n bytes, distinct per seed.
func sizedPNG(t *testing.T, n int, seed byte) []byte {
	b := pngBytes(t)
	return append(b, bytes.Repeat([]byte{seed}, n-len(b))...)
}

func TestUploadCaps(t *testing.T) {
	e := newEnv(t, Options{Limits: Limits{PendingUploadBytesPerVisitor: 2500, PendingUploadBytes: 4500}}, nil)
	a, wa := e.visitor(nil)
	code, u1 := e.upload(wa.VisitorToken, sizedPNG(t, 1000, 1))
	if code != 201 {
		t.Fatalf("first upload: %d %v", code, u1)
	}
	// The bytes wait in a file of their own, not in SQLite.
	pending := filepath.Join(e.dir, "chat-uploads", u1["upload_id"].(string))
	if fi, err := os.Stat(pending); err != nil || fi.Size() != 1000 {
		t.Fatalf("pending upload file: %v", err)
	}
	if code, out := e.upload(wa.VisitorToken, sizedPNG(t, 1000, 2)); code != 201 {
		t.Fatalf("second upload: %d %v", code, out)
	}
	if code, out := e.upload(wa.VisitorToken, sizedPNG(t, 1000, 3)); code != 413 || out["error"].(map[string]any)["code"] != crm.ETOOLARGE {
		t.Fatalf("over the visitor's cap: %d %v, want 413 too_large", code, out)
	}

	// A message uses the first upload: it no longer counts, and its file moves into
	// the message's attachments.
	a.send(map[string]any{"type": "message", "client_id": "pic", "attachments": []string{u1["upload_id"].(string)}})
	a.until(isType("ack"))
	if _, err := os.Stat(pending); !os.IsNotExist(err) {
		t.Fatalf("the pending file of a sent upload is still there: %v", err)
	}
	ticket := e.visitorRow(wa.VisitorToken).TicketID
	att := e.messages(ticket)[0].Attachments
	if len(att) != 1 || att[0].Size != 1000 {
		t.Fatalf("attachments = %+v", att)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "attachments", att[0].SHA256[:2], att[0].SHA256)); err != nil {
		t.Fatalf("attachment file: %v", err)
	}
	// A resend after a lost ack still finds the upload.
	a.send(map[string]any{"type": "message", "client_id": "pic", "attachments": []string{u1["upload_id"].(string)}})
	if f, _ := a.until(isType("ack")); !f.Duplicate {
		t.Fatalf("resend = %+v, want a duplicate ack", f)
	}
	if code, out := e.upload(wa.VisitorToken, sizedPNG(t, 1000, 4)); code != 201 {
		t.Fatalf("upload after sending one: %d %v", code, out)
	}

	// Everyone's pending bytes are capped too: A has 2000, B adds 2000, C is refused.
	_, wb := e.visitor(nil)
	for i := range 2 {
		if code, out := e.upload(wb.VisitorToken, sizedPNG(t, 1000, byte(10+i))); code != 201 {
			t.Fatalf("B's upload %d: %d %v", i, code, out)
		}
	}
	_, wc := e.visitor(nil)
	if code, out := e.upload(wc.VisitorToken, sizedPNG(t, 1000, 20)); code != 429 || out["error"].(map[string]any)["code"] != crm.ERATELIMITED {
		t.Fatalf("over the total cap: %d %v, want 429 rate_limited", code, out)
	}

	// The daily sweep removes the rows and the files.
	if n, err := e.db.DeleteChatUploads(crm.AsSystem(context.Background()), time.Now().Add(time.Hour)); err != nil || n != 5 {
		t.Fatalf("DeleteChatUploads = %d, %v; want 5", n, err)
	}
	left, _ := os.ReadDir(filepath.Join(e.dir, "chat-uploads"))
	if len(left) != 0 {
		t.Fatalf("%d upload files left after the sweep", len(left))
	}
	if code, out := e.upload(wc.VisitorToken, sizedPNG(t, 1000, 20)); code != 201 {
		t.Fatalf("upload after the sweep: %d %v", code, out)
	}
}

func TestUploadRate(t *testing.T) {
	e := newEnv(t, Options{Limits: Limits{
		UploadsPerVisitor: Limit{Rate: rate.Every(time.Hour), Burst: 2},
		UploadsPerIP:      Limit{Rate: rate.Every(time.Hour), Burst: 3},
	}}, nil)
	_, wa := e.visitor(nil)
	_, wb := e.visitor(nil)
	for i, want := range []int{201, 201, 429} {
		if code, out := e.upload(wa.VisitorToken, sizedPNG(t, 100, byte(i))); code != want {
			t.Fatalf("A's upload %d: %d %v, want %d", i+1, code, out, want)
		}
	}
	// Three attempts from this address used its share: B is refused too.
	if code, out := e.upload(wb.VisitorToken, sizedPNG(t, 100, 9)); code != 429 || out["error"].(map[string]any)["code"] != crm.ERATELIMITED {
		t.Fatalf("B's upload: %d %v, want 429", code, out)
	}
}

// ipCount returns the sockets counted for an address.
func (h *hub) ipCount(ip string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.byIP[ip]
}

// TestShutdownClosesWidgetSockets checks that widget sockets end with the channel: at
// shutdown each gets "going away" (the widget reconnects, to another node if there is
// one) instead of hanging on with a store that is closing.
func TestShutdownClosesWidgetSockets(t *testing.T) {
	e := newEnv(t, Options{}, nil)
	a, _ := e.visitor(nil)
	a.say("a-1", "hello")
	b, _ := e.visitor(nil)
	e.stop()
	a.expectClose(websocket.CloseGoingAway)
	b.expectClose(websocket.CloseGoingAway)
}
