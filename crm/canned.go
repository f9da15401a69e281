package crm

import (
	"context"
	"time"
)

// Limits of canned responses.
const (
	MaxCannedTitle = 100
	MaxCannedBody  = 10000
	MaxCanned      = 500
)

// CannedResponse is a reply template. Its body may hold placeholders such as
// {{customer.first_name}} or {{order.number}} that the console fills in when an agent
// inserts it; the store keeps the body as written.
type CannedResponse struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	CreatedBy int64     `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CannedUpdate holds the changes of a canned response PATCH; nil fields stay.
type CannedUpdate struct {
	Title *string
	Body  *string
}

// CannedService manages canned responses. Every agent reads them; only managers and
// admins (or the system) change them.
type CannedService interface {
	// CannedResponses lists every canned response by title.
	CannedResponses(ctx context.Context) ([]*CannedResponse, error)
	// CreateCanned stores a new canned response. Returns invalid, forbidden or conflict
	// (more than MaxCanned responses).
	CreateCanned(ctx context.Context, c *CannedResponse) (*CannedResponse, error)
	// UpdateCanned changes a canned response. Returns invalid, forbidden or not_found.
	UpdateCanned(ctx context.Context, id int64, u CannedUpdate) (*CannedResponse, error)
	// DeleteCanned removes a canned response. Returns forbidden or not_found.
	DeleteCanned(ctx context.Context, id int64) error
}
