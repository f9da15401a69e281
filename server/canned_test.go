package server_test

import (
	"strings"
	"testing"
)

func TestCannedResponses(t *testing.T) {
	e := newEnv(t)
	inbox := e.inbox("api", "Shop")
	agent := e.agent("agent@test.example", "agent", inbox)
	manager := e.agent("manager@test.example", "manager")

	type canned struct {
		ID        int64  `json:"id"`
		Title     string `json:"title"`
		Body      string `json:"body"`
		CreatedBy int64  `json:"created_by"`
	}
	var c canned
	manager.mustDo("POST", "/api/v1/canned-responses", map[string]string{
		"title": "  Where is my order ", "body": "Hi {{customer.first_name}}, order {{order.number}} ships today.\n"}, 201, &c)
	if c.ID == 0 || c.Title != "Where is my order" || c.Body != "Hi {{customer.first_name}}, order {{order.number}} ships today." || c.CreatedBy == 0 {
		t.Fatalf("created %+v", c)
	}
	e.admin.mustDo("POST", "/api/v1/canned-responses", map[string]string{"title": "Apology", "body": "Sorry!"}, 201, nil)

	// Every agent reads them, sorted by title; only managers and admins change them.
	var list struct {
		Canned []canned `json:"canned_responses"`
	}
	agent.mustDo("GET", "/api/v1/canned-responses", nil, 200, &list)
	if len(list.Canned) != 2 || list.Canned[0].Title != "Apology" || list.Canned[1].ID != c.ID {
		t.Fatalf("list %+v", list.Canned)
	}
	for _, tc := range []struct{ method, path string }{
		{"POST", "/api/v1/canned-responses"},
		{"PATCH", "/api/v1/canned-responses/" + itoa(c.ID)},
		{"DELETE", "/api/v1/canned-responses/" + itoa(c.ID)},
	} {
		status, body := agent.do(tc.method, tc.path, map[string]string{"title": "x", "body": "y"})
		if status != 403 || errCode(t, body) != "forbidden" {
			t.Errorf("agent %s %s: %d %s", tc.method, tc.path, status, body)
		}
	}

	manager.mustDo("PATCH", "/api/v1/canned-responses/"+itoa(c.ID), map[string]string{"body": "Hello {{customer.name}}"}, 200, &c)
	if c.Title != "Where is my order" || c.Body != "Hello {{customer.name}}" {
		t.Fatalf("updated %+v", c)
	}

	bad := []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/api/v1/canned-responses", map[string]string{"title": "", "body": "x"}, 400, "invalid"},
		{"POST", "/api/v1/canned-responses", map[string]string{"title": "x", "body": "  "}, 400, "invalid"},
		{"POST", "/api/v1/canned-responses", map[string]string{"title": strings.Repeat("t", 101), "body": "x"}, 400, "invalid"},
		{"POST", "/api/v1/canned-responses", map[string]string{"title": "x", "body": strings.Repeat("b", 10001)}, 400, "invalid"},
		{"POST", "/api/v1/canned-responses", map[string]any{"title": 1}, 400, "invalid"},
		{"POST", "/api/v1/canned-responses", map[string]any{"title": "x", "body": "y", "extra": 1}, 400, "invalid"},
		{"POST", "/api/v1/canned-responses", "{", 400, "invalid"},
		{"POST", "/api/v1/canned-responses", `{"title":"x","body":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too_large"},
		{"PATCH", "/api/v1/canned-responses/999", map[string]string{"title": "x"}, 404, "not_found"},
		{"PATCH", "/api/v1/canned-responses/abc", map[string]string{"title": "x"}, 400, "invalid"},
		{"PATCH", "/api/v1/canned-responses/" + itoa(c.ID), map[string]string{"title": " "}, 400, "invalid"},
		{"DELETE", "/api/v1/canned-responses/999", nil, 404, "not_found"},
	}
	for _, tc := range bad {
		status, body := manager.do(tc.method, tc.path, tc.body)
		if status != tc.status || errCode(t, body) != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, status, body, tc.status, tc.code)
		}
	}

	manager.mustDo("DELETE", "/api/v1/canned-responses/"+itoa(c.ID), nil, 204, nil)
	agent.mustDo("GET", "/api/v1/canned-responses", nil, 200, &list)
	if len(list.Canned) != 1 || list.Canned[0].Title != "Apology" {
		t.Fatalf("after delete %+v", list.Canned)
	}
	if status, _ := e.anon().do("GET", "/api/v1/canned-responses", nil); status != 401 {
		t.Fatalf("anonymous list: %d", status)
	}
}
