package crm

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ActorRule is the actor kind of the changes an automation rule makes: Actor{Kind:
// ActorRule, ID: rule id}.
const ActorRule = "rule"

// Limits of automation rules.
const (
	MaxRules          = 500
	MaxRuleName       = 100
	MaxRuleConditions = 20 // in all and in any, each
	MaxRuleActions    = 20
	MaxRuleText       = 10000
	MaxRuleHours      = 24 * 365
	// DefaultRuleRate is how many automated actions one ticket gets a minute at most.
	DefaultRuleRate = 10
)

// Rule triggers: what makes a rule look at a ticket.
const (
	TriggerTicketCreated   = "ticket.created"
	TriggerMessageReceived = "message.received" // a message from the customer
	TriggerTicketUpdated   = "ticket.updated"
	TriggerSLAWarning      = "sla.warning"
	TriggerSLABreached     = "sla.breached"
	TriggerOrderUpdated    = "order.updated" // on the customer's latest open ticket
	// Time-based triggers, with Hours: a periodic scan finds the tickets once.
	TriggerPending         = "time.pending"           // pending, unchanged for Hours
	TriggerNoCustomerReply = "time.no_customer_reply" // our reply unanswered for Hours
)

// RuleTriggers lists the triggers in the order the console offers them.
var RuleTriggers = []string{TriggerTicketCreated, TriggerMessageReceived, TriggerTicketUpdated, TriggerSLAWarning,
	TriggerSLABreached, TriggerOrderUpdated, TriggerPending, TriggerNoCustomerReply}

// Kinds of condition fields; each kind takes its own operators and values.
const (
	FieldID     = "id"     // is, is_not: a number (0: none)
	FieldEnum   = "enum"   // is, is_not: a word, compared without case
	FieldTags   = "tags"   // has, has_not: a word
	FieldText   = "text"   // contains, not_contains: text, compared without case
	FieldNumber = "number" // eq, gt, gte, lt, lte: a whole number
	FieldHours  = "hours"  // in, not_in: the id of an SLA policy whose business hours count
)

// RuleFields are the fields conditions can test, with their kinds.
var RuleFields = map[string]string{
	"ticket.inbox_id":          FieldID,
	"ticket.assignee_id":       FieldID,
	"ticket.reason":            FieldID,     // the contact reason's id (0: none)
	"ticket.reason_confidence": FieldNumber, // percent: the classifier's, 100 when set by hand
	"ticket.channel":           FieldEnum,
	"ticket.status":            FieldEnum,
	"ticket.priority":          FieldEnum,
	"ticket.tags":              FieldTags,
	"ticket.subject":           FieldText,
	"message.text":             FieldText,
	"ticket.business_hours":    FieldHours,
	"customer.identity_kinds":  FieldTags,
	"customer.email_domain":    FieldEnum,
	"customer.orders":          FieldNumber,
	"customer.lifetime_value":  FieldNumber,
	"order.status":             FieldEnum,
	"order.total":              FieldNumber,
	"order.age_hours":          FieldNumber,
	"order.carrier":            FieldEnum,
}

// RuleOps are the operators of each field kind.
var RuleOps = map[string][]string{
	FieldID:     {"is", "is_not"},
	FieldEnum:   {"is", "is_not"},
	FieldTags:   {"has", "has_not"},
	FieldText:   {"contains", "not_contains"},
	FieldNumber: {"eq", "gt", "gte", "lt", "lte"},
	FieldHours:  {"in", "not_in"},
}

// Rule action types.
const (
	ActionAssignAgent = "assign_agent" // AgentID; 0 unassigns
	ActionAssignTeam  = "assign_team"  // TeamID; 0 takes the ticket out of its team
	ActionSetStatus   = "set_status"   // Status
	ActionSetPriority = "set_priority" // Priority
	ActionAddTags     = "add_tags"     // Tags
	ActionRemoveTags  = "remove_tags"  // Tags
	ActionAddNote     = "add_note"     // Text, placeholders filled
	ActionSendCanned  = "send_canned"  // CannedID, placeholders filled
	ActionWebhook     = "send_webhook" // WebhookID: the triggering event goes to it
	ActionSnooze      = "snooze"       // Hours, and/or UntilReply
	ActionResolve     = "resolve"
)

// RuleActions lists the action types in the order the console offers them.
var RuleActions = []string{ActionAssignAgent, ActionAssignTeam, ActionSetStatus, ActionSetPriority, ActionAddTags, ActionRemoveTags,
	ActionAddNote, ActionSendCanned, ActionWebhook, ActionSnooze, ActionResolve}

// Rule is an automation rule: when its Trigger happens to a ticket whose facts meet its
// Conditions, it takes its Actions. Enabled rules run in Position order (1 first); a
// matching rule with Stop ends the run for that event.
type Rule struct {
	ID         int64          `json:"id"`
	Name       string         `json:"name"`
	Enabled    bool           `json:"enabled"`
	Position   int            `json:"position"`
	Trigger    RuleTrigger    `json:"trigger"`
	Conditions RuleConditions `json:"conditions"`
	Actions    []RuleAction   `json:"actions"`
	Stop       bool           `json:"stop"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

// RuleTrigger is what makes a rule look at a ticket. Hours is the wait of a time-based
// trigger and 0 on the others.
type RuleTrigger struct {
	Event string `json:"event"`
	Hours int    `json:"hours,omitempty"`
}

// RuleConditions hold when a rule acts: every one of All and, when Any is not empty, at
// least one of Any.
type RuleConditions struct {
	All []RuleCondition `json:"all"`
	Any []RuleCondition `json:"any"`
}

// RuleCondition tests one field: {"field":"ticket.subject","op":"contains","value":"refund"}.
// Value is a string for enum, tags and text fields and a number for the others.
type RuleCondition struct {
	Field string `json:"field"`
	Op    string `json:"op"`
	Value any    `json:"value"`
}

// RuleAction is one thing a rule does; Type says which of the other fields it uses.
type RuleAction struct {
	Type      string   `json:"type"`
	AgentID   int64    `json:"agent_id,omitempty"`
	TeamID    int64    `json:"team_id,omitempty"`
	Status    string   `json:"status,omitempty"`
	Priority  string   `json:"priority,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	Text      string   `json:"text,omitempty"`
	CannedID  int64    `json:"canned_id,omitempty"`
	WebhookID int64    `json:"webhook_id,omitempty"`
	// Hours and UntilReply snooze: for Hours, until the customer replies, or both
	// (whichever comes first).
	Hours      int  `json:"hours,omitempty"`
	UntilReply bool `json:"until_reply,omitempty"`
}

// RuleUpdate holds the changes of a rule PATCH; nil fields stay. Position moves the
// rule there (1 is first), shifting the others.
type RuleUpdate struct {
	Name       *string
	Enabled    *bool
	Position   *int
	Trigger    *RuleTrigger
	Conditions *RuleConditions
	Actions    *[]RuleAction
	Stop       *bool
}

// RuleService manages automation rules. Managers and admins (and the system) manage
// them; everyone else gets forbidden.
type RuleService interface {
	// Rules lists every rule in position order.
	Rules(ctx context.Context) ([]*Rule, error)
	// Rule returns one rule or not_found.
	Rule(ctx context.Context, id int64) (*Rule, error)
	// CreateRule stores a rule, last unless Position says where. Returns invalid,
	// forbidden or conflict (MaxRules).
	CreateRule(ctx context.Context, r *Rule) (*Rule, error)
	// UpdateRule changes a rule. Returns invalid, forbidden or not_found.
	UpdateRule(ctx context.Context, id int64, u RuleUpdate) (*Rule, error)
	// DeleteRule removes a rule. Returns forbidden or not_found.
	DeleteRule(ctx context.Context, id int64) error
}

// RuleQueue is the rules runner's side: the event log read after a cursor kept in the
// store, the marks that let a time-based rule act on a ticket once, and the deliveries
// of events to one webhook.
type RuleQueue interface {
	// RuleCursor returns the id of the last event the runner handled. Before the first
	// run it is the newest stored event: rules act on what happens from then on.
	RuleCursor(ctx context.Context) (int64, error)
	// SetRuleCursor stores the id of the last event the runner handled.
	SetRuleCursor(ctx context.Context, after int64) error
	// RuleFiredAt returns when a time-based rule last acted on a ticket, the zero time
	// when it never did.
	RuleFiredAt(ctx context.Context, ruleID, ticketID int64) (time.Time, error)
	// MarkRuleFired records that a time-based rule acted on a ticket at at.
	MarkRuleFired(ctx context.Context, ruleID, ticketID int64, at time.Time) error
	// QueueWebhookEvent queues a delivery of a stored event to one webhook, due now,
	// whatever the webhook subscribes to. Returns not_found (webhook or event).
	QueueWebhookEvent(ctx context.Context, webhookID, eventID int64) (*WebhookDelivery, error)
}

// MayManageRules returns forbidden unless ctx acts as a manager, an admin or the system.
func MayManageRules(ctx context.Context) error {
	if a := AgentFrom(ctx); (a != nil && a.SeesAllInboxes()) || (a == nil && IsSystem(ctx)) {
		return nil
	}
	return Errorf(EFORBIDDEN, "only managers and admins manage rules")
}

// CheckRule checks a rule and puts it in canonical form: the name trimmed, condition
// values as int64 or trimmed strings, tags lower-cased without repeats. Returns invalid
// with what is wrong. References to agents, canned responses, webhooks and SLA policies
// are checked by whoever can read them (the server).
func CheckRule(r *Rule) error {
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		return Errorf(EINVALID, "name is required")
	}
	if utf8.RuneCountInString(r.Name) > MaxRuleName || !utf8.ValidString(r.Name) {
		return Errorf(EINVALID, "name must be at most %d characters", MaxRuleName)
	}
	if r.Position < 0 {
		return Errorf(EINVALID, "position must be 1 or more")
	}
	if err := CheckRuleTrigger(&r.Trigger); err != nil {
		return err
	}
	if err := CheckRuleConditions(&r.Conditions); err != nil {
		return err
	}
	return CheckRuleActions(r.Actions)
}

// CheckRuleTrigger checks a trigger. Returns invalid.
func CheckRuleTrigger(t *RuleTrigger) error {
	if !slices.Contains(RuleTriggers, t.Event) {
		return Errorf(EINVALID, "trigger.event: unknown trigger %q; known: %s", CutRunes(t.Event, 50), strings.Join(RuleTriggers, ", "))
	}
	timed := t.Event == TriggerPending || t.Event == TriggerNoCustomerReply
	switch {
	case timed && (t.Hours < 1 || t.Hours > MaxRuleHours):
		return Errorf(EINVALID, "trigger.hours must be 1 to %d for %s", MaxRuleHours, t.Event)
	case !timed && t.Hours != 0:
		return Errorf(EINVALID, "trigger.hours is only for the time-based triggers")
	}
	return nil
}

// CheckRuleConditions checks conditions and makes their values canonical. Returns invalid.
func CheckRuleConditions(c *RuleConditions) error {
	if c.All == nil {
		c.All = []RuleCondition{}
	}
	if c.Any == nil {
		c.Any = []RuleCondition{}
	}
	for name, list := range map[string][]RuleCondition{"all": c.All, "any": c.Any} {
		if len(list) > MaxRuleConditions {
			return Errorf(EINVALID, "conditions.%s: at most %d conditions", name, MaxRuleConditions)
		}
		for i := range list {
			if err := checkCondition(&list[i]); err != nil {
				return Errorf(EINVALID, "conditions.%s[%d]: %s", name, i, ErrorMessage(err))
			}
		}
	}
	return nil
}

func checkCondition(c *RuleCondition) error {
	kind, ok := RuleFields[c.Field]
	if !ok {
		return Errorf(EINVALID, "unknown field %q", CutRunes(c.Field, 50))
	}
	if !slices.Contains(RuleOps[kind], c.Op) {
		return Errorf(EINVALID, "%s takes the operators %s, not %q", c.Field, strings.Join(RuleOps[kind], ", "), CutRunes(c.Op, 20))
	}
	switch kind {
	case FieldID, FieldNumber, FieldHours:
		n, ok := RuleNumber(c.Value)
		if !ok {
			return Errorf(EINVALID, "%s needs a whole number as value", c.Field)
		}
		if n < 0 || (kind == FieldHours && n == 0) {
			return Errorf(EINVALID, "%s needs a positive number as value", c.Field)
		}
		c.Value = n
	default:
		s, ok := c.Value.(string)
		if !ok {
			return Errorf(EINVALID, "%s needs text as value", c.Field)
		}
		s = strings.TrimSpace(s)
		if kind != FieldText {
			s = strings.ToLower(s)
		}
		if s == "" && kind != FieldEnum {
			return Errorf(EINVALID, "%s needs a value", c.Field)
		}
		if utf8.RuneCountInString(s) > 500 || !utf8.ValidString(s) {
			return Errorf(EINVALID, "%s: the value must be at most 500 characters", c.Field)
		}
		c.Value = s
	}
	return nil
}

// RuleNumber returns v as a whole number: v may be any Go integer, a float64 without a
// fraction (JSON's numbers) or a json.Number.
func RuleNumber(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// CheckRuleActions checks actions and makes their tags canonical. Returns invalid.
func CheckRuleActions(list []RuleAction) error {
	if len(list) == 0 {
		return Errorf(EINVALID, "actions: a rule needs at least one action")
	}
	if len(list) > MaxRuleActions {
		return Errorf(EINVALID, "actions: at most %d actions", MaxRuleActions)
	}
	for i := range list {
		if err := checkAction(&list[i]); err != nil {
			return Errorf(EINVALID, "actions[%d]: %s", i, ErrorMessage(err))
		}
	}
	return nil
}

func checkAction(a *RuleAction) error {
	bad := func(format string, args ...any) error { return Errorf(EINVALID, format, args...) }
	switch a.Type {
	case ActionAssignAgent:
		if a.AgentID < 0 {
			return bad("agent_id must be an agent's id, or 0 to unassign")
		}
	case ActionAssignTeam:
		if a.TeamID < 0 {
			return bad("team_id must be a team's id, or 0 to take the ticket out of its team")
		}
	case ActionSnooze:
		if a.Hours < 0 || a.Hours > MaxRuleHours || (a.Hours == 0 && !a.UntilReply) {
			return bad("snooze needs hours (1 to %d), until_reply, or both", MaxRuleHours)
		}
	case ActionSetStatus:
		if !slices.Contains([]string{StatusOpen, StatusPending, StatusResolved, StatusClosed}, a.Status) {
			return bad("status must be open, pending, resolved or closed")
		}
	case ActionSetPriority:
		if !slices.Contains([]string{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}, a.Priority) {
			return bad("priority must be low, normal, high or urgent")
		}
	case ActionAddTags, ActionRemoveTags:
		var tags []string
		for _, t := range a.Tags {
			t = strings.ToLower(strings.TrimSpace(t))
			if t == "" || utf8.RuneCountInString(t) > 50 || strings.ContainsAny(t, ",\x00") {
				return bad("tags must be 1 to 50 characters without commas")
			}
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		if len(tags) == 0 {
			return bad("%s needs at least one tag", a.Type)
		}
		a.Tags = tags
	case ActionAddNote:
		a.Text = strings.TrimSpace(a.Text)
		if a.Text == "" || utf8.RuneCountInString(a.Text) > MaxRuleText || !utf8.ValidString(a.Text) {
			return bad("text must be 1 to %d characters", MaxRuleText)
		}
	case ActionSendCanned:
		if a.CannedID <= 0 {
			return bad("canned_id must name a canned response")
		}
	case ActionWebhook:
		if a.WebhookID <= 0 {
			return bad("webhook_id must name a webhook")
		}
	case ActionResolve:
	default:
		return bad("unknown action %q; known: %s", CutRunes(a.Type, 50), strings.Join(RuleActions, ", "))
	}
	return nil
}

// AsRule returns a context acting as the system on behalf of automation rule id: the
// store records its changes with the actor {"kind":"rule","id":id}.
func AsRule(ctx context.Context, id int64) context.Context {
	return context.WithValue(ctx, actorKey{}, acting{system: true, rule: id})
}

// RuleFrom returns the id of the automation rule acting in ctx, 0 for anyone else.
func RuleFrom(ctx context.Context) int64 {
	v, _ := ctx.Value(actorKey{}).(acting)
	return v.rule
}
