package main

import (
	"context"
	"database/sql"
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

// benchList measures, on the filled database, the ticket list (first page of 50 open
// tickets by newest activity) and one ticket's thread of 50 messages at ReadConc
// concurrent clients, beside GET /healthz, which does no more than a database ping.
func benchList(ctx context.Context, s *server, sc scale, res *results, info *fillInfo) error {
	const listPath = "/api/v1/tickets?status=open&limit=50"
	threadPath := "/api/v1/tickets/" + strconv.FormatInt(info.threadID, 10) + "/messages?limit=50"
	var list struct {
		Tickets []struct{} `json:"tickets"`
	}
	if err := s.api(ctx, "GET", listPath, nil, &list); err != nil {
		return err
	} else if len(list.Tickets) != 50 {
		return fmt.Errorf("the open ticket list has %d tickets, want 50", len(list.Tickets))
	}
	var thread struct {
		Messages []struct{} `json:"messages"`
	}
	if err := s.api(ctx, "GET", threadPath, nil, &thread); err != nil {
		return err
	} else if len(thread.Messages) != 50 {
		return fmt.Errorf("the thread has %d messages, want 50", len(thread.Messages))
	}

	for _, f := range []struct {
		path      string
		auth      bool
		rate, p99 string
	}{
		{"/healthz", false, keyHealthzReqPerS, keyHealthzP99},
		{listPath, true, keyListReqPerS, keyListP99},
		{threadPath, true, keyThreadReqPerS, keyThreadP99},
	} {
		lr, err := runLoad(ctx, sc.ReadConc, maxReads, sc.ReadTime, func(ctx context.Context, _ int) error {
			if f.auth {
				return s.get(ctx, f.path)
			}
			return getPlain(ctx, s.hc, s.url+f.path)
		})
		if err != nil {
			return fmt.Errorf("GET %s: %w", f.path, err)
		}
		res.set(f.rate, lr.perSec())
		res.set(f.p99, lr.lat.pct(99))
	}
	return nil
}

// waitReports waits, when the server has the reports service, until it has read the
// whole event log of the filled database: it projects every event once after start, and
// measuring reads meanwhile would measure that work too. The wait is bounded; its length
// is noted either way.
func waitReports(ctx context.Context, s *server, sc scale, res *results, info *fillInfo) error {
	db, err := sql.Open("sqlite3", "file:"+info.dbPath+"?mode=ro&_query_only=true&_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("open database read-only: %w", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'report_cursor'`).Scan(&n); err != nil {
		return fmt.Errorf("look for the reports cursor: %w", err)
	} else if n == 0 {
		return nil
	}
	var last int64
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&last); err != nil {
		return fmt.Errorf("last event: %w", err)
	}
	limit := sc.CatchUpLimit
	start := time.Now()
	for {
		var after int64
		err := db.QueryRowContext(ctx, `SELECT coalesce((SELECT after FROM report_cursor WHERE id = 1), 0)`).Scan(&after)
		if err != nil {
			return fmt.Errorf("read the reports cursor: %w", err)
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
// together, and 3-letter prefixes apart. Beside each, the same words as a bare FTS5
// query on the messages index, read from the database file by this process.
func benchSearch(ctx context.Context, s *server, sc scale, res *results, info *fillInfo) error {
	v := info.vocab
	words := append(v.queries("one", sc.SearchEach/2), v.queries("two", sc.SearchEach-sc.SearchEach/2)...)
	prefixes := v.queries("prefix", sc.SearchEach)
	raw, err := sql.Open("sqlite3", "file:"+info.dbPath+"?mode=ro&_query_only=true&_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("open database read-only: %w", err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)

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
		res.set(k.p50, lr.lat.pct(50))
		res.set(k.p99, lr.lat.pct(99))
		rlr, err := runLoad(ctx, 1, len(k.queries), sc.SearchLimit, func(ctx context.Context, i int) error {
			return rawSearch(ctx, raw, k.queries[i])
		})
		if err != nil {
			return fmt.Errorf("raw fts: %w", err)
		}
		res.set(k.raw, rlr.lat.pct(99))
	}
	return nil
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
