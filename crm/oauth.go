package crm

import (
	"context"
	"time"
)

// OAuthStateTTL is how long an admin has to finish a sign-in with Google or Microsoft
// that they started.
const OAuthStateTTL = 10 * time.Minute

// OAuthGrant is an email inbox's sign-in with Google or Microsoft: the refresh token that
// lets Parley log in to the mailbox over IMAP and SMTP with XOAUTH2, and the access
// token of the hour. Both tokens are sealed at rest, like inbox secrets.
type OAuthGrant struct {
	InboxID      int64
	Provider     string // "google" or "microsoft"
	Account      string // the address the admin signed in as
	RefreshToken string
	AccessToken  string
	Expiry       time.Time // of AccessToken
	// Error is why the provider refused the refresh token (revoked, expired, the
	// password changed): an admin must sign in again. Empty while the grant works.
	Error string
	// Version grows with each save. A sign-in saves Version 0 and replaces whatever was
	// there; a refresh saves the Version it read, so that it cannot overwrite a newer
	// sign-in.
	Version   int64
	UpdatedAt time.Time
}

// OAuthState is a sign-in with Google or Microsoft that an admin started and has not
// finished: the random state the provider hands back, bound to the admin's session,
// with the PKCE verifier of the authorization code. It works once, for OAuthStateTTL.
type OAuthState struct {
	State       string // stored only as its SHA-256
	InboxID     int64
	Provider    string
	Verifier    string // sealed at rest
	AgentID     int64
	SessionHash string // SHA-256 hex of the session token that started the sign-in
	ExpiresAt   time.Time
}

// OAuthStore keeps the grants and the pending sign-ins of email inboxes.
type OAuthStore interface {
	// OAuthGrant returns the grant of an inbox. Returns not_found.
	OAuthGrant(ctx context.Context, inboxID int64) (*OAuthGrant, error)
	// SaveOAuthGrant stores g and returns it as stored. With Version 0 it replaces the
	// inbox's grant (a new sign-in); otherwise only when the stored grant still has that
	// Version. Returns invalid, not_found (no such inbox) or conflict (the grant changed).
	SaveOAuthGrant(ctx context.Context, g *OAuthGrant) (*OAuthGrant, error)
	// CreateOAuthState records a started sign-in, and forgets expired ones. Returns
	// invalid or not_found (no such inbox).
	CreateOAuthState(ctx context.Context, st *OAuthState) error
	// TakeOAuthState returns the sign-in of state and deletes it, so that it works once.
	// Returns not_found for an unknown, used or expired state.
	TakeOAuthState(ctx context.Context, state string) (*OAuthState, error)
}
