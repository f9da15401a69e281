package phone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"parley/crm"
	"parley/httpjson"
	"parley/identity"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	"github.com/twilio/twilio-go/twiml"
)

// Call starts a click-to-call: Twilio calls the agent's own phone first and, once the
// agent answers, dials the customer from the inbox's number. The call is logged as a
// voice message on the customer's phone ticket like an inbound call. customerPhone
// must be one of the customer's phone numbers. Returns invalid (no agent phone, a bad
// number, not a phone inbox, Twilio refused) or not_found (an inbox the agent may not see).
func (c *Channel) Call(ctx context.Context, inboxID int64, agent *crm.Agent, customerPhone string) (*crm.PhoneCall, error) {
	if agent == nil {
		return nil, crm.Errorf(crm.EUNAUTHORIZED, "log in first")
	}
	inbox, err := c.store.Inbox(crm.WithAgent(ctx, agent), inboxID)
	if err != nil {
		return nil, err
	}
	if inbox.Kind != crm.KindPhone {
		return nil, crm.Errorf(crm.EINVALID, "inbox %d is not a phone inbox", inboxID)
	}
	cfg, err := c.parseConfig(inbox)
	if err != nil {
		return nil, err
	}
	if c.public == "" {
		return nil, crm.Errorf(crm.EINVALID, "click-to-call needs Parley's public URL (--public-url) for Twilio's callbacks")
	}
	if agent.Phone == "" {
		return nil, crm.Errorf(crm.EINVALID, "add your phone number to your profile first: Parley calls you, then the customer")
	}
	agentPhone, err := c.number(agent.Phone)
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "your profile's phone number: %s", crm.ErrorMessage(err))
	}
	to, err := c.number(customerPhone)
	if err != nil {
		return nil, err
	}

	bridge, err := twiml.Voice([]twiml.Element{
		cfg.say("voice.connecting"),
		&twiml.VoiceDial{
			CallerId:      cfg.PhoneNumber,
			Timeout:       "30",
			Action:        hookURL(c.public, inbox.ID, "voice/status", "step=dial"),
			Method:        "POST",
			InnerElements: []twiml.Element{&twiml.VoiceNumber{PhoneNumber: to}},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("build twiml: %w", err)
	}
	p := &openapi.CreateCallParams{}
	p.SetTo(agentPhone).SetFrom(cfg.PhoneNumber).SetTwiml(bridge).SetTimeout(25).
		SetStatusCallback(hookURL(c.public, inbox.ID, "voice/status", "")).SetStatusCallbackMethod("POST")
	res, err := c.api(ctx, cfg).CreateCall(p)
	if err != nil {
		if _, ok := asRestError(err); ok {
			return nil, crm.Errorf(crm.EINVALID, "twilio refused the call: %s", restMessage(err))
		}
		return nil, fmt.Errorf("create call: %w", err)
	}
	if res.Sid == nil || !sidRe.MatchString(*res.Sid) {
		return nil, fmt.Errorf("twilio created a call without a valid CallSid")
	}
	name := agent.Name
	if name == "" {
		name = agent.Email
	}
	call := c.logCall(crm.WithAgent(ctx, agent), inbox.ID, *res.Sid,
		&crm.PhoneCall{Direction: crm.DirOut, Party: to, Agent: name, Outcome: crm.CallInProgress}, "")
	if call == nil {
		return nil, fmt.Errorf("call %s was placed but could not be logged", *res.Sid)
	}
	c.log.Info("click-to-call", "inbox", inbox.ID, "agent", agent.ID, "sid", *res.Sid, "ticket", call.TicketID)
	return call, nil
}

// CallHandler serves POST /api/v1/customers/{id}/call for an authenticated agent (the
// server puts it in the request's context): {"inbox_id": 3, "phone": "+15550123"}, both
// optional when the customer has one phone number and there is one phone inbox. It
// answers 202 {"call_sid", "ticket_id", "message_id"} or an API error.
func (c *Channel) CallHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call, err := c.serveCall(r)
		if err != nil {
			httpjson.WriteError(w, err)
			if crm.ErrorCode(err) == crm.EINTERNAL {
				c.log.Error("click-to-call", "err", err)
			}
			return
		}
		httpjson.Write(w, http.StatusAccepted, map[string]any{"call_sid": call.CallSid, "ticket_id": call.TicketID,
			"message_id": call.MessageID})
	})
}

func (c *Channel) serveCall(r *http.Request) (*crm.PhoneCall, error) {
	ctx := r.Context()
	agent := crm.AgentFrom(ctx)
	if agent == nil {
		return nil, crm.Errorf(crm.EUNAUTHORIZED, "log in first")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return nil, crm.Errorf(crm.EINVALID, "invalid customer id %q", r.PathValue("id"))
	}
	var req struct {
		InboxID int64  `json:"inbox_id"`
		Phone   string `json:"phone"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		return nil, crm.Errorf(crm.EINVALID, "invalid JSON body: %v", err)
	}
	cu, err := c.store.Customer(ctx, id)
	if err != nil {
		return nil, err
	}
	var phones []string
	for _, x := range cu.Identities {
		if x.Kind == crm.IdentityPhone {
			phones = append(phones, x.Address)
		}
	}
	phone := strings.TrimSpace(req.Phone)
	switch {
	case len(phones) == 0 && phone == "":
		return nil, crm.Errorf(crm.EINVALID, "customer %d has no phone number", id)
	case phone == "" && len(phones) > 1:
		return nil, crm.Errorf(crm.EINVALID, "customer %d has several phone numbers: choose one with \"phone\"", id)
	case phone == "":
		phone = phones[0]
	default:
		// An agent calls only the customer's own numbers: the endpoint must not become a
		// way to call anywhere at the shop's expense (toll fraud). A manager or admin may
		// call another number for the customer (a new mobile they gave on the phone).
		n, err := c.number(phone)
		if err != nil {
			return nil, err
		}
		found := agent.Role == crm.RoleManager || agent.Role == crm.RoleAdmin
		for _, p := range phones {
			found = found || p == n
		}
		if !found {
			return nil, crm.Errorf(crm.EFORBIDDEN, "%s is not a phone number of customer %d: only managers may call other numbers", n, id)
		}
		phone = n
	}
	if identity.PremiumRate(phone) {
		return nil, crm.Errorf(crm.EFORBIDDEN, "%s is a premium-rate number: Parley does not call those", phone)
	}
	if req.InboxID == 0 {
		inboxes, err := c.store.Inboxes(ctx)
		if err != nil {
			return nil, err
		}
		for _, in := range inboxes {
			if in.Kind != crm.KindPhone {
				continue
			} else if req.InboxID != 0 {
				return nil, crm.Errorf(crm.EINVALID, "there are several phone inboxes: choose one with \"inbox_id\"")
			}
			req.InboxID = in.ID
		}
		if req.InboxID == 0 {
			return nil, crm.Errorf(crm.EINVALID, "there is no phone inbox")
		}
	}
	return c.Call(ctx, req.InboxID, agent, phone)
}
