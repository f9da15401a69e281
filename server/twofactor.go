package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"parley/crm"
	"parley/crm/totp"

	"rsc.io/qr"
)

// The second sign-in steps, as the login's answer names them in "step".
const (
	stepTOTP      = "totp"       // give a code of the authenticator app, or a recovery code
	stepTOTPSetup = "totp_setup" // two-factor sign-in is required: set an app up first
)

// secondStep returns what a, who gave the right password, has left to do before a
// session: a code when two-factor sign-in is on, setting it up when the shop requires it,
// or nothing.
func (s *Server) secondStep(ctx context.Context, a *crm.Agent) (string, error) {
	if a.TOTPEnabled {
		return stepTOTP, nil
	}
	sec, err := s.store.SecuritySettings(ctx)
	if err != nil {
		return "", err
	}
	if sec.RequireTOTP {
		return stepTOTPSetup, nil
	}
	return "", nil
}

// askSecondStep answers a password step that needs another: no session and no cookie,
// only a short-lived pending token that the second step presents.
func (s *Server) askSecondStep(w http.ResponseWriter, r *http.Request, a *crm.Agent, step string) {
	purpose := crm.LoginTOTP
	if step == stepTOTPSetup {
		purpose = crm.LoginEnrol
	}
	token, err := s.store.CreatePendingLogin(r.Context(), a.ID, purpose)
	if err != nil {
		s.log.Error("create pending login", "agent", a.ID, "err", err)
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"step": step, "pending_token": token,
		"expires_in": int(crm.PendingLoginTTL / time.Second)})
}

// handleLoginTOTP is the second step of a sign-in: {pending_token, code} or
// {pending_token, recovery_code}. For a pending login that sets an app up (step
// totp_setup, after handleLoginTOTPSetup) the code confirms the app and the answer
// carries the new recovery_codes. Rate-limited as the password is, per address and per
// agent. Returns invalid, unauthorized or rate_limited.
func (s *Server) handleLoginTOTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PendingToken string `json:"pending_token"`
		Code         string `json:"code"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		writeError(w, err)
		return
	}
	// Limited as the password is, per address and per agent, in buckets of their own: a
	// code comes after a password that was right.
	if !s.logins.allow("code-ip:" + clientIP(r)) {
		writeError(w, crm.Errorf(crm.ERATELIMITED, "too many sign-in attempts; try again in a minute"))
		return
	}
	ctx := crm.AsSystem(r.Context())
	a, purpose, err := s.store.PendingLogin(ctx, req.PendingToken)
	if err != nil {
		writeError(w, err)
		return
	}
	if !s.logins.allow("totp:" + strconv.FormatInt(a.ID, 10)) {
		s.log.Warn("second sign-in step rate limited", "agent", a.ID, "ip", clientIP(r))
		writeError(w, crm.Errorf(crm.ERATELIMITED, "too many codes tried; try again in a minute"))
		return
	}
	r = r.WithContext(crm.WithAgent(r.Context(), a))
	ctx = r.Context()
	extra := map[string]any{}
	switch {
	case (req.Code == "") == (req.RecoveryCode == ""):
		err = crm.Errorf(crm.EINVALID, "give code or recovery_code")
	case purpose == crm.LoginEnrol && req.Code == "":
		err = crm.Errorf(crm.EINVALID, "set up the authenticator app and give one of its codes")
	case purpose == crm.LoginEnrol:
		var codes []string
		if codes, err = s.store.ConfirmTOTP(ctx, a.ID, req.Code); err == nil {
			extra["recovery_codes"] = codes
			s.audit(r, "auth.totp_enabled", nil)
			a, err = s.store.Agent(ctx, a.ID) // as it is now, with the app set up
		}
	case req.Code != "":
		err = s.store.VerifyTOTP(ctx, a.ID, req.Code)
	default:
		var left int
		if left, err = s.store.UseRecoveryCode(ctx, a.ID, req.RecoveryCode); err == nil {
			extra["recovery_codes_left"] = left
			s.audit(r, "auth.recovery_code_used", map[string]any{"left": left})
		}
	}
	if err != nil {
		if code := crm.ErrorCode(err); code == crm.EUNAUTHORIZED || code == crm.EINVALID {
			s.log.Warn("second sign-in step failed", "agent", a.ID, "ip", clientIP(r))
			s.audit(r, "auth.login_failed", map[string]any{"email": a.Email, "step": stepTOTP})
		}
		writeError(w, err)
		return
	}
	if err := s.store.DeletePendingLogin(ctx, req.PendingToken); err != nil {
		writeError(w, err)
		return
	}
	s.signIn(w, r, a, extra)
}

// handleLoginTOTPSetup starts setting up an authenticator app during a sign-in that
// requires one: {pending_token} -> the key, its otpauth URI and its QR code. Returns
// invalid, unauthorized, conflict or rate_limited.
func (s *Server) handleLoginTOTPSetup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PendingToken string `json:"pending_token"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		writeError(w, err)
		return
	}
	if !s.logins.allow("code-ip:" + clientIP(r)) {
		writeError(w, crm.Errorf(crm.ERATELIMITED, "too many sign-in attempts; try again in a minute"))
		return
	}
	a, purpose, err := s.store.PendingLogin(crm.AsSystem(r.Context()), req.PendingToken)
	if err == nil && purpose != crm.LoginEnrol {
		err = crm.Errorf(crm.ECONFLICT, "two-factor sign-in is set up already: give a code of your app")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := s.beginTOTP(crm.WithAgent(r.Context(), a), a)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// totpSetup is what setting up an authenticator app shows: the key to type, the URI a
// QR code carries and that QR code as a PNG (base64), drawn here so that the console
// needs nothing from elsewhere.
type totpSetup struct {
	Key   string `json:"key"`
	URI   string `json:"otpauth_uri"`
	QRPNG string `json:"qr_png"`
}

func (s *Server) beginTOTP(ctx context.Context, a *crm.Agent) (*totpSetup, error) {
	secret, err := s.store.BeginTOTP(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	uri := totp.URI(secret, "Parley", a.Email)
	code, err := qr.Encode(uri, qr.M)
	if err != nil {
		return nil, fmt.Errorf("draw qr code: %w", err)
	}
	code.Scale = 6
	return &totpSetup{Key: totp.Key(secret), URI: uri, QRPNG: base64.StdEncoding.EncodeToString(code.PNG())}, nil
}

// ---- the agent's own two-factor sign-in ----

// needSession refuses a request made with an API token: what it guards (the password,
// two-factor sign-in) is for the person at the browser, and a leaked token must not be
// able to change it. Returns forbidden.
func needSession(r *http.Request) error {
	if tokenFrom(r.Context()) != nil {
		return crm.Errorf(crm.EFORBIDDEN, "an API token cannot do this; sign in")
	}
	return nil
}

// checkPassword confirms the signed-in agent's password, rate-limited as logins are.
// Returns invalid (wrong password) or rate_limited.
func (s *Server) checkPassword(r *http.Request, password string) error {
	me := crm.AgentFrom(r.Context())
	if !s.logins.allow("email:" + me.Email) {
		return crm.Errorf(crm.ERATELIMITED, "too many attempts; try again in a minute")
	}
	if _, err := s.store.Authenticate(r.Context(), me.Email, password); err != nil {
		if crm.ErrorCode(err) == crm.EUNAUTHORIZED {
			return crm.Errorf(crm.EINVALID, "your current password is not right")
		}
		return err
	}
	return nil
}

// handleMyTOTP tells whether the agent has two-factor sign-in, how many recovery codes
// are left and whether the shop requires it.
func (s *Server) handleMyTOTP(w http.ResponseWriter, r *http.Request) error {
	out, err := s.totpStatus(r.Context(), crm.AgentFrom(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) totpStatus(ctx context.Context, a *crm.Agent) (map[string]any, error) {
	sec, err := s.store.SecuritySettings(ctx)
	if err != nil {
		return nil, err
	}
	left, err := s.store.RecoveryCodesLeft(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	// The agent in ctx may be the session's cached copy: ask the store.
	fresh, err := s.store.Agent(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"enabled": fresh.TOTPEnabled, "recovery_codes_left": left, "required": sec.RequireTOTP}, nil
}

// handleMyTOTPSetup starts setting up an authenticator app. Returns forbidden or conflict.
func (s *Server) handleMyTOTPSetup(w http.ResponseWriter, r *http.Request) error {
	if err := needSession(r); err != nil {
		return err
	}
	out, err := s.beginTOTP(r.Context(), crm.AgentFrom(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleMyTOTPConfirm turns two-factor sign-in on with a code of the app being set up
// and answers the recovery codes, this once. Returns invalid, forbidden or conflict.
func (s *Server) handleMyTOTPConfirm(w http.ResponseWriter, r *http.Request) error {
	if err := needSession(r); err != nil {
		return err
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	codes, err := s.store.ConfirmTOTP(r.Context(), crm.AgentFrom(r.Context()).ID, req.Code)
	if err != nil {
		return err
	}
	s.audit(r, "auth.totp_enabled", nil)
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
	return nil
}

// handleMyTOTPDisable turns two-factor sign-in off, with the password. Returns invalid,
// forbidden or conflict (the shop requires it).
func (s *Server) handleMyTOTPDisable(w http.ResponseWriter, r *http.Request) error {
	if err := needSession(r); err != nil {
		return err
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	sec, err := s.store.SecuritySettings(r.Context())
	if err != nil {
		return err
	}
	if sec.RequireTOTP {
		return crm.Errorf(crm.ECONFLICT, "this shop requires two-factor sign-in; an admin can reset yours instead")
	}
	if err := s.checkPassword(r, req.Password); err != nil {
		return err
	}
	if err := s.store.DisableTOTP(r.Context(), crm.AgentFrom(r.Context()).ID); err != nil {
		return err
	}
	s.audit(r, "auth.totp_disabled", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleMyRecoveryCodes replaces the recovery codes, with the password. Returns invalid,
// forbidden or conflict (two-factor sign-in is off).
func (s *Server) handleMyRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	if err := needSession(r); err != nil {
		return err
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	if err := s.checkPassword(r, req.Password); err != nil {
		return err
	}
	codes, err := s.store.NewRecoveryCodes(r.Context(), crm.AgentFrom(r.Context()).ID)
	if err != nil {
		return err
	}
	s.audit(r, "auth.recovery_codes_replaced", nil)
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes})
	return nil
}

// handleResetTOTP is an admin's reset of another agent's two-factor sign-in (a lost
// phone and lost recovery codes): it is off, and the agent's sessions end. Returns
// invalid or not_found.
func (s *Server) handleResetTOTP(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.DisableTOTP(r.Context(), id); err != nil {
		return err
	}
	if _, err := s.store.EndOtherSessions(r.Context(), id, ""); err != nil {
		return err
	}
	s.sessionsEnded(id)
	s.audit(r, "auth.totp_reset", map[string]any{"agent_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sessionsEnded tells the hubs, here and on other nodes, that sessions of the agent
// ended, so that their sockets close at once.
func (s *Server) sessionsEnded(agentID int64) {
	s.hub.bus.Publish(&crm.Event{Type: crm.EventSessionEnded, Actor: crm.Actor{Kind: actorAgent, ID: agentID},
		At: time.Now().UTC()})
}
