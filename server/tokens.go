package server

import (
	"encoding/json"
	"net/http"
	"time"

	"parley/crm"
)

// createdToken is the answer to creating an API token: its record and, this once, the
// token itself. Only the token's hash is stored, so nothing can show it again.
type createdToken struct {
	*crm.APIToken
	Token string `json:"token"`
}

// handleTokens lists the caller's API tokens; an admin may name another agent with
// agent_id. Returns invalid, forbidden or not_found (an unknown agent).
func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) error {
	me := crm.AgentFrom(r.Context())
	agentID, err := queryID(r, "agent_id")
	if err != nil {
		return err
	}
	if agentID != 0 && agentID != me.ID {
		if me.Role != crm.RoleAdmin {
			return crm.Errorf(crm.EFORBIDDEN, "only admins may see other agents' tokens")
		}
		if _, err := s.store.Agent(r.Context(), agentID); err != nil {
			return err
		}
	} else {
		agentID = me.ID
	}
	list, err := s.store.Tokens(r.Context(), agentID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": nonNil(list)})
	return nil
}

// handleCreateToken creates an API token of the caller, or of agent_id for an admin,
// expiring at expires_at, after expires_in_days, or never. It needs a signed-in session:
// a token that could mint tokens would outlive its own revocation in the ones it made.
// Returns invalid, forbidden or not_found.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	if tokenFrom(r.Context()) != nil {
		return crm.Errorf(crm.EFORBIDDEN, "an API token cannot create tokens; sign in, or run parley token create")
	}
	var req struct {
		Name          string  `json:"name"`
		ExpiresAt     *string `json:"expires_at"`
		ExpiresInDays *int    `json:"expires_in_days"`
		AgentID       int64   `json:"agent_id"`
	}
	if err := decode(w, r, 16<<10, &req); err != nil {
		return err
	}
	me := crm.AgentFrom(r.Context())
	agentID := me.ID
	if req.AgentID != 0 && req.AgentID != me.ID {
		if me.Role != crm.RoleAdmin {
			return crm.Errorf(crm.EFORBIDDEN, "only admins may create tokens for other agents")
		}
		agentID = req.AgentID
	}
	var expires *time.Time
	switch maxDays := int(crm.MaxTokenLifetime / (24 * time.Hour)); {
	case req.ExpiresAt != nil && req.ExpiresInDays != nil:
		return crm.Errorf(crm.EINVALID, "give expires_at or expires_in_days, not both")
	case req.ExpiresAt != nil:
		t, err := time.Parse(time.RFC3339, *req.ExpiresAt)
		if err != nil {
			return crm.Errorf(crm.EINVALID, "expires_at must be an RFC 3339 time such as 2027-01-31T00:00:00Z")
		}
		expires = &t
	case req.ExpiresInDays != nil:
		n := *req.ExpiresInDays
		if n < 1 || n > maxDays {
			return crm.Errorf(crm.EINVALID, "expires_in_days must be 1 to %d; leave it out for a token that never expires", maxDays)
		}
		t := time.Now().Add(time.Duration(n) * 24 * time.Hour)
		expires = &t
	}
	token, t, err := s.store.CreateToken(r.Context(), agentID, req.Name, expires)
	if err != nil {
		return err
	}
	s.audit(r, "token.created", map[string]any{"token_id": t.ID, "agent_id": t.AgentID, "name": t.Name, "expires_at": t.ExpiresAt})
	writeJSON(w, http.StatusCreated, createdToken{APIToken: t, Token: token})
	return nil
}

// handleRevokeToken deletes an API token of the caller, or of anyone for an admin, and
// closes the sockets it opened, on every node. Another agent's token is not_found, like
// one that does not exist. Returns invalid or not_found.
func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	me := crm.AgentFrom(r.Context())
	t, err := s.store.Token(r.Context(), id)
	if err == nil && t.AgentID != me.ID && me.Role != crm.RoleAdmin {
		err = crm.Errorf(crm.ENOTFOUND, "token %d not found", id)
	}
	if err != nil {
		return err
	}
	if err := s.store.RevokeToken(r.Context(), t.AgentID, t.ID); err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]int64{"agent_id": t.AgentID, "token_id": t.ID})
	s.hub.bus.Publish(&crm.Event{Type: crm.EventTokenRevoked, Actor: crm.Actor{Kind: actorAgent, ID: me.ID},
		Data: data, At: time.Now().UTC()})
	s.audit(r, "token.revoked", map[string]any{"token_id": t.ID, "agent_id": t.AgentID, "name": t.Name})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
