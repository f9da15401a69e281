package server_test

import (
	"fmt"
	"strings"
	"testing"
)

type customerJSON struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Notes      string `json:"notes"`
	MergedInto int64  `json:"merged_into"`
	Identities []struct {
		Kind    string `json:"kind"`
		Address string `json:"address"`
	} `json:"identities"`
}

func (c customerJSON) has(kind, addr string) bool {
	for _, id := range c.Identities {
		if id.Kind == kind && id.Address == addr {
			return true
		}
	}
	return false
}

func TestCustomerUpdateMergeUnmerge(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Backoffice")
	alice := e.inbound(inbox, "a1", "alice@x.example", "by email")
	var c customerJSON
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/customers/%d", alice.CustomerID), map[string]any{
		"name": "Alice Liddell", "notes": "VIP", "add_identities": []map[string]string{{"kind": "phone", "address": "(555) 555-0101"}},
	}, 200, &c)
	if c.Name != "Alice Liddell" || c.Notes != "VIP" || !c.has("phone", "+15555550101") {
		t.Fatalf("updated = %+v", c)
	}
	// A second person (say, from Discord) turns out to be Alice.
	body := map[string]any{"inbox": inbox, "external_id": "d1", "from": map[string]string{"email": "alice.other@x.example"}, "text": "it's me again"}
	var other inboundResult
	e.admin.mustDo("POST", "/api/v1/inbound", body, 201, &other)
	status, data := e.admin.do("PATCH", fmt.Sprintf("/api/v1/customers/%d", other.CustomerID), map[string]any{
		"add_identities": []map[string]string{{"kind": "email", "address": "alice@x.example"}},
	})
	if status != 409 || errCode(t, data) != "conflict" {
		t.Fatalf("taking another customer's identity = %d %s", status, data)
	}

	var merged struct {
		MergeEventID int64        `json:"merge_event_id"`
		Customer     customerJSON `json:"customer"`
	}
	e.admin.mustDo("POST", fmt.Sprintf("/api/v1/customers/%d/merge", other.CustomerID), map[string]any{"into": alice.CustomerID}, 200, &merged)
	if !merged.Customer.has("email", "alice.other@x.example") || merged.MergeEventID == 0 {
		t.Fatalf("merged = %+v", merged)
	}
	var list struct{ Tickets []ticketJSON }
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets?customer_id=%d", alice.CustomerID), nil, 200, &list)
	if len(list.Tickets) != 2 {
		t.Fatalf("after merge alice has %d tickets", len(list.Tickets))
	}
	var timeline struct {
		Timeline []struct {
			Kind string `json:"kind"`
		} `json:"timeline"`
	}
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/customers/%d/timeline", alice.CustomerID), nil, 200, &timeline)
	kinds := map[string]int{}
	for _, it := range timeline.Timeline {
		kinds[it.Kind]++
	}
	if kinds["ticket"] != 2 || kinds["message"] != 2 {
		t.Fatalf("timeline kinds = %v", kinds)
	}

	var undone struct{ Customer customerJSON }
	e.admin.mustDo("POST", fmt.Sprintf("/api/v1/customers/merges/%d/undo", merged.MergeEventID), nil, 200, &undone)
	if undone.Customer.ID != other.CustomerID || !undone.Customer.has("email", "alice.other@x.example") || undone.Customer.MergedInto != 0 {
		t.Fatalf("undone = %+v", undone.Customer)
	}
	e.admin.mustDo("GET", fmt.Sprintf("/api/v1/tickets?customer_id=%d", alice.CustomerID), nil, 200, &list)
	if len(list.Tickets) != 1 {
		t.Fatalf("after unmerge alice has %d tickets", len(list.Tickets))
	}
	status, data = e.admin.do("POST", fmt.Sprintf("/api/v1/customers/merges/%d/undo", merged.MergeEventID), nil)
	if status != 409 {
		t.Fatalf("second undo = %d %s", status, data)
	}
}

func TestOrdersAndInboxSecrets(t *testing.T) {
	e := newEnv(t)
	var o struct {
		Number     string
		CustomerID int64 `json:"customer_id"`
		Total      int64
	}
	e.admin.mustDo("PUT", "/api/v1/orders/1001", map[string]any{"email": "Alice@X.example", "status": "shipped", "currency": "USD",
		"subtotal": 1000, "total": 1200, "placed_at": "2026-11-01T10:00:00Z", "items": []map[string]any{{"sku": "M", "name": "Mug", "quantity": 1, "unit_price": 1000}}}, 200, &o)
	if o.Number != "1001" || o.CustomerID == 0 || o.Total != 1200 {
		t.Fatalf("order = %+v", o)
	}
	var orders struct{ Orders []struct{ Number string } }
	e.admin.mustDo("GET", "/api/v1/orders?email=alice@x.example", nil, 200, &orders)
	if len(orders.Orders) != 1 {
		t.Fatalf("orders by email = %+v", orders)
	}

	var in struct {
		ID         int64
		Config     map[string]any
		SecretsSet []string `json:"secrets_set"`
	}
	e.admin.mustDo("POST", "/api/v1/inboxes", map[string]any{"kind": "phone", "name": "Hotline",
		"config": map[string]any{"account_sid": "AC123", "auth_token": "s3cr3t-token-value"}}, 201, &in)
	body := string(mustGet(t, e.admin, fmt.Sprintf("/api/v1/inboxes/%d", in.ID)))
	if strings.Contains(body, "s3cr3t") || !strings.Contains(body, "auth_token") || !strings.Contains(body, "AC123") {
		t.Fatalf("inbox JSON = %s", body)
	}
	if len(in.SecretsSet) != 1 || in.SecretsSet[0] != "auth_token" {
		t.Fatalf("secrets_set = %v", in.SecretsSet)
	}
	// A PATCH without the secret keeps it; a PATCH with one replaces it.
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/inboxes/%d", in.ID), map[string]any{"config": map[string]any{"account_sid": "AC456"}}, 200, nil)
	stored, err := e.db.Inbox(ctxSystem(), in.ID)
	if err != nil || stored.Secrets["auth_token"] != "s3cr3t-token-value" || stored.Config["account_sid"] != "AC456" {
		t.Fatalf("after PATCH without secret: %+v %v", stored, err)
	}
	e.admin.mustDo("PATCH", fmt.Sprintf("/api/v1/inboxes/%d", in.ID), map[string]any{"config": map[string]any{"account_sid": "AC456", "auth_token": "rotated"}}, 200, nil)
	if stored, _ = e.db.Inbox(ctxSystem(), in.ID); stored.Secrets["auth_token"] != "rotated" {
		t.Fatalf("secret not rotated: %q", stored.Secrets["auth_token"])
	}
}
