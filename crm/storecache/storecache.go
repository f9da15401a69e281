// Package storecache keeps in memory what every request of a store reads and hardly ever
// changes: the agent behind a session or API token, and inboxes. Both stores use it.
package storecache

import (
	"maps"
	"slices"
	"sync"
	"time"

	"parley/crm"
)

// TTL bounds how long a cached session, API token or inbox is used without reading
// it again. Every change the store makes to agents, sessions, inbox membership or
// inboxes empties the cache when it commits, before its caller returns, so the bound
// only matters for changes made to the file by another process (the CLI).
const TTL = 5 * time.Second

// maxCached bounds the entries of each map of the cache; a full map is emptied, which
// costs one read per entry again rather than memory without bound.
const maxCached = 10_000

// Cache keeps what every API request and webhook reads and hardly ever changes: the
// agent behind a session or token hash, and inboxes by id. Before it, each request read
// the session, the agent and its inbox memberships (three queries, about a third of a
// ticket list request) and each webhook its inbox with its secrets.
//
// A read that misses loads from the database and stores what it read only if no change
// was committed meanwhile (gen is unchanged): a load that started before a commit may
// have read the old rows.
type Cache struct {
	mu      sync.Mutex
	gen     uint64
	auth    map[string]authEntry
	inboxes map[int64]inboxEntry
}

type authEntry struct {
	agent crm.Agent
	csrf  string
	token *crm.APIToken // the API token's record; nil for a session
	until time.Time     // the earlier of the TTL and the session's or token's expiry
}

type inboxEntry struct {
	inbox crm.Inbox
	until time.Time
}

func New() *Cache {
	return &Cache{auth: map[string]authEntry{}, inboxes: map[int64]inboxEntry{}}
}

// Generation returns the count of drops so far, for a load to hand back to put.
func (c *Cache) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Drop forgets everything. The writer calls it after committing a change to agents,
// sessions, memberships or inboxes.
func (c *Cache) Drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.auth)
	clear(c.inboxes)
}

// Agent returns a copy of the cached agent, CSRF token and API token record of a token
// hash.
func (c *Cache) Agent(key string, now time.Time) (*crm.Agent, string, *crm.APIToken, bool) {
	c.mu.Lock()
	e, ok := c.auth[key]
	c.mu.Unlock()
	if !ok || !now.Before(e.until) {
		return nil, "", nil, false
	}
	a := e.agent
	a.InboxIDs = slices.Clone(e.agent.InboxIDs)
	return &a, e.csrf, copyToken(e.token), true
}

// PutAgent caches a copy of a and tok (nil for a session), loaded in generation gen,
// until until.
func (c *Cache) PutAgent(gen uint64, key string, a *crm.Agent, csrf string, tok *crm.APIToken, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.auth) >= maxCached {
		clear(c.auth)
	}
	e := authEntry{agent: *a, csrf: csrf, token: copyToken(tok), until: until}
	e.agent.InboxIDs = slices.Clone(a.InboxIDs)
	c.auth[key] = e
}

func copyToken(t *crm.APIToken) *crm.APIToken {
	if t == nil {
		return nil
	}
	out := *t
	for _, p := range []**time.Time{&out.LastUsedAt, &out.ExpiresAt} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return &out
}

// Inbox returns a copy of the cached inbox id.
func (c *Cache) Inbox(id int64, now time.Time) (*crm.Inbox, bool) {
	c.mu.Lock()
	e, ok := c.inboxes[id]
	c.mu.Unlock()
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return copyInbox(&e.inbox), true
}

// PutInbox caches a copy of in, loaded in generation gen.
func (c *Cache) PutInbox(gen uint64, in *crm.Inbox, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.inboxes) >= maxCached {
		clear(c.inboxes)
	}
	c.inboxes[in.ID] = inboxEntry{inbox: *copyInbox(in), until: until}
}

// copyInbox copies in deeply enough that a caller changing its config or secrets
// changes nothing cached.
func copyInbox(in *crm.Inbox) *crm.Inbox {
	out := *in
	out.Secrets = maps.Clone(in.Secrets)
	out.Config, _ = copyJSON(in.Config).(map[string]any)
	return &out
}

// copyJSON copies a value decoded from JSON.
func copyJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = copyJSON(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = copyJSON(x)
		}
		return s
	}
	return v
}
