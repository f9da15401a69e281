package sqlite

import (
	"context"
	"fmt"
	"slices"

	"parley/crm"
)

var _ crm.TeamService = (*DB)(nil)

// queryTeams runs a query selecting id, name, assignment, created_at, updated_at of
// teams and loads their members.
func queryTeams(ctx context.Context, q queryer, query string, args ...any) ([]*crm.Team, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query teams: %w", err)
	}
	defer rows.Close()
	list := []*crm.Team{}
	byID := map[int64]*crm.Team{}
	for rows.Next() {
		var t crm.Team
		var created, updated int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Assignment, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan team: %w", err)
		}
		t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
		t.AgentIDs = []int64{}
		list = append(list, &t)
		byID[t.ID] = &t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query teams: %w", err)
	}
	rows.Close()
	if len(list) == 0 {
		return list, nil
	}
	mrows, err := q.QueryContext(ctx, `SELECT team_id, agent_id FROM team_members ORDER BY agent_id`)
	if err != nil {
		return nil, fmt.Errorf("query team members: %w", err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var team, agent int64
		if err := mrows.Scan(&team, &agent); err != nil {
			return nil, fmt.Errorf("scan team member: %w", err)
		}
		if t := byID[team]; t != nil {
			t.AgentIDs = append(t.AgentIDs, agent)
		}
	}
	return list, mrows.Err()
}

const teamCols = `id, name, assignment, created_at, updated_at`

// Teams lists the teams by name. Every agent may read them.
func (db *DB) Teams(ctx context.Context) ([]*crm.Team, error) {
	return queryTeams(ctx, db.rdb, `SELECT `+teamCols+` FROM teams ORDER BY name, id`)
}

// Team returns one team. Returns not_found.
func (db *DB) Team(ctx context.Context, id int64) (*crm.Team, error) {
	return findTeam(ctx, db.rdb, id)
}

func findTeam(ctx context.Context, q queryer, id int64) (*crm.Team, error) {
	list, err := queryTeams(ctx, q, `SELECT `+teamCols+` FROM teams WHERE id = ?`, id)
	if err != nil {
		return nil, err
	} else if len(list) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "team %d not found", id)
	}
	return list[0], nil
}

// checkTeamMembers returns invalid unless every id is an agent.
func checkTeamMembers(ctx context.Context, q queryer, ids []int64) error {
	for _, id := range ids {
		if _, err := findAgent(ctx, q, id); crm.ErrorCode(err) == crm.ENOTFOUND {
			return crm.Errorf(crm.EINVALID, "agent %d not found", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// teamNameTaken returns conflict when another team than id has the name.
func teamNameTaken(ctx context.Context, q queryer, name string, id int64) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM teams WHERE lower(name) = lower(?) AND id <> ?`, name, id).Scan(&n); err != nil {
		return fmt.Errorf("find team name: %w", err)
	} else if n > 0 {
		return crm.Errorf(crm.ECONFLICT, "there is already a team named %q", name)
	}
	return nil
}

func (tx *Tx) setTeamMembers(ctx context.Context, id int64, agents []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE team_id = ?`, id); err != nil {
		return fmt.Errorf("delete team members: %w", err)
	}
	for _, a := range agents {
		if _, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, agent_id) VALUES (?, ?)`, id, a); err != nil {
			return fmt.Errorf("insert team member: %w", err)
		}
	}
	return nil
}

// CreateTeam stores a team. Returns invalid, forbidden or conflict.
func (db *DB) CreateTeam(ctx context.Context, in *crm.Team) (*crm.Team, error) {
	if err := crm.MayManageTeams(ctx); err != nil {
		return nil, err
	}
	if in == nil {
		return nil, crm.Errorf(crm.EINVALID, "team required")
	}
	name, err := crm.CheckTeamName(in.Name)
	if err != nil {
		return nil, err
	}
	mode, err := crm.CheckAssignMode(in.Assignment)
	if err != nil {
		return nil, err
	}
	agents := crm.SortedIDs(in.AgentIDs)
	var out *crm.Team
	err = db.update(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM teams`).Scan(&n); err != nil {
			return fmt.Errorf("count teams: %w", err)
		} else if n >= crm.MaxTeams {
			return crm.Errorf(crm.ECONFLICT, "there are already %d teams", n)
		}
		if err := teamNameTaken(ctx, tx, name, 0); err != nil {
			return err
		}
		if err := checkTeamMembers(ctx, tx, agents); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO teams (name, assignment, created_at, updated_at)
			VALUES (?, ?, ?, ?) RETURNING id`, name, mode, ms(tx.now), ms(tx.now)).Scan(&id); err != nil {
			return fmt.Errorf("insert team: %w", err)
		}
		if err := tx.setTeamMembers(ctx, id, agents); err != nil {
			return err
		}
		out, err = findTeam(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateTeam changes a team. Returns invalid, forbidden, not_found or conflict.
func (db *DB) UpdateTeam(ctx context.Context, id int64, u crm.TeamUpdate) (*crm.Team, error) {
	if err := crm.MayManageTeams(ctx); err != nil {
		return nil, err
	}
	var name, mode string
	var err error
	if u.Name != nil {
		if name, err = crm.CheckTeamName(*u.Name); err != nil {
			return nil, err
		}
	}
	if u.Assignment != nil {
		if mode, err = crm.CheckAssignMode(*u.Assignment); err != nil {
			return nil, err
		}
	}
	var out *crm.Team
	err = db.update(ctx, func(tx *Tx) error {
		t, err := findTeam(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.Name != nil {
			if err := teamNameTaken(ctx, tx, name, id); err != nil {
				return err
			}
			t.Name = name
		}
		if u.Assignment != nil {
			t.Assignment = mode
		}
		if u.AgentIDs != nil {
			agents := crm.SortedIDs(*u.AgentIDs)
			if err := checkTeamMembers(ctx, tx, agents); err != nil {
				return err
			}
			if !slices.Equal(agents, t.AgentIDs) {
				if err := tx.setTeamMembers(ctx, id, agents); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE teams SET name = ?, assignment = ?, updated_at = ? WHERE id = ?`,
			t.Name, t.Assignment, ms(tx.now), id); err != nil {
			return fmt.Errorf("update team: %w", err)
		}
		out, err = findTeam(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteTeam removes a team; its tickets lose their team (without an event each: the
// team is gone for every reader at once). Returns forbidden or not_found.
func (db *DB) DeleteTeam(ctx context.Context, id int64) error {
	if err := crm.MayManageTeams(ctx); err != nil {
		return err
	}
	return db.update(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET team_id = NULL WHERE team_id = ?`, id); err != nil {
			return fmt.Errorf("clear team of tickets: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM teams WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete team: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return crm.Errorf(crm.ENOTFOUND, "team %d not found", id)
		}
		return nil
	})
}

// setTeam sets t's team in memory: 0 takes it out of its team. It reports whether that
// changed anything. Returns invalid for a team that does not exist.
func (tx *Tx) setTeam(ctx context.Context, t *crm.Ticket, teamID int64) (bool, error) {
	if teamID == 0 {
		if t.TeamID == nil {
			return false, nil
		}
		t.TeamID = nil
		return true, nil
	}
	if t.TeamID != nil && *t.TeamID == teamID {
		return false, nil
	}
	if _, err := findTeam(ctx, tx, teamID); crm.ErrorCode(err) == crm.ENOTFOUND {
		return false, crm.Errorf(crm.EINVALID, "team %d not found", teamID)
	} else if err != nil {
		return false, err
	}
	t.TeamID = &teamID
	return true, nil
}
