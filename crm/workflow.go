package crm

import "context"

// WorkflowSettings are the shop's rules for how tickets move between agents.
type WorkflowSettings struct {
	// AssignOnReply assigns an unassigned ticket to the agent who sends its first
	// reply (not a note): the ticket is theirs from then on. On by default.
	AssignOnReply bool `json:"assign_on_reply"`
}

// DefaultWorkflowSettings are the settings of a shop that never changed them.
func DefaultWorkflowSettings() WorkflowSettings { return WorkflowSettings{AssignOnReply: true} }

// WorkflowService keeps the workflow settings.
type WorkflowService interface {
	WorkflowSettings(ctx context.Context) (*WorkflowSettings, error)
	// SetWorkflowSettings saves the settings.
	SetWorkflowSettings(ctx context.Context, s *WorkflowSettings) error
}
