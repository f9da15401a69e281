package postgres

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"

	"parley/crm"
)

var _ crm.OAuthStore = (*DB)(nil)

// OAuthGrant returns the grant of an inbox with its tokens opened. Returns not_found.
func (db *DB) OAuthGrant(ctx context.Context, inboxID int64) (*crm.OAuthGrant, error) {
	return db.findOAuthGrant(ctx, db.rdb(), inboxID)
}

func (db *DB) findOAuthGrant(ctx context.Context, q queryer, inboxID int64) (*crm.OAuthGrant, error) {
	g := &crm.OAuthGrant{InboxID: inboxID}
	var sealed []byte
	var expires, updated int64
	err := q.QueryRowContext(ctx, `SELECT provider, account, tokens, expires_at, error, version, updated_at
		FROM oauth_grants WHERE inbox_id = ?`, inboxID).Scan(&g.Provider, &g.Account, &sealed, &expires, &g.Error,
		&g.Version, &updated)
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "inbox %d has no sign-in", inboxID)
	} else if err != nil {
		return nil, fmt.Errorf("find oauth grant: %w", err)
	}
	tokens, err := db.box.Open(sealed)
	if err != nil {
		return nil, fmt.Errorf("oauth grant of inbox %d: %w", inboxID, err)
	}
	g.RefreshToken, g.AccessToken = tokens["refresh_token"], tokens["access_token"]
	g.Expiry, g.UpdatedAt = fromMS(expires), fromMS(updated)
	return g, nil
}

// SaveOAuthGrant stores g with its tokens sealed. Version 0 replaces the inbox's grant;
// another Version updates it only while the stored grant has that Version. Returns
// invalid, not_found (no such inbox) or conflict.
func (db *DB) SaveOAuthGrant(ctx context.Context, g *crm.OAuthGrant) (*crm.OAuthGrant, error) {
	if g == nil || g.InboxID <= 0 || g.Provider == "" {
		return nil, crm.Errorf(crm.EINVALID, "an oauth grant needs an inbox and a provider")
	}
	if g.RefreshToken == "" {
		return nil, crm.Errorf(crm.EINVALID, "an oauth grant needs a refresh token")
	}
	sealed, err := db.box.Seal(map[string]string{"refresh_token": g.RefreshToken, "access_token": g.AccessToken})
	if err != nil {
		return nil, err
	}
	errText := crm.CutRunes(g.Error, 1000)
	var out *crm.OAuthGrant
	err = db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM inboxes WHERE id = ?`, g.InboxID).Scan(&n); err != nil {
			return fmt.Errorf("find inbox: %w", err)
		} else if n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "inbox %d not found", g.InboxID)
		}
		var version int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM oauth_grants WHERE inbox_id = ?`, g.InboxID).Scan(&version)
		if err != nil && !isNoRows(err) {
			return fmt.Errorf("find oauth grant: %w", err)
		}
		if g.Version != 0 && g.Version != version {
			return crm.Errorf(crm.ECONFLICT, "the sign-in of inbox %d changed meanwhile", g.InboxID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO oauth_grants (inbox_id, provider, account, tokens, expires_at,
			error, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (inbox_id) DO UPDATE SET provider = excluded.provider, account = excluded.account,
			tokens = excluded.tokens, expires_at = excluded.expires_at, error = excluded.error,
			version = excluded.version, updated_at = excluded.updated_at`,
			g.InboxID, g.Provider, strings.TrimSpace(g.Account), sealed, ms(g.Expiry), errText, version+1, ms(tx.now)); err != nil {
			return fmt.Errorf("save oauth grant: %w", err)
		}
		out, err = db.findOAuthGrant(ctx, tx, g.InboxID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func stateHash(state string) []byte {
	h := sha256.Sum256([]byte(state))
	return h[:]
}

// CreateOAuthState records a started sign-in, its verifier sealed and its state kept
// only as a hash, and deletes the expired ones. Returns invalid or not_found.
func (db *DB) CreateOAuthState(ctx context.Context, st *crm.OAuthState) error {
	if st == nil || len(st.State) < 16 || st.Verifier == "" || st.Provider == "" || st.SessionHash == "" {
		return crm.Errorf(crm.EINVALID, "an oauth state needs a state, a verifier, a provider and a session")
	}
	sealed, err := db.box.Seal(map[string]string{"verifier": st.Verifier})
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM inboxes WHERE id = ?`, st.InboxID).Scan(&n); err != nil {
			return fmt.Errorf("find inbox: %w", err)
		} else if n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "inbox %d not found", st.InboxID)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_states WHERE expires_at <= ?`, ms(tx.now)); err != nil {
			return fmt.Errorf("delete expired oauth states: %w", err)
		}
		expires := st.ExpiresAt
		if expires.IsZero() {
			expires = tx.now.Add(crm.OAuthStateTTL)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO oauth_states (state_hash, inbox_id, provider, verifier,
			agent_id, session_hash, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			stateHash(st.State), st.InboxID, st.Provider, sealed, st.AgentID, st.SessionHash, ms(expires)); err != nil {
			return fmt.Errorf("save oauth state: %w", err)
		}
		return nil
	})
}

// TakeOAuthState returns the sign-in of state and deletes it in one transaction, so
// that a state works once. Returns not_found for an unknown, used or expired state.
func (db *DB) TakeOAuthState(ctx context.Context, state string) (*crm.OAuthState, error) {
	var st *crm.OAuthState
	err := db.update(ctx, func(tx *Tx) error {
		s := &crm.OAuthState{State: state}
		var sealed []byte
		var expires int64
		err := tx.QueryRowContext(ctx, `SELECT inbox_id, provider, verifier, agent_id, session_hash, expires_at
			FROM oauth_states WHERE state_hash = ?`, stateHash(state)).Scan(&s.InboxID, &s.Provider, &sealed,
			&s.AgentID, &s.SessionHash, &expires)
		if isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "this sign-in is unknown or was used already: start it again")
		} else if err != nil {
			return fmt.Errorf("find oauth state: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_states WHERE state_hash = ?`, stateHash(state)); err != nil {
			return fmt.Errorf("delete oauth state: %w", err)
		}
		s.ExpiresAt = fromMS(expires)
		if !tx.now.Before(s.ExpiresAt) {
			return nil // deleted, and not found below
		}
		v, err := db.box.Open(sealed)
		if err != nil {
			return fmt.Errorf("oauth state: %w", err)
		}
		s.Verifier = v["verifier"]
		st = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, crm.Errorf(crm.ENOTFOUND, "this sign-in expired: start it again")
	}
	return st, nil
}
