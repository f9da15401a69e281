package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"parley/crm"
)

// noticeSender is a connector that can mail a notice of Parley's own (an invitation)
// from one of its inboxes: the email channel.
type noticeSender interface {
	SendNotice(ctx context.Context, in *crm.Inbox, to, subject, text string) error
}

// noticeTimeout bounds the mailing of an invitation, which the admin waits for.
const noticeTimeout = 30 * time.Second

// handleInvitations lists the invitations not accepted yet, expired ones included.
func (s *Server) handleInvitations(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Invitations(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"invitations": list})
	return nil
}

// handleCreateInvitation invites a new agent: {email, name?, role?, inbox_ids?,
// send_from_inbox_id?}. The answer carries the link, always, for the admin to pass on;
// with send_from_inbox_id, an email inbox, the link is also mailed to the invitee through
// that inbox's SMTP server, and email_sent or email_error say how that went. Returns
// invalid or conflict (an agent has that email).
func (s *Server) handleCreateInvitation(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email           string  `json:"email"`
		Name            string  `json:"name"`
		Role            string  `json:"role"`
		InboxIDs        []int64 `json:"inbox_ids"`
		SendFromInboxID int64   `json:"send_from_inbox_id"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		return err
	}
	if req.Role != "" {
		if err := oneOf("role", req.Role, roles...); err != nil {
			return err
		}
	}
	var from *crm.Inbox
	var sender noticeSender
	if req.SendFromInboxID != 0 {
		in, err := s.store.Inbox(r.Context(), req.SendFromInboxID)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return crm.Errorf(crm.EINVALID, "send_from_inbox_id: inbox %d does not exist", req.SendFromInboxID)
		} else if err != nil {
			return err
		}
		if in.Kind != crm.KindEmail {
			return crm.Errorf(crm.EINVALID, "send_from_inbox_id: inbox %d is not an email inbox", in.ID)
		}
		if sender, _ = s.opt.Channels.Connector(crm.KindEmail).(noticeSender); sender == nil {
			return crm.Errorf(crm.EINVALID, "this Parley cannot send email; copy the link instead")
		}
		from = in
	}
	token, inv, err := s.store.CreateInvitation(r.Context(), &crm.NewInvitation{
		Email: req.Email, Name: req.Name, Role: req.Role, InboxIDs: req.InboxIDs})
	if err != nil {
		return err
	}
	link := s.publicURL(r) + "/#/invite/" + token
	out := map[string]any{"invitation": inv, "link": link}
	if from != nil {
		ctx, cancel := context.WithTimeout(r.Context(), noticeTimeout)
		err := sender.SendNotice(ctx, from, inv.Email, "You are invited to Parley", invitationText(crm.AgentFrom(r.Context()), inv, link))
		cancel()
		out["email_sent"] = err == nil
		if err != nil {
			s.log.Warn("mail invitation", "inbox", from.ID, "to", inv.Email, "err", err)
			out["email_error"] = err.Error()
		}
	}
	s.audit(r, "invitation.created", map[string]any{"invitation_id": inv.ID, "email": inv.Email, "role": inv.Role,
		"inbox_ids": inv.InboxIDs, "mailed": out["email_sent"]})
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// invitationText is the invitation mail's text.
func invitationText(by *crm.Agent, inv *crm.Invitation, link string) string {
	who := "An admin"
	if by != nil {
		who = by.Name
	}
	return fmt.Sprintf("Hello%s,\n\n%s invited you to answer customers with Parley, as %s %s.\n\n"+
		"Choose your password and sign in here:\n%s\n\n"+
		"The link works once, until %s. If you did not expect this invitation, ignore this mail.\n",
		prefixed(" ", inv.Name), who, article(inv.Role), inv.Role, link, inv.ExpiresAt.Format("January 2, 2006 15:04 MST"))
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

func article(role string) string {
	if strings.HasPrefix(role, "a") {
		return "an"
	}
	return "a"
}

// handleRevokeInvitation deletes an invitation: its link stops working. Returns invalid
// or not_found.
func (s *Server) handleRevokeInvitation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.store.RevokeInvitation(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "invitation.revoked", map[string]any{"invitation_id": id})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleCheckInvitation tells the invitee's browser, before anyone is signed in, what a
// link invites to: {token} -> {email, name, role, expires_at}. Rate-limited per address
// as logins are. Returns invalid, not_found or rate_limited.
func (s *Server) handleCheckInvitation(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
	}
	if err := decode(w, r, 4<<10, &req); err != nil {
		writeError(w, err)
		return
	}
	if !s.logins.allow("ip:" + clientIP(r)) {
		writeError(w, crm.Errorf(crm.ERATELIMITED, "too many attempts; try again in a minute"))
		return
	}
	inv, err := s.store.InvitationByToken(crm.AsSystem(r.Context()), req.Token)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"email": inv.Email, "name": inv.Name, "role": inv.Role,
		"expires_at": inv.ExpiresAt})
}

// handleAcceptInvitation creates the invited agent with the name and password the
// invitee chose: {token, name, password}. It signs them in as a login does: a session,
// or, when the shop requires two-factor sign-in, the step that sets it up. The link works
// once. Returns invalid, not_found, conflict or rate_limited.
func (s *Server) handleAcceptInvitation(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token    string `json:"token"`
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		writeError(w, err)
		return
	}
	if !s.logins.allow("ip:" + clientIP(r)) {
		writeError(w, crm.Errorf(crm.ERATELIMITED, "too many attempts; try again in a minute"))
		return
	}
	a, err := s.store.AcceptInvitation(crm.AsSystem(r.Context()), req.Token, req.Name, req.Password)
	if err != nil {
		writeError(w, err)
		return
	}
	r = r.WithContext(crm.WithAgent(r.Context(), a))
	s.log.Info("invitation accepted", "agent", a.ID, "ip", clientIP(r))
	s.audit(r, "invitation.accepted", map[string]any{"agent_id": a.ID, "email": a.Email, "role": a.Role})
	if step, err := s.secondStep(r.Context(), a); err != nil {
		writeError(w, err)
		return
	} else if step != "" {
		s.askSecondStep(w, r, a, step)
		return
	}
	s.signIn(w, r, a, nil)
}

// ---- the shop's sign-in rules and the first-run checklist ----

// handleSecuritySettings answers {"require_2fa"}.
func (s *Server) handleSecuritySettings(w http.ResponseWriter, r *http.Request) error {
	sec, err := s.store.SecuritySettings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sec)
	return nil
}

// handleUpdateSecuritySettings changes {"require_2fa"}. Agents without two-factor
// sign-in keep their sessions and set it up at their next sign-in. Returns invalid.
func (s *Server) handleUpdateSecuritySettings(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		RequireTOTP *bool `json:"require_2fa"`
	}
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	sec, err := s.store.SecuritySettings(r.Context())
	if err != nil {
		return err
	}
	if req.RequireTOTP != nil {
		sec.RequireTOTP = *req.RequireTOTP
	}
	if err := s.store.SetSecuritySettings(r.Context(), sec); err != nil {
		return err
	}
	s.audit(r, "settings.updated", map[string]any{"security": sec})
	writeJSON(w, http.StatusOK, sec)
	return nil
}

// setupItem is one step of the first-run checklist, done when the shop's data says so.
type setupItem struct {
	ID   string `json:"id"`
	Done bool   `json:"done"`
}

// handleSetup answers the first-run checklist: {first_run, dismissed, items}. first_run
// is true while the shop has no inbox at all: the console then opens on the checklist
// for admins, unless one dismissed it. Each item is done by what exists, not by a click:
// an email inbox, a chat inbox (the widget), a phone inbox (Twilio), an order source (the
// shop) and a second agent or a pending invitation (the team).
func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	inboxes, err := s.store.Inboxes(ctx)
	if err != nil {
		return err
	}
	kinds := map[string]bool{}
	for _, in := range inboxes {
		kinds[in.Kind] = true
	}
	sources, err := s.store.OrderSources(ctx)
	if err != nil {
		return err
	}
	agents, err := s.store.Agents(ctx)
	if err != nil {
		return err
	}
	invites, err := s.store.Invitations(ctx)
	if err != nil {
		return err
	}
	pending := false
	now := time.Now()
	for _, inv := range invites {
		pending = pending || !inv.Expired(now)
	}
	dismissed, err := s.store.SetupDismissed(ctx)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"first_run": len(inboxes) == 0,
		"dismissed": dismissed,
		"items": []setupItem{
			{"email", kinds[crm.KindEmail]},
			{"chat", kinds[crm.KindChat]},
			{"phone", kinds[crm.KindPhone]},
			{"orders", len(sources) > 0},
			{"team", len(agents) > 1 || pending},
		},
	})
	return nil
}

// handleUpdateSetup dismisses the checklist or brings it back: {"dismissed": bool}.
// Returns invalid.
func (s *Server) handleUpdateSetup(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Dismissed *bool `json:"dismissed"`
	}
	if err := decode(w, r, 4<<10, &req); err != nil {
		return err
	}
	if req.Dismissed == nil {
		return crm.Errorf(crm.EINVALID, "dismissed (true or false) required")
	}
	if err := s.store.SetSetupDismissed(r.Context(), *req.Dismissed); err != nil {
		return err
	}
	return s.handleSetup(w, r)
}
