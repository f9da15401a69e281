package postgres

import (
	"context"

	"parley/crm"
)

const settingWorkflow = "workflow"

func workflowSettings(ctx context.Context, q queryer) (*crm.WorkflowSettings, error) {
	s := crm.DefaultWorkflowSettings()
	if _, err := getSetting(ctx, q, settingWorkflow, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// WorkflowSettings returns how tickets move between agents; by default a reply to an
// unassigned ticket assigns it to the replier.
func (db *DB) WorkflowSettings(ctx context.Context) (*crm.WorkflowSettings, error) {
	return workflowSettings(ctx, db.rdb())
}

// SetWorkflowSettings saves the workflow settings. Returns invalid without settings.
func (db *DB) SetWorkflowSettings(ctx context.Context, s *crm.WorkflowSettings) error {
	if s == nil {
		return crm.Errorf(crm.EINVALID, "settings required")
	}
	return db.update(ctx, func(tx *Tx) error { return tx.putSetting(ctx, settingWorkflow, s) })
}
