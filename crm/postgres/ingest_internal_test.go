package postgres

import (
	"errors"
	"fmt"
	"testing"

	"parley/crm"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestRaced checks which unique violations become a retryable unavailable: those that
// only another node's concurrent insert can cause.
func TestRaced(t *testing.T) {
	unique := func(constraint string) error {
		return fmt.Errorf("insert: %w", &pgconn.PgError{Code: "23505", ConstraintName: constraint})
	}
	tests := []struct {
		err  error
		want string
	}{
		{unique("messages_inbox_id_external_id_key"), crm.EUNAVAILABLE},
		{unique("identities_kind_address_key"), crm.EUNAVAILABLE},
		{unique("agents_email_key"), crm.EINTERNAL},
		{errors.New("other"), crm.EINTERNAL},
		{crm.Errorf(crm.ENOTFOUND, "inbox 1 not found"), crm.ENOTFOUND},
		{nil, ""},
	}
	for _, tt := range tests {
		err := raced(tt.err)
		if got := crm.ErrorCode(err); got != tt.want {
			t.Errorf("raced(%v) code = %q, want %q", tt.err, got, tt.want)
		}
		if tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("raced(%v) lost the cause: %v", tt.err, err)
		}
	}
}
