package httpjson_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"parley/crm"
	"parley/httpjson"
)

// TestWriteError checks what a client sees for each error code: the status, the
// {"error":{"code","message"}} body, no caching, Retry-After where a retry helps, and
// nothing of an internal error's text.
func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		err     error
		status  int
		code    string
		message string
		retry   bool
	}{
		{crm.Errorf(crm.EINVALID, "subject is too long"), 400, "invalid", "subject is too long", false},
		{crm.Errorf(crm.EUNAUTHORIZED, "log in"), 401, "unauthorized", "log in", false},
		{crm.Errorf(crm.EFORBIDDEN, "not yours"), 403, "forbidden", "not yours", false},
		{fmt.Errorf("load ticket: %w", crm.Errorf(crm.ENOTFOUND, "ticket 42 not found")), 404, "not_found", "ticket 42 not found", false},
		{crm.Errorf(crm.ECONFLICT, "changed meanwhile"), 409, "conflict", "changed meanwhile", false},
		{crm.Errorf(crm.ETOOLARGE, "over 25 MiB"), 413, "too_large", "over 25 MiB", false},
		{crm.Errorf(crm.ERATELIMITED, "slow down"), 429, "rate_limited", "slow down", true},
		{crm.Errorf(crm.EUNAVAILABLE, "busy"), 503, "unavailable", "busy", true},
		{errors.New("disk on fire at /var/lib/parley"), 500, "internal", "internal error", false},
	} {
		rec := httptest.NewRecorder()
		httpjson.WriteError(rec, tc.err)
		var body struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%v: body %q: %v", tc.err, rec.Body, err)
		}
		if rec.Code != tc.status || body.Error.Code != tc.code || body.Error.Message != tc.message {
			t.Errorf("%v: %d %+v; want %d %s %q", tc.err, rec.Code, body.Error, tc.status, tc.code, tc.message)
		}
		h := rec.Header()
		if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%v: headers %v", tc.err, h)
		}
		if got := h.Get("Retry-After") != ""; got != tc.retry {
			t.Errorf("%v: Retry-After %q", tc.err, h.Get("Retry-After"))
		}
	}
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	httpjson.Write(rec, http.StatusCreated, map[string]int{"id": 7})
	if rec.Code != 201 || rec.Body.String() != "{\"id\":7}\n" {
		t.Errorf("Write = %d %q", rec.Code, rec.Body)
	}
}
