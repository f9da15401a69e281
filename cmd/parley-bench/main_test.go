package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTinyRun builds parley, runs the whole generator at the tiny scale against it and
// checks what a reader of the run gets: the table, and results.json with every stable
// key holding a number or null. With PARLEY_TEST_POSTGRES it runs the PostgreSQL part
// too, on schemas of its own on that server.
func TestTinyRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts parley servers and runs every figure at a tiny scale; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "parley")
	build := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", bin, "parley/cmd/parley")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build parley: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "bench", "results.json")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var table bytes.Buffer
	pg := os.Getenv("PARLEY_TEST_POSTGRES")
	if err := run(ctx, []string{"--scale", "tiny", "--parley", bin, "--out", out, "--database", pg}, &table); err != nil {
		t.Fatalf("run: %v\n%s", err, table.String())
	}
	for _, want := range []string{"figure", "ingest msgs/s (32 clients)", "widget new chats/s", "list req/s", "wrote " + out} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table has no %q:\n%s", want, table.String())
		}
	}

	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("results.json is not a JSON object: %v\n%s", err, b)
	}
	if got["scale"] != "tiny" {
		t.Errorf("scale = %v, want tiny", got["scale"])
	}
	if len(got) != len(jsonKeys)+1 {
		t.Errorf("results.json has %d keys, want %d:\n%s", len(got), len(jsonKeys)+1, b)
	}
	for _, k := range jsonKeys {
		v, ok := got[k]
		if !ok {
			t.Errorf("results.json has no %q", k)
			continue
		}
		if _, num := v.(float64); v != nil && !num {
			t.Errorf("%s = %v (%T), want a number or null", k, v, v)
		}
	}
	// Figures every scale measures; tiny has no 1,000-socket fanout.
	for _, k := range []string{keyIngestMsgsPerS, keyIngestNormalPerS, keyRawSQLite, keyFanout100, keyWidgetChats, keyListReqPerS,
		keyThreadReqPerS, keyListUncachedReqPerS, keyThreadUncachedReqPerS, keySearchP99, keySMSPerS, keyEmailMsgsPerS,
		keyRSSIdleMB, keyStartMS, keyWebhookPerS, keyRulesEvalP99, keyAssignP99, keySuggestP99,
		keyReasonsTrainS, keyReasonsPredictP99, keyReasonsMacroF1} {
		if _, ok := got[k].(float64); !ok {
			t.Errorf("%s = %v, want a number at the tiny scale", k, got[k])
		}
	}
	if got[keyFanout1000] != nil {
		t.Errorf("%s = %v, want null at the tiny scale", keyFanout1000, got[keyFanout1000])
	}
	// Every figure of the PostgreSQL part is measured at every scale, or none is.
	for _, k := range pgJSONKeys {
		if _, num := got[k].(float64); pg != "" && !num {
			t.Errorf("%s = %v, want a number with PARLEY_TEST_POSTGRES set", k, got[k])
		} else if pg == "" && got[k] != nil {
			t.Errorf("%s = %v, want null without a database", k, got[k])
		}
	}
	if hasTable := strings.Contains(table.String(), "\nPostgreSQL ("); hasTable != (pg != "") {
		t.Errorf("PostgreSQL table shown = %v, want %v:\n%s", hasTable, pg != "", table.String())
	}
}

func TestSampleOf(t *testing.T) {
	for _, c := range []struct {
		frame string
		want  int64
	}{
		{`{"id":9,"type":"message.created","data":{"text":"fanout-sample-17- where"}}`, 17},
		{`{"id":8,"type":"ticket.updated","data":{"subject":"fanout-sample-17-"}}`, -1},
		{`{"id":9,"type":"message.created","data":{"text":"hello"}}`, -1},
		{`{"id":9,"type":"message.created","data":{"text":"fanout-sample-x"}}`, -1},
	} {
		if got := sampleOf([]byte(c.frame)); got != c.want {
			t.Errorf("sampleOf(%s) = %d, want %d", c.frame, got, c.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var l latencies
	for i := 100; i >= 1; i-- {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct{ p, want float64 }{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := l.pct(c.p); got != c.want {
			t.Errorf("pct(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := (latencies{}).pct(99); got != 0 {
		t.Errorf("pct of nothing = %v, want 0", got)
	}
}
