// Command parley is the Parley helpdesk: `parley serve` runs it; the other sub-commands
// manage its data directory. Only wiring lives here.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	agentui "parley/agent-ui"
	"parley/assign"
	"parley/automation"
	"parley/channels"
	"parley/channels/chat"
	"parley/channels/discord"
	"parley/channels/email"
	"parley/channels/phone"
	"parley/cluster"
	"parley/crm"
	"parley/crm/blobs"
	"parley/crm/blobs/s3"
	"parley/crm/postgres"
	"parley/crm/secret"
	"parley/crm/sqlite"
	"parley/demo"
	"parley/notify"
	"parley/oauth"
	"parley/orders/shopifytest"
	"parley/outbound"
	"parley/reasoner"
	"parley/reports"
	"parley/server"
	"parley/webhooks"
)

const usage = `usage: parley <command> [flags]

commands:
  serve                  run the helpdesk (--addr, --public-url, --demo, --sync, --metrics-addr)
  migrate                apply database migrations and list them
  agent add              create an agent (--email, --name, --role); password from stdin
  token create           print a new API token for an agent (--email, --name, --expires 90d)
  token list             list an agent's API tokens (--email)
  token revoke           delete an API token at once (--email, --id)
  backup FILE            write a consistent copy of the SQLite database to FILE
  orders import FILE     import orders from CSV or NDJSON (--source NAME, --format csv|ndjson)
  copy                   move a shop from SQLite to an empty PostgreSQL database (--from DIR, --to URL)
  reasons eval           precision, recall and F1 per contact reason, cross-validated over the
                         shop's labelled tickets (--folds 5; --shipped: the shipped examples)

every command takes --data DIR (env PARLEY_DATA, default ./data): the SQLite database,
attachments and the secret key file; and --database URL (env PARLEY_DATABASE_URL):
PostgreSQL instead of SQLite, postgres://user@host/db?sslmode=verify-full
`

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return errors.New("no command given")
	}
	ctx = crm.AsSystem(ctx) // the command line is the operator's, in every inbox
	cmd, args := args[0], args[1:]
	if (cmd == "agent" || cmd == "token") && len(args) > 0 {
		cmd, args = cmd+" "+args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout)
	case "migrate":
		return migrate(ctx, args, stdout)
	case "agent add":
		return agentAdd(ctx, args, stdin, stdout)
	case "token create":
		return tokenCreate(ctx, args, stdout)
	case "token list":
		return tokenList(ctx, args, stdout)
	case "token revoke":
		return tokenRevoke(ctx, args, stdout)
	case "backup":
		return backup(ctx, args, stdout)
	case "orders":
		return ordersCmd(ctx, args, stdout, os.Stderr)
	case "copy":
		return copyCmd(ctx, args, stdout, os.Stderr)
	case "reasons":
		return reasonsCmd(ctx, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stdout, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// atoiOr returns s as a number, def when s is empty or not a number.
func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

// envBool reads a yes/no environment variable: 1, true, 0, false and so on; anything
// else is false.
func envBool(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
}

// storeFlags say where a command finds the store: the data directory and, for
// PostgreSQL, the database's URL.
type storeFlags struct {
	data     string
	database string
}

func newFlags(name string) (*flag.FlagSet, *storeFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	sf := &storeFlags{}
	fs.StringVar(&sf.data, "data", env("PARLEY_DATA", "./data"),
		"data directory: the SQLite database, attachments and the secret key file (env PARLEY_DATA)")
	fs.StringVar(&sf.database, "database", env("PARLEY_DATABASE_URL", ""),
		"PostgreSQL database URL, e.g. postgres://parley@db.example/parley?sslmode=verify-full; default: SQLite in --data (env PARLEY_DATABASE_URL)")
	return fs, sf
}

// storeOptions are what serve sets of the store; zero values are the defaults.
type storeOptions struct {
	bus  crm.Bus
	now  func() time.Time // the store's clock; nil is the real one
	sync sqlite.SyncMode  // SQLite's; PostgreSQL has its own settings
	// blobs keeps attachments where every node reads them (S3); nil: the data dir, or
	// the database once UseDatabaseBlobs is called.
	blobs blobs.Store
}

// openStore opens the store sf names: PostgreSQL at sf.database when it is set, else
// SQLite in sf.data. Either way the data directory holds the secret key file and the
// attachments: it is created if needed, and one Parley cannot write is refused with the
// cause, before anything. A bad database URL or a server that cannot be reached fails
// here, with the URL (without its password) and the cause.
func openStore(ctx context.Context, sf *storeFlags, opt storeOptions) (store, error) {
	dir := sf.data
	var dbURL, shown string
	var pool int32
	if sf.database != "" {
		var err error
		if dbURL, shown, pool, err = databaseURL(sf.database); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if err := sqlite.WritableDir(dir); err != nil {
		return nil, err
	}
	key, err := shopKey(dir)
	if err != nil {
		return nil, err
	}
	if dbURL == "" {
		path := filepath.Join(dir, "parley.db")
		slog.Info("store", "database", "sqlite", "path", path)
		db, err := sqlite.Open(path, sqlite.Options{DataDir: dir, SecretKey: key, Bus: opt.bus, Now: opt.now, Sync: opt.sync})
		if err != nil {
			return nil, err
		}
		return db, nil
	}
	slog.Info("store", "database", "postgres", "url", shown, "attachments", filepath.Join(dir, "attachments"))
	if opt.sync != "" && opt.sync != sqlite.SyncFull {
		slog.Warn("--sync applies to SQLite only: PostgreSQL's own settings (synchronous_commit) decide when a commit is on disk")
	}
	db, err := postgres.Open(ctx, dbURL, postgres.Options{DataDir: dir, SecretKey: key, Bus: opt.bus, Now: opt.now, MaxConns: pool,
		Blobs: opt.blobs})
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", shown, err)
	}
	return db, nil
}

// shopKey is the secret key of the shop in dir, as serve loads it: PARLEY_SECRET_KEY,
// else the key file in dir.
func shopKey(dir string) ([]byte, error) {
	var key []byte
	var err error
	if v := os.Getenv("PARLEY_SECRET_KEY"); v != "" {
		key, err = secret.ParseKey(v)
	} else {
		key, err = secret.LoadOrCreateKey(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return key, nil
}

// connectTimeout bounds each attempt to reach the database server when the URL sets no
// connect_timeout: without one, a host that drops packets would hold the start for
// minutes before saying anything.
const connectTimeout = "10"

// databaseURL checks --database: a postgres:// or postgresql:// URL. It returns the URL
// to connect with, connect_timeout added when it has none, the URL to show, without its
// password, and the size of the connection pool its pool_max_conns asks for (0: the
// store's default).
func databaseURL(s string) (dbURL, shown string, pool int32, err error) {
	const want = "want a PostgreSQL URL such as postgres://parley@db.example/parley?sslmode=verify-full"
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		// url.Error repeats the URL, password and all: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", "", 0, fmt.Errorf("--database: not a URL (%v): %s", err, want)
	}
	shown = redactURL(u)
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", "", 0, fmt.Errorf("--database %s: not a postgres:// URL: %s", shown, want)
	}
	q := u.Query()
	if v := q.Get("pool_max_conns"); v != "" {
		// One connection is the writer's while it commits; the others serve reads.
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 2 {
			return "", "", 0, fmt.Errorf("--database %s: pool_max_conns must be a number of connections, 2 or more", shown)
		}
		pool = int32(n)
	}
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", connectTimeout)
		u.RawQuery = q.Encode()
	}
	return u.String(), shown, pool, nil
}

// redactURL returns u as text without the password it may carry, in its user part or
// as a password parameter.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	if q := c.Query(); q.Has("password") {
		q.Del("password")
		c.RawQuery = q.Encode()
	}
	return c.String()
}

func serve(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("serve")
	addr := fs.String("addr", env("PARLEY_ADDR", "127.0.0.1:8080"), "listen address (env PARLEY_ADDR)")
	publicURL := fs.String("public-url", env("PARLEY_PUBLIC_URL", ""), "scheme and host browsers and webhooks reach Parley at, e.g. https://desk.example.com (env PARLEY_PUBLIC_URL)")
	seed := fs.Bool("demo", false, "seed labelled demo data into an empty database")
	syncMode := fs.String("sync", env("PARLEY_SYNC", "full"),
		"full: every acknowledged write survives a power cut; normal: faster, a power cut can lose the last moments (env PARLEY_SYNC)")
	metricsAddr := fs.String("metrics-addr", env("PARLEY_METRICS_ADDR", ""),
		"serve /metrics on this address instead of --addr (env PARLEY_METRICS_ADDR; PARLEY_METRICS_TOKEN requires a bearer token)")
	allowPrivate := fs.Bool("allow-private-network", envBool("PARLEY_ALLOW_PRIVATE_NETWORK"),
		"let Shopify, Discord, Twilio, mail and outgoing webhook connections reach loopback and private addresses (env PARLEY_ALLOW_PRIVATE_NETWORK=1)")
	ruleRate := fs.Int("rule-rate", atoiOr(env("PARLEY_RULE_RATE", ""), crm.DefaultRuleRate),
		"how many automated actions of automation rules one ticket gets a minute at most (env PARLEY_RULE_RATE)")
	natsURL := fs.String("nats", env("PARLEY_NATS_URL", ""),
		"NATS server that carries live events between the nodes of a cluster, e.g. nats://nats.internal:4222; needs --database (env PARLEY_NATS_URL)")
	nodeID := fs.String("node-id", env("PARLEY_NODE_ID", ""),
		"this node's name in a cluster; default host name and --addr port (env PARLEY_NODE_ID)")
	blobStore := fs.String("blobs", env("PARLEY_BLOBS", ""),
		"where attachments live: dir (the data directory; one node) or postgres (the database; every node reads them); default dir, postgres with --nats (env PARLEY_BLOBS)")
	googleID := fs.String("google-client-id", env("PARLEY_GOOGLE_CLIENT_ID", ""),
		"OAuth client id of your Google Cloud app, for Sign in with Google on email inboxes (env PARLEY_GOOGLE_CLIENT_ID)")
	googleSecret := fs.String("google-client-secret", env("PARLEY_GOOGLE_CLIENT_SECRET", ""),
		"its client secret; prefer the env PARLEY_GOOGLE_CLIENT_SECRET")
	msID := fs.String("microsoft-client-id", env("PARLEY_MICROSOFT_CLIENT_ID", ""),
		"application (client) id of your Microsoft Entra app, for Sign in with Microsoft on email inboxes (env PARLEY_MICROSOFT_CLIENT_ID)")
	msSecret := fs.String("microsoft-client-secret", env("PARLEY_MICROSOFT_CLIENT_SECRET", ""),
		"its client secret value; prefer the env PARLEY_MICROSOFT_CLIENT_SECRET")
	msTenant := fs.String("microsoft-tenant", env("PARLEY_MICROSOFT_TENANT", "common"),
		"Entra tenant to sign in with: common, organizations, or your tenant id or domain (env PARLEY_MICROSOFT_TENANT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pub, err := parsePublicURL(*publicURL)
	if err != nil {
		return err
	}
	mode, err := sqlite.ParseSync(*syncMode)
	if err != nil {
		return fmt.Errorf("--sync: %w", err)
	}
	blobKind, err := blobsFlag(*blobStore, *natsURL != "", data.database != "")
	if err != nil {
		return err
	}
	if *natsURL != "" && data.database == "" {
		return errors.New("--nats: the nodes of a cluster share one PostgreSQL database; give every node --database postgres://host/db")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	node := *nodeID
	if node == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		node = host + ":" + port // two nodes on one machine listen on two ports
	}

	var bus crm.Bus = crm.NewBus()
	var relay *cluster.Relay
	var pg *postgres.DB // set when the store is PostgreSQL, for what only it does
	if *natsURL != "" {
		relay, err = cluster.New(cluster.Options{NodeID: node, URL: *natsURL, Remote: func(e *crm.Event) {
			if pg != nil {
				pg.Remote(e)
			}
		}})
		if err != nil {
			return err
		}
		bus = relay.Bus()
	}
	var objects blobs.Store
	if blobKind == "s3" {
		st, err := s3.Open(ctx, *blobStore, os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"))
		if err != nil {
			return err
		}
		objects = st
	}
	clock := &demo.Clock{} // the real time, except while the demo history is written
	db, err := openStore(ctx, data, storeOptions{bus: bus, now: clock.Now, sync: mode, blobs: objects})
	if err != nil {
		return err
	}
	defer db.Close()
	pg, _ = db.(*postgres.DB)
	if pg != nil && blobKind == "postgres" {
		pg.UseDatabaseBlobs()
	}
	leases := &cluster.Leases{Node: node, Logger: slog.Default()}
	if pg != nil {
		// On PostgreSQL, the work that must run once runs under leases, with NATS or
		// without: a second node started without --nats is then harmless, and said.
		leases.Store, leases.WarnOthers = pg, relay == nil
	}
	if relay != nil {
		if err := relay.SetLog(ctx, db); err != nil {
			return err
		}
		leases.Peers = func() int { return len(relay.Nodes(cluster.PeerWindow)) }
		slog.Info("cluster", "node", node, "nats", *natsURL, "blobs", blobKind)
	}
	var mln net.Listener
	if *metricsAddr != "" {
		if mln, err = net.Listen("tcp", *metricsAddr); err != nil {
			return fmt.Errorf("listen for metrics: %w", err)
		}
		defer mln.Close()
	}
	metricsToken := os.Getenv("PARLEY_METRICS_TOKEN")
	// Twilio's signatures are checked against the URL it posts to: without a public URL,
	// the listen address.
	base := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	if pub != nil {
		base = pub
	}
	admin, password, generated, err := ensureAdmin(ctx, db)
	if err != nil {
		return err
	}
	region := env("PARLEY_DEFAULT_REGION", "US")
	// One outbound client for every connection to a host an admin or outsider names.
	outOpt := outbound.Options{AllowPrivateNetwork: *allowPrivate}
	var demoShop *shopifytest.Fake
	if *seed {
		// The demo's Shopify-like shop answers in this process, so that refunds and
		// cancellations can be tried on the demo orders.
		demoShop = demo.NewShop(ctx, db)
		outOpt.InProcess = map[string]http.Handler{demo.ShopHost: demoShop}
	}
	out := outbound.New(outOpt)
	if *seed {
		if err := demo.SeedWith(ctx, db, demo.Options{Clock: clock, Shop: demoShop, Outbound: out}); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
	}
	if *allowPrivate {
		slog.Warn("outbound connections may reach loopback and private addresses (--allow-private-network)")
	}
	registry := channels.NewRegistry()
	// Token requests to Google and Microsoft go through the outbound client too.
	signIn := oauth.New(db, out.HTTPClient(30*time.Second), slog.Default(),
		oauth.NewGoogle(*googleID, *googleSecret), oauth.NewMicrosoft(*msID, *msSecret, *msTenant))
	var tel *phone.Channel // made after the server, whose online agents it asks for
	// In a cluster the rate limits of sign-in and of the widget are buckets in the
	// database that every node draws from.
	var buckets crm.TokenBuckets
	if pg != nil && relay != nil {
		buckets = pg
	}
	var board *channels.StatusBoard
	if relay != nil {
		board = &channels.StatusBoard{Bus: bus, Registry: registry, Inboxes: db, Logger: slog.Default()}
	}
	// The contact-reason classifier: trained and applied once per cluster (lease
	// "reasons"); every node keeps the newest model for the widget.
	rsn := reasoner.New(reasoner.Options{Store: db, Bus: bus, Logger: slog.Default(), Shipped: true})
	db.SetReasonGuesser(rsn) // a new customer's first ticket is guessed as it is stored
	srv := server.New(db, server.Options{Reasons: rsn, RateLimits: buckets, Statuses: statuses(board), PublicURL: pub, DefaultRegion: region,
		UI: agentui.Handler(), Bus: bus, Channels: registry, MetricsToken: metricsToken, MetricsElsewhere: mln != nil,
		Outbound: out, OAuth: signIn, WhatsApp: templatesFunc(func(ctx context.Context, in *crm.Inbox) ([]crm.WhatsAppTemplate, error) {
			return tel.WhatsAppTemplates(ctx, in)
		})})
	// Background workers stop with ctx; the store closes only after they have, so a
	// reply that was just sent is still recorded.
	var workers sync.WaitGroup
	defer workers.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // runs before workers.Wait, also when Serve fails
	goRun := func(name string, run func(context.Context) error) {
		workers.Go(func() {
			if err := run(ctx); err != nil {
				slog.Error("component failed", "component", name, "err", err)
			}
		})
	}
	if relay != nil {
		goRun("cluster relay", relay.Run)
		goRun("inbox statuses", board.Run)
	}
	// holdRun runs a worker that must run on one node at a time under its lease.
	holdRun := func(name string, run func(context.Context) error) {
		goRun(name, func(ctx context.Context) error {
			leases.Hold(ctx, name, func(ctx context.Context) {
				if err := run(ctx); err != nil {
					slog.Error("component failed", "component", name, "err", err)
				}
			})
			return nil
		})
	}
	goRun("websocket hub", srv.Run)
	rep := reports.New(db, bus, reports.Options{PublicURL: pub, Logger: slog.Default()})
	holdRun("reports", rep.Run) // reports, SLA warnings, CSAT surveys

	registry.Register(crm.KindAPI, channels.APIConnector)
	mail := email.New(db, bus, slog.Default())
	mail.Outbound = out
	mail.OAuth = signIn
	mail.Hold = leases.Hold
	registry.Register(crm.KindEmail, mail)
	goRun("email", mail.Run)

	dc := discord.New(db, bus, discord.Options{Logger: slog.Default(), Outbound: out, Hold: leases.Hold})
	registry.Register(crm.KindDiscord, dc)
	goRun("discord", dc.Run)

	tel = phone.New(db, phone.Options{PublicURL: base, DefaultRegion: region, Online: srv.AgentsOnline, Outbound: out})
	registry.Register(crm.KindPhone, tel)
	srv.Handle("/webhooks/twilio/", tel.Handler())
	srv.HandleAPI("POST /api/v1/customers/{id}/call", tel.CallHandler())

	widget := chat.New(db, bus, chat.Options{Deflect: rsn.Deflect, RateLimits: buckets, Cluster: relay != nil, PublicURL: pub, Logger: slog.Default(), Online: srv.AgentsOnline, Connectors: registry})
	registry.Register(crm.KindChat, widget)
	wh := widget.Handler()
	for _, p := range []string{"/widget.js", "/widget/", "/demo"} {
		srv.Handle(p, wh)
	}
	goRun("chat", widget.Run)

	disp := &channels.Dispatcher{Outbox: db, Bus: bus, Connectors: registry}
	holdRun("dispatcher", disp.Run)
	// Outgoing webhooks, through the one outbound client: once per cluster, from the cursor
	// the store keeps.
	holdRun("webhooks", webhooks.New(webhooks.Options{Store: db, Client: out, Bus: bus, Logger: slog.Default()}).Run)
	// Automation rules: once per cluster, from the cursor the store keeps.
	holdRun("rules", automation.New(automation.Options{Store: db, Bus: bus, Logger: slog.Default(), Rate: *ruleRate}).Run)
	// Agents' notifications and the snooze waker: once per cluster, from the cursor the store keeps.
	holdRun("notify", notify.New(notify.Options{Store: db, Bus: bus, Logger: slog.Default(), Mailer: mail, PublicURL: pub}).Run)
	// Auto-assignment: once per cluster, from the cursor the store keeps; the hub's
	// presence (of every node) says who is online.
	holdRun("reasons", rsn.Run)
	goRun("reason model", rsn.Keep)
	holdRun("assign", assign.New(assign.Options{Store: db, Bus: bus, Logger: slog.Default(), Online: srv.AgentOnline}).Run)
	if buckets != nil {
		holdRun("rate buckets", func(ctx context.Context) error { return sweepBuckets(ctx, pg) })
	}

	// ReadTimeout bounds slow request bodies (a 25 MB upload on a slow link still fits);
	// WebSocket handlers set their own deadlines after the upgrade.
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	var mhs *http.Server
	if mln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		mhs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
		go func() { errc <- mhs.Serve(mln) }()
	} else if tcp, ok := ln.Addr().(*net.TCPAddr); metricsToken == "" && (pub != nil || (ok && !tcp.IP.IsLoopback())) {
		// Reached from outside, directly or through a proxy that passes every path.
		slog.Warn("GET /metrics is open to whoever reaches Parley; set PARLEY_METRICS_TOKEN or --metrics-addr to close it",
			"addr", ln.Addr().String(), "public_url", *publicURL)
	}

	fmt.Fprintf(stdout, "Parley is running: open %s/\n", base)
	switch {
	case generated:
		fmt.Fprintf(stdout, "Admin login: %s / %s  (shown once: write it down)\n", admin, password)
	case admin != "" && *seed:
		fmt.Fprintf(stdout, "Admin login: %s / %s  (demo)\n", admin, password)
	case admin != "":
		fmt.Fprintf(stdout, "Admin login: %s (the password from PARLEY_ADMIN_PASSWORD)\n", admin)
	}
	if *seed {
		for _, l := range demo.Logins(ctx, db) {
			fmt.Fprintf(stdout, "Demo %s login: %s / %s\n", l.Role, l.Email, l.Password)
		}
		fmt.Fprintf(stdout, "Demo shop with the chat widget: %s/demo\n", base)
	}
	if mln != nil {
		fmt.Fprintf(stdout, "Metrics: http://%s/metrics\n", mln.Addr())
	}
	slog.Info("started", "addr", ln.Addr().String(), "data", data.data, "start_ms", time.Since(start).Milliseconds())
	// Starting allocates about 20 MB that is garbage once it is done (migrations, phone
	// number metadata, templates), against a live heap of a few MB. Left to the
	// collector, an idle server would hold it until its heap doubled; collecting it now
	// and returning it to the system makes the idle server about 20 MB smaller.
	debug.FreeOSMemory()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	if mhs != nil {
		err = errors.Join(err, mhs.Shutdown(sctx))
	}
	return err
}

// statuses is the board as the server's option: nil without a cluster.
func statuses(b *channels.StatusBoard) interface {
	Status(int64) *channels.InboxStatus
} {
	if b == nil {
		return nil
	}
	return b
}

// sweepBuckets forgets, every ten minutes, the shared rate buckets untouched for an
// hour: every limit's bucket is full again by then, as a missing one is.
func sweepBuckets(ctx context.Context, pg *postgres.DB) error {
	tick := time.NewTicker(10 * time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := pg.SweepTokens(ctx, time.Now().Add(-time.Hour)); err != nil && ctx.Err() == nil {
				slog.Warn("sweep rate buckets", "err", err)
			}
		}
	}
}

// blobsFlag checks --blobs and returns where attachments live: "dir", "postgres" or
// "s3" (the flag is then the bucket's URL).
// A cluster refuses a directory: each node would have its own.
func blobsFlag(v string, cluster, postgres bool) (string, error) {
	switch v {
	case "":
		if cluster {
			return "postgres", nil
		}
		return "dir", nil
	case "dir":
		if cluster {
			return "", errors.New("--blobs dir: the nodes of a cluster must all read every attachment; use --blobs postgres")
		}
		return v, nil
	case "postgres":
		if !postgres {
			return "", errors.New("--blobs postgres needs --database postgres://host/db")
		}
		return v, nil
	}
	if strings.HasPrefix(v, "s3://") {
		if !postgres {
			return "", errors.New("--blobs s3://... needs --database postgres://host/db")
		}
		return "s3", nil
	}
	return "", fmt.Errorf("--blobs %q: want dir, postgres or s3://bucket?endpoint=host:port", v)
}

// parsePublicURL checks --public-url: the scheme (http or https) and host that browsers,
// Twilio and shops reach Parley at. A path other than "/" is refused, as are a user, a
// query and a fragment: the console, the API and every webhook live at the root of the
// host. It returns only scheme and host, the host lower-cased and a default port left
// out, so that it compares equal to a browser's Origin; nil for "".
func parsePublicURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	const want = "want the scheme and host Parley is reached at, such as https://desk.example.com"
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("--public-url %q: %w", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("--public-url %q: not an http or https URL: %s", s, want)
	case u.Host == "" || u.Hostname() == "" || u.Opaque != "":
		return nil, fmt.Errorf("--public-url %q: no host: %s", s, want)
	case u.User != nil:
		return nil, fmt.Errorf("--public-url %q: a user name does not belong in it: %s", s, want)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("--public-url %q: Parley is served at the root of its host, without a path, query or fragment: %s", s, want)
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return &url.URL{Scheme: u.Scheme, Host: host}, nil
}

// ensureAdmin creates the first admin when there are no agents: from PARLEY_ADMIN_EMAIL
// and PARLEY_ADMIN_PASSWORD, else admin@parley.local with a random password. It returns
// the login to print: a generated password once, an environment one while it still works.
func ensureAdmin(ctx context.Context, db store) (email, password string, generated bool, err error) {
	email = env("PARLEY_ADMIN_EMAIL", "admin@parley.local")
	password = os.Getenv("PARLEY_ADMIN_PASSWORD")
	agents, err := db.Agents(ctx)
	if err != nil {
		return "", "", false, err
	}
	if len(agents) > 0 {
		if password == "" {
			return "", "", false, nil
		}
		if _, err := db.Authenticate(ctx, email, password); err != nil {
			return "", "", false, nil // changed since: do not print a stale login
		}
		return email, password, false, nil
	}
	if password == "" {
		b := make([]byte, 12)
		rand.Read(b)
		password, generated = base64.RawURLEncoding.EncodeToString(b), true
	}
	if _, err := db.CreateAgent(ctx, &crm.NewAgent{Email: email, Name: "Admin", Role: crm.RoleAdmin, Password: password}); err != nil {
		return "", "", false, fmt.Errorf("create first admin: %w", err)
	}
	return email, password, generated, nil
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openStore(ctx, data, storeOptions{})
	if err != nil {
		return err
	}
	defer db.Close()
	versions, err := db.Migrations()
	if err != nil {
		return err
	}
	for _, v := range versions {
		fmt.Fprintln(stdout, "applied", v)
	}
	return nil
}

func agentAdd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs, data := newFlags("agent add")
	email := fs.String("email", "", "agent email (required)")
	name := fs.String("name", "", "agent name (required)")
	role := fs.String("role", crm.RoleAgent, "agent, manager or admin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" || *name == "" {
		return errors.New("--email and --name are required")
	}
	fmt.Fprintln(os.Stderr, "password (read from stdin):")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("read password from stdin: %w", err)
	}
	db, err := openStore(ctx, data, storeOptions{})
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := db.CreateAgent(ctx, &crm.NewAgent{Email: *email, Name: *name, Role: *role, Password: strings.TrimRight(line, "\r\n")})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (id %d)\n", a.Role, a.Email, a.ID)
	return nil
}

func tokenCreate(ctx context.Context, args []string, stdout io.Writer) error {
	var name, expires string
	db, a, err := tokenAgent(ctx, "token create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "cli", "a label for the token")
		fs.StringVar(&expires, "expires", "", "expire after this long: days like 90d or a duration like 720h (default: never)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	var at *time.Time
	if expires != "" {
		d, err := parseExpiry(expires)
		if err != nil {
			return err
		}
		t := time.Now().Add(d)
		at = &t
	}
	token, _, err := db.CreateToken(ctx, a.ID, name, at)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}

// parseExpiry reads --expires: whole days ("90d") or a Go duration ("720h").
func parseExpiry(s string) (time.Duration, error) {
	maxDays := int(crm.MaxTokenLifetime / (24 * time.Hour))
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > maxDays {
			return 0, fmt.Errorf("--expires %q: days must be 1d to %dd", s, maxDays)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			return 0, fmt.Errorf("--expires %q: give days like 90d or a duration like 720h", s)
		}
	}
	return d, nil
}

// tokenList prints the agent's tokens: id, name, creation, last use and expiry. The tokens
// themselves cannot be shown: only their hashes are stored.
func tokenList(ctx context.Context, args []string, stdout io.Writer) error {
	db, a, err := tokenAgent(ctx, "token list", args, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := db.Tokens(ctx, a.ID)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tCREATED\tLAST USED\tEXPIRES")
	for _, t := range list {
		used, expires := "never", "never"
		if t.LastUsedAt != nil {
			used = t.LastUsedAt.Format(time.RFC3339)
		}
		if t.ExpiresAt != nil {
			expires = t.ExpiresAt.Format(time.RFC3339)
			if t.Expired(time.Now()) {
				expires += " (expired)"
			}
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format(time.RFC3339), used, expires)
	}
	return w.Flush()
}

// tokenRevoke deletes one of the agent's tokens. A running server refuses it within
// the 5 seconds it may keep a token it saw in memory, and closes the sockets it opened
// at its next check of their credentials (every 3 seconds).
func tokenRevoke(ctx context.Context, args []string, stdout io.Writer) error {
	var id int64
	db, a, err := tokenAgent(ctx, "token revoke", args, func(fs *flag.FlagSet) {
		fs.Int64Var(&id, "id", 0, "the token's id, from token list (required)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if id <= 0 {
		return errors.New("--id is required")
	}
	if err := db.RevokeToken(ctx, a.ID, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked token %d of %s\n", id, a.Email)
	return nil
}

// tokenAgent parses the flags of a token command, with --email required and the ones
// more adds, and opens the store and the agent. The caller closes the store.
func tokenAgent(ctx context.Context, name string, args []string, more func(*flag.FlagSet)) (store, *crm.Agent, error) {
	fs, data := newFlags(name)
	email := fs.String("email", "", "agent email (required)")
	if more != nil {
		more(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if *email == "" {
		return nil, nil, errors.New("--email is required")
	}
	db, err := openStore(ctx, data, storeOptions{})
	if err != nil {
		return nil, nil, err
	}
	a, err := db.AgentByEmail(ctx, *email)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, a, nil
}

// fileArg parses the flags of a command that takes one FILE, before or after it.
func fileArg(fs *flag.FlagSet, args []string, usage string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	file := fs.Arg(0)
	if fs.NArg() > 0 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return "", err
		}
	}
	if file == "" || fs.NArg() > 0 {
		return "", errors.New(usage)
	}
	return file, nil
}

func backup(ctx context.Context, args []string, stdout io.Writer) error {
	fs, data := newFlags("backup")
	file, err := fileArg(fs, args, "usage: parley backup [--data DIR] FILE")
	if err != nil {
		return err
	}
	// On PostgreSQL the store answers that pg_dump is the tool.
	db, err := openStore(ctx, data, storeOptions{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, file); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "backup written to", file)
	return nil
}

// templatesFunc adapts a function to server.WhatsAppTemplates.
type templatesFunc func(ctx context.Context, in *crm.Inbox) ([]crm.WhatsAppTemplate, error)

func (f templatesFunc) WhatsAppTemplates(ctx context.Context, in *crm.Inbox) ([]crm.WhatsAppTemplate, error) {
	return f(ctx, in)
}
