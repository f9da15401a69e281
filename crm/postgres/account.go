package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"parley/crm"
	"parley/crm/totp"
)

// Settings keys of the account rules.
const (
	settingSecurity = "security"
	settingSetup    = "setup"
)

// avatarTag is what an agent shows of its avatar's SHA-256: enough to tell one image
// from the next, so that a browser's cached copy is never shown after a change.
func avatarTag(sum string) string {
	if len(sum) < 12 {
		return ""
	}
	return sum[:12]
}

// sessionID names a session in the agent's list: the first 8 bytes of its token's
// SHA-256, in hex. It says nothing of the token.
func sessionID(hash []byte) string { return hex.EncodeToString(hash[:8]) }

// ---- invitations ----

const invitationCols = `id, email, name, role, inbox_ids, invited_by, created_at, expires_at`

func scanInvitation(row interface{ Scan(...any) error }) (*crm.Invitation, error) {
	var inv crm.Invitation
	var inboxes string
	var by sql.NullInt64
	var created, expires int64
	if err := row.Scan(&inv.ID, &inv.Email, &inv.Name, &inv.Role, &inboxes, &by, &created, &expires); err != nil {
		return nil, err
	}
	inv.InboxIDs = []int64{}
	if err := json.Unmarshal([]byte(inboxes), &inv.InboxIDs); err != nil {
		return nil, fmt.Errorf("invitation %d inboxes: %w", inv.ID, err)
	}
	inv.InvitedBy, inv.CreatedAt, inv.ExpiresAt = by.Int64, fromMS(created), fromMS(expires)
	return &inv, nil
}

// CreateInvitation stores an invitation valid for crm.InvitationTTL and returns the token
// of its link; only the token's SHA-256 is kept. A pending invitation of the same email
// is replaced. Returns invalid or conflict (an agent has that email).
func (db *DB) CreateInvitation(ctx context.Context, ni *crm.NewInvitation) (string, *crm.Invitation, error) {
	if ni == nil {
		return "", nil, crm.Errorf(crm.EINVALID, "invitation required")
	}
	email := strings.ToLower(strings.TrimSpace(ni.Email))
	if err := checkIdentity(crm.Identity{Kind: crm.IdentityEmail, Address: email}); err != nil || len(email) > 254 {
		return "", nil, crm.Errorf(crm.EINVALID, "invalid email address %q", ni.Email)
	}
	name := strings.TrimSpace(ni.Name)
	if name != "" {
		var err error
		if name, err = checkAgentName(name); err != nil {
			return "", nil, err
		}
	}
	role := ni.Role
	if role == "" {
		role = crm.RoleAgent
	} else if !validRole(role) {
		return "", nil, crm.Errorf(crm.EINVALID, "invalid role %q", ni.Role)
	}
	inboxes := append([]int64{}, ni.InboxIDs...)
	inboxJSON, _ := json.Marshal(inboxes)
	token, err := randomToken(32)
	if err != nil {
		return "", nil, err
	}
	var by any
	if a := crm.AgentFrom(ctx); a != nil {
		by = a.ID
	}
	var inv *crm.Invitation
	err = db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM agents WHERE email = ?`, email).Scan(&n); err != nil {
			return fmt.Errorf("find agent: %w", err)
		} else if n > 0 {
			return crm.Errorf(crm.ECONFLICT, "an agent with email %s exists already", email)
		}
		for _, id := range inboxes {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM inboxes WHERE id = ?`, id).Scan(&n); err != nil {
				return fmt.Errorf("find inbox: %w", err)
			} else if n == 0 {
				return crm.Errorf(crm.EINVALID, "inbox %d does not exist", id)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE email = ?`, email); err != nil {
			return fmt.Errorf("replace invitation: %w", err)
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO invitations (token_hash, email, name, role, inbox_ids, invited_by,
			created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, tokenHash(token), email, name, role,
			string(inboxJSON), by, ms(tx.now), ms(tx.now.Add(crm.InvitationTTL))).Scan(&id)
		if isUnique(err, "invitations_email_key") {
			// Another Parley process invited the same email since the delete.
			return crm.Errorf(crm.ECONFLICT, "an invitation for %s was just made; try again", email)
		} else if err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		inv, err = scanInvitation(tx.QueryRowContext(ctx, `SELECT `+invitationCols+` FROM invitations WHERE id = ?`, id))
		if err != nil {
			return fmt.Errorf("read invitation: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return token, inv, nil
}

// Invitations lists the invitations not accepted, expired ones included, oldest first.
func (db *DB) Invitations(ctx context.Context) ([]*crm.Invitation, error) {
	rows, err := db.rdb().QueryContext(ctx, `SELECT `+invitationCols+` FROM invitations ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	list := []*crm.Invitation{}
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, fmt.Errorf("scan invitation: %w", err)
		}
		list = append(list, inv)
	}
	return list, rows.Err()
}

// liveInvitation reads the invitation of a link's token. Returns not_found for an
// unknown or expired one.
func liveInvitation(ctx context.Context, q queryer, token string, now time.Time) (*crm.Invitation, error) {
	inv, err := scanInvitation(q.QueryRowContext(ctx, `SELECT `+invitationCols+` FROM invitations WHERE token_hash = ?`,
		tokenHash(token)))
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "this invitation link does not work: it was used, revoked or replaced by a newer one")
	} else if err != nil {
		return nil, fmt.Errorf("find invitation: %w", err)
	}
	if inv.Expired(now) {
		return nil, crm.Errorf(crm.ENOTFOUND, "this invitation expired on %s; ask an admin for a new one",
			inv.ExpiresAt.Format("January 2, 2006"))
	}
	return inv, nil
}

// InvitationByToken returns the live invitation of a link. Returns not_found.
func (db *DB) InvitationByToken(ctx context.Context, token string) (*crm.Invitation, error) {
	return liveInvitation(ctx, db.rdb(), token, db.now())
}

// RevokeInvitation deletes an invitation. Returns not_found.
func (db *DB) RevokeInvitation(ctx context.Context, id int64) error {
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete invitation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "invitation %d not found", id)
		}
		return nil
	})
}

// AcceptInvitation creates the invited agent, with the invitation's role and those of its
// inboxes that still exist, and deletes the invitation in the same transaction. Returns
// not_found, invalid or conflict.
func (db *DB) AcceptInvitation(ctx context.Context, token, name, password string) (*crm.Agent, error) {
	name, err := checkAgentName(name)
	if err != nil {
		return nil, err
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return nil, err
	}
	var a *crm.Agent
	err = db.update(ctx, func(tx *Tx) error {
		inv, err := liveInvitation(ctx, tx, token, tx.now)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM agents WHERE email = ?`, inv.Email).Scan(&n); err != nil {
			return fmt.Errorf("find agent: %w", err)
		} else if n > 0 {
			return crm.Errorf(crm.ECONFLICT, "an agent with email %s exists already; sign in instead", inv.Email)
		}
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO agents (email, name, role, password_hash, phone, created_at, updated_at)
			VALUES (?, ?, ?, ?, '', ?, ?) RETURNING id`, inv.Email, name, inv.Role, hash, ms(tx.now), ms(tx.now)).Scan(&id)
		if isUnique(err, "agents_email_key") {
			return crm.Errorf(crm.ECONFLICT, "an agent with email %s exists already; sign in instead", inv.Email)
		} else if err != nil {
			return fmt.Errorf("insert agent: %w", err)
		}
		inboxes, err := queryIDs(ctx, tx, `SELECT id FROM inboxes WHERE id = ANY(?) ORDER BY id`, nonNilIDs(inv.InboxIDs))
		if err != nil {
			return err
		}
		if err := tx.setInboxes(ctx, id, inboxes); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM invitations WHERE id = ?`, inv.ID); err != nil {
			return fmt.Errorf("delete invitation: %w", err)
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

// ---- sessions ----

// Sessions lists the live sessions of an agent, newest first, marking currentToken's.
func (db *DB) Sessions(ctx context.Context, agentID int64, currentToken string) ([]*crm.Session, error) {
	rows, err := db.rdb().QueryContext(ctx, `SELECT token_hash, created_at, last_seen_at, expires_at, user_agent, ip
		FROM sessions WHERE agent_id = ? AND expires_at > ? ORDER BY created_at DESC, token_hash`, agentID, ms(db.now()))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	cur := tokenHash(currentToken)
	list := []*crm.Session{}
	for rows.Next() {
		var hash []byte
		var created, seen, expires int64
		s := &crm.Session{}
		if err := rows.Scan(&hash, &created, &seen, &expires, &s.UserAgent, &s.IP); err != nil {
			return nil, fmt.Errorf("scan session: %w", err)
		}
		if seen < created {
			seen = created
		}
		s.ID, s.CreatedAt, s.LastSeenAt, s.ExpiresAt = sessionID(hash), fromMS(created), fromMS(seen), fromMS(expires)
		s.Current = currentToken != "" && string(hash) == string(cur)
		list = append(list, s)
	}
	return list, rows.Err()
}

// EndSession ends the agent's session named id. Returns not_found.
func (db *DB) EndSession(ctx context.Context, agentID int64, id string) error {
	return db.update(ctx, func(tx *Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT token_hash FROM sessions WHERE agent_id = ?`, agentID)
		if err != nil {
			return fmt.Errorf("find session: %w", err)
		}
		var found []byte
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				rows.Close()
				return fmt.Errorf("scan session: %w", err)
			}
			if sessionID(h) == id {
				found = h
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find session: %w", err)
		}
		if found == nil {
			return crm.Errorf(crm.ENOTFOUND, "session %s not found", crm.CutBytes(id, 40))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, found); err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		tx.dropCache = true
		return nil
	})
}

// EndOtherSessions ends every session of the agent but keepToken's ("" ends all).
func (db *DB) EndOtherSessions(ctx context.Context, agentID int64, keepToken string) (int, error) {
	var n int64
	err := db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE agent_id = ? AND token_hash != ?`,
			agentID, keepHash(keepToken))
		if err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		tx.dropCache = true
		return nil
	})
	return int(n), err
}

// keepHash is the hash of the session to keep, or one no session has.
func keepHash(token string) []byte {
	if token == "" {
		return []byte{}
	}
	return tokenHash(token)
}

// ---- pending logins ----

var errBadPending = crm.Errorf(crm.EUNAUTHORIZED, "the sign-in took too long or was already used; sign in again")

// CreatePendingLogin records that the agent passed the password step with purpose left.
// Returns invalid (an unknown purpose) or not_found.
func (db *DB) CreatePendingLogin(ctx context.Context, agentID int64, purpose string) (string, error) {
	if purpose != crm.LoginTOTP && purpose != crm.LoginEnrol {
		return "", crm.Errorf(crm.EINVALID, "unknown sign-in step %q", purpose)
	}
	token, err := randomToken(32)
	if err != nil {
		return "", err
	}
	err = db.update(ctx, func(tx *Tx) error {
		if _, err := findAgent(ctx, tx, agentID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_logins WHERE expires_at <= ?`, ms(tx.now)); err != nil {
			return fmt.Errorf("delete expired pending logins: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO pending_logins (token_hash, agent_id, purpose, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, tokenHash(token), agentID, purpose, ms(tx.now), ms(tx.now.Add(crm.PendingLoginTTL)))
		if err != nil {
			return fmt.Errorf("insert pending login: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// PendingLogin returns the agent and purpose of a live pending login. Returns
// unauthorized.
func (db *DB) PendingLogin(ctx context.Context, token string) (*crm.Agent, string, error) {
	if token == "" {
		return nil, "", errBadPending
	}
	var agentID int64
	var purpose string
	err := db.rdb().QueryRowContext(ctx, `SELECT agent_id, purpose FROM pending_logins WHERE token_hash = ? AND expires_at > ?`,
		tokenHash(token), ms(db.now())).Scan(&agentID, &purpose)
	if isNoRows(err) {
		return nil, "", errBadPending
	} else if err != nil {
		return nil, "", fmt.Errorf("find pending login: %w", err)
	}
	a, err := findAgent(ctx, db.rdb(), agentID)
	if crm.ErrorCode(err) == crm.ENOTFOUND || (a != nil && a.Disabled) {
		return nil, "", errBadPending
	} else if err != nil {
		return nil, "", err
	}
	return a, purpose, nil
}

// DeletePendingLogin ends a pending login.
func (db *DB) DeletePendingLogin(ctx context.Context, token string) error {
	return db.update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_logins WHERE token_hash = ?`, tokenHash(token)); err != nil {
			return fmt.Errorf("delete pending login: %w", err)
		}
		return nil
	})
}

// ---- two-factor sign-in ----

// sealTOTP seals a TOTP secret as the inboxes' secrets are sealed.
func (db *DB) sealTOTP(secret []byte) ([]byte, error) {
	return db.box.Seal(map[string]string{"totp": totp.Key(secret)})
}

func (db *DB) openTOTP(sealed []byte) ([]byte, error) {
	m, err := db.box.Open(sealed)
	if err != nil {
		return nil, err
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(m["totp"])
	if err != nil || len(secret) == 0 {
		return nil, fmt.Errorf("open totp secret: malformed")
	}
	return secret, nil
}

// BeginTOTP makes a new secret for the agent's authenticator app, to be confirmed with
// ConfirmTOTP. Returns not_found or conflict (two-factor sign-in is on).
func (db *DB) BeginTOTP(ctx context.Context, agentID int64) ([]byte, error) {
	secret, err := totp.NewSecret()
	if err != nil {
		return nil, err
	}
	sealed, err := db.sealTOTP(secret)
	if err != nil {
		return nil, err
	}
	err = db.update(ctx, func(tx *Tx) error {
		var enabled sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT totp_enabled_at FROM agents WHERE id = ?`, agentID).Scan(&enabled)
		if isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "agent %d not found", agentID)
		} else if err != nil {
			return fmt.Errorf("find agent: %w", err)
		}
		if enabled.Valid {
			return crm.Errorf(crm.ECONFLICT, "two-factor sign-in is on already; turn it off first to set up another app")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE agents SET totp_pending = ? WHERE id = ?`, sealed, agentID); err != nil {
			return fmt.Errorf("save totp secret: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return secret, nil
}

// newRecoveryCodes replaces the agent's recovery codes with crm.RecoveryCodes new ones,
// stored by their SHA-256, and returns them as the agent reads them: four groups of four
// base32 letters and digits (80 bits).
func (tx *Tx) newRecoveryCodes(ctx context.Context, agentID int64) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE agent_id = ?`, agentID); err != nil {
		return nil, fmt.Errorf("delete recovery codes: %w", err)
	}
	codes, err := makeRecoveryCodes()
	if err != nil {
		return nil, err
	}
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (agent_id, code_hash) VALUES (?, ?)`,
			agentID, recoveryHash(c)); err != nil {
			return nil, fmt.Errorf("insert recovery code: %w", err)
		}
	}
	return codes, nil
}

func makeRecoveryCodes() ([]string, error) {
	enc := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	codes := make([]string, crm.RecoveryCodes)
	for i := range codes {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("recovery code: %w", err)
		}
		s := enc.EncodeToString(b)
		codes[i] = s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
	}
	return codes, nil
}

// recoveryHash is the stored form of a recovery code as typed: in any case, with or
// without its dashes and spaces.
func recoveryHash(code string) []byte {
	code = strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
	return tokenHash("parley recovery code " + code)
}

// ConfirmTOTP turns two-factor sign-in on once code is a code of the secret BeginTOTP
// made. Returns invalid or conflict.
func (db *DB) ConfirmTOTP(ctx context.Context, agentID int64, code string) ([]string, error) {
	var codes []string
	err := db.update(ctx, func(tx *Tx) error {
		var pending []byte
		var enabled sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT totp_pending, totp_enabled_at FROM agents WHERE id = ?`, agentID).Scan(&pending, &enabled)
		if isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "agent %d not found", agentID)
		} else if err != nil {
			return fmt.Errorf("find agent: %w", err)
		}
		if enabled.Valid {
			return crm.Errorf(crm.ECONFLICT, "two-factor sign-in is on already")
		}
		if len(pending) == 0 {
			return crm.Errorf(crm.ECONFLICT, "start setting up the authenticator app first")
		}
		secret, err := db.openTOTP(pending)
		if err != nil {
			return err
		}
		step, ok := totp.Match(secret, code, tx.now)
		if !ok {
			return crm.Errorf(crm.EINVALID, "that code is not the app's current one; type the 6 digits it shows now (and check the time on your phone)")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE agents SET totp_secret = totp_pending, totp_pending = NULL,
			totp_enabled_at = ?, totp_last_step = ?, updated_at = ? WHERE id = ?`, ms(tx.now), step, ms(tx.now), agentID); err != nil {
			return fmt.Errorf("turn on totp: %w", err)
		}
		if codes, err = tx.newRecoveryCodes(ctx, agentID); err != nil {
			return err
		}
		return tx.agentChanged(ctx, agentID)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// agentChanged records an agent.updated event with the agent as it is now: cached copies
// of the agent go.
func (tx *Tx) agentChanged(ctx context.Context, agentID int64) error {
	a, err := findAgent(ctx, tx, agentID)
	if err != nil {
		return err
	}
	_, err = tx.event(ctx, crm.EventAgentUpdated, 0, 0, 0, actorFrom(ctx, systemActor), a)
	return err
}

var errBadCode = crm.Errorf(crm.EUNAUTHORIZED, "wrong code")

// VerifyTOTP accepts a code of the agent's app once: its step must be later than the
// last one accepted. Returns unauthorized.
func (db *DB) VerifyTOTP(ctx context.Context, agentID int64, code string) error {
	var sealed []byte
	var last int64
	err := db.rdb().QueryRowContext(ctx, `SELECT totp_secret, totp_last_step FROM agents WHERE id = ?`, agentID).Scan(&sealed, &last)
	if isNoRows(err) || (err == nil && len(sealed) == 0) {
		return crm.Errorf(crm.EUNAUTHORIZED, "two-factor sign-in is off for this agent")
	} else if err != nil {
		return fmt.Errorf("find agent: %w", err)
	}
	secret, err := db.openTOTP(sealed)
	if err != nil {
		return err
	}
	step, ok := totp.Match(secret, code, db.now())
	if !ok {
		return errBadCode
	}
	if step <= last {
		return crm.Errorf(crm.EUNAUTHORIZED, "that code was used already; wait for the next one")
	}
	return db.update(ctx, func(tx *Tx) error {
		// Two sign-ins with the same code race here: the step moves on for one only.
		res, err := tx.ExecContext(ctx, `UPDATE agents SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?
			AND totp_secret IS NOT NULL`, step, agentID, step)
		if err != nil {
			return fmt.Errorf("record totp step: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.EUNAUTHORIZED, "that code was used already; wait for the next one")
		}
		return nil
	})
}

// UseRecoveryCode spends a recovery code and returns how many are left. Returns
// unauthorized.
func (db *DB) UseRecoveryCode(ctx context.Context, agentID int64, code string) (int, error) {
	var left int
	err := db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE agent_id = ? AND code_hash = ?`, agentID, recoveryHash(code))
		if err != nil {
			return fmt.Errorf("use recovery code: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.EUNAUTHORIZED, "wrong or used recovery code")
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE agent_id = ?`, agentID).Scan(&left); err != nil {
			return fmt.Errorf("count recovery codes: %w", err)
		}
		return nil
	})
	return left, err
}

// NewRecoveryCodes replaces the agent's recovery codes. Returns conflict when
// two-factor sign-in is off.
func (db *DB) NewRecoveryCodes(ctx context.Context, agentID int64) ([]string, error) {
	var codes []string
	err := db.update(ctx, func(tx *Tx) error {
		var enabled sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT totp_enabled_at FROM agents WHERE id = ?`, agentID).Scan(&enabled)
		if isNoRows(err) {
			return crm.Errorf(crm.ENOTFOUND, "agent %d not found", agentID)
		} else if err != nil {
			return fmt.Errorf("find agent: %w", err)
		}
		if !enabled.Valid {
			return crm.Errorf(crm.ECONFLICT, "two-factor sign-in is off: there are no recovery codes")
		}
		codes, err = tx.newRecoveryCodes(ctx, agentID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// RecoveryCodesLeft returns how many unused recovery codes the agent has.
func (db *DB) RecoveryCodesLeft(ctx context.Context, agentID int64) (int, error) {
	var n int
	if err := db.rdb().QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE agent_id = ?`, agentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return n, nil
}

// DisableTOTP turns two-factor sign-in off. Returns not_found.
func (db *DB) DisableTOTP(ctx context.Context, agentID int64) error {
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agents SET totp_secret = NULL, totp_pending = NULL, totp_enabled_at = NULL,
			totp_last_step = 0, updated_at = ? WHERE id = ?`, ms(tx.now), agentID)
		if err != nil {
			return fmt.Errorf("turn off totp: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "agent %d not found", agentID)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE agent_id = ?`, agentID); err != nil {
			return fmt.Errorf("delete recovery codes: %w", err)
		}
		return tx.agentChanged(ctx, agentID)
	})
}

// ---- profile ----

// Notifications returns the agent's notification choices. Returns not_found.
func (db *DB) Notifications(ctx context.Context, agentID int64) (*crm.Notifications, error) {
	var s string
	err := db.rdb().QueryRowContext(ctx, `SELECT notifications FROM agents WHERE id = ?`, agentID).Scan(&s)
	if isNoRows(err) {
		return nil, crm.Errorf(crm.ENOTFOUND, "agent %d not found", agentID)
	} else if err != nil {
		return nil, fmt.Errorf("read notifications: %w", err)
	}
	n := crm.DefaultNotifications()
	if s != "" {
		if err := json.Unmarshal([]byte(s), &n); err != nil {
			return nil, fmt.Errorf("unmarshal notifications: %w", err)
		}
	}
	return &n, nil
}

// SetNotifications saves the agent's notification choices. Returns invalid or not_found.
func (db *DB) SetNotifications(ctx context.Context, agentID int64, n *crm.Notifications) error {
	if n == nil {
		return crm.Errorf(crm.EINVALID, "notifications required")
	}
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("marshal notifications: %w", err)
	}
	return db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agents SET notifications = ? WHERE id = ?`, string(b), agentID)
		if err != nil {
			return fmt.Errorf("save notifications: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "agent %d not found", agentID)
		}
		return nil
	})
}

// SetAvatar stores the agent's avatar image in the blob store, or removes it for nil
// data. The caller checks what the image is. Returns invalid or not_found.
func (db *DB) SetAvatar(ctx context.Context, agentID int64, data []byte, contentType string) (*crm.Agent, error) {
	if len(data) > crm.MaxAvatarSize {
		return nil, crm.Errorf(crm.ETOOLARGE, "an avatar may be at most %d KB", crm.MaxAvatarSize>>10)
	}
	sum := ""
	if data != nil {
		if !strings.HasPrefix(contentType, "image/") {
			return nil, crm.Errorf(crm.EINVALID, "an avatar must be an image")
		}
		var err error
		if sum, err = db.writeBlob(data); err != nil {
			return nil, fmt.Errorf("write avatar: %w", err)
		}
	} else {
		contentType = ""
	}
	var a *crm.Agent
	err := db.update(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agents SET avatar = ?, avatar_type = ?, updated_at = ? WHERE id = ?`,
			sum, contentType, ms(tx.now), agentID)
		if err != nil {
			return fmt.Errorf("save avatar: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "agent %d not found", agentID)
		}
		if err := tx.agentChanged(ctx, agentID); err != nil {
			return err
		}
		a, err = findAgent(ctx, tx, agentID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Avatar opens the agent's avatar image and returns its content type. Returns not_found.
func (db *DB) Avatar(ctx context.Context, agentID int64) (string, io.ReadSeekCloser, error) {
	var sum, typ string
	err := db.rdb().QueryRowContext(ctx, `SELECT avatar, avatar_type FROM agents WHERE id = ?`, agentID).Scan(&sum, &typ)
	if isNoRows(err) || (err == nil && sum == "") {
		return "", nil, crm.Errorf(crm.ENOTFOUND, "agent %d has no avatar", agentID)
	} else if err != nil {
		return "", nil, fmt.Errorf("find avatar: %w", err)
	}
	f, err := db.blobs.Open(sum)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, crm.Errorf(crm.ENOTFOUND, "agent %d has no avatar", agentID)
	} else if err != nil {
		return "", nil, fmt.Errorf("open avatar: %w", err)
	}
	return typ, f, nil
}

// ---- settings ----

// SecuritySettings returns the sign-in rules.
func (db *DB) SecuritySettings(ctx context.Context) (*crm.SecuritySettings, error) {
	s := &crm.SecuritySettings{}
	if _, err := getSetting(ctx, db.rdb(), settingSecurity, s); err != nil {
		return nil, err
	}
	return s, nil
}

// SetSecuritySettings saves the sign-in rules. Returns invalid for nil.
func (db *DB) SetSecuritySettings(ctx context.Context, s *crm.SecuritySettings) error {
	if s == nil {
		return crm.Errorf(crm.EINVALID, "settings required")
	}
	return db.update(ctx, func(tx *Tx) error { return tx.putSetting(ctx, settingSecurity, s) })
}

type setupSetting struct {
	Dismissed bool `json:"dismissed"`
}

// SetupDismissed reports whether the first-run checklist was put away.
func (db *DB) SetupDismissed(ctx context.Context) (bool, error) {
	var s setupSetting
	_, err := getSetting(ctx, db.rdb(), settingSetup, &s)
	return s.Dismissed, err
}

// SetSetupDismissed puts the first-run checklist away or brings it back.
func (db *DB) SetSetupDismissed(ctx context.Context, dismissed bool) error {
	return db.update(ctx, func(tx *Tx) error { return tx.putSetting(ctx, settingSetup, setupSetting{Dismissed: dismissed}) })
}
