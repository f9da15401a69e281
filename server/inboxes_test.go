package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"parley/crm"
	"parley/orders/shopifytest"
	"parley/server"
)

// An inbox is disabled, enabled, renamed and deleted through the API: disabled, it
// takes no messages and says so; deleted, it leaves the list, its tickets stay
// readable to its member and take notes but no replies; only admins may do any of it.
func TestInboxLifecycle(t *testing.T) {
	e := newEnv(t)
	id := e.inbox(crm.KindAPI, "Returns portal")
	res := e.inbound(id, "r-1", "alice@example.com", "Where is my refund?")
	mia := e.agent("mia@test.example", crm.RoleAgent, id)

	var in struct {
		Enabled bool   `json:"enabled"`
		Name    string `json:"name"`
	}
	e.admin.mustDo("PATCH", "/api/v1/inboxes/"+itoa(id), map[string]any{"enabled": false}, 200, &in)
	if in.Enabled {
		t.Fatalf("after disable: %+v", in)
	}
	status, body := e.admin.do("POST", "/api/v1/inbound", map[string]any{"inbox": id, "external_id": "r-2",
		"from": map[string]string{"email": "bob@example.com"}, "text": "Hello?"})
	if status != http.StatusConflict || errCode(t, body) != crm.ECONFLICT || !strings.Contains(string(body), "disabled") {
		t.Fatalf("inbound to a disabled inbox: %d %s", status, body)
	}
	e.admin.mustDo("PATCH", "/api/v1/inboxes/"+itoa(id), map[string]any{"name": "Returns", "enabled": true}, 200, &in)
	if !in.Enabled || in.Name != "Returns" {
		t.Fatalf("after enable and rename: %+v", in)
	}
	e.inbound(id, "r-2", "bob@example.com", "Hello again")

	// The config's "disabled" of before is refused: enabled is the one switch.
	status, body = e.admin.do("PATCH", "/api/v1/inboxes/"+itoa(id), map[string]any{"config": map[string]any{"disabled": true}})
	if status != http.StatusBadRequest || !strings.Contains(string(body), `enabled`) {
		t.Fatalf("config.disabled: %d %s", status, body)
	}
	if status, _ := mia.do("PATCH", "/api/v1/inboxes/"+itoa(id), map[string]any{"enabled": false}); status != http.StatusForbidden {
		t.Fatalf("an agent disables an inbox: %d", status)
	}
	if status, _ := mia.do("DELETE", "/api/v1/inboxes/"+itoa(id), nil); status != http.StatusForbidden {
		t.Fatalf("an agent deletes an inbox: %d", status)
	}

	e.admin.mustDo("DELETE", "/api/v1/inboxes/"+itoa(id), nil, 204, nil)
	var list struct {
		Inboxes []struct {
			ID        int64   `json:"id"`
			DeletedAt *string `json:"deleted_at"`
		} `json:"inboxes"`
	}
	e.admin.mustDo("GET", "/api/v1/inboxes", nil, 200, &list)
	if len(list.Inboxes) != 0 {
		t.Fatalf("inboxes after the delete: %+v", list.Inboxes)
	}
	mia.mustDo("GET", "/api/v1/inboxes?archived=true", nil, 200, &list)
	if len(list.Inboxes) != 1 || list.Inboxes[0].ID != id || list.Inboxes[0].DeletedAt == nil {
		t.Fatalf("archived inboxes: %+v", list.Inboxes)
	}
	for _, p := range []string{"/api/v1/inboxes/" + itoa(id), "/api/v1/inboxes/" + itoa(id) + "/setup"} {
		if status, _ := e.admin.do("GET", p, nil); status != http.StatusNotFound {
			t.Errorf("GET %s of a deleted inbox: %d", p, status)
		}
	}
	if status, _ := e.admin.do("DELETE", "/api/v1/inboxes/"+itoa(id), nil); status != http.StatusNotFound {
		t.Errorf("a second delete: %d", status)
	}
	if status, _ := e.admin.do("GET", "/api/v1/inboxes?archived=maybe", nil); status != http.StatusBadRequest {
		t.Errorf("archived=maybe: %d", status)
	}

	// The member still reads the archived ticket; it takes a note, not a reply.
	mia.mustDo("GET", "/api/v1/tickets/"+itoa(res.TicketID), nil, 200, nil)
	mia.mustDo("GET", "/api/v1/tickets/"+itoa(res.TicketID)+"/messages", nil, 200, nil)
	status, body = mia.do("POST", "/api/v1/tickets/"+itoa(res.TicketID)+"/messages", map[string]any{"body": "Refunded."})
	if status != http.StatusConflict || !strings.Contains(string(body), "archived") {
		t.Fatalf("a reply on an archived ticket: %d %s", status, body)
	}
	mia.mustDo("POST", "/api/v1/tickets/"+itoa(res.TicketID)+"/messages", map[string]any{"body": "Checked the bank.", "internal": true}, 201, nil)
	status, _ = e.admin.do("POST", "/api/v1/inbound", map[string]any{"inbox": id, "external_id": "r-3",
		"from": map[string]string{"email": "bob@example.com"}, "text": "Hello?"})
	if status != http.StatusNotFound {
		t.Fatalf("inbound to a deleted inbox: %d", status)
	}
}

// The api inbox's setup answer carries the ingest URL and an example request, and the
// example, run as written with an API token, files a message.
func TestAPIInboxSetupExample(t *testing.T) {
	e := newEnv(t)
	id := e.inbox(crm.KindAPI, "Backoffice")
	var s struct {
		IngestURL string `json:"ingest_url"`
		Example   string `json:"example"`
		PublicURL string `json:"public_url"`
	}
	e.admin.mustDo("GET", "/api/v1/inboxes/"+itoa(id)+"/setup", nil, 200, &s)
	if s.IngestURL != e.srv.URL+"/api/v1/inbound" || s.PublicURL != e.srv.URL {
		t.Fatalf("setup = %+v", s)
	}
	token := e.bearer("admin@test.example").token
	status, body := runExample(t, s.Example, map[string]string{"PARLEY_TOKEN": token})
	if status != http.StatusCreated {
		t.Fatalf("the example answered %d %s", status, body)
	}
	var res inboundResult
	json.Unmarshal(body, &res)
	if tk, err := e.db.Ticket(sysCtx(), res.TicketID); err != nil || tk.InboxID != id || tk.Subject != "Return request RMA-77" {
		t.Fatalf("ticket of the example = %+v, %v", tk, err)
	}
}

// A webhook source made without a secret gets one, shown once with an example signed
// request; the example, run as written, stores its order; the list shows no secret.
func TestWebhookSourceGeneratedSecret(t *testing.T) {
	e := newEnv(t)
	var src struct {
		ID              int64  `json:"id"`
		WebhookURL      string `json:"webhook_url"`
		GeneratedSecret string `json:"generated_secret"`
		Example         struct {
			Curl string `json:"curl"`
		} `json:"example"`
	}
	e.admin.mustDo("POST", "/api/v1/order-sources", map[string]any{"kind": "webhook", "name": "My shop"}, 201, &src)
	if len(src.GeneratedSecret) != 64 || !strings.Contains(src.Example.Curl, src.WebhookURL) {
		t.Fatalf("created = %+v", src)
	}
	status, body := runExample(t, src.Example.Curl, nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"number":"1001"`) {
		t.Fatalf("the example answered %d %s", status, body)
	}
	_, list := e.admin.do("GET", "/api/v1/order-sources", nil)
	if strings.Contains(string(list), src.GeneratedSecret) || strings.Contains(string(list), "generated_secret") {
		t.Fatalf("the secret is listed again: %s", list)
	}
	var checks struct {
		OK bool `json:"ok"`
	}
	e.admin.mustDo("POST", "/api/v1/order-sources/"+itoa(src.ID)+"/test", nil, 200, &checks)
	if !checks.OK {
		t.Fatal("the webhook source's check failed")
	}
	// A secret of the admin's own is kept and not shown back.
	status, body = e.admin.do("POST", "/api/v1/order-sources", map[string]any{"kind": "webhook", "name": "Mine", "secret": "0123456789abcdef0123"})
	if status != http.StatusCreated || strings.Contains(string(body), "0123456789abcdef0123") || strings.Contains(string(body), "generated_secret") {
		t.Fatalf("own secret: %d %s", status, body)
	}
}

// The Shopify check reads the shop with the token, then its scopes, and says which
// scope is missing and what for.
func TestShopifySourceCheck(t *testing.T) {
	e := newHubEnvWith(t, server.Options{Outbound: allowPrivate}) // the fake shop is on loopback
	shop := shopifytest.New("shpat_token")
	defer shop.Close()
	var src struct{ ID int64 }
	e.admin.mustDo("POST", "/api/v1/order-sources", map[string]any{"kind": "shopify", "name": "Main",
		"shop_domain": "test-store.myshopify.com", "access_token": "shpat_token", "api_base_url": shop.URL}, 201, &src)
	type result struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		Steps []struct {
			Step   string `json:"step"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"steps"`
	}
	var r result
	e.admin.mustDo("POST", "/api/v1/order-sources/"+itoa(src.ID)+"/test", nil, 200, &r)
	if !r.OK || len(r.Steps) != 2 || !strings.Contains(r.Steps[0].Detail, "Test store") {
		t.Fatalf("all scopes: %+v", r)
	}
	shop.SetScopes("read_orders")
	r = result{}
	e.admin.mustDo("POST", "/api/v1/order-sources/"+itoa(src.ID)+"/test", nil, 200, &r)
	if r.OK || !strings.Contains(r.Error, "read_customers") || !strings.Contains(r.Error, "write_orders (to cancel and refund") {
		t.Fatalf("missing scopes: %+v", r)
	}
	e.admin.mustDo("PATCH", "/api/v1/order-sources/"+itoa(src.ID), map[string]any{"access_token": "shpat_wrong"}, 200, nil)
	r = result{}
	e.admin.mustDo("POST", "/api/v1/order-sources/"+itoa(src.ID)+"/test", nil, 200, &r)
	if r.OK || len(r.Steps) != 1 || !strings.Contains(r.Steps[0].Detail, "Invalid API key") {
		t.Fatalf("wrong token: %+v", r)
	}
	if len(shop.Calls()) == 0 {
		t.Fatal("the fake shop was never asked")
	}
}

// The order file upload streams its report: the rows it imported and each skipped line
// with its reason; a bad format is refused before anything is read.
func TestImportOrdersUpload(t *testing.T) {
	e := newEnv(t)
	csv := "number,email,status,currency,total,placed_at\n" +
		"2001,alice@example.com,paid,USD,58.00,2026-11-22\n" +
		"2002,bob@example.com,paid,EUX,10.00,2026-11-22\n" +
		"2003,carla@example.com,shipped,EUR,12.50,2026-11-23\n"
	status, body := e.admin.do("POST", "/api/v1/orders/import?format=csv&source=legacy", csv)
	if status != http.StatusOK {
		t.Fatalf("import: %d %s", status, body)
	}
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	var last struct {
		Done     bool `json:"done"`
		Imported int  `json:"imported"`
		Skipped  []struct {
			Line   int    `json:"line"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || !last.Done || last.Imported != 2 ||
		len(last.Skipped) != 1 || last.Skipped[0].Line != 3 || !strings.Contains(last.Skipped[0].Reason, "EUX") {
		t.Fatalf("report = %s", body)
	}
	if o, err := e.db.Order(sysCtx(), "2003"); err != nil || o.Source != "legacy" || o.Total != 1250 {
		t.Fatalf("imported order = %+v, %v", o, err)
	}
	status, body = e.admin.do("POST", "/api/v1/orders/import?format=xml", "<orders/>")
	if status != http.StatusBadRequest {
		t.Fatalf("format=xml: %d %s", status, body)
	}
	status, body = e.admin.do("POST", "/api/v1/orders/import?format=csv", "number;total\n1;2\n")
	if status != http.StatusOK || !strings.Contains(string(body), `"error"`) || !strings.Contains(string(body), "invalid") {
		t.Fatalf("bad header: %d %s", status, body)
	}
	agent := e.agent("ann@test.example", crm.RoleAgent)
	if status, _ := agent.do("POST", "/api/v1/orders/import?format=csv", csv); status != http.StatusForbidden {
		t.Fatalf("an agent imports: %d", status)
	}
}

func sysCtx() context.Context { return crm.AsSystem(context.Background()) }

// runExample runs a curl command that the console shows, as curl would: -X, -H and -d,
// to the full URL it names (a test server's).
func runExample(t *testing.T, command string, vars map[string]string) (int, []byte) {
	t.Helper()
	args, err := shellWords(strings.TrimSpace(command), vars)
	if err != nil || len(args) == 0 || args[0] != "curl" {
		t.Fatalf("not a curl command: %q (%v)", command, err)
	}
	method, target, body := "GET", "", ""
	header := http.Header{}
	for i := 1; i < len(args); i++ {
		switch arg := args[i]; {
		case strings.HasPrefix(arg, "http://"):
			target = arg
		case i+1 == len(args):
			t.Fatalf("%s needs a value in %q", arg, command)
		case arg == "-H":
			i++
			name, value, _ := strings.Cut(args[i], ":")
			header.Add(name, strings.TrimSpace(value))
		case arg == "-d":
			i++
			body = args[i]
			if method == "GET" {
				method = "POST"
			}
		case arg == "-X":
			i++
			method = args[i]
		default:
			t.Fatalf("runExample does not know %s (in %q)", arg, command)
		}
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}
