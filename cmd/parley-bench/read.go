package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxReads bounds the count of each read figure; ReadTime normally ends it first.
const maxReads = 1_000_000

// rawReads run the list's and the thread's queries bare, for the raw limits beside the
// uncached figures. The SQLite part has none: its raw limit is /healthz.
type rawReads struct {
	list, thread func(ctx context.Context) error
}

// benchReads measures, on the filled database, the ticket list (first page of 50 open
// tickets by newest activity) and one ticket's thread of 50 messages at ReadConc
// concurrent clients, beside GET /healthz, which does no more than a database ping. Both
// are measured twice: as asked again and again, which the server answers from its read
// cache, and as a miss of that cache costs, each request asking for a page no request
// asked for before (see uncachedPaths). Keys start with prefix; raw, when set, adds the
// same queries run bare at the same concurrency.
func benchReads(ctx context.Context, s *server, sc scale, res *results, info *fillInfo, prefix string, raw *rawReads) error {
	const listPath = "/api/v1/tickets?status=open&limit=50"
	threadPath := "/api/v1/tickets/" + strconv.FormatInt(info.threadID, 10) + "/messages?limit=50"
	listMiss, threadMiss := uncachedPaths(listPath, threadPath, info)
	for _, p := range []string{listPath, listMiss(0)} {
		var list struct {
			Tickets []struct{} `json:"tickets"`
		}
		if err := s.api(ctx, "GET", p, nil, &list); err != nil {
			return err
		} else if len(list.Tickets) != 50 {
			return fmt.Errorf("the open ticket list %s has %d tickets, want 50", p, len(list.Tickets))
		}
	}
	for _, p := range []string{threadPath, threadMiss(0)} {
		var thread struct {
			Messages []struct{} `json:"messages"`
		}
		if err := s.api(ctx, "GET", p, nil, &thread); err != nil {
			return err
		} else if len(thread.Messages) != 50 {
			return fmt.Errorf("the thread %s has %d messages, want 50", p, len(thread.Messages))
		}
	}

	figures := []struct {
		rate, p99 string
		op        func(ctx context.Context, i int) error
	}{
		{keyHealthzReqPerS, keyHealthzP99, func(ctx context.Context, _ int) error { return getPlain(ctx, s.hc, s.url+"/healthz") }},
		{keyListReqPerS, keyListP99, func(ctx context.Context, _ int) error { return s.get(ctx, listPath) }},
		{keyThreadReqPerS, keyThreadP99, func(ctx context.Context, _ int) error { return s.get(ctx, threadPath) }},
		{keyListUncachedReqPerS, keyListUncachedP99, func(ctx context.Context, i int) error { return s.get(ctx, listMiss(i+1)) }},
		{keyThreadUncachedReqPerS, keyThreadUncachedP99, func(ctx context.Context, i int) error { return s.get(ctx, threadMiss(i+1)) }},
	}
	if raw != nil {
		figures = append(figures, []struct {
			rate, p99 string
			op        func(ctx context.Context, i int) error
		}{
			{keyRawListReqPerS, keyRawListP99, func(ctx context.Context, _ int) error { return raw.list(ctx) }},
			{keyRawThreadReqPerS, keyRawThreadP99, func(ctx context.Context, _ int) error { return raw.thread(ctx) }},
		}...)
	}
	for _, f := range figures {
		lr, err := runLoad(ctx, sc.ReadConc, maxReads, sc.ReadTime, f.op)
		if err != nil {
			return fmt.Errorf("%s: %w", f.rate, err)
		}
		res.set(prefix+f.rate, lr.perSec())
		res.set(prefix+f.p99, lr.lat.pct(99))
	}
	return nil
}

// uncachedPaths return the i-th path of a list and of a thread that ask for the same
// page as listPath and threadPath, but with a cursor of their own, so that the server's
// read cache, which keeps answers by filter and page, has never seen it: a list cursor
// just above the newest activity (the i-th millisecond from now), and a thread cursor
// of a message id before the thread's first. Each is answered as after a change,
// through the store and the JSON encoder, as BenchmarkTicketListUncached and
// BenchmarkThreadUncached (server/bench_test.go) measure in process. The cursors are
// the stores' keyset values in their opaque encoding (crm/sqlite, crm/postgres).
func uncachedPaths(listPath, threadPath string, info *fillInfo) (list, thread func(i int) string) {
	top := time.Now().Add(time.Hour).UnixMilli()
	list = func(i int) string {
		return listPath + "&cursor=" + cursor(strconv.FormatInt(top+int64(i), 10), "0")
	}
	below := max(1, info.threadFirstMsg-1) // ids 0 to below-1 page to the same messages
	thread = func(i int) string {
		return threadPath + "&cursor=" + cursor(strconv.FormatInt(int64(i)%below, 10))
	}
	return list, thread
}

// cursor encodes keyset values as the stores do.
func cursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}

// waitReports waits, when the server has the reports service, until it has read the
// whole event log of the filled database: it projects every event once after start, and
// measuring reads meanwhile would measure that work too. The wait is bounded; its length
// is noted either way. progress reads the service's cursor and the last event id, and
// says whether the database has the service's cursor at all.
func waitReports(ctx context.Context, s *server, sc scale, res *results, progress reportProgress) error {
	limit := sc.CatchUpLimit
	start := time.Now()
	for {
		after, last, ok, err := progress(ctx)
		if err != nil || !ok {
			return err
		}
		if after >= last {
			res.note(fmt.Sprintf("the reports service had read the %d filled events %s after the server started; reads were measured after that", last,
				time.Since(s.started).Round(100*time.Millisecond)))
			return nil
		}
		if time.Since(start) > limit {
			res.note(fmt.Sprintf("the reports service had read %d of %d events after %s; reads were measured while it went on", after, last, limit))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// reportProgress returns the reports service's cursor in the event log and the log's
// last id; ok is false when the database has no such cursor.
type reportProgress func(ctx context.Context) (after, last int64, ok bool, err error)

// sqliteReportProgress reads the progress from the SQLite file at path.
func sqliteReportProgress(path string) reportProgress {
	return func(ctx context.Context) (int64, int64, bool, error) {
		db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_query_only=true&_busy_timeout=10000")
		if err != nil {
			return 0, 0, false, fmt.Errorf("open database read-only: %w", err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'report_cursor'`).Scan(&n); err != nil {
			return 0, 0, false, fmt.Errorf("look for the reports cursor: %w", err)
		} else if n == 0 {
			return 0, 0, false, nil
		}
		var after, last int64
		err = db.QueryRowContext(ctx, `SELECT coalesce((SELECT after FROM report_cursor WHERE id = 1), 0),
			coalesce((SELECT max(id) FROM events), 0)`).Scan(&after, &last)
		if err != nil {
			return 0, 0, false, fmt.Errorf("read the reports cursor: %w", err)
		}
		return after, last, true, nil
	}
}

// getPlain sends an unauthenticated GET that must answer 200.
func getPlain(ctx context.Context, hc *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return &apiError{status: resp.StatusCode}
	}
	return nil
}

// benchSearch measures search latency one query at a time: one- and two-word queries
// together, and 3-letter prefixes apart. Beside each, raw runs the same words as a bare
// full-text query on the messages index (the newest 20 matches). Keys start with prefix.
func benchSearch(ctx context.Context, s *server, sc scale, res *results, info *fillInfo, prefix string, raw func(ctx context.Context, q string) error) error {
	v := info.vocab
	words := append(v.queries("one", sc.SearchEach/2), v.queries("two", sc.SearchEach-sc.SearchEach/2)...)
	prefixes := v.queries("prefix", sc.SearchEach)
	for _, k := range []struct {
		queries       []string
		p50, p99, raw string
	}{
		{words, keySearchP50, keySearchP99, keyRawFTSP99},
		{prefixes, keySearchPrefixP50, keySearchPrefixP99, keyRawFTSPrefixP99},
	} {
		lr, err := runLoad(ctx, 1, len(k.queries), sc.SearchLimit, func(ctx context.Context, i int) error {
			return s.get(ctx, "/api/v1/search?q="+url.QueryEscape(k.queries[i]))
		})
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		res.set(prefix+k.p50, lr.lat.pct(50))
		res.set(prefix+k.p99, lr.lat.pct(99))
		rlr, err := runLoad(ctx, 1, len(k.queries), sc.SearchLimit, func(ctx context.Context, i int) error {
			return raw(ctx, k.queries[i])
		})
		if err != nil {
			return fmt.Errorf("raw search: %w", err)
		}
		res.set(prefix+k.raw, rlr.lat.pct(99))
	}
	return nil
}

// sqliteRawSearch opens the SQLite file at path read-only for rawSearch.
func sqliteRawSearch(path string) (*sql.DB, error) {
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_query_only=true&_busy_timeout=10000")
	if err != nil {
		return nil, fmt.Errorf("open database read-only: %w", err)
	}
	raw.SetMaxOpenConns(1)
	return raw, nil
}

// rawSearch runs the messages part of a search as bare FTS5: the words quoted, the last
// one as a prefix, the newest 20 matches.
func rawSearch(ctx context.Context, db *sql.DB, q string) error {
	f := strings.Fields(q)
	for i := range f {
		f[i] = `"` + f[i] + `"`
	}
	f[len(f)-1] += "*"
	rows, err := db.QueryContext(ctx, `SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT 20`,
		strings.Join(f, " "))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}
