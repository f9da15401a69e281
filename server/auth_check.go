package server

import (
	"context"
	"encoding/json"
	"time"

	"parley/crm"
)

// authDrop is a socket to close because the session or token that opened it ended.
type authDrop struct {
	c      *conn
	reason string
}

// checkAuthNow has the credential checker run now: a session ended or an agent changed.
// A check already asked for covers this one too.
func (h *hub) checkAuthNow() {
	select {
	case h.recheck <- struct{}{}:
	default:
	}
}

// closeToken closes the sockets opened with an API token that was revoked through the
// API, here or on another node.
func (h *hub) closeToken(e *crm.Event) {
	var d struct {
		AgentID int64 `json:"agent_id"`
		TokenID int64 `json:"token_id"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil || d.TokenID == 0 {
		h.log.Warn("token.revoked event without a token", "err", err)
		return
	}
	for c := range h.byAgent[d.AgentID] {
		if c.tokenID == d.TokenID {
			h.drop(c, closePolicy, closeRevoked)
		}
	}
}

// Reasons sent with close code 1008 when the credentials of a socket end.
const (
	closeRevoked   = "token revoked"
	closeExpired   = "token expired"
	closeSignedOut = "signed out"
)

// checkAuth runs beside the hub until ctx is done: every authEvery, and at once when the
// hub asks, it gets the open sockets from the hub, asks the store once about each
// session and each agent's tokens, and hands back the sockets to close. It catches what
// no bus event announced: a token revoked by the CLI, a token or session that expired.
// The hub never waits on the store for this.
func (h *hub) checkAuth(ctx context.Context) {
	defer h.wg.Done()
	tick := time.NewTicker(h.authEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.stopped:
			return
		case <-tick.C:
		case <-h.recheck:
		}
		reply := make(chan []*conn, 1)
		select {
		case h.authReqs <- reply:
		case <-h.stopped:
			return
		}
		drops := h.endedAuth(ctx, <-reply)
		if len(drops) == 0 {
			continue
		}
		select {
		case h.authDrops <- drops:
		case <-h.stopped:
			return
		}
	}
}

// endedAuth returns the sockets whose session ended or whose token was revoked or
// expired. A store error keeps the socket: the next round asks again.
func (h *hub) endedAuth(ctx context.Context, conns []*conn) []authDrop {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	sessions := map[string]string{}               // session -> close reason, "" while live
	tokens := map[int64]map[int64]*crm.APIToken{} // agent -> its tokens by id; nil after an error
	now := time.Now()
	var drops []authDrop
	var failed int
	var firstErr error
	fail := func(err error) {
		if failed++; firstErr == nil {
			firstErr = err
		}
	}
	for _, c := range conns {
		reason := ""
		switch {
		case c.session != "":
			r, ok := sessions[c.session]
			if !ok {
				_, _, err := h.store.SessionAgent(ctx, c.session)
				if crm.ErrorCode(err) == crm.EUNAUTHORIZED {
					r = closeSignedOut
				} else if err != nil {
					fail(err)
				}
				sessions[c.session] = r
			}
			reason = r
		case c.tokenID != 0:
			byID, ok := tokens[c.agentID]
			if !ok {
				list, err := h.store.Tokens(ctx, c.agentID)
				if err != nil {
					fail(err)
				} else {
					byID = make(map[int64]*crm.APIToken, len(list))
					for _, t := range list {
						byID[t.ID] = t
					}
				}
				tokens[c.agentID] = byID
			}
			if byID == nil {
				continue
			}
			if t := byID[c.tokenID]; t == nil {
				reason = closeRevoked
			} else if t.Expired(now) {
				reason = closeExpired
			}
		}
		if reason != "" {
			drops = append(drops, authDrop{c: c, reason: reason})
		}
	}
	if failed > 0 { // a store outage would otherwise log once per socket
		h.log.Warn("check the credentials of open sockets", "failed", failed, "err", firstErr)
	}
	return drops
}
