package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"parley/crm"
	"parley/httpjson"
)

// maxBody is the default limit of a JSON request body.
const maxBody = 1 << 20

func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

// writeError writes err as {"error":{"code","message"}} with the status of its code.
func writeError(w http.ResponseWriter, err error) { httpjson.WriteError(w, err) }

// decode reads one JSON object of at most limit bytes into v. Unknown fields, wrong
// types and trailing data are invalid; a bigger body is too_large. NUL characters are
// dropped from every string: no stored text keeps one.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return crm.Errorf(crm.EINVALID, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	} else if err == nil {
		if _, e := dec.Token(); e != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		crm.StripNUL(v)
		return nil
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return crm.Errorf(crm.ETOOLARGE, "request body is larger than %d bytes", limit)
	case errors.Is(err, io.EOF):
		return crm.Errorf(crm.EINVALID, "request body is empty")
	case errors.As(err, &syntax):
		return crm.Errorf(crm.EINVALID, "malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return crm.Errorf(crm.EINVALID, "request body must be a JSON object")
		}
		return crm.Errorf(crm.EINVALID, "field %q must be %s", typ.Field, jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return crm.Errorf(crm.EINVALID, "%s is not allowed here", strings.TrimPrefix(err.Error(), "json: "))
	}
	return crm.Errorf(crm.EINVALID, "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "a whole number"
	case strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice":
		return "an array"
	}
	return "an object"
}

// pathID returns the positive integer path value name.
func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(strings.TrimPrefix(v, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, crm.Errorf(crm.EINVALID, "%s %q is not a valid id", name, v)
	}
	return id, nil
}

// queryID returns the positive integer query parameter name, or 0 when it is absent.
func queryID(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, crm.Errorf(crm.EINVALID, "%s %q is not a valid id", name, v)
	}
	return id, nil
}

// page reads limit and cursor. A limit outside 1..200 is invalid.
func page(r *http.Request) (crm.Page, error) {
	q := r.URL.Query()
	p := crm.Page{Limit: crm.DefaultLimit, Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > crm.MaxLimit {
			return p, crm.Errorf(crm.EINVALID, "limit must be a number from 1 to %d", crm.MaxLimit)
		}
		p.Limit = n
	}
	if len(p.Cursor) > 200 {
		return p, crm.Errorf(crm.EINVALID, "invalid cursor")
	}
	return p, nil
}

func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return crm.Errorf(crm.EINVALID, "%s must be one of %s", field, strings.Join(allowed, ", "))
}

// nonNil returns an empty slice for nil so lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
