package crm

import (
	"context"
	"io"
	"time"
)

// Limits of agents' accounts.
const (
	// InvitationTTL is how long an invitation link works.
	InvitationTTL = 7 * 24 * time.Hour
	// PendingLoginTTL is how long the second step of a sign-in may wait after the
	// password: long enough to open an authenticator app, or to enrol one.
	PendingLoginTTL = 10 * time.Minute
	// RecoveryCodes is how many single-use recovery codes an agent gets with two-factor
	// sign-in.
	RecoveryCodes = 10
	// MaxAvatarSize bounds an uploaded avatar image.
	MaxAvatarSize = 1 << 20
)

// Purposes of a pending login: what the password step left to do.
const (
	// LoginTOTP asks for a code of the agent's authenticator app or a recovery code.
	LoginTOTP = "totp"
	// LoginEnrol asks the agent to set up an authenticator app first: two-factor
	// sign-in is required and the agent has none.
	LoginEnrol = "enrol"
)

// Invitation is an admin's invitation of a new agent by email. The link's token is never
// stored, only its SHA-256; accepting creates the agent with these fields.
type Invitation struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	InboxIDs  []int64   `json:"inbox_ids"`
	InvitedBy int64     `json:"invited_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Expired reports whether the invitation has expired at now.
func (i *Invitation) Expired(now time.Time) bool { return !now.Before(i.ExpiresAt) }

// NewInvitation is an invitation to create. Name is a suggestion the invitee may change.
type NewInvitation struct {
	Email    string
	Name     string
	Role     string
	InboxIDs []int64
}

// SessionInfo is what a session records of the browser that signed in.
type SessionInfo struct {
	UserAgent string
	IP        string
}

// Session is a signed-in browser of an agent, as the agent's list of sessions shows it.
// ID names it for revoking; it is not the cookie's token and cannot stand in for it.
type Session struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

// Notifications are an agent's choices of what to be told about (the notify worker
// makes only the kinds chosen) and how: Desktop shows the browser's desktop
// notifications (after the browser's permission), Sound plays a short tone.
type Notifications struct {
	Assigned        bool `json:"assigned"`         // a ticket was assigned to me
	CustomerReplied bool `json:"customer_replied"` // the customer answered on my ticket
	SLAWarning      bool `json:"sla_warning"`      // a ticket of mine is about to breach its SLA
	Mentions        bool `json:"mentions"`         // someone mentioned me in a note
	Email           bool `json:"email"`            // also by email, not only in the console
	Desktop         bool `json:"desktop"`          // browser desktop notifications
	Sound           bool `json:"sound"`            // a sound with each notification
}

// DefaultNotifications are the choices of an agent who has made none: everything in the
// console, nothing by email.
func DefaultNotifications() Notifications {
	return Notifications{Assigned: true, CustomerReplied: true, SLAWarning: true, Mentions: true}
}

// SecuritySettings are the shop's sign-in rules.
type SecuritySettings struct {
	// RequireTOTP makes every agent without two-factor sign-in set it up at their next
	// sign-in, and keeps agents from turning it off.
	RequireTOTP bool `json:"require_2fa"`
}

// AccountService keeps what an agent's account has besides the agent: invitations,
// sessions, two-factor sign-in, the avatar and notification choices, and the shop's
// sign-in settings.
type AccountService interface {
	// CreateInvitation stores an invitation valid for InvitationTTL and returns the
	// token of its link. A pending invitation of the same email is replaced: its link
	// stops working. Returns invalid or conflict (an agent has that email).
	CreateInvitation(ctx context.Context, ni *NewInvitation) (string, *Invitation, error)
	// Invitations lists the invitations not accepted, expired ones included, oldest first.
	Invitations(ctx context.Context) ([]*Invitation, error)
	// InvitationByToken returns the live invitation of a link. Returns not_found for an
	// unknown, used, revoked or expired one, saying which of the last it is.
	InvitationByToken(ctx context.Context, token string) (*Invitation, error)
	// RevokeInvitation deletes an invitation: its link stops working. Returns not_found.
	RevokeInvitation(ctx context.Context, id int64) error
	// AcceptInvitation creates the invited agent with name and password and deletes the
	// invitation, in one transaction, so a link works once. Returns not_found (see
	// InvitationByToken), invalid (name, password) or conflict (an agent has the email).
	AcceptInvitation(ctx context.Context, token, name, password string) (*Agent, error)

	// StartSession is CreateSession recording the browser's user agent and address.
	StartSession(ctx context.Context, agentID int64, ttl time.Duration, info SessionInfo) (token, csrf string, err error)
	// Sessions lists the live sessions of an agent, newest first, marking the one of
	// currentToken.
	Sessions(ctx context.Context, agentID int64, currentToken string) ([]*Session, error)
	// EndSession ends one session of the agent by its ID. Returns not_found.
	EndSession(ctx context.Context, agentID int64, id string) error
	// EndOtherSessions ends every session of the agent but the one of keepToken ("" ends
	// all) and returns how many it ended.
	EndOtherSessions(ctx context.Context, agentID int64, keepToken string) (int, error)

	// CreatePendingLogin records that the agent passed the password step and has
	// purpose (LoginTOTP or LoginEnrol) left, for PendingLoginTTL. It returns the token
	// the second step presents; it is not a session.
	CreatePendingLogin(ctx context.Context, agentID int64, purpose string) (string, error)
	// PendingLogin returns the agent and purpose of a live pending login. Returns
	// unauthorized (unknown, expired, or the agent was disabled since).
	PendingLogin(ctx context.Context, token string) (*Agent, string, error)
	// DeletePendingLogin ends a pending login. An unknown token is not an error.
	DeletePendingLogin(ctx context.Context, token string) error

	// BeginTOTP starts setting up an authenticator app: a new secret, sealed at rest,
	// that counts once ConfirmTOTP is given a code of it. Beginning again replaces it.
	// Returns not_found or conflict (two-factor sign-in is on already).
	BeginTOTP(ctx context.Context, agentID int64) ([]byte, error)
	// ConfirmTOTP turns two-factor sign-in on with the secret BeginTOTP made, if code is
	// one of its codes, and returns RecoveryCodes new recovery codes, stored hashed.
	// Returns invalid (a wrong code) or conflict (nothing begun, or on already).
	ConfirmTOTP(ctx context.Context, agentID int64, code string) ([]string, error)
	// VerifyTOTP checks a code of the agent's app: of the current 30-second step or one
	// either side, and of a later step than any code accepted before, so that a code
	// works once. Returns unauthorized (wrong, used or two-factor sign-in is off).
	VerifyTOTP(ctx context.Context, agentID int64, code string) error
	// UseRecoveryCode spends one recovery code of the agent and returns how many are
	// left. Returns unauthorized (unknown or used code).
	UseRecoveryCode(ctx context.Context, agentID int64, code string) (int, error)
	// NewRecoveryCodes replaces the agent's recovery codes. Returns conflict when
	// two-factor sign-in is off.
	NewRecoveryCodes(ctx context.Context, agentID int64) ([]string, error)
	// RecoveryCodesLeft returns how many unused recovery codes the agent has.
	RecoveryCodesLeft(ctx context.Context, agentID int64) (int, error)
	// DisableTOTP turns two-factor sign-in off and deletes the secret and the recovery
	// codes. Returns not_found.
	DisableTOTP(ctx context.Context, agentID int64) error

	// Notifications returns the agent's choices, DefaultNotifications when none were made.
	Notifications(ctx context.Context, agentID int64) (*Notifications, error)
	// SetNotifications saves the agent's choices. Returns not_found.
	SetNotifications(ctx context.Context, agentID int64, n *Notifications) error
	// SetAvatar stores data, an image of contentType, as the agent's avatar and returns
	// the agent; nil data removes it. Returns invalid (too large) or not_found.
	SetAvatar(ctx context.Context, agentID int64, data []byte, contentType string) (*Agent, error)
	// Avatar opens the agent's avatar image. Returns not_found (none).
	Avatar(ctx context.Context, agentID int64) (string, io.ReadSeekCloser, error)

	// SecuritySettings returns the sign-in rules; by default none is required.
	SecuritySettings(ctx context.Context) (*SecuritySettings, error)
	// SetSecuritySettings saves the sign-in rules.
	SetSecuritySettings(ctx context.Context, s *SecuritySettings) error
	// SetupDismissed reports whether an admin put the first-run checklist away.
	SetupDismissed(ctx context.Context) (bool, error)
	// SetSetupDismissed puts the first-run checklist away, or brings it back.
	SetSetupDismissed(ctx context.Context, dismissed bool) error
}
