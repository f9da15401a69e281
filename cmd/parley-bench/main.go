// Command parley-bench is Parley's load generator, run by `make bench`. It starts a fresh
// `parley serve` on loopback with a temporary data dir, fills it through the real API (and,
// for big volumes, through the store file directly, before the server starts), drives it
// from this second process, and prints one table of figures beside the raw limits measured
// in the same run, plus bench/results.json. docs/performance.md explains every figure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"parley/crm"
)

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "parley-bench:", err)
		os.Exit(1)
	}
}

// config is what a run needs besides its scale.
type config struct {
	parley string // the parley binary
	out    string // where results.json goes
	work   string // the temporary data dirs live here
	keep   bool
	only   []string // run only the steps whose names start with one of these
	// database is the PostgreSQL server of the PostgreSQL part, where the bench creates
	// and drops schemas of its own; "" leaves that part out.
	database string
	// cluster is how many nodes the cluster part runs (BENCH_CLUSTER); 0 leaves it out.
	cluster int
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	ctx = crm.AsSystem(ctx) // the bench fills the store as its operator
	fs := flag.NewFlagSet("parley-bench", flag.ContinueOnError)
	scaleName := fs.String("scale", envOr("BENCH_SCALE", "default"), "tiny, small, default or full (env BENCH_SCALE)")
	bin := fs.String("parley", "bin/parley", "the parley binary to start")
	out := fs.String("out", "bench/results.json", "where to write the results")
	keep := fs.Bool("keep", false, "keep the temporary data dirs")
	only := fs.String("only", "", "run only the steps whose names start with one of these comma-separated words, e.g. ingest, or pg for the PostgreSQL part")
	database := fs.String("database", os.Getenv("BENCH_DATABASE"),
		"run the PostgreSQL part too, on this server: postgres://user@host/db, where the bench may create schemas (env BENCH_DATABASE)")
	nodes := fs.Int("cluster", 0, "run the cluster part too: this many nodes on --database and a NATS server in the bench (env BENCH_CLUSTER)")
	if v := os.Getenv("BENCH_CLUSTER"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			return fmt.Errorf("BENCH_CLUSTER=%q: want a number of nodes, 2 or more", v)
		}
		*nodes = n
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *nodes == 1 || *nodes < 0 {
		return fmt.Errorf("--cluster %d: want a number of nodes, 2 or more", *nodes)
	}
	sc, ok := scales[*scaleName]
	if !ok {
		return fmt.Errorf("unknown scale %q: want tiny, small, default or full", *scaleName)
	}
	parley, err := filepath.Abs(*bin)
	if err != nil {
		return fmt.Errorf("parley binary: %w", err)
	}
	if _, err := os.Stat(parley); err != nil {
		return fmt.Errorf("parley binary: %w (run make build first)", err)
	}
	if err := raiseFileLimit(); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "parley-bench-")
	if err != nil {
		return fmt.Errorf("create work dir: %w", err)
	}
	cfg := config{parley: parley, out: *out, work: work, keep: *keep, database: *database, cluster: *nodes}
	if *only != "" {
		cfg.only = strings.Split(*only, ",")
	}
	if !cfg.keep {
		defer os.RemoveAll(work)
	}
	slog.Info("bench starting", "scale", sc.Name, "work", work)
	start := time.Now()
	res := newResults(sc)
	err = benchAll(ctx, cfg, sc, res)
	res.print(stdout)
	if werr := res.write(cfg.out); werr != nil {
		err = errors.Join(err, werr)
	} else {
		fmt.Fprintf(stdout, "\nwrote %s (scale %s, %s)\n", cfg.out, sc.Name, time.Since(start).Round(time.Second))
	}
	return err
}

// benchAll runs the classifier's step, the SQLite part, then the PostgreSQL part
// (pg.go) when a database is set.
func benchAll(ctx context.Context, cfg config, sc scale, res *results) error {
	// The classifier runs in this process and needs no server.
	err := runSteps(ctx, cfg, res, []step{{"reasons classifier", func() error { return benchReasons(sc, res) }}})
	err = errors.Join(err, benchSQLite(ctx, cfg, sc, res))
	if ctx.Err() != nil {
		return errors.Join(err, ctx.Err())
	}
	err = errors.Join(err, benchPostgres(ctx, cfg, sc, res))
	if ctx.Err() != nil {
		return errors.Join(err, ctx.Err())
	}
	return errors.Join(err, benchCluster(ctx, cfg, sc, res))
}

// sqliteSteps name the steps of the SQLite part.
var sqliteSteps = append([]string{"widget idle memory", "ingest", "fanout", "widget", "email", "sms", "webhook", "rules", "assign"}, phaseTwoSteps...)

// benchSQLite runs the two phases on SQLite. Phase one starts a server on an empty
// database: start time, idle memory, and everything driven through the API and the
// channels. Phase two fills a second data dir directly through the store file with the
// big volumes and starts a server on it for the reads: lists, threads, search and
// reports.
func benchSQLite(ctx context.Context, cfg config, sc scale, res *results) error {
	if !cfg.runs(sqliteSteps...) {
		return nil
	}
	p1, err := startServer(ctx, cfg, filepath.Join(cfg.work, "empty"))
	if err != nil {
		return err
	}
	res.set(keyStartMS, ms(p1.startTook))
	res.set(keyRSSIdleMB, float64(p1.rssIdle)/(1<<20))
	var errs []error
	if err := phaseOne(ctx, cfg, p1, sc, res); err != nil {
		errs = append(errs, fmt.Errorf("phase one: %w (server log: %s)", err, p1.logPath))
	}
	p1.stop()
	// The cost of durable commits: the same ingest on a server without them.
	if err := runSteps(ctx, cfg, res, []step{
		{"ingest --sync normal", func() error { return benchIngestNormal(ctx, cfg, sc, res) }},
	}); err != nil {
		errs = append(errs, err)
	}
	if ctx.Err() != nil {
		return errors.Join(append(errs, ctx.Err())...)
	}
	if !cfg.runs(phaseTwoSteps...) {
		return errors.Join(errs...)
	}

	dir := filepath.Join(cfg.work, "filled")
	info, err := fill(ctx, dir, sc)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("direct fill: %w", err))...)
	}
	res.note(fmt.Sprintf("list, thread, search and reports ran on %d tickets and %d messages written directly to the store file (%.0f rows/s fill); everything else went through the API",
		info.tickets, info.messages, info.rowsPerSec))
	p2, err := startServer(ctx, cfg, dir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	defer p2.stop()
	if err := phaseTwo(ctx, cfg, p2, sc, res, info); err != nil {
		errs = append(errs, fmt.Errorf("phase two: %w (server log: %s)", err, p2.logPath))
	}
	return errors.Join(errs...)
}

func phaseOne(ctx context.Context, cfg config, s *server, sc scale, res *results) error {
	return runSteps(ctx, cfg, res, []step{
		{"widget idle memory", func() error { return benchWidgetIdle(ctx, s, sc, res) }},
		{"ingest", func() error { return benchIngest(ctx, s, sc, res, cfg.work) }},
		{"fanout", func() error { return benchFanout(ctx, s, sc, res) }},
		{"widget", func() error { return benchWidget(ctx, s, sc, res) }},
		{"email", func() error { return benchEmail(ctx, s, sc, res) }},
		{"sms", func() error { return benchSMS(ctx, s, sc, res) }},
		{"webhook", func() error { return benchWebhooks(ctx, s, sc, res) }},
		{"rules", func() error { return benchRules(sc, res) }},
		{"assign", func() error { return benchAssign(sc, res) }},
	})
}

// phaseTwoSteps name the steps of phase two, which --only may leave out, fill and all.
var phaseTwoSteps = []string{"reports catch-up", "reasons training", "list", "search", "reports", "suggest"}

func phaseTwo(ctx context.Context, cfg config, s *server, sc scale, res *results, info *fillInfo) error {
	return runSteps(ctx, cfg, res, []step{
		{"reports catch-up", func() error { return waitReports(ctx, s, sc, res, sqliteReportProgress(info.dbPath)) }},
		{"reasons training", func() error { return waitReasonModel(ctx, s, sc, res) }},
		{"list", func() error { return benchReads(ctx, s, sc, res, info, "", nil) }},
		{"search", func() error {
			raw, err := sqliteRawSearch(info.dbPath)
			if err != nil {
				return err
			}
			defer raw.Close()
			return benchSearch(ctx, s, sc, res, info, "", func(ctx context.Context, q string) error { return rawSearch(ctx, raw, q) })
		}},
		{"reports", func() error { return benchReports(ctx, s, sc, res) }},
		{"suggest", func() error { return benchSuggest(ctx, s, sc, res, info) }},
	})
}

// step is one named part of a phase.
type step struct {
	name string
	fn   func() error
}

// runSteps runs every step that cfg selects even when one fails, so that one broken part
// leaves its figures null instead of losing the whole run; the failures are noted and
// returned.
func runSteps(ctx context.Context, cfg config, res *results, steps []step) error {
	var errs []error
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if !cfg.runs(st.name) {
			continue
		}
		slog.Info("bench step", "step", st.name)
		t := time.Now()
		if err := st.fn(); err != nil {
			slog.Error("bench step failed", "step", st.name, "err", err)
			res.note(fmt.Sprintf("%s failed: %v", st.name, err))
			errs = append(errs, fmt.Errorf("%s: %w", st.name, err))
			continue
		}
		slog.Info("bench step done", "step", st.name, "took", time.Since(t).Round(time.Millisecond))
	}
	return errors.Join(errs...)
}

// runs reports whether --only selects one of the named steps; without it, every step runs.
func (cfg config) runs(names ...string) bool {
	if len(cfg.only) == 0 {
		return true
	}
	for _, n := range names {
		for _, o := range cfg.only {
			if o = strings.TrimSpace(o); o != "" && strings.HasPrefix(n, o) {
				return true
			}
		}
	}
	return false
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// raiseFileLimit lifts the soft limit of open files to the hard one. Setting it
// explicitly matters: Go raises it by itself too, but then restores the old limit for
// child processes, while an explicit Setrlimit is inherited by the parley server we
// start, which holds one file per socket.
func raiseFileLimit() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("get file limit: %w", err)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise file limit: %w", err)
	}
	return nil
}

// fileLimit returns the soft limit of open files.
func fileLimit() uint64 {
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}
