// Package crm holds Parley's domain: customers and their identities, inboxes, tickets,
// messages, agents, orders and events, the service interfaces over them and the error
// type every layer returns. It imports only the standard library.
package crm

import (
	"errors"
	"fmt"
)

// Error codes. The HTTP API maps each to one status code.
const (
	EINVALID      = "invalid"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	ETOOLARGE     = "too_large"
	ERATELIMITED  = "rate_limited"
	EINTERNAL     = "internal"
	// EUNAVAILABLE: the store cannot take writes for now (its disk is full); nothing
	// was saved and the same request may succeed later.
	EUNAVAILABLE = "unavailable"
)

// Error is an error meant for the user: its Code says what kind of failure it is and its
// Message is safe to show. Any other error is reported as internal.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal errors get a generic one.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
