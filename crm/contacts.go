package crm

import (
	"context"
	"strings"
	"time"
)

// Contact list orders (ContactFilter.Sort).
const (
	ContactsNewest        = "newest"
	ContactsName          = "name"
	ContactsLastContacted = "last_contacted"
)

// ContactFilter selects the console's contacts page: customers matching Query by name
// or identity, in Sort order (ContactsNewest when empty), a page at a time.
type ContactFilter struct {
	Query string
	Sort  string
	Page  Page
}

// Contact is a customer as the contacts page lists it: with how many of its tickets the
// agent sees and when the newest of them last had a message (nil for none).
type Contact struct {
	Customer
	TicketCount   int        `json:"ticket_count"`
	LastContactAt *time.Time `json:"last_contact_at"`
}

// IdentityProof is an email address a chat visitor proved it owns by looking up one of
// its orders by number plus that email in the widget's Track my order. OwnerID is the
// customer who has the email identity now (0 for none), for the agent to link the
// visitor to; Linked says the visitor's customer has it already.
type IdentityProof struct {
	ID          int64     `json:"id"`
	Email       string    `json:"email"`
	OrderNumber string    `json:"order_number"`
	OwnerID     int64     `json:"owner_id"`
	OwnerName   string    `json:"owner_name"`
	Linked      bool      `json:"linked"`
	CreatedAt   time.Time `json:"created_at"`
}

// CustomerMerge is one merge into a customer as its page lists it: who merged which
// customer when, what moved, and whether it can still be undone (it is the latest merge
// of From, and From was not unmerged since).
type CustomerMerge struct {
	EventID    int64      `json:"merge_event_id"`
	From       int64      `json:"from"`
	FromName   string     `json:"from_name"`
	Into       int64      `json:"into"`
	Identities []Identity `json:"identities"`
	TicketIDs  []int64    `json:"ticket_ids"`
	Actor      Actor      `json:"actor"`
	At         time.Time  `json:"at"`
	Undoable   bool       `json:"undoable"`
}

// ContactService is the customers' side of the console: the contacts page, ticket
// split, and the email addresses chat visitors proved.
type ContactService interface {
	// Contacts lists the customers the agent in ctx may see with their ticket counts.
	// Returns invalid (a bad sort or cursor).
	Contacts(ctx context.Context, f ContactFilter) ([]*Contact, string, error)
	// SplitTicket moves messageIDs of ticket from to a new ticket of the same customer
	// and inbox, named subject (from's subject when empty), and leaves a note in both
	// threads saying where the messages went. It returns the new ticket. Returns invalid
	// (no messages, every message, a message of another ticket), not_found or conflict
	// (a closed or merged ticket).
	SplitTicket(ctx context.Context, from int64, messageIDs []int64, subject string) (*Ticket, error)
	// RecordProof remembers that chat visitor visitorID proved email with order number.
	// It runs as the system (the widget's lookup is the proof).
	RecordProof(ctx context.Context, visitorID, email, orderNumber string) error
	// IdentityProofs lists the emails the chat visitors of a customer proved, newest
	// first. Returns not_found.
	IdentityProofs(ctx context.Context, customerID int64) ([]*IdentityProof, error)
	// LinkProof links customer customerID to the email of proof proofID: it merges the
	// customer into the email's owner, or adds the email, verified, when nobody has it.
	// It returns the customer that has the email afterwards. Returns not_found, forbidden
	// (the merge would move tickets the agent may not see) or conflict (linked already).
	LinkProof(ctx context.Context, customerID, proofID int64) (*Customer, error)
	// CustomerMerges lists the latest merges into a customer, newest first. Returns
	// not_found.
	CustomerMerges(ctx context.Context, customerID int64) ([]*CustomerMerge, error)
}

// VisitorName is the name a customer known only by chat gets until it gives one: the
// email the visitor typed, else "Visitor on <page>" with the page's host and path, else
// "Chat visitor".
func VisitorName(email, pageURL string) string {
	if email != "" {
		return email
	}
	u := pageURL
	for _, p := range []string{"https://", "http://"} {
		u = strings.TrimPrefix(u, p)
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	u = strings.TrimSuffix(strings.TrimPrefix(u, "www."), "/")
	if u == "" {
		return "Chat visitor"
	}
	return CutRunes("Visitor on "+u, 200)
}

// BetterName reports whether name should replace a customer's name old: a name a person
// gave replaces one made up by VisitorName, and a visitor's email replaces "Visitor on
// <page>"; nothing replaces a name a person gave.
func BetterName(name, old string) bool {
	return nameRank(name) > nameRank(old)
}

func nameRank(name string) int {
	switch {
	case name == "":
		return 0
	case name == "Chat visitor" || strings.HasPrefix(name, "Visitor on "):
		return 1
	case strings.Contains(name, "@") && !strings.ContainsAny(name, " \t"):
		return 2
	}
	return 3
}
