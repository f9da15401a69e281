package crm

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of macros.
const (
	MaxMacros    = 500
	MaxMacroName = 100
	MaxMacroBody = 10000
)

// Macro is a named bundle of ticket changes plus reply text that an agent applies to one
// ticket or many. Body may hold the placeholders of canned responses. A shared macro is
// every agent's and only managers and admins change it; a personal one is its owner's
// alone.
type Macro struct {
	ID        int64        `json:"id"`
	Name      string       `json:"name"`
	Body      string       `json:"body"`
	Actions   MacroActions `json:"actions"`
	Shared    bool         `json:"shared"`
	OwnerID   int64        `json:"owner_id,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// MacroActions are the changes a macro makes to a ticket; empty fields change nothing.
// AssigneeID 0 and TeamID 0 unassign; AssignToMe assigns the agent who applies it.
type MacroActions struct {
	Status     string   `json:"status,omitempty"`
	Priority   string   `json:"priority,omitempty"`
	AssigneeID *int64   `json:"assignee_id,omitempty"`
	AssignToMe bool     `json:"assign_to_me,omitempty"`
	TeamID     *int64   `json:"team_id,omitempty"`
	AddTags    []string `json:"add_tags,omitempty"`
	RemoveTags []string `json:"remove_tags,omitempty"`
	Note       string   `json:"note,omitempty"`
}

// MacroUpdate holds the changes of a macro PATCH; nil fields stay.
type MacroUpdate struct {
	Name    *string
	Body    *string
	Actions *MacroActions
	Shared  *bool
}

// MacroResult is what applying a macro did: the ticket as it is now, and the reply it
// queued when asked to send one.
type MacroResult struct {
	Ticket *Ticket  `json:"ticket"`
	Reply  *Message `json:"reply,omitempty"`
	Note   *Message `json:"note,omitempty"`
	Body   string   `json:"body"`
	Macro  *Macro   `json:"macro"`
}

// MacroService manages and applies macros. An agent sees the shared macros and its own.
type MacroService interface {
	// Macros lists the macros the agent in ctx may use, by name.
	Macros(ctx context.Context) ([]*Macro, error)
	// Macro returns one of them. Returns not_found.
	Macro(ctx context.Context, id int64) (*Macro, error)
	// CreateMacro stores a macro owned by the agent in ctx. Returns invalid, forbidden
	// (a shared macro by an agent) or conflict (more than MaxMacros).
	CreateMacro(ctx context.Context, m *Macro) (*Macro, error)
	// UpdateMacro changes a macro. Returns invalid, forbidden or not_found.
	UpdateMacro(ctx context.Context, id int64, u MacroUpdate) (*Macro, error)
	// DeleteMacro removes a macro. Returns forbidden or not_found.
	DeleteMacro(ctx context.Context, id int64) error
	// ApplyMacro makes the macro's changes to a ticket in one transaction: the fields in
	// one ticket.updated event, the note as a note, and, when send is set and the macro
	// has reply text, the reply queued in the outbox, each by the agent in ctx. fill
	// fills in the placeholders of the reply and the note (nil leaves them). Returns
	// invalid, not_found or conflict (a closed ticket).
	ApplyMacro(ctx context.Context, ticketID, macroID int64, send bool, fill func(string) string) (*MacroResult, error)
}

// MayShareMacros returns forbidden unless a manager, an admin or the system acts in ctx.
func MayShareMacros(ctx context.Context) error {
	if SeesAll(ctx) {
		return nil
	}
	return Errorf(EFORBIDDEN, "only managers and admins make and change shared macros")
}

// Check validates a new or changed macro and normalises it. Returns invalid.
func (m *Macro) Check() error {
	m.Name = strings.TrimSpace(m.Name)
	if n := utf8.RuneCountInString(m.Name); n < 1 || n > MaxMacroName {
		return Errorf(EINVALID, "a macro's name must be 1 to %d characters", MaxMacroName)
	}
	m.Body = strings.TrimSpace(m.Body)
	if utf8.RuneCountInString(m.Body) > MaxMacroBody {
		return Errorf(EINVALID, "a macro's reply text must be at most %d characters", MaxMacroBody)
	}
	a := &m.Actions
	a.Note = strings.TrimSpace(a.Note)
	if utf8.RuneCountInString(a.Note) > MaxMacroBody {
		return Errorf(EINVALID, "a macro's note must be at most %d characters", MaxMacroBody)
	}
	switch a.Status {
	case "", StatusOpen, StatusPending, StatusResolved, StatusClosed:
	default:
		return Errorf(EINVALID, "invalid status %q", a.Status)
	}
	switch a.Priority {
	case "", PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent:
	default:
		return Errorf(EINVALID, "invalid priority %q", a.Priority)
	}
	if a.AssigneeID != nil && *a.AssigneeID < 0 || a.TeamID != nil && *a.TeamID < 0 {
		return Errorf(EINVALID, "assignee_id and team_id must be ids, or 0 to unassign")
	}
	if a.AssignToMe && a.AssigneeID != nil {
		return Errorf(EINVALID, "give assignee_id or assign_to_me, not both")
	}
	for _, tags := range []*[]string{&a.AddTags, &a.RemoveTags} {
		out := []string{}
		for _, tag := range *tags {
			tag = strings.ToLower(strings.TrimSpace(tag))
			if n := utf8.RuneCountInString(tag); n < 1 || n > 50 {
				return Errorf(EINVALID, "tags must be 1 to 50 characters")
			}
			out = append(out, tag)
		}
		if len(out) > 20 {
			return Errorf(EINVALID, "a macro adds or removes at most 20 tags")
		}
		if len(out) == 0 {
			out = nil
		}
		*tags = out
	}
	if m.Body == "" && a.empty() {
		return Errorf(EINVALID, "a macro needs reply text or an action")
	}
	return nil
}

func (a *MacroActions) empty() bool {
	return a.Status == "" && a.Priority == "" && a.AssigneeID == nil && !a.AssignToMe && a.TeamID == nil &&
		len(a.AddTags) == 0 && len(a.RemoveTags) == 0 && a.Note == ""
}

// Placeholders are the values of the placeholders of canned responses and macros.
type Placeholders struct {
	CustomerName string
	TicketID     int64
	AgentName    string
	OrderNumber  string // of the customer's latest order
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([a-z_.]+)\s*\}\}`)

// Fill replaces {{customer.name}}, {{customer.first_name}}, {{ticket.id}},
// {{agent.name}} and {{order.number}} in text, as the console's canned.js does; a
// placeholder without a value stays as written.
func (p Placeholders) Fill(text string) string {
	return placeholderRE.ReplaceAllStringFunc(text, func(all string) string {
		key := placeholderRE.FindStringSubmatch(all)[1]
		v := ""
		switch key {
		case "customer.name":
			v = strings.TrimSpace(p.CustomerName)
		case "customer.first_name":
			if f := strings.Fields(p.CustomerName); len(f) > 0 {
				v = f[0]
			}
		case "ticket.id":
			if p.TicketID != 0 {
				v = strconv.FormatInt(p.TicketID, 10)
			}
		case "agent.name":
			v = p.AgentName
		case "order.number":
			v = p.OrderNumber
		}
		if v == "" {
			return all
		}
		return v
	})
}
