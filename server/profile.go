package server

import (
	"io"
	"net/http"
	"time"

	"parley/crm"
)

// handleProfile answers what the profile page shows: the agent, its notification
// choices and its two-factor sign-in.
func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request) error {
	me := crm.AgentFrom(r.Context())
	a, err := s.store.Agent(r.Context(), me.ID)
	if err != nil {
		return err
	}
	n, err := s.store.Notifications(r.Context(), me.ID)
	if err != nil {
		return err
	}
	t, err := s.totpStatus(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"agent": a, "notifications": n, "totp": t})
	return nil
}

// handleUpdateProfile changes the agent's own name and notification choices: {name?,
// notifications?}, where notifications is the whole set. Returns invalid.
func (s *Server) handleUpdateProfile(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name *string `json:"name"`
		// Phone is the agent's own number in E.164, which click-to-call rings first; "" removes it.
		Phone         *string            `json:"phone"`
		Notifications *crm.Notifications `json:"notifications"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		return err
	}
	me := crm.AgentFrom(r.Context())
	a := me
	if req.Name != nil || req.Phone != nil {
		var err error
		if a, err = s.store.UpdateAgent(r.Context(), me.ID, crm.AgentUpdate{Name: req.Name, Phone: req.Phone}); err != nil {
			return err
		}
		s.audit(r, "agent.updated", map[string]any{"agent_id": me.ID, "name": req.Name, "phone": req.Phone})
	}
	if req.Notifications != nil {
		if err := s.store.SetNotifications(r.Context(), me.ID, req.Notifications); err != nil {
			return err
		}
	}
	n, err := s.store.Notifications(r.Context(), me.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"agent": a, "notifications": n})
	return nil
}

// handleChangePassword sets the agent's own password: {current_password, new_password}.
// Every session of the agent ends, this browser's too, which gets a new one at once:
// the answer is {agent, csrf_token} as after a login. Returns invalid, forbidden (an API
// token) or rate_limited.
func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	if err := needSession(r); err != nil {
		return err
	}
	var req struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		return err
	}
	if err := s.checkPassword(r, req.Current); err != nil {
		return err
	}
	me := crm.AgentFrom(r.Context())
	a, err := s.store.UpdateAgent(r.Context(), me.ID, crm.AgentUpdate{Password: &req.New})
	if err != nil {
		return err
	}
	s.sessionsEnded(me.ID)
	s.audit(r, "auth.password_changed", nil)
	s.signIn(w, r, a, nil)
	return nil
}

// avatarTypes are the images an avatar may be, by the type their bytes show.
var avatarTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// handleSetAvatar stores the request's body, a PNG, JPEG, GIF or WebP image of at most
// crm.MaxAvatarSize, as the agent's avatar. The type is taken from the bytes, not from
// what the client says. Returns invalid or too_large.
func (s *Server) handleSetAvatar(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, crm.MaxAvatarSize))
	if err != nil {
		return crm.Errorf(crm.ETOOLARGE, "an avatar may be at most %d KB", crm.MaxAvatarSize>>10)
	}
	typ := http.DetectContentType(data)
	if len(data) == 0 || !avatarTypes[typ] {
		return crm.Errorf(crm.EINVALID, "an avatar must be a PNG, JPEG, GIF or WebP image")
	}
	a, err := s.store.SetAvatar(r.Context(), crm.AgentFrom(r.Context()).ID, data, typ)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// handleDeleteAvatar removes the agent's avatar: initials show instead.
func (s *Server) handleDeleteAvatar(w http.ResponseWriter, r *http.Request) error {
	a, err := s.store.SetAvatar(r.Context(), crm.AgentFrom(r.Context()).ID, nil, "")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// handleAvatar serves an agent's avatar to any signed-in agent, as an image that cannot
// be run as a page. The URL the console uses carries the avatar's tag, so it may be
// cached. Returns invalid or not_found.
func (s *Server) handleAvatar(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	typ, f, err := s.store.Avatar(r.Context(), id)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", typ)
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=86400")
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

// ---- sessions ----

// currentSession is the session token of a cookie-authenticated request, "" for a
// bearer token.
func currentSession(r *http.Request) string {
	if tokenFrom(r.Context()) != nil {
		return ""
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// handleSessions lists the agent's signed-in browsers, newest first, the one asking
// marked current.
func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.Sessions(r.Context(), crm.AgentFrom(r.Context()).ID, currentSession(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": list})
	return nil
}

// handleEndSession signs one of the agent's browsers out; its sockets close. Ending the
// current one signs this browser out as POST /logout does. Returns not_found.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) error {
	me := crm.AgentFrom(r.Context())
	id := r.PathValue("id")
	list, err := s.store.Sessions(r.Context(), me.ID, currentSession(r))
	if err != nil {
		return err
	}
	current := false
	for _, x := range list {
		current = current || (x.ID == id && x.Current)
	}
	if err := s.store.EndSession(r.Context(), me.ID, id); err != nil {
		return err
	}
	s.sessionsEnded(me.ID)
	s.audit(r, "auth.session_ended", map[string]any{"session": id})
	if current {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure,
			SameSite: http.SameSiteLaxMode, MaxAge: -1})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleEndOtherSessions signs the agent out everywhere but this browser and answers
// {"ended": n}. With an API token no browser is kept.
func (s *Server) handleEndOtherSessions(w http.ResponseWriter, r *http.Request) error {
	me := crm.AgentFrom(r.Context())
	n, err := s.store.EndOtherSessions(r.Context(), me.ID, currentSession(r))
	if err != nil {
		return err
	}
	s.sessionsEnded(me.ID)
	s.audit(r, "auth.sessions_ended", map[string]any{"ended": n})
	writeJSON(w, http.StatusOK, map[string]any{"ended": n})
	return nil
}
