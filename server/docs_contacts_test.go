package server_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"parley/crm"
)

// The "Contacts, identities and split" section of docs/api.md works as written: its curl
// commands run, in order, against a real server as an agent of the inbox, and answer
// with the documented statuses and fields.
func TestDocsContactsExamples(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox(crm.KindAPI, "Shop")
	chat := e.inbox(crm.KindChat, "Widget")
	dana := e.agent("dana@shop.example", crm.RoleAgent, inbox, chat)
	// The ticket to split first, so that its messages are 1, 2 and 3 as the docs say.
	var split inboundResult
	for i, text := range []string{"Where is order 1001?", "My invoice shows two jackets.", "I bought one."} {
		e.admin.mustDo("POST", "/api/v1/inbound", map[string]any{"inbox": inbox, "external_id": fmt.Sprint("s", i), "thread_key": "carol",
			"from": map[string]string{"name": "Carol", "email": "carol@example.com"}, "subject": "Order 1001", "text": text}, 201, &split)
	}
	alice := e.inbound(inbox, "a1", "alice@example.com", "sizes")
	e.admin.mustDo("PATCH", "/api/v1/customers/"+itoa(alice.CustomerID), map[string]any{"name": "Alice Shopper"}, 200, nil)
	e.inbound(inbox, "a2", "alice@example.com", "invoice")
	bob := e.inbound(inbox, "b1", "bob@example.com", "refund")
	e.admin.mustDo("PATCH", "/api/v1/customers/"+itoa(bob.CustomerID), map[string]any{"name": "Bob Builder"}, 200, nil)
	e.admin.mustDo("PATCH", "/api/v1/customers/"+itoa(split.CustomerID), map[string]any{"name": "Carol Zeta"}, 200, nil)
	sys := ctxSystem()
	if err := e.db.CreateChatVisitor(sys, &crm.ChatVisitor{ID: "v_3kq9", InboxID: chat}, []byte("v_3kq9-token-hash-padded-to-32-b")); err != nil {
		t.Fatal(err)
	}
	visitor, err := e.db.Ingest(sys, &crm.Inbound{InboxID: chat, Channel: crm.ChannelChat, ExternalID: "chat:v_3kq9:1", ThreadKey: crm.ChatThreadKey("v_3kq9"),
		FromName: crm.VisitorName("", "https://shop.example/"), Text: "where is my parcel?", From: []crm.Identity{{Kind: crm.IdentityChat, Address: "v_3kq9"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.RecordProof(sys, "v_3kq9", "alice@example.com", "1001"); err != nil {
		t.Fatal(err)
	}
	merged := false
	vars := map[string]string{"CSRF": dana.csrf, "ALICE": itoa(alice.CustomerID), "VISITOR": itoa(visitor.CustomerID),
		"TICKET": itoa(split.TicketID)}
	examples := docExamples(t, "api.md", "## Contacts, identities and split")
	want := []int{200, 201, 409, 200, 200, 200, 200, 201}
	if len(examples) != len(want) {
		t.Fatalf("the section has %d examples, this test knows %d", len(examples), len(want))
	}
	for i, ex := range examples {
		if i == 4 && !merged {
			// The merges example lists a merge: Bob's, into Alice.
			e.admin.mustDo("POST", fmt.Sprintf("/api/v1/customers/%d/merge", bob.CustomerID), map[string]any{"into": alice.CustomerID}, 200, nil)
			merged = true
		}
		if i == 6 {
			var p struct{ Proofs []struct{ ID int64 } }
			dana.mustDo("GET", fmt.Sprintf("/api/v1/customers/%d/proofs", visitor.CustomerID), nil, 200, &p)
			vars["PROOF"] = itoa(p.Proofs[0].ID)
		}
		status, body := runCurl(t, ex.command, vars, e.srv.URL, dana)
		if status != want[i] {
			t.Fatalf("example %d: %s\n= %d %s", i+1, ex.command, status, body)
		}
		var doc, got any
		if err := json.Unmarshal([]byte(ex.answer), &doc); err != nil {
			t.Fatalf("example %d: the documented answer is not JSON: %v", i+1, err)
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("example %d: answer %s: %v", i+1, body, err)
		}
		sameKeys(t, fmt.Sprintf("example %d", i+1), doc, got)
		if i == 0 {
			var list struct{ Customers []struct{ Name string } }
			json.Unmarshal(body, &list)
			if list.Customers[0].Name != "Alice Shopper" {
				t.Fatalf("sorted by name, the first is %s", body)
			}
		}
	}
	if tk, _ := e.db.Ticket(sys, visitor.TicketID); tk.CustomerID != alice.CustomerID {
		t.Fatal("the link did not move the visitor's ticket to Alice")
	}
}
