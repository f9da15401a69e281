package sqlite

// The SQLite that mattn/go-sqlite3 bundles re-prepares a statement whenever a value is
// bound to a parameter that its query plan looked at: a LIMIT ?, an ORDER BY next to a
// ? the planner compared with a partial index. Hot statements of the store (the look-up
// of every inbound message, ticket and message lists) were parsed and planned again on
// every run, about as costly as running them. The query planner stability guarantee
// (SQLITE_DBCONFIG_ENABLE_QPSG) makes a plan independent of bound values, so a prepared
// statement is prepared once. mattn/go-sqlite3 does not expose sqlite3_db_config; an
// automatic extension, which SQLite runs on every connection it opens, sets it.

/*
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_api_routines sqlite3_api_routines;
int sqlite3_db_config(sqlite3*, int op, ...);
int sqlite3_auto_extension(void (*entry)(void));

enum { parley_dbconfig_enable_qpsg = 1007 }; // SQLITE_DBCONFIG_ENABLE_QPSG

char *sqlite3_mprintf(const char *, ...);

// parley_qpsg sets the guarantee on a new connection and reads it back: a connection
// without it fails to open rather than run slowly.
static int parley_qpsg(sqlite3 *db, char **err, const sqlite3_api_routines *api) {
	int on = 0;
	if (sqlite3_db_config(db, parley_dbconfig_enable_qpsg, 1, &on) != 0 || on != 1) {
		*err = sqlite3_mprintf("cannot enable the query planner stability guarantee");
		return 1; // SQLITE_ERROR
	}
	return 0;
}

static int parley_register_qpsg(void) {
	return sqlite3_auto_extension((void (*)(void))parley_qpsg);
}
*/
import "C"

import "fmt"

func init() {
	if rc := C.parley_register_qpsg(); rc != 0 {
		panic(fmt.Sprintf("sqlite: register the query planner setting: error %d", int(rc)))
	}
}
