package server_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/reports"
)

// reportsFor starts the reports service's projection for e; tests call Sync themselves.
func reportsFor(e *env) *reports.Service {
	return reports.New(e.db, e.bus, reports.Options{PublicURL: &url.URL{Scheme: "http", Host: e.srv.Listener.Addr().String()}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

func todayRange() string {
	now := time.Now().UTC()
	return "from=" + now.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + now.AddDate(0, 0, 1).Format(time.DateOnly)
}

var reportRoutes = []string{
	"GET /api/v1/reports/overview", "GET /api/v1/reports/agents", "GET /api/v1/reports/inboxes",
	"GET /api/v1/reports/tickets", "GET /api/v1/reports/tickets.csv", "GET /api/v1/reports/agents.csv",
	"POST /api/v1/sla-policies", "PATCH /api/v1/sla-policies/1", "DELETE /api/v1/sla-policies/1",
}

func TestReports_Roles(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox(crm.KindAPI, "API")
	agent := e.agent("agent@test.example", crm.RoleAgent, inbox)
	manager := e.agent("manager@test.example", crm.RoleManager)
	q := "?" + todayRange() + "&metric=created"
	for _, route := range reportRoutes {
		method, path, _ := strings.Cut(route, " ")
		status, data := agent.do(method, path+q, map[string]any{})
		if status != http.StatusForbidden || errCode(t, data) != crm.EFORBIDDEN {
			t.Errorf("agent %s: %d %s, want 403 forbidden", route, status, data)
		}
	}
	for _, route := range []string{"GET /api/v1/audit", "GET /api/v1/audit.csv", "GET /api/v1/settings/csat", "PATCH /api/v1/settings/csat"} {
		method, path, _ := strings.Cut(route, " ")
		for _, c := range []*client{agent, manager} {
			if status, _ := c.do(method, path, map[string]any{}); status != http.StatusForbidden {
				t.Errorf("%s as non-admin: %d, want 403", route, status)
			}
		}
	}
	agent.mustDo("GET", "/api/v1/sla-policies", nil, 200, nil)
	manager.mustDo("GET", "/api/v1/reports/overview?"+todayRange(), nil, 200, nil)
	if status, _ := e.anon().do("GET", "/api/v1/reports/overview?"+todayRange(), nil); status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d, want 401", status)
	}
}

func TestReports_BadInput(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{
		"from=2026-11-10&to=2026-11-01", "from=2020-01-01&to=2026-01-01", "from=2026-02-30&to=2026-03-01",
		"from=0000-01-01&to=2026-01-01", "from=2026-01-01&to=99999-01-01", "from=2026-01-01", "from=2026-01-01&to=2026-01-02&tz=Mars/Base",
		"from=2026-01-01&to=2026-01-02&color=red", "from=2026-01-01&to=2026-01-02&channel=pigeon", "from=2026-01-01&to=2026-01-02&inbox=-1",
	} {
		for _, path := range []string{"/api/v1/reports/overview", "/api/v1/reports/agents", "/api/v1/reports/tickets"} {
			status, data := e.admin.do("GET", path+"?"+q+"&metric=created", nil)
			if status != http.StatusBadRequest || errCode(t, data) != crm.EINVALID {
				t.Errorf("%s?%s: %d %s, want 400 invalid", path, q, status, data)
			}
		}
	}
	for _, q := range []string{"metric=happiness", "metric=", "metric=created&date=1999-01-01", "metric=created&limit=5000", "metric=backlog&status=closed", "metric=created&cursor=abc"} {
		status, data := e.admin.do("GET", "/api/v1/reports/tickets?"+todayRange()+"&"+q, nil)
		if status != http.StatusBadRequest || errCode(t, data) != crm.EINVALID {
			t.Errorf("tickets?%s: %d %s, want 400 invalid", q, status, data)
		}
	}
	// An export may span any range.
	e.admin.mustDo("GET", "/api/v1/reports/tickets.csv?from=2000-01-01&to=2100-12-31", nil, 200, nil)
	for _, body := range []string{`{"name":"x"}`, `{"name":"x","first_response_minutes":-5}`,
		`{"name":"x","first_response_minutes":60,"schedule":{"timezone":"Nowhere"}}`,
		`{"name":"x","first_response_minutes":60,"schedule":{"hours":{"funday":[["09:00","17:00"]]}}}`,
		`{"name":"x","first_response_minutes":60,"schedule":{"hours":{"mon":[["17:00","09:00"]]}}}`,
		`{"name":"x","first_response_minutes":60,"priorities":["asap"]}`, `{"name":"x","first_response_minutes":60,"inbox_id":0}`,
		`{"name":"x","first_response_minutes":60,"schedule":{"holidays":["christmas"]}}`, `{"name":"x","extra":1}`} {
		status, data := e.admin.do("POST", "/api/v1/sla-policies", body)
		if status != http.StatusBadRequest {
			t.Errorf("POST sla-policies %s: %d %s, want 400", body, status, data)
		}
	}
	if status, _ := e.admin.do("POST", "/api/v1/sla-policies", `{"name":"x","first_response_minutes":60,"inbox_id":999}`); status != http.StatusNotFound {
		t.Errorf("policy of an unknown inbox: %d, want 404", status)
	}
	if status, _ := e.admin.do("PATCH", "/api/v1/settings/csat", `{"channels":["fax"]}`); status != http.StatusBadRequest {
		t.Errorf("csat settings with fax: %d, want 400", status)
	}
	if status, _ := e.admin.do("GET", "/api/v1/audit?type=coffee", nil); status != http.StatusBadRequest {
		t.Errorf("audit of an unknown type: %d, want 400", status)
	}
	if status, _ := e.admin.do("GET", "/api/v1/customers/1/timeline?kinds=gossip", nil); status != http.StatusBadRequest {
		t.Errorf("timeline of an unknown kind: %d, want 400", status)
	}
}

func TestReports_OverviewAndDrillDownOverHTTP(t *testing.T) {
	e := newEnv(t)
	svc := reportsFor(e)
	inbox := e.inbox(crm.KindAPI, "API")
	var p struct{ ID int64 }
	e.admin.mustDo("POST", "/api/v1/sla-policies", map[string]any{"name": "Round the clock", "first_response_minutes": 60,
		"resolution_minutes": 480, "priorities": []string{}, "schedule": map[string]any{"timezone": "UTC"}}, 201, &p)
	a := e.inbound(inbox, "m1", "alice@example.com", "first")
	b := e.inbound(inbox, "m2", "bob@example.com", "second")
	e.admin.mustDo("POST", fmt.Sprintf("/api/v1/tickets/%d/messages", a.TicketID), map[string]any{"body": "Hi!", "status": "resolved"}, 201, nil)
	if err := svc.Sync(crm.AsSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
	var o reports.Overview
	e.admin.mustDo("GET", "/api/v1/reports/overview?"+todayRange(), nil, 200, &o)
	if o.TicketsCreated != 2 || o.TicketsResolved != 1 || o.Backlog["open"] != 1 || o.FirstResponse.Count != 1 ||
		o.SLA.Met != 1 || o.ByChannel["api"] != 2 || len(o.ByDay) != 3 {
		t.Fatalf("overview: %+v", o)
	}
	for metric, want := range map[string][]int64{"created": {b.TicketID, a.TicketID}, "resolved": {a.TicketID}, "backlog": {b.TicketID}, "sla_met": {a.TicketID}} {
		var out struct {
			Tickets []struct{ ID int64 } `json:"tickets"`
		}
		e.admin.mustDo("GET", "/api/v1/reports/tickets?"+todayRange()+"&metric="+metric, nil, 200, &out)
		var got []int64
		for _, t := range out.Tickets {
			got = append(got, t.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("drill-down %s: %v, want %v", metric, got, want)
		}
	}
	var sla crm.TicketSLAView
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d/sla", a.TicketID), nil, 200, &sla)
	if sla.Policy == nil || sla.Policy.ID != p.ID || sla.FirstResponseDue == nil || sla.FirstResponseAt == nil || sla.ResolvedAt == nil {
		t.Errorf("ticket sla: %+v", sla)
	}
	var ev struct {
		Events []crm.TicketEvent `json:"events"`
	}
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d/events", a.TicketID), nil, 200, &ev)
	if len(ev.Events) < 3 || ev.Events[len(ev.Events)-1].Changes["status"] != [2]any{"open", "resolved"} || ev.Events[len(ev.Events)-1].Actor.Name != "Ada Admin" {
		t.Errorf("ticket events: %+v", ev.Events)
	}
	// An agent outside the inbox sees neither.
	other := e.agent("other@test.example", crm.RoleAgent)
	for _, path := range []string{"/sla", "/events"} {
		if status, _ := other.do("GET", fmt.Sprintf("/api/v1/tickets/%d%s", a.TicketID, path), nil); status != http.StatusNotFound {
			t.Errorf("foreign agent %s: %d, want 404", path, status)
		}
	}
	var breakdown struct {
		Agents []reports.AgentRow `json:"agents"`
	}
	e.admin.mustDo("GET", "/api/v1/reports/agents?"+todayRange(), nil, 200, &breakdown)
	if len(breakdown.Agents) != 2 || breakdown.Agents[0].Replies != 1 {
		t.Errorf("agents report: %+v", breakdown.Agents)
	}
}

func TestReports_TicketsCSV(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox(crm.KindAPI, "Shop, \"main\"")
	var res inboundResult
	evil := `=HYPERLINK("http://evil.example","click")`
	e.admin.mustDo("POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "external_id": "x1",
		"from": map[string]string{"name": evil, "email": "evil@example.com"}, "subject": "Hi", "text": "Hello"}, 201, &res)
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/tickets/%d", res.TicketID), map[string]any{
		"tags": []string{"-rm", "gift, wrap", `say "hi"`, "two\nlines"}, "priority": "high"}, 200, nil)

	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/reports/tickets.csv?"+todayRange(), nil)
	req.Header.Set("Authorization", "Bearer "+e.bearer("admin@test.example").token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="tickets-`) {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || strings.Join(rows[0], ",") != "id,channel,inbox,customer,created_at,first_response_at,resolved_at,status,priority,assignee,tags,sla_met,csat" {
		t.Fatalf("rows: %q", rows)
	}
	row := rows[1]
	want := []string{itoa(res.TicketID), "api", `Shop, "main"`, "'" + evil, row[4], "", "", "open", "high", "", "'-rm;gift, wrap;say \"hi\";two\nlines", "", ""}
	if fmt.Sprintf("%q", row) != fmt.Sprintf("%q", want) {
		t.Errorf("row\n got %q\nwant %q", row, want)
	}
	if _, err := time.Parse(time.RFC3339, row[4]); err != nil {
		t.Errorf("created_at %q: %v", row[4], err)
	}
	var audit struct {
		Entries []crm.AuditEntry `json:"entries"`
	}
	e.admin.mustDo("GET", "/api/v1/audit?type=export", nil, 200, &audit)
	if len(audit.Entries) != 1 || !strings.Contains(string(audit.Entries[0].Data), `"what":"tickets.csv"`) || audit.Entries[0].Actor.Name != "Ada Admin" {
		t.Errorf("export audit: %+v", audit.Entries)
	}
}

func TestAuditLog(t *testing.T) {
	e := newEnv(t)
	if status, _ := e.anon().do("POST", "/api/v1/login", map[string]string{"email": "admin@test.example", "password": "wrong"}); status != http.StatusUnauthorized {
		t.Fatalf("bad login: %d", status)
	}
	other := e.agent("dana@test.example", crm.RoleAgent)
	other.mustDo("POST", "/api/v1/logout", nil, 204, nil)
	var a struct{ ID int64 }
	e.admin.mustDo("GET", "/api/v1/agents", nil, 200, nil)
	agents, _ := e.db.Agents(crm.AsSystem(context.Background()))
	for _, ag := range agents {
		if ag.Email == "dana@test.example" {
			a.ID = ag.ID
		}
	}
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/agents/%d", a.ID), map[string]any{"role": "manager"}, 200, nil)

	var out struct {
		Entries []crm.AuditEntry `json:"entries"`
		Next    string           `json:"next_cursor"`
	}
	e.admin.mustDo("GET", "/api/v1/audit", nil, 200, &out)
	var types []string
	for _, en := range out.Entries {
		types = append(types, en.Type)
		if en.IP != "127.0.0.1" {
			t.Errorf("%s from ip %q", en.Type, en.IP)
		}
	}
	want := "agent.updated auth.logout auth.login agent.created auth.login_failed auth.login"
	if strings.Join(types, " ") != want {
		t.Fatalf("audit types %v, want %s", types, want)
	}
	if d := string(out.Entries[0].Data); d != fmt.Sprintf(`{"agent_id":%d,"password_changed":false,"role":"manager"}`, a.ID) {
		t.Errorf("agent.updated data %s", d)
	}
	if d := string(out.Entries[4].Data); d != `{"email":"admin@test.example"}` || out.Entries[4].Actor.Kind != "anonymous" {
		t.Errorf("failed login: %+v", out.Entries[4])
	}
	// Pages and filters.
	e.admin.mustDo("GET", "/api/v1/audit?limit=2", nil, 200, &out)
	first := out.Entries
	e.admin.mustDo("GET", "/api/v1/audit?limit=2&cursor="+url.QueryEscape(out.Next), nil, 200, &out)
	if len(first) != 2 || len(out.Entries) != 2 || out.Entries[0].Type != "auth.login" || out.Entries[1].Type != "agent.created" {
		t.Errorf("second page: %+v", out.Entries)
	}
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/audit?actor_id=%d", a.ID), nil, 200, &out)
	if len(out.Entries) != 2 {
		t.Errorf("dana's entries: %+v", out.Entries)
	}
	status, data := e.admin.do("GET", "/api/v1/audit.csv?type=auth.login", nil)
	if status != 200 || strings.Count(string(data), "\n") != 3 {
		t.Errorf("audit.csv: %d %s", status, data)
	}
}

func TestCSATPage(t *testing.T) {
	e := newEnv(t)
	svc := reportsFor(e)
	inbox := e.inbox(crm.KindAPI, "API")
	res := e.inbound(inbox, "m1", "alice@example.com", "help")
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/tickets/%d", res.TicketID), map[string]any{"status": "resolved"}, 200, nil)
	// The api channel has no survey; ask by email the way an email ticket would be.
	if err := svc.Sync(crm.AsSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
	mail := e.inbox(crm.KindEmail, "Mail")
	r2, err := e.db.Ingest(crm.AsSystem(context.Background()), &crm.Inbound{InboxID: mail, Channel: crm.ChannelEmail, ExternalID: "<a@b>",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "bob@example.com"}}, Subject: "Hi", Text: "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/tickets/%d", r2.TicketID), map[string]any{"status": "resolved"}, 200, nil)
	if err := svc.Sync(crm.AsSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
	var msgs struct{ Messages []crm.Message }
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets/%d/messages", r2.TicketID), nil, 200, &msgs)
	last := msgs.Messages[len(msgs.Messages)-1]
	i := strings.Index(last.Text, "/csat/")
	if last.Author.Kind != "system" || i < 0 {
		t.Fatalf("no survey: %+v", last)
	}
	link := e.srv.URL + strings.Fields(last.Text[i:])[0] // /csat/TOKEN?rating=1
	link = strings.Replace(link, "rating=1", "rating=5", 1)
	token := strings.TrimPrefix(strings.SplitN(last.Text[i:], "?", 2)[0], "/csat/")

	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "You rated us 5 out of 5") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		strings.Contains(string(body), "<script") || strings.Contains(string(body), "style=") {
		t.Fatalf("rating page: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, err = http.PostForm(e.srv.URL+"/csat/"+token, url.Values{"rating": {"4"}, "comment": {"<b>fast</b> & kind"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "&lt;b&gt;fast&lt;/b&gt; &amp; kind") {
		t.Fatalf("form answer: %d %s", resp.StatusCode, body)
	}
	if err := svc.Sync(crm.AsSystem(context.Background())); err != nil {
		t.Fatal(err)
	}
	var o reports.Overview
	e.admin.mustDo("GET", "/api/v1/reports/overview?"+todayRange(), nil, 200, &o)
	if o.CSAT.Count != 1 || o.CSAT.Average == nil || *o.CSAT.Average != 4 {
		t.Errorf("csat after re-submitting: %+v", o.CSAT)
	}
	var tl struct {
		Timeline []json.RawMessage `json:"timeline"`
	}
	tk, _ := e.db.Ticket(crm.AsSystem(context.Background()), r2.TicketID)
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/customers/%d/timeline?kinds=event", tk.CustomerID), nil, 200, &tl)
	if len(tl.Timeline) != 3 || !strings.Contains(string(tl.Timeline[0]), `"csat.answered"`) {
		t.Errorf("timeline events: %s", tl.Timeline)
	}
	for path, want := range map[string]int{"/csat/nope": 404, "/csat/" + token + "?rating=9": 400} {
		if resp, err := http.Get(e.srv.URL + path); err != nil || resp.StatusCode != want {
			t.Errorf("GET %s: %v %d, want %d", path, err, resp.StatusCode, want)
		}
	}
	if resp, _ := http.Post(e.srv.URL+"/csat/"+token, "application/json", strings.NewReader(`{"rating":1}`)); resp.StatusCode != 400 {
		t.Errorf("JSON post: %d, want 400", resp.StatusCode)
	}
}
