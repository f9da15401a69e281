package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"parley/crm"
)

// inboundReq is the body of POST /api/v1/inbound.
type inboundReq struct {
	Inbox      int64             `json:"inbox"`
	ExternalID string            `json:"external_id"`
	ThreadKey  string            `json:"thread_key"`
	From       map[string]string `json:"from"`
	Subject    string            `json:"subject,omitempty"`
	Text       string            `json:"text"`
}

type inboundResp struct {
	TicketID  int64 `json:"ticket_id"`
	MessageID int64 `json:"message_id"`
	Duplicate bool  `json:"duplicate"`
}

// ingestRow is one inbound message of the ingest run, the same for the API and the raw
// SQLite insert.
type ingestRow struct {
	thread string // thread key
	email  string
	newOne bool // a new thread, else one of the warm-up threads
	extID  string
	text   string
}

func ingestRows(n, threads int) []ingestRow {
	v := newVocabulary()
	t := v.text(3)
	rows := make([]ingestRow, n)
	for i := range rows {
		r := ingestRow{extID: "bench-in-" + strconv.Itoa(i), text: t.words(8, 30), newOne: i%2 == 1}
		k := strconv.Itoa(i)
		if !r.newOne {
			k = "warm-" + strconv.Itoa((i/2)%threads)
		}
		r.thread, r.email = "thread-"+k, "shopper-"+k+"@bench.parley.test"
		rows[i] = r
	}
	return rows
}

// benchIngest posts inbound messages at IngestConc concurrent clients, half to the
// threads of warm-up messages and half opening new tickets, to a server with durable
// commits (the default, --sync full), then inserts the same rows into a separate SQLite
// file with the same schema and synchronous=FULL, one transaction per message and 32 per
// transaction, for the raw limits of this machine.
func benchIngest(ctx context.Context, s *server, sc scale, res *results, work string) error {
	lr, rows, threads, err := ingestLoad(ctx, s, sc, res, "ingest")
	if err != nil {
		return err
	}
	res.set(keyIngestMsgsPerS, lr.perSec())
	res.set(keyIngestP50, lr.lat.pct(50))
	res.set(keyIngestP99, lr.lat.pct(99))

	// Without batching each message pays a commit, and with FULL a sync of the WAL; with
	// it, one commit carries as many messages as there are clients waiting, the most a
	// group-committing writer gets.
	for _, r := range []struct {
		key   string
		batch int
	}{{keyRawSQLiteTx, 1}, {keyRawSQLite, sc.IngestConc}} {
		rate, err := rawInsertRate(ctx, filepath.Join(work, "raw-"+strconv.Itoa(r.batch)), rows[:max(lr.n, 1)], threads, r.batch, "FULL", sc.IngestLimit)
		if err != nil {
			return fmt.Errorf("raw sqlite: %w", err)
		}
		res.set(r.key, rate)
	}
	return nil
}

// benchIngestNormal runs the same ingest on a server started with --sync normal, on a
// data dir of its own, and the raw limit of 32 messages per transaction with
// synchronous=NORMAL beside it: the difference to benchIngest is what durable commits
// cost on this machine.
func benchIngestNormal(ctx context.Context, cfg config, sc scale, res *results) error {
	s, err := startServer(ctx, cfg, filepath.Join(cfg.work, "sync-normal"), "--sync", "normal")
	if err != nil {
		return err
	}
	defer s.stop()
	lr, rows, threads, err := ingestLoad(ctx, s, sc, res, "ingest --sync normal")
	if err != nil {
		return err
	}
	res.set(keyIngestNormalPerS, lr.perSec())
	res.set(keyIngestNormalP99, lr.lat.pct(99))
	rate, err := rawInsertRate(ctx, filepath.Join(cfg.work, "raw-normal"), rows[:max(lr.n, 1)], threads, sc.IngestConc, "NORMAL", sc.IngestLimit)
	if err != nil {
		return fmt.Errorf("raw sqlite: %w", err)
	}
	res.set(keyRawSQLiteNormal, rate)
	return nil
}

// ingestLoad creates an api inbox on s, opens the warm-up threads and posts the timed
// messages. It returns the load, the rows and the number of warm-up threads; name
// names the run in the notes.
func ingestLoad(ctx context.Context, s *server, sc scale, res *results, name string) (loadResult, []ingestRow, int, error) {
	inbox, err := s.createInbox(ctx, crm.KindAPI, "Bench API", nil)
	if err != nil {
		return loadResult{}, nil, 0, err
	}
	threads := max(1, min(256, sc.IngestMsgs/4))
	post := func(ctx context.Context, r ingestRow) error {
		var out inboundResp
		err := s.api(ctx, "POST", "/api/v1/inbound", inboundReq{Inbox: inbox, ExternalID: r.extID, ThreadKey: r.thread,
			From: map[string]string{"name": "Bench Shopper", "email": r.email}, Subject: "Bench " + r.thread, Text: r.text}, &out)
		if err == nil && (out.Duplicate || out.MessageID == 0) {
			err = fmt.Errorf("inbound %s: duplicate=%v message_id=%d", r.extID, out.Duplicate, out.MessageID)
		}
		return err
	}
	warm := ingestRows(threads*2, threads)
	if _, err := runLoad(ctx, sc.IngestConc, threads, time.Minute, func(ctx context.Context, i int) error {
		r := warm[i*2]
		r.extID = "bench-warm-" + strconv.Itoa(i)
		return post(ctx, r)
	}); err != nil {
		return loadResult{}, nil, 0, fmt.Errorf("warm-up threads: %w", err)
	}

	rows := ingestRows(sc.IngestMsgs, threads)
	lr, err := runLoad(ctx, sc.IngestConc, len(rows), sc.IngestLimit, func(ctx context.Context, i int) error {
		return post(ctx, rows[i])
	})
	if err != nil {
		return loadResult{}, nil, 0, err
	}
	if lr.n < len(rows) {
		res.note(fmt.Sprintf("%s stopped at its %s limit after %d of %d messages", name, sc.IngestLimit, lr.n, len(rows)))
	}
	return lr, rows, threads, nil
}

// rawInsertRate writes rows into a fresh database of Parley's schema the way ingest does,
// minus everything that is not SQLite: for each message the customer, identity and
// search row of a new sender, the ticket inserted or updated, the message with its FTS5
// row and two event rows, batch messages per immediate transaction, with the given
// synchronous mode. It returns messages per second.
func rawInsertRate(ctx context.Context, dir string, rows []ingestRow, threads, batch int, synchronous string, limit time.Duration) (float64, error) {
	store, path, err := openSchema(dir)
	if err != nil {
		return 0, err
	}
	store.Close()
	db, err := openRaw(path, synchronous)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	w, err := newWriter(ctx, db)
	if err != nil {
		return 0, err
	}
	defer w.close()
	if _, err := w.conn.ExecContext(ctx, `INSERT INTO inboxes (id, kind, name, created_at, updated_at) VALUES (1, 'api', 'raw', 0, 0)`); err != nil {
		return 0, fmt.Errorf("insert inbox: %w", err)
	}
	tickets := map[string]int64{}
	now := time.Now().UnixMilli()
	insert := func(r ingestRow) error {
		tid, ok := tickets[r.thread]
		var cid int64
		var err error
		if ok {
			if err := w.touch(ctx, tid, now); err != nil {
				return err
			}
		} else {
			if cid, err = w.customer(ctx, "Bench Shopper", r.email, now); err != nil {
				return err
			}
			if tid, err = w.ticket(ctx, 1, cid, "Bench "+r.thread, crm.StatusOpen, r.thread, now, now, 0, 0); err != nil {
				return err
			}
			tickets[r.thread] = tid
		}
		shopper := crm.Author{Kind: "customer", ID: cid, Name: "Bench Shopper"}
		mid, err := w.message(ctx, tid, 1, crm.DirIn, shopper, r.text, r.extID, now)
		if err != nil {
			return err
		}
		if err := w.event(ctx, crm.EventTicketUpdated, tid, cid, 1, shopper, `{"id":`+strconv.FormatInt(tid, 10)+`}`, now); err != nil {
			return err
		}
		return w.event(ctx, crm.EventMessageCreated, tid, cid, 1, shopper, `{"id":`+strconv.FormatInt(mid, 10)+`}`, now)
	}
	insertAll := func(rows []ingestRow) error {
		if err := w.begin(ctx); err != nil {
			return err
		}
		defer w.rollback()
		for _, r := range rows {
			if err := insert(r); err != nil {
				return err
			}
		}
		return w.commit(ctx)
	}
	// The warm-up threads exist before the timing starts, as they did on the server.
	warm := make([]ingestRow, threads)
	for i := range warm {
		warm[i] = ingestRow{thread: "thread-warm-" + strconv.Itoa(i), email: "shopper-warm-" + strconv.Itoa(i) + "@bench.parley.test",
			extID: "warm-" + strconv.Itoa(i), text: "warm-up"}
	}
	if err := insertAll(warm); err != nil {
		return 0, fmt.Errorf("warm-up rows: %w", err)
	}
	start := time.Now()
	n := 0
	for n < len(rows) && ctx.Err() == nil && time.Since(start) < limit {
		chunk := rows[n:min(n+batch, len(rows))]
		if err := insertAll(chunk); err != nil {
			return 0, fmt.Errorf("rows %d to %d: %w", n, n+len(chunk), err)
		}
		n += len(chunk)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
