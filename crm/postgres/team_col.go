package postgres

import "parley/crm"

// teamOf is t's team_id column: NULL without a team.
func teamOf(t *crm.Ticket) any {
	if t.TeamID == nil || *t.TeamID == 0 {
		return nil
	}
	return *t.TeamID
}
