// Package httpjson writes Parley's JSON answers: the API, the webhooks and the chat
// widget all answer through it, so every error has the same shape and each crm.Error
// code the same HTTP status. It imports only crm and the standard library.
package httpjson

import (
	"encoding/json"
	"net/http"

	"parley/crm"
)

// statusOf is the one table from crm.Error codes to HTTP statuses.
var statusOf = map[string]int{
	crm.EINVALID:      http.StatusBadRequest,
	crm.EUNAUTHORIZED: http.StatusUnauthorized,
	crm.EFORBIDDEN:    http.StatusForbidden,
	crm.ENOTFOUND:     http.StatusNotFound,
	crm.ECONFLICT:     http.StatusConflict,
	crm.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	crm.ERATELIMITED:  http.StatusTooManyRequests,
	crm.EINTERNAL:     http.StatusInternalServerError,
	crm.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// Write writes v as an uncached JSON response with the given status.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// WriteError writes err as {"error":{"code","message"}} with the HTTP status of its code;
// errors that are not *crm.Error are internal and their text is not shown. Rate-limited
// and unavailable answers say when to retry.
func WriteError(w http.ResponseWriter, err error) {
	code := crm.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if code == crm.ERATELIMITED || code == crm.EUNAVAILABLE {
		w.Header().Set("Retry-After", "60")
	}
	Write(w, status, map[string]any{"error": map[string]string{"code": code, "message": crm.ErrorMessage(err)}})
}
