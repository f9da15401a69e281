package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"parley/crm"
	"parley/crm/secret"

	"github.com/gorilla/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
)

// clusterStep names the cluster part; it runs with BENCH_CLUSTER=3 and a database.
const clusterStep = "cluster"

// benchCluster starts cfg.cluster nodes of `parley serve` on a fresh schema of the
// PostgreSQL server and a NATS server run in the bench process, and measures the
// fan-out of one message to 1,000 agent sockets spread over the nodes, ingest spread
// over the nodes, and how long the outbox's lease takes to move when its holder is
// killed.
func benchCluster(ctx context.Context, cfg config, sc scale, res *results) error {
	if cfg.cluster == 0 || !cfg.runs(clusterStep) {
		return nil
	}
	if cfg.database == "" {
		res.note("the cluster was not measured: BENCH_CLUSTER needs BENCH_DATABASE")
		return nil
	}
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		return errors.New("nats: the server did not start")
	}
	sch, err := newSchema(ctx, cfg.database)
	if err != nil {
		return err
	}
	if !cfg.keep {
		defer sch.drop()
	}
	// Every node seals secrets with one key: the first node's key file, copied.
	first := filepath.Join(cfg.work, "cluster-1")
	if _, err := secret.LoadOrCreateKey(first); err != nil {
		return fmt.Errorf("secret key: %w", err)
	}
	key, err := os.ReadFile(filepath.Join(first, "secret.key"))
	if err != nil {
		return fmt.Errorf("secret key: %w", err)
	}
	var nodes []*server
	defer func() {
		for _, s := range nodes {
			s.stop()
		}
	}()
	for i := 1; i <= cfg.cluster; i++ {
		dir := filepath.Join(cfg.work, "cluster-"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "secret.key"), key, 0o600); err != nil {
			return err
		}
		s, err := startServer(ctx, cfg, dir, "--database", sch.url, "--nats", ns.ClientURL())
		if err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		nodes = append(nodes, s)
	}
	return runSteps(ctx, cfg, res, []step{
		{"cluster fanout", func() error { return clusterFanout(ctx, nodes, sc, res) }},
		{"cluster ingest", func() error { return clusterIngest(ctx, nodes, sc, res) }},
		{"cluster failover", func() error { return clusterFailover(ctx, nodes, res) }},
	})
}

// clusterFanout times an inbound message posted to the first node until its
// message.created frame reached each of 1,000 agent sockets, spread evenly over the
// nodes: two thirds of them hear of it over NATS.
func clusterFanout(ctx context.Context, nodes []*server, sc scale, res *results) error {
	inbox, err := nodes[0].createInbox(ctx, crm.KindAPI, "Bench Cluster Fanout", nil)
	if err != nil {
		return err
	}
	const n = 1000
	clients, err := dialSpread(ctx, n, func(i int) (string, http.Header) {
		s := nodes[i%len(nodes)]
		return "ws" + strings.TrimPrefix(s.url, "http") + "/api/v1/ws",
			http.Header{"Origin": {s.url}, "Cookie": {"parley_session=" + s.session}}
	}, func(ws *websocket.Conn) error {
		return ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"presence","status":"online"}`))
	}, sampleOf)
	if err != nil {
		return fmt.Errorf("%d agent sockets: %w", n, err)
	}
	defer clients.close()
	lat, err := clients.run(sc.FanoutSamples, func(k int) error {
		return nodes[0].api(ctx, "POST", "/api/v1/inbound", inboundReq{Inbox: inbox, ExternalID: fmt.Sprintf("cluster-fanout-%d", k),
			ThreadKey: "cluster-fanout", From: map[string]string{"name": "Fanout Shopper", "email": "fanout@bench.parley.test"},
			Text: fmt.Sprintf("%s%d- where is my parcel?", sampleMarker, k)}, nil)
	})
	if err != nil {
		return err
	}
	res.set(keyClusterFanout1000, lat.pct(99))
	return nil
}

// clusterIngest posts the ingest run's messages at IngestConc clients, message i to
// node i modulo the nodes.
func clusterIngest(ctx context.Context, nodes []*server, sc scale, res *results) error {
	inbox, err := nodes[0].createInbox(ctx, crm.KindAPI, "Bench Cluster Ingest", nil)
	if err != nil {
		return err
	}
	threads := max(1, min(256, sc.IngestMsgs/4))
	rows := ingestRows(sc.IngestMsgs, threads)
	lr, err := runLoad(ctx, sc.IngestConc, len(rows), sc.IngestLimit, func(ctx context.Context, i int) error {
		r := rows[i]
		var out inboundResp
		err := nodes[i%len(nodes)].api(ctx, "POST", "/api/v1/inbound", inboundReq{Inbox: inbox, ExternalID: r.extID,
			ThreadKey: r.thread, From: map[string]string{"name": "Bench Shopper", "email": r.email},
			Subject: "Bench " + r.thread, Text: r.text}, &out)
		if err == nil && (out.Duplicate || out.MessageID == 0) {
			err = fmt.Errorf("inbound %s: duplicate=%v message_id=%d", r.extID, out.Duplicate, out.MessageID)
		}
		return err
	})
	if err != nil {
		return err
	}
	res.set(keyClusterIngest, lr.perSec())
	res.set(keyClusterIngestP99, lr.lat.pct(99))
	return nil
}

// leaseTaken matches the log line of a node that took a lease, with its fencing token.
var leaseTaken = regexp.MustCompile(`lease taken: this node does the work" lease=dispatcher .*token=(\d+)`)

// dispatcherHolder returns the node whose log names the newest holder of the outbox's
// lease, and its token.
func dispatcherHolder(nodes []*server) (int, int64) {
	holder, best := -1, int64(0)
	for i, s := range nodes {
		if s == nil {
			continue
		}
		log, _ := os.ReadFile(s.logPath)
		for _, m := range leaseTaken.FindAllSubmatch(log, -1) {
			if tok, _ := strconv.ParseInt(string(m[1]), 10, 64); tok > best {
				holder, best = i, tok
			}
		}
	}
	return holder, best
}

// clusterFailover kills the node that runs the outbox with SIGKILL and times until
// another node's log says it took the lease.
func clusterFailover(ctx context.Context, nodes []*server, res *results) error {
	holder, token := dispatcherHolder(nodes)
	if holder < 0 {
		return errors.New("no node says it holds the outbox's lease")
	}
	killed := time.Now()
	nodes[holder].cmd.Process.Kill()
	<-nodes[holder].exited
	alive := append([]*server(nil), nodes...)
	alive[holder] = nil
	for time.Since(killed) < time.Minute {
		if h, tok := dispatcherHolder(alive); h >= 0 && tok > token {
			res.set(keyClusterFailover, time.Since(killed).Seconds())
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("no node took the outbox's lease within a minute of its holder's death")
}
