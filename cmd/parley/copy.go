package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"parley/crm"
	"parley/crm/postgres"
	"parley/migrations"

	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver, read-only here
)

// copyCmd runs `parley copy --from DIR --to URL`: it moves the shop whose SQLite database
// is in DIR into the empty PostgreSQL database at URL. Progress goes to stderr (a bar on
// a terminal), the outcome to stdout.
func copyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("copy", flag.ContinueOnError)
	var from, to string
	def := env("PARLEY_DATA", "./data")
	fs.StringVar(&from, "from", def, "data directory of the SQLite shop to copy (env PARLEY_DATA)")
	fs.StringVar(&from, "data", def, "the same as --from")
	fs.StringVar(&to, "to", env("PARLEY_DATABASE_URL", ""), "the empty PostgreSQL database to fill, postgres://... (env PARLEY_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || to == "" {
		return errors.New("usage: parley copy --from DIR --to postgres://user@host/db")
	}
	dbURL, shown, _, err := databaseURL(to)
	if err != nil {
		return err
	}
	res, err := copyStore(ctx, from, dbURL, newProgress(stderr, isTerminal(stderr)))
	if err != nil {
		return fmt.Errorf("copy to %s: %w", shown, err)
	}
	fmt.Fprintf(stdout, "copied %d rows in %d tables from %s to %s in %s\n",
		res.rows, len(res.tables), res.source, shown, res.took.Round(time.Millisecond))
	fmt.Fprintln(stdout, "checked: every table has as many rows in PostgreSQL as in SQLite")
	fmt.Fprintf(stdout, "the attachments' files (%d attachments) and the secret key stay in %s: run Parley with --data %s --database URL\n",
		res.attachments, from, from)
	return nil
}

// copyResult is what copyStore did.
type copyResult struct {
	source      string // the SQLite file
	tables      []copyTable
	rows        int64
	attachments int64 // rows of the attachments table: their files stay in the data dir
	took        time.Duration
}

// copyTable is a table as copyStore moves it.
type copyTable struct {
	name  string
	cols  []string // the columns filled from SQLite, in order: every one but search
	types []string // their PostgreSQL types
	// search is the SQLite expression of the text the table's search column indexes, ""
	// for a table without one. The column is rebuilt with the store's rule (see
	// postgres.SearchText), not taken from SQLite's full-text tables.
	search string
	// selfRefs are the columns that refer to the table's own rows (a merged customer or
	// ticket): NULL while the rows go in, set once every row is there, since a row may
	// refer to one copied after it.
	selfRefs []string
	identity string // the identity column, whose sequence must continue after the copied ids
	rows     int64  // in SQLite
}

// searchSources are the SQLite expressions of the text each table's search column
// indexes: what the PostgreSQL store passes to searchText for that row.
var searchSources = map[string]string{
	"tickets":      `"subject"`,
	"reason_texts": `"text"`,
	"messages":     `"text"`,
	"customers": `"name" || ' ' || coalesce((SELECT group_concat(i.address, ' ' ORDER BY i.id)
		FROM identities i WHERE i.customer_id = customers.id), '')`,
}

// noCopy are the tables each store keeps for itself: the migrations it applied, on
// SQLite the messages its search index has yet to take in (PostgreSQL builds its search
// columns from the copied text), and on PostgreSQL where event ids come from (set after
// the copy) and the cluster's own tables (leases, attachments kept in the database, the
// cluster's id and key check).
var noCopy = map[string]bool{"schema_migrations": true, "search_backlog": true, "event_ids": true, "leases": true,
	"blobs": true, "cluster": true, "rate_buckets": true}

// Batches of one COPY: bounded in rows and, for long messages, in bytes.
const (
	copyBatchRows  = 5000
	copyBatchBytes = 16 << 20
)

// copyStore copies every table of the SQLite database in dir into the PostgreSQL
// database at dbURL, which it migrates first and which must be empty, in one
// transaction: ids are kept, search columns rebuilt, sealed secrets copied as they are
// (the key file stays in dir). It then sets the id sequences and the events' id counter
// past the copied ids and checks that every table has as many rows as in SQLite before it
// commits; on any error nothing is committed.
func copyStore(ctx context.Context, dir, dbURL string, prog *progress) (*copyResult, error) {
	start := time.Now()
	path := filepath.Join(dir, "parley.db")
	src, err := openSource(ctx, path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	// One read transaction: the copy is of one moment, even if Parley still writes.
	stx, err := src.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer stx.Rollback()
	if err := checkSourceMigrations(ctx, stx, path); err != nil {
		return nil, err
	}

	// Opening the store applies its migrations. It seals nothing here: any key will do,
	// and the first serve records the shop's.
	key := make([]byte, 32)
	rand.Read(key)
	target, err := postgres.Open(ctx, dbURL, postgres.Options{DataDir: dir, SecretKey: key, SkipKeyCheck: true})
	if err != nil {
		return nil, err
	}
	target.Close()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.Background())

	tables, err := targetTables(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := matchSource(ctx, stx, tables); err != nil {
		return nil, err
	}
	var full []string
	for _, t := range tables {
		if t.name == "reasons" {
			continue
		}
		var has bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgName(t.name)+`)`).Scan(&has); err != nil {
			return nil, fmt.Errorf("look into %s: %w", t.name, err)
		}
		if has {
			full = append(full, t.name)
		}
	}
	if len(full) > 0 {
		return nil, fmt.Errorf("the database is not empty (rows in %s): parley copy fills a new, empty database only; create one (docs/operations.md, \"Moving from SQLite\") and copy into it",
			strings.Join(full, ", "))
	}
	if _, err := tx.Exec(ctx, `DELETE FROM reasons`); err != nil {
		return nil, fmt.Errorf("clear the default reasons: %w", err)
	}
	res := &copyResult{source: path, tables: tables}
	for i := range tables {
		t := &tables[i]
		if err := stx.QueryRowContext(ctx, `SELECT count(*) FROM `+sqliteName(t.name)).Scan(&t.rows); err != nil {
			return nil, fmt.Errorf("count %s: %w", t.name, err)
		}
		res.rows += t.rows
		if t.name == "attachments" {
			res.attachments = t.rows
		}
	}
	for i := range tables {
		if err := copyRows(ctx, stx, tx, &tables[i], prog); err != nil {
			return nil, fmt.Errorf("copy %s: %w", tables[i].name, err)
		}
	}
	for _, t := range tables {
		if t.identity == "" {
			continue
		}
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence(format('%I.%I', current_schema(), $1::text), $2),
			coalesce((SELECT max(`+pgName(t.identity)+`) FROM `+pgName(t.name)+`), 0) + 1, false)`,
			t.name, t.identity); err != nil {
			return nil, fmt.Errorf("continue the ids of %s: %w", t.name, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE event_ids SET last = greatest(last, (SELECT coalesce(max(id), 0) FROM events))`); err != nil {
		return nil, fmt.Errorf("continue the event ids: %w", err)
	}
	var wrong []string
	for _, t := range tables {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgName(t.name)).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t.name, err)
		}
		if n != t.rows {
			wrong = append(wrong, fmt.Sprintf("%s has %d rows, SQLite %d", t.name, n, t.rows))
		}
	}
	if len(wrong) > 0 {
		return nil, fmt.Errorf("the counts differ, nothing was committed: %s", strings.Join(wrong, "; "))
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	res.took = time.Since(start)
	return res, nil
}

// openSource opens the SQLite database at path read-only, on one connection.
func openSource(ctx context.Context, path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("no SQLite database to copy: %w", err)
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: "mode=ro&_busy_timeout=10000"}
	db, err := sql.Open("sqlite3", u.String())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// checkSourceMigrations refuses a database that has not every migration of this
// Parley, or has one it does not know: its tables would not be the ones it copies.
func checkSourceMigrations(ctx context.Context, stx *sql.Tx, path string) error {
	names, err := fs.Glob(migrations.SQLite, "*.sql")
	if err != nil {
		return err
	}
	var shipped []string
	for _, n := range names {
		shipped = append(shipped, strings.TrimSuffix(n, ".sql"))
	}
	sort.Strings(shipped)
	rows, err := stx.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return fmt.Errorf("%s is not a Parley database: %w", path, err)
	}
	defer rows.Close()
	var applied []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return err
		}
		applied = append(applied, v)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, v := range applied {
		if !slices.Contains(shipped, v) {
			return fmt.Errorf("%s was migrated by a newer Parley (migration %s): copy it with that Parley", path, v)
		}
	}
	if len(applied) < len(shipped) {
		return fmt.Errorf("%s lacks migrations of this Parley (it has %d of %d): run parley migrate --data %s first",
			path, len(applied), len(shipped), filepath.Dir(path))
	}
	return nil
}

// targetTables reads the tables of the migrated PostgreSQL schema, their columns and
// foreign keys, in an order where every table comes after those it refers to.
func targetTables(ctx context.Context, tx pgx.Tx) ([]copyTable, error) {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name, data_type, is_identity = 'YES'
		FROM information_schema.columns c
		WHERE table_schema = current_schema() AND EXISTS (SELECT 1 FROM information_schema.tables t
			WHERE t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE')
		ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("read the tables: %w", err)
	}
	byName := map[string]*copyTable{}
	var names []string
	for rows.Next() {
		var table, col, typ string
		var identity bool
		if err := rows.Scan(&table, &col, &typ, &identity); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the tables: %w", err)
		}
		if noCopy[table] {
			continue
		}
		t := byName[table]
		if t == nil {
			t = &copyTable{name: table}
			byName[table] = t
			names = append(names, table)
		}
		if typ == "tsvector" {
			if t.search = searchSources[table]; t.search == "" || col != "search" {
				rows.Close()
				return nil, fmt.Errorf("no rule for the search column %s.%s", table, col)
			}
			continue
		}
		if identity {
			t.identity = col
		}
		t.cols, t.types = append(t.cols, col), append(t.types, typ)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the tables: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT c.relname, f.relname, a.attname
		FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid
		JOIN pg_class f ON f.oid = k.confrelid
		JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
		WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, fmt.Errorf("read the foreign keys: %w", err)
	}
	refs := map[string][]string{}
	for rows.Next() {
		var table, ref, col string
		if err := rows.Scan(&table, &ref, &col); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the foreign keys: %w", err)
		}
		if table == ref {
			byName[table].selfRefs = append(byName[table].selfRefs, col)
		} else {
			refs[table] = append(refs[table], ref)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the foreign keys: %w", err)
	}
	for _, t := range byName {
		if len(t.selfRefs) > 0 && (len(t.cols) == 0 || t.cols[0] != "id") {
			return nil, fmt.Errorf("table %s refers to itself but has no id column first", t.name)
		}
	}
	// Each round takes, in name order, the tables whose references are all placed.
	var order []copyTable
	placed := map[string]bool{}
	for len(order) < len(names) {
		n := len(order)
		for _, name := range names {
			if placed[name] {
				continue
			}
			ready := true
			for _, r := range refs[name] {
				ready = ready && (placed[r] || byName[r] == nil)
			}
			if ready {
				order = append(order, *byName[name])
				placed[name] = true
			}
		}
		if len(order) == n {
			return nil, errors.New("the tables' foreign keys form a cycle")
		}
	}
	return order, nil
}

// matchSource checks that SQLite has the same tables as PostgreSQL, full-text tables
// aside, with the same columns, so that nothing is left behind.
func matchSource(ctx context.Context, stx *sql.Tx, tables []copyTable) error {
	rows, err := stx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return fmt.Errorf("read the SQLite tables: %w", err)
	}
	var names, virtual []string
	for rows.Next() {
		var name string
		var def sql.NullString
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return err
		}
		names = append(names, name)
		if strings.HasPrefix(strings.ToUpper(def.String), "CREATE VIRTUAL TABLE") {
			virtual = append(virtual, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	want := map[string]*copyTable{}
	for i := range tables {
		want[tables[i].name] = &tables[i]
	}
	for _, name := range names {
		// A virtual table (FTS5) and its shadow tables are SQLite's search index, which
		// PostgreSQL keeps in the search columns.
		if noCopy[name] || slices.ContainsFunc(virtual, func(v string) bool { return name == v || strings.HasPrefix(name, v+"_") }) {
			continue
		}
		if want[name] == nil {
			return fmt.Errorf("SQLite has a table %s that the PostgreSQL schema lacks: this Parley cannot copy it", name)
		}
	}
	for _, t := range tables {
		if !slices.Contains(names, t.name) {
			return fmt.Errorf("SQLite lacks the table %s", t.name)
		}
		have, err := queryColumn(ctx, stx, `SELECT name FROM pragma_table_info(?)`, t.name)
		if err != nil {
			return fmt.Errorf("read the columns of %s: %w", t.name, err)
		}
		for _, c := range t.cols {
			if !slices.Contains(have, c) {
				return fmt.Errorf("SQLite lacks the column %s.%s", t.name, c)
			}
		}
		for _, c := range have {
			if !slices.Contains(t.cols, c) {
				return fmt.Errorf("SQLite has a column %s.%s that the PostgreSQL schema lacks: this Parley cannot copy it", t.name, c)
			}
		}
	}
	return nil
}

func queryColumn(ctx context.Context, stx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := stx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// copyRows copies the rows of t in batches of one COPY each. A table with a search
// column goes through a temporary table of the same columns and the search text, from
// which one INSERT per batch computes the column.
func copyRows(ctx context.Context, stx *sql.Tx, tx pgx.Tx, t *copyTable, prog *progress) error {
	prog.begin(t.name, t.rows)
	into := t.name
	cols := t.cols
	if t.search != "" {
		into = "parley_copy_" + t.name
		var quoted []string
		for _, c := range t.cols {
			quoted = append(quoted, pgName(c))
		}
		if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE `+pgName(into)+` ON COMMIT DROP AS SELECT `+
			strings.Join(quoted, ", ")+`, ''::text AS search_text FROM `+pgName(t.name)+` WITH NO DATA`); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		cols = append(slices.Clip(t.cols), "search_text")
	}
	var sel []string
	for _, c := range t.cols {
		sel = append(sel, sqliteName(c))
	}
	if t.search != "" {
		sel = append(sel, t.search)
	}
	rows, err := stx.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+sqliteName(t.name))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	defer rows.Close()
	var refs [][]any // id, then each self-referring column
	batch := make([][]any, 0, copyBatchRows)
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{into}, cols, pgx.CopyFromRows(batch)); err != nil {
			return err
		}
		if t.search != "" {
			var quoted []string
			for _, c := range t.cols {
				quoted = append(quoted, pgName(c))
			}
			list := strings.Join(quoted, ", ")
			if _, err := tx.Exec(ctx, `INSERT INTO `+pgName(t.name)+` (`+list+`, search) SELECT `+list+
				`, to_tsvector('parley', search_text) FROM `+pgName(into)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `TRUNCATE `+pgName(into)); err != nil {
				return err
			}
		}
		prog.add(int64(len(batch)))
		batch, size = batch[:0], 0
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(sel))
		ptrs := make([]any, len(sel))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		for i, typ := range t.types {
			v, n, err := pgValue(vals[i], typ)
			if err != nil {
				return fmt.Errorf("column %s of the row %v: %w", t.cols[i], vals[0], err)
			}
			vals[i], size = v, size+n
		}
		if t.search != "" {
			s, _ := vals[len(vals)-1].(string)
			vals[len(vals)-1] = postgres.SearchText(s)
			size += len(s)
		}
		if len(t.selfRefs) > 0 {
			ref := []any{vals[0]}
			set := false
			for _, c := range t.selfRefs {
				i := slices.Index(t.cols, c)
				ref = append(ref, vals[i])
				set = set || vals[i] != nil
				vals[i] = nil
			}
			if set {
				refs = append(refs, ref)
			}
		}
		batch = append(batch, vals)
		if len(batch) == copyBatchRows || size >= copyBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if err := flush(); err != nil {
		return err
	}
	if err := setSelfRefs(ctx, tx, t, refs); err != nil {
		return err
	}
	prog.end()
	return nil
}

// setSelfRefs fills in the self-referring columns of t that copyRows left NULL, from
// refs: each an id and the columns' values.
func setSelfRefs(ctx context.Context, tx pgx.Tx, t *copyTable, refs [][]any) error {
	for len(refs) > 0 {
		n := min(len(refs), copyBatchRows)
		cols := make([][]*int64, 1+len(t.selfRefs))
		for _, r := range refs[:n] {
			for i, v := range r {
				var p *int64
				if id, ok := v.(int64); ok {
					p = &id
				}
				cols[i] = append(cols[i], p)
			}
		}
		var set, types []string
		args := []any{cols[0]}
		for i, c := range t.selfRefs {
			set = append(set, fmt.Sprintf("%s = v.c%d", pgName(c), i+1))
			types = append(types, fmt.Sprintf("$%d::bigint[]", i+2))
			args = append(args, cols[i+1])
		}
		var names []string
		for i := range t.selfRefs {
			names = append(names, fmt.Sprintf("c%d", i+1))
		}
		q := `UPDATE ` + pgName(t.name) + ` t SET ` + strings.Join(set, ", ") +
			` FROM unnest($1::bigint[], ` + strings.Join(types, ", ") + `) AS v (id, ` + strings.Join(names, ", ") + `)
			WHERE t.id = v.id`
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("set %s: %w", strings.Join(t.selfRefs, ", "), err)
		}
		refs = refs[n:]
	}
	return nil
}

// pgValue converts a value SQLite returned into what PostgreSQL's column type typ
// takes, with its size in bytes. SQLite keeps booleans as integers; text loses the NUL
// bytes and invalid UTF-8 PostgreSQL refuses, as the store's own writes do.
func pgValue(v any, typ string) (any, int, error) {
	if v == nil {
		return nil, 0, nil
	}
	switch typ {
	case "bigint", "integer", "smallint":
		if n, ok := v.(int64); ok {
			return n, 8, nil
		}
	case "boolean":
		if n, ok := v.(int64); ok {
			return n != 0, 1, nil
		}
	case "text":
		switch s := v.(type) {
		case string:
			return cleanText(s), len(s), nil
		case []byte:
			return cleanText(string(s)), len(s), nil
		}
	case "bytea":
		switch b := v.(type) {
		case []byte:
			return b, len(b), nil
		case string:
			return []byte(b), len(b), nil
		}
	default:
		return nil, 0, fmt.Errorf("no rule to copy a value of type %s", typ)
	}
	return nil, 0, fmt.Errorf("a %T where PostgreSQL wants %s: %v", v, typ, v)
}

func cleanText(s string) string { return strings.ToValidUTF8(crm.NoNUL(s), "\uFFFD") }

func pgName(name string) string { return pgx.Identifier{name}.Sanitize() }

func sqliteName(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// isTerminal reports whether w is a terminal, where a progress bar can redraw itself.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress reports a copy as it runs: on a terminal one line redrawn in place (the
// table, a bar, rows done of all, the rate); elsewhere, such as a log, plain lines: one
// per table when it is done and, for a long one, one every few seconds.
type progress struct {
	w     io.Writer
	tty   bool
	now   func() time.Time
	table string
	total int64
	done  int64
	start time.Time
	drawn time.Time
}

// Plain lines of a long table come this often; the bar is redrawn at most this often.
const (
	progressLineEvery = 5 * time.Second
	progressBarEvery  = 100 * time.Millisecond
)

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty, now: time.Now}
}

func (p *progress) begin(table string, total int64) {
	p.table, p.total, p.done = table, total, 0
	p.start = p.now()
	p.drawn = p.start
	if p.tty {
		p.draw()
	}
}

func (p *progress) add(n int64) {
	p.done += n
	now := p.now()
	switch {
	case p.tty && now.Sub(p.drawn) >= progressBarEvery:
		p.draw()
		p.drawn = now
	case !p.tty && now.Sub(p.drawn) >= progressLineEvery:
		fmt.Fprintf(p.w, "copying %s: %d of %d rows (%s)\n", p.table, p.done, p.total, p.rate())
		p.drawn = now
	}
}

func (p *progress) end() {
	if p.tty {
		p.draw()
		fmt.Fprintln(p.w)
		return
	}
	fmt.Fprintf(p.w, "copied %s: %d rows (%s)\n", p.table, p.done, p.rate())
}

// draw writes the bar over the line it wrote before.
func (p *progress) draw() {
	const width = 30
	filled := width
	if p.total > 0 {
		filled = int(min(p.done, p.total) * width / p.total)
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	fmt.Fprintf(p.w, "\r\033[K%-20s [%s] %d/%d rows  %s", p.table, bar, p.done, p.total, p.rate())
}

// rate is the rows per second of the current table so far.
func (p *progress) rate() string {
	secs := p.now().Sub(p.start).Seconds()
	if secs <= 0 || p.done == 0 {
		return "- rows/s"
	}
	return fmt.Sprintf("%.0f rows/s", float64(p.done)/secs)
}
