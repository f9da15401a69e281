package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// The stable keys of bench/results.json, in the order they are written. A figure not
// measured at a scale is null. docs/performance.md documents each.
const (
	keyIngestMsgsPerS   = "ingest_msgs_per_s"
	keyIngestP99        = "ingest_p99_ms"
	keyIngestNormalPerS = "ingest_msgs_per_s_sync_normal"
	keyRawSQLite        = "raw_sqlite_fts_rows_per_s"
	keyFanout100        = "fanout_p99_ms_100"
	keyFanout1000       = "fanout_p99_ms_1000"
	keyBareFanout1000   = "bare_fanout_p99_ms_1000"
	keyWidgetChats      = "widget_chats_per_s"
	keyWidgetBytes      = "widget_bytes_per_socket"
	keyListReqPerS      = "list_req_per_s"
	keyListP99          = "list_p99_ms"
	keyThreadReqPerS    = "thread_req_per_s"
	keyHealthzReqPerS   = "healthz_req_per_s"
	keySearchP99        = "search_p99_ms"
	keySearchPrefixP99  = "search_prefix_p99_ms"
	keyRSSIdleMB        = "rss_idle_mb"
	keyStartMS          = "start_ms"
	keyEmailMsgsPerS    = "email_msgs_per_s"
	keySMSPerS          = "sms_webhooks_per_s"
	keyReportOverview   = "report_overview_ms"
	keyCSVRowsPerS      = "csv_rows_per_s"
)

// Figures of both parts that the tables show beside the list and the thread.
const (
	keyListUncachedReqPerS   = "list_uncached_req_per_s"
	keyListUncachedP99       = "list_uncached_p99_ms"
	keyThreadUncachedReqPerS = "thread_uncached_req_per_s"
	keyThreadUncachedP99     = "thread_uncached_p99_ms"
)

// The PostgreSQL part's own raw limits; its other figures are the SQLite part's keys
// with pgPrefix in front.
const (
	keyPGRawRows        = pgPrefix + "raw_rows_per_s"
	keyPGRawTx          = pgPrefix + "raw_tx_per_s"
	keyRawListReqPerS   = "raw_list_req_per_s"
	keyRawListP99       = "raw_list_p99_ms"
	keyRawThreadReqPerS = "raw_thread_req_per_s"
	keyRawThreadP99     = "raw_thread_p99_ms"
)

var jsonKeys = append([]string{keyIngestMsgsPerS, keyIngestP99, keyIngestNormalPerS, keyRawSQLite, keyFanout100, keyFanout1000,
	keyBareFanout1000, keyWidgetChats, keyWidgetBytes, keyListReqPerS, keyListP99, keyThreadReqPerS,
	keyHealthzReqPerS, keySearchP99, keySearchPrefixP99, keyRSSIdleMB, keyStartMS, keyEmailMsgsPerS,
	keySMSPerS, keyReportOverview, keyCSVRowsPerS, keyListUncachedReqPerS, keyListUncachedP99,
	keyThreadUncachedReqPerS, keyThreadUncachedP99, keyWebhookPerS, keyRulesEvalP99, keyAssignP99, keySuggestP99,
	keyReasonsTrainS, keyReasonsPredictP99, keyReasonsMacroF1}, append(pgJSONKeys, clusterJSONKeys...)...)

// pgJSONKeys are every figure of the PostgreSQL part, raw limits included.
var pgJSONKeys = []string{
	pgPrefix + keyIngestMsgsPerS, pgPrefix + keyIngestP50, pgPrefix + keyIngestP99, keyPGRawRows, keyPGRawTx,
	pgPrefix + keyListReqPerS, pgPrefix + keyListP99, pgPrefix + keyListUncachedReqPerS, pgPrefix + keyListUncachedP99,
	pgPrefix + keyRawListReqPerS, pgPrefix + keyRawListP99,
	pgPrefix + keyThreadReqPerS, pgPrefix + keyThreadP99, pgPrefix + keyThreadUncachedReqPerS, pgPrefix + keyThreadUncachedP99,
	pgPrefix + keyRawThreadReqPerS, pgPrefix + keyRawThreadP99,
	pgPrefix + keyHealthzReqPerS, pgPrefix + keyHealthzP99,
	pgPrefix + keySearchP50, pgPrefix + keySearchP99, pgPrefix + keyRawFTSP99,
	pgPrefix + keySearchPrefixP50, pgPrefix + keySearchPrefixP99, pgPrefix + keyRawFTSPrefixP99,
	pgPrefix + keyStartMS,
}

// The cluster part's figures (BENCH_CLUSTER=3, cluster.go).
const (
	keyClusterFanout1000 = "cluster_fanout_p99_ms_1000"
	keyClusterIngest     = "cluster_ingest_msgs_per_s"
	keyClusterFailover   = "cluster_failover_s"
	keyClusterIngestP99  = "cluster_ingest_p99_ms"
)

var clusterJSONKeys = []string{keyClusterFanout1000, keyClusterIngest, keyClusterFailover}

// clusterFigures are the rows of the cluster table; ingest stands beside the one-node
// PostgreSQL figure of the same run.
var clusterFigures = []figure{
	{key: keyClusterFanout1000, label: "fan-out p99 ms, 1,000 sockets on 3 nodes", target: 50, raw: keyFanout1000},
	{key: keyClusterIngest, label: "ingest msgs/s over 3 nodes (32 clients)", raw: pgPrefix + keyIngestMsgsPerS},
	{key: keyClusterIngestP99, label: "ingest p99 ms over 3 nodes"},
	{key: keyClusterFailover, label: "lease failover s (kill -9 the holder)", target: 15},
}

// Figures shown in the table only: the p50s and the raw limits without a stable key.
const (
	keyIngestP50       = "ingest_p50_ms"
	keyRawSQLiteTx     = "raw_sqlite_fts_tx_per_s"
	keyIngestNormalP99 = "ingest_p99_ms_sync_normal"
	keyRawSQLiteNormal = "raw_sqlite_fts_rows_per_s_sync_normal"
	keyFanoutP50_100   = "fanout_p50_ms_100"
	keyFanoutP50_1000  = "fanout_p50_ms_1000"
	keyBareFanout100   = "bare_fanout_p99_ms_100"
	keyBareChats       = "bare_ws_chats_per_s"
	keyThreadP99       = "thread_p99_ms"
	keyHealthzP99      = "healthz_p99_ms"
	keySearchP50       = "search_p50_ms"
	keySearchPrefixP50 = "search_prefix_p50_ms"
	keyRawFTSP99       = "raw_fts_p99_ms"
	keyRawFTSPrefixP99 = "raw_fts_prefix_p99_ms"
)

// figure is one row of the table: a value, its target and the raw limit beside it.
type figure struct {
	key      string
	label    string
	target   float64 // 0: none
	atLeast  bool    // the target is a floor (throughput), else a ceiling (latency, memory)
	raw      string  // the key of the raw limit measured in the same run
	fullOnly bool    // the target is set for the full scale only
}

var figures = []figure{
	{key: keyIngestMsgsPerS, label: "ingest msgs/s (32 clients)", target: 5000, atLeast: true, raw: keyRawSQLite},
	{key: keyRawSQLiteTx, label: "raw SQLite+FTS, a commit per msg", raw: keyRawSQLite},
	{key: keyIngestP50, label: "ingest p50 ms"},
	{key: keyIngestP99, label: "ingest p99 ms", target: 50},
	{key: keyIngestNormalPerS, label: "ingest msgs/s, --sync normal", raw: keyRawSQLiteNormal},
	{key: keyIngestNormalP99, label: "ingest p99 ms, --sync normal"},
	{key: keyFanoutP50_100, label: "fanout p50 ms, 100 sockets"},
	{key: keyFanout100, label: "fanout p99 ms, 100 sockets", target: 10, raw: keyBareFanout100},
	{key: keyFanoutP50_1000, label: "fanout p50 ms, 1,000 sockets"},
	{key: keyFanout1000, label: "fanout p99 ms, 1,000 sockets", target: 50, raw: keyBareFanout1000},
	{key: keyWidgetChats, label: "widget new chats/s", target: 2000, atLeast: true, raw: keyBareChats},
	{key: keyWidgetBytes, label: "widget bytes per idle socket", target: 12 * 1024},
	{key: keyListReqPerS, label: "list req/s (50 open, newest)", target: 5000, atLeast: true, raw: keyHealthzReqPerS},
	{key: keyListP99, label: "list p99 ms", target: 10, raw: keyHealthzP99},
	{key: keyThreadReqPerS, label: "thread req/s (50 messages)", target: 10000, atLeast: true, raw: keyHealthzReqPerS},
	{key: keyThreadP99, label: "thread p99 ms", raw: keyHealthzP99},
	{key: keyListUncachedReqPerS, label: "list req/s, uncached", raw: keyHealthzReqPerS},
	{key: keyListUncachedP99, label: "list p99 ms, uncached", raw: keyHealthzP99},
	{key: keyThreadUncachedReqPerS, label: "thread req/s, uncached", raw: keyHealthzReqPerS},
	{key: keyThreadUncachedP99, label: "thread p99 ms, uncached", raw: keyHealthzP99},
	{key: keyHealthzReqPerS, label: "healthz req/s"},
	{key: keySearchP50, label: "search p50 ms (1-2 words)"},
	{key: keySearchP99, label: "search p99 ms (1-2 words)", target: 50, raw: keyRawFTSP99, fullOnly: true},
	{key: keySearchPrefixP50, label: "search p50 ms (3-letter prefix)"},
	{key: keySearchPrefixP99, label: "search p99 ms (3-letter prefix)", target: 20, raw: keyRawFTSPrefixP99, fullOnly: true},
	{key: keyEmailMsgsPerS, label: "email msgs/s (IMAP to tickets)"},
	{key: keySMSPerS, label: "sms webhooks/s (signed)"},
	{key: keyWebhookPerS, label: "outgoing webhook deliveries/s (one receiver)", target: 1000, atLeast: true},
	{key: keyRulesEvalP99, label: "rules eval p99 ms (one event, 200 rules)", target: 1},
	{key: keyAssignP99, label: "assign p99 ms (one decision, 500 agents)", target: 5},
	{key: keySuggestP99, label: "suggested replies p99 ms", target: 20, fullOnly: true},
	{key: keyReasonsTrainS, label: "reasons train s (100,000 messages)", target: 30},
	{key: keyReasonsPredictP99, label: "reasons predict p99 ms", target: 2},
	{key: keyReasonsMacroF1, label: "reasons macro-F1 (5-fold, shipped set)", target: 0.80, atLeast: true},
	{key: keyReportOverview, label: "report overview ms"},
	{key: keyCSVRowsPerS, label: "tickets.csv rows/s"},
	{key: keyRSSIdleMB, label: "server RSS idle MB", target: 40},
	{key: keyStartMS, label: "server start ms"},
}

// pgFigures are the rows of the PostgreSQL table, with the targets for it.
var pgFigures = []figure{
	{key: pgPrefix + keyIngestMsgsPerS, label: "ingest msgs/s (32 clients)", target: 2500, atLeast: true, raw: keyPGRawRows},
	{key: keyPGRawTx, label: "raw pgx, a commit per msg", raw: keyPGRawRows},
	{key: pgPrefix + keyIngestP50, label: "ingest p50 ms"},
	{key: pgPrefix + keyIngestP99, label: "ingest p99 ms", target: 50},
	{key: pgPrefix + keyListReqPerS, label: "list req/s (50 open, newest)", target: 3000, atLeast: true, raw: pgPrefix + keyHealthzReqPerS},
	{key: pgPrefix + keyListP99, label: "list p99 ms", target: 15, raw: pgPrefix + keyHealthzP99},
	{key: pgPrefix + keyListUncachedReqPerS, label: "list req/s, uncached", raw: pgPrefix + keyRawListReqPerS},
	{key: pgPrefix + keyListUncachedP99, label: "list p99 ms, uncached", raw: pgPrefix + keyRawListP99},
	{key: pgPrefix + keyThreadReqPerS, label: "thread req/s (50 messages)", target: 5000, atLeast: true, raw: pgPrefix + keyHealthzReqPerS},
	{key: pgPrefix + keyThreadP99, label: "thread p99 ms", raw: pgPrefix + keyHealthzP99},
	{key: pgPrefix + keyThreadUncachedReqPerS, label: "thread req/s, uncached", raw: pgPrefix + keyRawThreadReqPerS},
	{key: pgPrefix + keyThreadUncachedP99, label: "thread p99 ms, uncached", raw: pgPrefix + keyRawThreadP99},
	{key: pgPrefix + keyHealthzReqPerS, label: "healthz req/s"},
	{key: pgPrefix + keySearchP50, label: "search p50 ms (1-2 words)"},
	{key: pgPrefix + keySearchP99, label: "search p99 ms (1-2 words)", target: 50, raw: pgPrefix + keyRawFTSP99, fullOnly: true},
	{key: pgPrefix + keySearchPrefixP50, label: "search p50 ms (3-letter prefix)"},
	{key: pgPrefix + keySearchPrefixP99, label: "search p99 ms (3-letter prefix)", raw: pgPrefix + keyRawFTSPrefixP99},
	{key: pgPrefix + keyStartMS, label: "server start ms"},
}

// rawLabels name the raw limits in the table.
var rawLabels = map[string]string{
	keyRawSQLite:       "raw SQLite+FTS msgs/s, 32 per commit",
	keyRawSQLiteNormal: "raw SQLite+FTS msgs/s, 32 per commit, NORMAL",
	keyBareFanout100:   "bare gorilla p99 ms",
	keyBareFanout1000:  "bare gorilla p99 ms",
	keyBareChats:       "bare ws dial+echo/s",
	keyHealthzReqPerS:  "healthz req/s",
	keyHealthzP99:      "healthz p99 ms",
	keyRawFTSP99:       "raw FTS5 p99 ms",
	keyRawFTSPrefixP99: "raw FTS5 p99 ms",

	keyPGRawRows:                   "raw pgx msgs/s, 32 per commit",
	pgPrefix + keyHealthzReqPerS:   "healthz req/s",
	pgPrefix + keyHealthzP99:       "healthz p99 ms",
	pgPrefix + keyRawListReqPerS:   "raw pgx list queries/s",
	pgPrefix + keyRawListP99:       "raw pgx list p99 ms",
	pgPrefix + keyRawThreadReqPerS: "raw pgx thread queries/s",
	pgPrefix + keyRawThreadP99:     "raw pgx thread p99 ms",
	pgPrefix + keyRawFTSP99:        "raw pgx tsquery p99 ms",
	pgPrefix + keyRawFTSPrefixP99:  "raw pgx tsquery p99 ms",
	keyFanout1000:                  "one node (SQLite) p99 ms",
	pgPrefix + keyIngestMsgsPerS:   "one node on PostgreSQL msgs/s",
}

// results collects the figures of one run. Only the bench goroutine touches it.
type results struct {
	scale  scale
	values map[string]float64
	notes  []string
}

func newResults(sc scale) *results { return &results{scale: sc, values: map[string]float64{}} }

func (r *results) set(key string, v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		r.values[key] = v
	}
}

func (r *results) note(s string) { r.notes = append(r.notes, s) }

// write writes the stable keys as one flat JSON object, through a temporary file so that
// a reader never sees half of it.
func (r *results) write(path string) error {
	var b bytes.Buffer
	b.WriteString("{\n")
	fmt.Fprintf(&b, "  %q: %q", "scale", r.scale.Name)
	for _, k := range jsonKeys {
		v, ok := r.values[k]
		val := "null"
		if ok {
			val = formatJSON(k, v)
		}
		fmt.Fprintf(&b, ",\n  %q: %s", k, val)
	}
	b.WriteString("\n}\n")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create results dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// formatJSON rounds a value to what its figure can resolve.
func formatJSON(key string, v float64) string {
	digits := 0
	switch {
	case strings.HasSuffix(key, "_ms") || strings.Contains(key, "_ms_") || key == keyRSSIdleMB || key == keyReasonsTrainS:
		digits = 2
	case key == keyReasonsMacroF1:
		digits = 3
	}
	b, _ := json.Marshal(math.Round(v*math.Pow10(digits)) / math.Pow10(digits))
	return string(b)
}

// print writes the tables, SQLite's and, when it measured anything, PostgreSQL's:
// figure, value, target, the raw limit of this run, the ratio of the value to that
// limit, and whether the target was met; then the notes.
func (r *results) print(w io.Writer) {
	fmt.Fprintf(w, "\nParley bench, scale %s, %s, %d CPUs shared with whatever else runs here\n",
		r.scale.Name, time.Now().UTC().Format(time.RFC3339), numCPU())
	footnote := r.table(w, "SQLite (one node)", figures)
	for _, k := range pgJSONKeys {
		if _, ok := r.values[k]; ok {
			footnote = r.table(w, "PostgreSQL (--database, on this machine)", pgFigures) || footnote
			break
		}
	}
	for _, k := range clusterJSONKeys {
		if _, ok := r.values[k]; ok {
			footnote = r.table(w, "Three nodes (BENCH_CLUSTER=3: PostgreSQL and NATS on this machine)", clusterFigures) || footnote
			break
		}
	}
	if footnote {
		fmt.Fprintln(w, "\n* the target is set for the full scale (1,000,000 messages); this run had fewer")
	}
	if len(r.notes) > 0 {
		fmt.Fprintln(w)
	}
	for _, n := range r.notes {
		fmt.Fprintln(w, "- "+n)
	}
}

// table writes one table of figs under title and says whether a row needs the
// footnote of full-scale targets.
func (r *results) table(w io.Writer, title string, figs []figure) bool {
	fmt.Fprintf(w, "\n%s\n\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\ttarget\traw limit (same run)\tvalue/raw\tresult")
	footnote := false
	for _, f := range figs {
		v, ok := r.values[f.key]
		value, target, rawCol, ratio, verdict := "null", "", "", "", ""
		if ok {
			value = human(v)
		}
		if f.target > 0 {
			op := "<="
			if f.atLeast {
				op = ">="
			}
			target = op + " " + human(f.target)
			if f.fullOnly {
				target += " (full)"
			}
		}
		if f.raw != "" {
			if rv, rok := r.values[f.raw]; rok {
				rawCol = human(rv) + " " + rawLabels[f.raw]
				if ok && rv > 0 {
					ratio = fmt.Sprintf("%.2f", v/rv)
				}
			} else {
				rawCol = "not measured"
			}
		}
		switch {
		case !ok:
			verdict = "not measured"
		case v < 0:
			verdict = "noise (see notes)"
		case f.target == 0:
			verdict = "-"
		case (f.atLeast && v >= f.target) || (!f.atLeast && v <= f.target):
			verdict = "met"
		default:
			verdict = "MISSED"
		}
		if ok && f.target > 0 && f.fullOnly && r.scale.Name != "full" {
			verdict += " *"
			footnote = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.label, value, target, rawCol, ratio, verdict)
	}
	tw.Flush()
	return footnote
}

// human formats a figure with the precision a reader needs.
func human(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// ms converts d to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
