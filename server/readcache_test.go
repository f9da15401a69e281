package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"

	"parley/crm"
)

// cond sends GET path with If-None-Match etag (none when empty) and returns the status,
// the body and the ETag of the answer.
func (c *client) cond(path, etag string) (int, []byte, string) {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotModified {
		if got := resp.Header.Get("Cache-Control"); got != "private, no-cache" {
			c.t.Errorf("GET %s: Cache-Control %q, want private, no-cache", path, got)
		}
	}
	return resp.StatusCode, data, resp.Header.Get("ETag")
}

// listIDs returns the ticket ids of a list answer.
func listIDs(t *testing.T, body []byte) []int64 {
	t.Helper()
	var out struct {
		Tickets []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"tickets"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("list %s: %v", body, err)
	}
	ids := []int64{}
	for _, tk := range out.Tickets {
		ids = append(ids, tk.ID)
	}
	return ids
}

// threadTexts returns the texts of a thread answer.
func threadTexts(t *testing.T, body []byte) []string {
	t.Helper()
	var out struct {
		Messages []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("thread %s: %v", body, err)
	}
	texts := []string{}
	for _, m := range out.Messages {
		texts = append(texts, m.Text)
	}
	return texts
}

// Lists and threads answer with an ETag and 304 Not Modified while nothing they show
// changed; the next request after a change shows it, whether or not it sends the ETag it
// had, and whoever asks gets only what they may see, though the answers are cached.
func TestListAndThreadETags(t *testing.T) {
	e := newEnv(t)
	inA, inB := e.inbox(crm.KindAPI, "A"), e.inbox(crm.KindAPI, "B")
	ann := e.agent("ann@test.example", crm.RoleAgent, inA)
	bob := e.agent("bob@test.example", crm.RoleAgent, inB)
	inbound := func(extID, text string) int64 {
		var res inboundResult
		e.admin.mustDo("POST", "/api/v1/inbound", map[string]any{"inbox": inA, "external_id": extID, "thread_key": "kettle",
			"from": map[string]string{"email": "carol@example.com"}, "subject": "Kettle", "text": text}, 201, &res)
		return res.TicketID
	}
	tA := inbound("a1", "Where is my kettle?")
	tB := e.inbound(inB, "b1", "dave@example.com", "Refund please").TicketID
	const list = "/api/v1/tickets?status=open"
	threadA := "/api/v1/tickets/" + itoa(tA) + "/messages"

	// Each agent's list holds its own inbox's ticket only, asked for one after the
	// other, twice, so that the second answers come from the cache.
	for range 2 {
		for _, c := range []struct {
			who  *client
			want []int64
		}{{ann, []int64{tA}}, {bob, []int64{tB}}, {e.admin, []int64{tB, tA}}} {
			status, body, _ := c.who.cond(list, "")
			if got := listIDs(t, body); status != 200 || !slices.Equal(got, c.want) {
				t.Fatalf("list = %d %v, want %v", status, got, c.want)
			}
		}
		if status, _, _ := ann.cond(threadA, ""); status != 200 {
			t.Fatalf("ann's thread: %d", status)
		}
		// Bob may not read ann's thread, cached or not.
		if status, body, etag := bob.cond(threadA, ""); status != 404 || etag != "" {
			t.Fatalf("bob read a thread of another inbox: %d %s", status, body)
		}
	}

	// Unchanged: 304 without a body, with the same ETag; an old or foreign ETag gets
	// the whole answer.
	_, _, listTag := ann.cond(list, "")
	_, _, threadTag := ann.cond(threadA, "")
	if listTag == "" || threadTag == "" || listTag == threadTag {
		t.Fatalf("ETags %q and %q", listTag, threadTag)
	}
	for _, c := range []struct{ path, etag string }{{list, listTag}, {threadA, threadTag}} {
		for _, inm := range []string{c.etag, `"x", W/` + c.etag, "*"} {
			if status, body, etag := ann.cond(c.path, inm); status != 304 || len(body) != 0 || etag != c.etag {
				t.Fatalf("GET %s with If-None-Match %s = %d %q %s, want 304 and the same ETag", c.path, inm, status, body, etag)
			}
		}
		if status, _, etag := ann.cond(c.path, `"other"`); status != 200 || etag != c.etag {
			t.Fatalf("GET %s with another ETag = %d %s", c.path, status, etag)
		}
	}
	// Bob's list differs from ann's, so ann's ETag is no 304 for him.
	if status, _, _ := bob.cond(list, listTag); status != 200 {
		t.Fatalf("bob's list with ann's ETag: %d", status)
	}

	// A reply shows in the thread at the next request, with the old ETag or without.
	e.admin.mustDo("POST", "/api/v1/tickets/"+itoa(tA)+"/messages", map[string]any{"body": "It ships today"}, 201, nil)
	status, body, tag := ann.cond(threadA, threadTag)
	if texts := threadTexts(t, body); status != 200 || tag == threadTag || !slices.Equal(texts, []string{"Where is my kettle?", "It ships today"}) {
		t.Fatalf("thread after a reply = %d %v, ETag %s (was %s)", status, texts, tag, threadTag)
	}
	if _, body, _ := ann.cond(threadA, ""); !slices.Equal(threadTexts(t, body), []string{"Where is my kettle?", "It ships today"}) {
		t.Fatalf("thread after a reply, no ETag: %s", body)
	}
	// So does a message from the customer, which comes by another path.
	if inbound("a2", "Thanks") != tA {
		t.Fatal("the customer's message opened another ticket")
	}
	if _, body, _ := ann.cond(threadA, ""); len(threadTexts(t, body)) != 3 {
		t.Fatalf("thread after an inbound message: %s", body)
	}

	// A status change takes the ticket off the open list at the next request, for
	// every agent who sees it, with or without the ETag.
	e.admin.mustDo("PATCH", "/api/v1/tickets/"+itoa(tA), map[string]any{"status": "pending"}, 200, nil)
	if status, body, tag := ann.cond(list, listTag); status != 200 || len(listIDs(t, body)) != 0 || tag == listTag {
		t.Fatalf("ann's open list after pending = %d %s", status, body)
	}
	if _, body, _ := e.admin.cond(list, ""); !slices.Equal(listIDs(t, body), []int64{tB}) {
		t.Fatalf("admin's open list after pending = %s", body)
	}
	if _, body, _ := bob.cond(list, ""); !slices.Equal(listIDs(t, body), []int64{tB}) {
		t.Fatalf("bob's open list = %s", body)
	}

	// Bob joins inbox A: his next list and thread include it.
	var bobID struct{ Agent struct{ ID int64 } }
	bob.mustDo("GET", "/api/v1/me", nil, 200, &bobID)
	e.admin.mustDo("PATCH", "/api/v1/agents/"+itoa(bobID.Agent.ID), map[string]any{"inbox_ids": []int64{inA, inB}}, 200, nil)
	if _, body, _ := bob.cond("/api/v1/tickets?status=pending", ""); !slices.Equal(listIDs(t, body), []int64{tA}) {
		t.Fatalf("bob's pending list after joining A = %s", body)
	}
	if status, body, _ := bob.cond(threadA, ""); status != 200 || len(threadTexts(t, body)) != 3 {
		t.Fatalf("bob's thread after joining A = %d %s", status, body)
	}
	// And leaves it again: the cached thread is not his any more.
	e.admin.mustDo("PATCH", "/api/v1/agents/"+itoa(bobID.Agent.ID), map[string]any{"inbox_ids": []int64{inB}}, 200, nil)
	if status, _, _ := bob.cond(threadA, ""); status != 404 {
		t.Fatalf("bob's thread after leaving A = %d", status)
	}
	if _, body, _ := bob.cond("/api/v1/tickets?status=pending", ""); len(listIDs(t, body)) != 0 {
		t.Fatalf("bob's pending list after leaving A = %s", body)
	}
}
