package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"parley/crm"
)

// readVersions is what the cache of ticket lists and threads needs of the store: numbers
// that change with every committed change to what a list or a thread shows, before the
// change is answered (crm/storecache's Versions, which both stores keep). A store whose
// data other processes change must bump them for those changes too (Invalidate).
type readVersions interface {
	TicketsVersion() uint64
	ThreadVersion(ticketID int64) uint64
}

// Bounds of each map of the read cache: a full map is emptied, which costs one read per
// answer again rather than memory without bound. A bigger answer is not kept.
const (
	maxAnswers     = 2000
	maxAnswerBytes = 8 << 20
	maxKeptAnswer  = 1 << 20
)

// readCache keeps the encoded answers of GET /api/v1/tickets and GET
// /api/v1/tickets/{id}/messages, the console's most frequent reads, with the store's
// version of what they show. An answer is served again only while that version is
// unchanged: the version is read before the store is, so an answer read across a
// change is kept under the version before it and never served once the change is
// answered.
//
// A list depends on its filter, page and the inboxes its agent sees, all in its key. A
// thread depends only on its ticket and page; who may see it is checked on every
// request against the ticket's inbox, kept with the answer (a ticket's inbox changes
// only with an event of the ticket, which changes its version).
type readCache struct {
	v       readVersions
	lists   answers[listKey]
	threads answers[threadKey]
}

type listKey struct {
	f   crm.TicketFilter
	vis string // "*" for who sees every inbox, else its inbox ids
}

type threadKey struct {
	ticket int64
	p      crm.Page
}

// answer is an encoded JSON answer with its ETag.
type answer struct {
	version uint64
	inbox   int64 // a thread's ticket's inbox
	body    []byte
	etag    string
}

// answers are the answers of one route by key.
type answers[K comparable] struct {
	mu    sync.Mutex
	m     map[K]*answer
	bytes int
}

func newReadCache(v readVersions) *readCache {
	return &readCache{v: v, lists: answers[listKey]{m: map[listKey]*answer{}},
		threads: answers[threadKey]{m: map[threadKey]*answer{}}}
}

// get returns the answer of k if it was read at version.
func (a *answers[K]) get(k K, version uint64) *answer {
	a.mu.Lock()
	e := a.m[k]
	a.mu.Unlock()
	if e == nil || e.version != version {
		return nil
	}
	return e
}

// put keeps e as the answer of k.
func (a *answers[K]) put(k K, e *answer) {
	if cap(e.body) > maxKeptAnswer {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if old := a.m[k]; old != nil {
		if old.version > e.version {
			return // a read that started later already put a newer answer
		}
		a.bytes -= cap(old.body)
		delete(a.m, k)
	}
	if len(a.m) >= maxAnswers || a.bytes+cap(e.body) > maxAnswerBytes {
		clear(a.m)
		a.bytes = 0
	}
	a.m[k] = e
	a.bytes += cap(e.body)
}

// visibility is the part of a list's key that says which inboxes who acts in ctx sees,
// by the rule of the store's reads.
func visibility(ctx context.Context) string {
	a := crm.AgentFrom(ctx)
	switch {
	case crm.SeesAll(ctx):
		return "*"
	case a == nil:
		return ""
	}
	ids := slices.Clone(a.InboxIDs)
	slices.Sort(ids)
	b := make([]byte, 0, 8*len(ids))
	for _, id := range ids {
		b = strconv.AppendInt(append(b, ','), id, 10)
	}
	return string(b)
}

// canSeeInbox says whether who acts in ctx may see the tickets of inbox, by the rule of
// the store's reads.
func canSeeInbox(ctx context.Context, inbox int64) bool {
	a := crm.AgentFrom(ctx)
	return crm.SeesAll(ctx) || (a != nil && a.CanSeeInbox(inbox))
}

// newAnswer encodes v as writeJSON does and names it by a hash of the bytes: an ETag
// that depends on nothing but what the answer says, so it holds across restarts and
// nodes, and a 304 can never stand for something else.
func newAnswer(version uint64, v any) (*answer, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return &answer{version: version, body: buf.Bytes(), etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}, nil
}

// write sends the answer, or 304 Not Modified without a body when the request's
// If-None-Match names its ETag. "private, no-cache" lets the browser keep the answer
// but makes it ask again every time, with If-None-Match.
func (e *answer) write(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", e.etag)
	if etagMatch(r.Header.Get("If-None-Match"), e.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(e.body)))
	w.WriteHeader(http.StatusOK)
	w.Write(e.body)
}

// etagMatch says whether an If-None-Match header names etag, compared weakly as RFC
// 9110 says for If-None-Match; "*" names any.
func etagMatch(header, etag string) bool {
	for header != "" {
		var t string
		t, header, _ = strings.Cut(header, ",")
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
