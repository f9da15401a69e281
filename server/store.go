package server

import (
	"context"

	"parley/crm"
	"parley/orders"
	"parley/reports"
)

// Store is what the HTTP API needs of the store: every service an agent reaches through
// it, and what the hub, the orders engine and the reports read. *sqlite.DB serves it,
// as cmd/parley checks at compile time.
type Store interface {
	crm.TicketService
	crm.CustomerService
	crm.ContactService
	crm.OrderService
	crm.OrderActionService
	crm.InboxService
	crm.AgentService
	crm.AccountService
	crm.SearchService
	crm.CannedService
	crm.SLAService
	crm.CSATService
	crm.WorkflowService
	crm.ReportService
	crm.AuditService
	crm.WebhookService
	crm.TeamService
	crm.MacroService
	crm.AssignmentService
	crm.RuleService
	crm.ViewService
	crm.NotificationService
	crm.ReasonService
	hubStore
	orders.Store
	reports.BreakdownStore
	readVersions
	// Ping answers while the database does, for /healthz.
	Ping(ctx context.Context) error
}
