package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"parley/crm"
	"parley/crm/storecache"
)

const agentCols = `a.id, a.email, a.name, a.role, a.phone, a.disabled, a.avatar, a.totp_enabled_at IS NOT NULL,
	a.created_at, a.updated_at, a.availability`

// queryAgents runs a query selecting agentCols and loads the inbox ids of the result in
// one extra query.
func queryAgents(ctx context.Context, q queryer, query string, args ...any) ([]*crm.Agent, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query agents: %w", err)
	}
	defer rows.Close()
	agents := []*crm.Agent{}
	byID := map[int64]*crm.Agent{}
	var ids []int64
	for rows.Next() {
		var a crm.Agent
		var created, updated int64
		var avatar string
		if err := rows.Scan(&a.ID, &a.Email, &a.Name, &a.Role, &a.Phone, &a.Disabled, &avatar, &a.TOTPEnabled,
			&created, &updated, &a.Availability); err != nil {
			return nil, fmt.Errorf("scan agent: %w", err)
		}
		a.Avatar = avatarTag(avatar)
		a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(updated)
		a.InboxIDs = []int64{}
		agents = append(agents, &a)
		byID[a.ID] = &a
		ids = append(ids, a.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query agents: %w", err)
	}
	rows.Close()
	if len(ids) == 0 {
		return agents, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT agent_id, inbox_id FROM inbox_members
		WHERE agent_id = ANY(?) ORDER BY inbox_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("query inbox members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var agentID, inboxID int64
		if err := rows.Scan(&agentID, &inboxID); err != nil {
			return nil, fmt.Errorf("scan inbox member: %w", err)
		}
		byID[agentID].InboxIDs = append(byID[agentID].InboxIDs, inboxID)
	}
	return agents, rows.Err()
}

func findAgent(ctx context.Context, q queryer, id int64) (*crm.Agent, error) {
	agents, err := queryAgents(ctx, q, `SELECT `+agentCols+` FROM agents a WHERE a.id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(agents) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "agent %d not found", id)
	}
	return agents[0], nil
}

// Agents lists every agent.
func (db *DB) Agents(ctx context.Context) ([]*crm.Agent, error) {
	return queryAgents(ctx, db.rdb(), `SELECT `+agentCols+` FROM agents a ORDER BY a.id`)
}

// Agent returns one agent. Returns not_found.
func (db *DB) Agent(ctx context.Context, id int64) (*crm.Agent, error) {
	return findAgent(ctx, db.rdb(), id)
}

// AgentByEmail returns the agent with that email, in any case. Returns not_found.
func (db *DB) AgentByEmail(ctx context.Context, email string) (*crm.Agent, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	agents, err := queryAgents(ctx, db.rdb(), `SELECT `+agentCols+` FROM agents a WHERE a.email = ?`, email)
	if err != nil {
		return nil, err
	} else if len(agents) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "agent %s not found", email)
	}
	return agents[0], nil
}

func validRole(r string) bool {
	return r == crm.RoleAgent || r == crm.RoleManager || r == crm.RoleAdmin
}

func checkPassword(p string) error {
	if n := utf8.RuneCountInString(p); n < 8 {
		return crm.Errorf(crm.EINVALID, "password must have at least 8 characters")
	} else if len(p) > 1024 {
		return crm.Errorf(crm.EINVALID, "password is longer than 1024 bytes")
	}
	return nil
}

func checkAgentName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > 100 {
		return "", crm.Errorf(crm.EINVALID, "name must be 1 to 100 characters")
	}
	return s, nil
}

// setInboxes replaces the inbox memberships of an agent. Returns invalid for an unknown inbox.
func (tx *Tx) setInboxes(ctx context.Context, agentID int64, ids []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM inbox_members WHERE agent_id = ?`, agentID); err != nil {
		return fmt.Errorf("delete inbox members: %w", err)
	}
	for _, id := range ids {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM inboxes WHERE id = ?`, id).Scan(&n); err != nil {
			return fmt.Errorf("find inbox: %w", err)
		} else if n == 0 {
			return crm.Errorf(crm.EINVALID, "inbox %d does not exist", id)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO inbox_members (inbox_id, agent_id) VALUES (?, ?) ON CONFLICT DO NOTHING`,
			id, agentID); err != nil {
			return fmt.Errorf("insert inbox member: %w", err)
		}
	}
	return nil
}

// CreateAgent stores a new agent with its password hashed by argon2id. Returns invalid
// or conflict (the email is taken).
func (db *DB) CreateAgent(ctx context.Context, na *crm.NewAgent) (*crm.Agent, error) {
	if na == nil {
		return nil, crm.Errorf(crm.EINVALID, "agent required")
	}
	email := strings.ToLower(strings.TrimSpace(na.Email))
	if err := checkIdentity(crm.Identity{Kind: crm.IdentityEmail, Address: email}); err != nil || len(email) > 254 {
		return nil, crm.Errorf(crm.EINVALID, "invalid email address %q", na.Email)
	}
	name, err := checkAgentName(na.Name)
	if err != nil {
		return nil, err
	}
	role := na.Role
	if role == "" {
		role = crm.RoleAgent
	} else if !validRole(role) {
		return nil, crm.Errorf(crm.EINVALID, "invalid role %q", na.Role)
	}
	if na.Phone != "" && !phoneRe.MatchString(na.Phone) {
		return nil, crm.Errorf(crm.EINVALID, "invalid phone number %q: E.164 expected", na.Phone)
	}
	if err := checkPassword(na.Password); err != nil {
		return nil, err
	}
	hash, err := hashPassword(na.Password)
	if err != nil {
		return nil, err
	}
	var a *crm.Agent
	err = db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM agents WHERE email = ?`, email).Scan(&n); err != nil {
			return fmt.Errorf("find agent: %w", err)
		} else if n > 0 {
			return crm.Errorf(crm.ECONFLICT, "an agent with email %s exists", email)
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO agents (email, name, role, password_hash, phone, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, email, name, role, hash, na.Phone, ms(tx.now), ms(tx.now)).Scan(&id)
		if isUnique(err, "agents_email_key") {
			// Another Parley process on the same database took it since the check.
			return crm.Errorf(crm.ECONFLICT, "an agent with email %s exists", email)
		} else if err != nil {
			return fmt.Errorf("insert agent: %w", err)
		}
		if err := tx.setInboxes(ctx, id, na.InboxIDs); err != nil {
			return err
		}
		if a, err = findAgent(ctx, tx, id); err != nil {
			return err
		}
		_, err = tx.event(ctx, crm.EventAgentUpdated, 0, 0, 0, actorFrom(ctx, systemActor), a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// UpdateAgent changes an agent. Disabling an agent or changing its password ends its
// sessions. Returns invalid or not_found.
func (db *DB) UpdateAgent(ctx context.Context, id int64, u crm.AgentUpdate) (*crm.Agent, error) {
	var name, hash string
	var err error
	if u.Name != nil {
		if name, err = checkAgentName(*u.Name); err != nil {
			return nil, err
		}
	}
	if u.Role != nil && !validRole(*u.Role) {
		return nil, crm.Errorf(crm.EINVALID, "invalid role %q", *u.Role)
	}
	if u.Phone != nil && *u.Phone != "" && !phoneRe.MatchString(*u.Phone) {
		return nil, crm.Errorf(crm.EINVALID, "invalid phone number %q: E.164 expected", *u.Phone)
	}
	if u.Password != nil {
		if err := checkPassword(*u.Password); err != nil {
			return nil, err
		}
		if hash, err = hashPassword(*u.Password); err != nil {
			return nil, err
		}
	}
	var a *crm.Agent
	err = db.update(ctx, func(tx *Tx) error {
		if a, err = findAgent(ctx, tx, id); err != nil {
			return err
		}
		if u.Name != nil {
			a.Name = name
		}
		if u.Role != nil {
			a.Role = *u.Role
		}
		if u.Phone != nil {
			a.Phone = *u.Phone
		}
		if u.Disabled != nil {
			a.Disabled = *u.Disabled
		}
		if _, err := tx.ExecContext(ctx, `UPDATE agents SET name = ?, role = ?, phone = ?, disabled = ?, updated_at = ?
			WHERE id = ?`, a.Name, a.Role, a.Phone, a.Disabled, ms(tx.now), id); err != nil {
			return fmt.Errorf("update agent: %w", err)
		}
		if hash != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE agents SET password_hash = ? WHERE id = ?`, hash, id); err != nil {
				return fmt.Errorf("update password: %w", err)
			}
		}
		if a.Disabled || hash != "" { // a new password logs out every browser of the old one
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE agent_id = ?`, id); err != nil {
				return fmt.Errorf("delete sessions: %w", err)
			}
		}
		if u.InboxIDs != nil {
			if err := tx.setInboxes(ctx, id, *u.InboxIDs); err != nil {
				return err
			}
		}
		if a, err = findAgent(ctx, tx, id); err != nil {
			return err
		}
		_, err = tx.event(ctx, crm.EventAgentUpdated, 0, 0, 0, actorFrom(ctx, systemActor), a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

var errBadLogin = crm.Errorf(crm.EUNAUTHORIZED, "invalid email or password")

// Authenticate returns the enabled agent with that email and password. An unknown
// email costs the same hashing work as a known one. Returns unauthorized.
func (db *DB) Authenticate(ctx context.Context, email, password string) (*crm.Agent, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var id int64
	var hash string
	var disabled bool
	err := db.rdb().QueryRowContext(ctx, `SELECT id, password_hash, disabled FROM agents WHERE email = ?`, email).
		Scan(&id, &hash, &disabled)
	if isNoRows(err) {
		verifyPassword(dummyHash(), password)
		return nil, errBadLogin
	} else if err != nil {
		return nil, fmt.Errorf("find agent: %w", err)
	}
	if !verifyPassword(hash, password) || disabled {
		return nil, errBadLogin
	}
	return findAgent(ctx, db.rdb(), id)
}

// Argon2id parameters: the OWASP minimum of 19 MiB, 2 passes, 1 lane.
const (
	argonMemory = 19 * 1024
	argonTime   = 2
	argonLanes  = 1
	argonKeyLen = 32
)

// hashPassword returns the argon2id hash of p in PHC string format.
func hashPassword(p string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(p), salt, argonTime, argonMemory, argonLanes, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonLanes,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// verifyPassword reports whether p matches a PHC argon2id hash.
func verifyPassword(hash, p string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var memory, iterations uint32
	var lanes uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &iterations, &lanes); err != nil {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(p), salt, iterations, memory, lanes, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

var dummyHash = sync.OnceValue(func() string {
	h, _ := hashPassword("parley dummy password")
	return h
})

// randomToken returns n random bytes in unpadded base64url.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateSession starts a session of the agent for ttl (default 7 days) and returns its
// token and CSRF token; see StartSession. Returns not_found or unauthorized (a disabled
// agent).
func (db *DB) CreateSession(ctx context.Context, agentID int64, ttl time.Duration) (string, string, error) {
	return db.StartSession(ctx, agentID, ttl, crm.SessionInfo{})
}

// StartSession starts a session of the agent for ttl (default 7 days), recording the
// browser's user agent and address, and returns its token and CSRF token. Only the
// SHA-256 of the token is stored. Expired sessions and pending logins are deleted on the
// way. Returns not_found or unauthorized (a disabled agent).
func (db *DB) StartSession(ctx context.Context, agentID int64, ttl time.Duration, info crm.SessionInfo) (string, string, error) {
	if ttl <= 0 {
		ttl = 7 * 24 * time.Hour
	}
	token, err := randomToken(32)
	if err != nil {
		return "", "", err
	}
	csrf, err := randomToken(32)
	if err != nil {
		return "", "", err
	}
	ua, ip := crm.CutBytes(info.UserAgent, 300), crm.CutBytes(info.IP, 64)
	err = db.update(ctx, func(tx *Tx) error {
		a, err := findAgent(ctx, tx, agentID)
		if err != nil {
			return err
		} else if a.Disabled {
			return crm.Errorf(crm.EUNAUTHORIZED, "agent %d is disabled", agentID)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ms(tx.now)); err != nil {
			return fmt.Errorf("delete expired sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_logins WHERE expires_at <= ?`, ms(tx.now)); err != nil {
			return fmt.Errorf("delete expired pending logins: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, agent_id, csrf_token, created_at, expires_at,
			user_agent, ip, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			tokenHash(token), agentID, csrf, ms(tx.now), ms(tx.now.Add(ttl)), ua, ip, ms(tx.now))
		if err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return token, csrf, nil
}

var errBadSession = crm.Errorf(crm.EUNAUTHORIZED, "session expired or invalid")

// SessionAgent returns the agent and CSRF token of a live session. Returns unauthorized
// for an unknown or expired session or a disabled agent.
//
// A session found is kept in the cache for up to storecache.TTL, never past its expiry; ending
// the session, or disabling or changing the agent through the store empties the cache.
func (db *DB) SessionAgent(ctx context.Context, token string) (*crm.Agent, string, error) {
	if token == "" {
		return nil, "", errBadSession
	}
	hash := tokenHash(token)
	key := "s" + string(hash)
	now := db.now()
	if a, csrf, _, ok := db.cache.Agent(key, now); ok {
		return a, csrf, nil
	}
	gen := db.cache.Generation()
	var agentID, expires, seen int64
	var csrf string
	err := db.rdb().QueryRowContext(ctx, `SELECT agent_id, csrf_token, expires_at, last_seen_at FROM sessions
		WHERE token_hash = ? AND expires_at > ?`, hash, ms(now)).Scan(&agentID, &csrf, &expires, &seen)
	if isNoRows(err) {
		return nil, "", errBadSession
	} else if err != nil {
		return nil, "", fmt.Errorf("find session: %w", err)
	}
	a, err := findAgent(ctx, db.rdb(), agentID)
	if crm.ErrorCode(err) == crm.ENOTFOUND || (a != nil && a.Disabled) {
		return nil, "", errBadSession
	} else if err != nil {
		return nil, "", err
	}
	if now.Sub(fromMS(seen)) >= time.Minute {
		// As with an API token's use: at most once a minute, outside the group commit,
		// and a failure to record it does not fail the request.
		db.rdb().ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, ms(now), hash)
	}
	db.cache.PutAgent(gen, key, a, csrf, nil, minTime(now.Add(storecache.TTL), fromMS(expires)))
	return a, csrf, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// DeleteSession ends a session. Deleting an unknown session is not an error.
func (db *DB) DeleteSession(ctx context.Context, token string) error {
	return db.update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash(token)); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		tx.dropCache = true
		return nil
	})
}

// tokenPrefix marks Parley API tokens, so that secret scanners can recognise them.
const tokenPrefix = "pk_"

// maxTokens bounds the API tokens of one agent, expired ones included: a stolen session
// must not be able to fill the table.
const maxTokens = 100

const tokenCols = `id, agent_id, name, created_at, last_used_at, expires_at`

func scanToken(row interface{ Scan(...any) error }) (*crm.APIToken, error) {
	t := &crm.APIToken{}
	var created int64
	var used, expires sql.NullInt64
	if err := row.Scan(&t.ID, &t.AgentID, &t.Name, &created, &used, &expires); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastUsedAt, t.ExpiresAt = fromMS(created), nullTime(used), nullTime(expires)
	return t, nil
}

// CreateToken returns a new bearer API token of the agent and its record. Only its
// SHA-256 is stored. A nil expiresAt never expires; else it must be in the future and
// within crm.MaxTokenLifetime. Returns invalid (name, expiry, a disabled agent, too
// many tokens) or not_found.
func (db *DB) CreateToken(ctx context.Context, agentID int64, name string, expiresAt *time.Time) (string, *crm.APIToken, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 100 {
		return "", nil, crm.Errorf(crm.EINVALID, "token name must be 1 to 100 characters")
	}
	if expiresAt != nil {
		now := db.now()
		if !expiresAt.After(now) {
			return "", nil, crm.Errorf(crm.EINVALID, "expires_at must be in the future")
		} else if expiresAt.Sub(now) > crm.MaxTokenLifetime {
			return "", nil, crm.Errorf(crm.EINVALID, "a token may expire at most %d days ahead, or never",
				int(crm.MaxTokenLifetime/(24*time.Hour)))
		}
	}
	t, err := randomToken(32)
	if err != nil {
		return "", nil, err
	}
	token := tokenPrefix + t
	var rec *crm.APIToken
	err = db.update(ctx, func(tx *Tx) error {
		a, err := findAgent(ctx, tx, agentID)
		if err != nil {
			return err
		} else if a.Disabled {
			return crm.Errorf(crm.EINVALID, "agent %d is disabled", agentID)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_tokens WHERE agent_id = ?`, agentID).Scan(&n); err != nil {
			return fmt.Errorf("count tokens: %w", err)
		} else if n >= maxTokens {
			return crm.Errorf(crm.EINVALID, "agent %d has %d API tokens, the most allowed; revoke some first", agentID, n)
		}
		var expires any
		if expiresAt != nil {
			expires = ms(*expiresAt)
		}
		rec, err = scanToken(tx.QueryRowContext(ctx, `INSERT INTO api_tokens (agent_id, token_hash, name, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?) RETURNING `+tokenCols, agentID, tokenHash(token), name, ms(tx.now), expires))
		if err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return token, rec, nil
}

// Tokens lists the API tokens of an agent, oldest first, expired ones included.
func (db *DB) Tokens(ctx context.Context, agentID int64) ([]*crm.APIToken, error) {
	rows, err := db.rdb().QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE agent_id = ? ORDER BY id`, agentID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	list := []*crm.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("scan token: %w", err)
		}
		list = append(list, t)
	}
	return list, rows.Err()
}

// Token returns the record of one API token of any agent. Returns not_found.
func (db *DB) Token(ctx context.Context, id int64) (*crm.APIToken, error) {
	t, err := scanToken(db.rdb().QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "token %d not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find token: %w", err)
	}
	return t, nil
}

// RevokeToken deletes an API token of the agent. A server using the same store refuses
// it from the commit on; another process's cache keeps it for up to storecache.TTL. Returns
// not_found.
func (db *DB) RevokeToken(ctx context.Context, agentID, tokenID int64) error {
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ? AND agent_id = ?`, tokenID, agentID)
		if err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "token %d of agent %d not found", tokenID, agentID)
		}
		tx.dropCache = true
		return nil
	})
}

var (
	errBadToken     = crm.Errorf(crm.EUNAUTHORIZED, "invalid API token")
	errExpiredToken = crm.Errorf(crm.EUNAUTHORIZED, "API token expired; create a new one")
)

// TokenAgent returns the enabled agent of a live bearer token and the token's record,
// and records its use, at most once a minute so that API traffic does not turn into
// writes. Returns unauthorized, saying so when the token has expired.
//
// A token found is kept in the cache for up to storecache.TTL, never past its expiry, like a
// session.
func (db *DB) TokenAgent(ctx context.Context, token string) (*crm.Agent, *crm.APIToken, error) {
	if !strings.HasPrefix(token, tokenPrefix) {
		return nil, nil, errBadToken
	}
	hash := tokenHash(token)
	key := "t" + string(hash)
	now := db.now()
	if a, _, t, ok := db.cache.Agent(key, now); ok {
		return a, t, nil
	}
	gen := db.cache.Generation()
	t, err := scanToken(db.rdb().QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE token_hash = ?`, hash))
	if isNoRows(err) {
		return nil, nil, errBadToken
	} else if err != nil {
		return nil, nil, fmt.Errorf("find token: %w", err)
	}
	if t.Expired(now) {
		return nil, nil, errExpiredToken
	}
	a, err := findAgent(ctx, db.rdb(), t.AgentID)
	if crm.ErrorCode(err) == crm.ENOTFOUND || (a != nil && a.Disabled) {
		return nil, nil, errBadToken
	} else if err != nil {
		return nil, nil, err
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= time.Minute {
		// A use that cannot be recorded (a full disk, a lost connection) does not fail
		// the request: the token is good, and the next request tries again. It is one
		// statement on the pool, outside the group commit, as on SQLite.
		if _, err := db.rdb().ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, ms(now), t.ID); err == nil {
			t.LastUsedAt = &now
		}
	}
	until := now.Add(storecache.TTL)
	if t.ExpiresAt != nil {
		until = minTime(until, *t.ExpiresAt)
	}
	db.cache.PutAgent(gen, key, a, "", t, until)
	return a, t, nil
}
