package postgres_test

import (
	"testing"

	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
)

// TestStore runs the stores' shared suite on a fresh PostgreSQL schema per case.
func TestStore(t *testing.T) {
	storetest.Run(t, func(tb testing.TB, o storetest.Options) *storetest.Env {
		clock := storetest.NewClock()
		env := teststore.OpenPostgres(tb, teststore.Options{Now: clock.Now, ReopenWindow: o.ReopenWindow})
		env.Clock = clock
		return env
	})
}
