package email

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Concurrent filing limits.
const (
	// fileWorkers is how many mails of one inbox are filed at once. Filing one mail
	// waits for a store commit and the fsync of its message.eml; the store commits
	// concurrent writers together, so a few mails in flight multiply the throughput,
	// while more would only queue at the store.
	fileWorkers = 8
	// maxBuffered is the largest mail read into memory for a worker. A larger one is
	// filed while it streams in, after the mails before it, which bounds the memory a
	// fetch holds to about fileWorkers × maxBuffered.
	maxBuffered = 4 << 20
)

// filer files the mails of one FETCH response concurrently. One goroutine, the
// fetcher's, reads the mails off the connection in UID order; each is filed by a
// worker. Concurrency must not change what a sequential fetcher would do:
//
//   - A mail that references (In-Reply-To, References) another mail of the same fetch,
//     or repeats its Message-ID, is filed only after that one is committed, so a reply
//     and its original in one batch still thread and a duplicate is still recognised.
//     If that earlier mail failed, the later one is left for the next fetch.
//   - After the first failure no further mail is started: the caller's checkpoint stops
//     before the lowest UID that is not filed, and a mail filed past it is filed again
//     harmlessly on the next fetch, since ingest dedupes on Message-ID.
//   - wait returns only when every worker is done, so \Seen and the checkpoint are set
//     only for committed mail.
type filer struct {
	ctx   context.Context
	f     *fetcher
	note  string
	slots chan struct{}
	wg    sync.WaitGroup

	// pending maps a Message-ID to the latest mail of this fetch that has it or
	// references it. Only the reading goroutine uses it.
	pending map[string]*filing

	mu    sync.Mutex
	filed []imap.UID
	err   error
	errAt imap.UID
}

// filing is one mail being filed; done is closed when it is committed or has failed.
type filing struct {
	done chan struct{}
	ok   bool // written before done is closed
}

func newFiler(ctx context.Context, f *fetcher, note string) *filer {
	return &filer{ctx: ctx, f: f, note: note, slots: make(chan struct{}, fileWorkers), pending: map[string]*filing{}}
}

// failed reports whether a mail failed to be filed.
func (fl *filer) failed() bool {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.err != nil
}

// finish records the outcome of filing the mail with uid.
func (fl *filer) finish(uid imap.UID, d *Delivery, err error) {
	if d != nil && d.Ignored != "" {
		fl.f.c.logger.Info("mail ignored", "inbox", fl.f.inbox.ID, "reason", d.Ignored)
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	switch {
	case err != nil && (fl.err == nil || uid < fl.errAt):
		fl.err, fl.errAt = fmt.Errorf("file message uid %d: %w", uid, err), uid
	case err == nil && uid != 0:
		fl.filed = append(fl.filed, uid)
	}
}

// read takes one message of the FETCH response. A mail up to maxBuffered is read into
// memory and handed to a worker; a larger one is filed while it streams, once every
// mail before it is done, so that it needs no copy and still files in order.
func (fl *filer) read(msg *imapclient.FetchMessageData) {
	f := fl.f
	var uid imap.UID
	var date time.Time
	var raw []byte
	var rerr error
	var streamed, seen bool
	var d *Delivery
	for {
		item := msg.Next()
		if item == nil {
			break
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = it.UID
		case imapclient.FetchItemDataInternalDate:
			date = it.Time
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil || seen {
				continue
			}
			seen = true
			if it.Literal.Size() <= maxBuffered {
				raw, rerr = io.ReadAll(it.Literal)
				continue
			}
			f.guard.expect(0) // nothing is read while the mails before it finish
			fl.wg.Wait()
			f.expect()
			if fl.failed() {
				return
			}
			streamed = true
			d, rerr = f.c.deliver(fl.ctx, f.inbox, it.Literal, date, fl.note)
			f.expect() // filing took local time; the server's wait starts now
		}
	}
	switch {
	case !seen:
		return
	case streamed || rerr != nil:
		if rerr != nil && !streamed {
			rerr = fmt.Errorf("read message: %w", rerr)
		}
		fl.finish(uid, d, rerr)
		// Mail that references this one may now go ahead: it is committed or failed.
		return
	}
	fl.start(uid, date, raw)
}

// start files a buffered mail in a worker, after the mails of this fetch it depends on.
func (fl *filer) start(uid imap.UID, date time.Time, raw []byte) {
	f := fl.f
	self := &filing{done: make(chan struct{})}
	var deps []*filing
	for _, id := range threadIDs(raw) {
		if dep := fl.pending[id]; dep != nil && dep != self && !containsFiling(deps, dep) {
			deps = append(deps, dep)
		}
		fl.pending[id] = self
	}
	f.guard.expect(0) // nothing is read while every worker is busy
	fl.slots <- struct{}{}
	f.expect()
	fl.wg.Add(1)
	go func() {
		defer fl.wg.Done()
		defer func() { <-fl.slots }()
		defer close(self.done)
		for _, dep := range deps {
			<-dep.done
			if !dep.ok {
				return // left for the next fetch, when its original is filed
			}
		}
		d, err := f.c.deliver(fl.ctx, f.inbox, bytes.NewReader(raw), date, fl.note)
		fl.finish(uid, d, err)
		self.ok = err == nil
	}()
}

// wait waits for every worker and returns the UIDs filed (in no order) and the error of
// the lowest UID that failed.
func (fl *filer) wait() ([]imap.UID, error) {
	fl.wg.Wait()
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return fl.filed, fl.err
}

// threadIDs returns the Message-ID and the referenced ids of a raw mail's header, or
// nil when the header cannot be read (the mail is then quarantined, threaded by nothing).
func threadIDs(raw []byte) []string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	ids := msgIDs(m.Header.Get("Message-Id"))
	if len(ids) > 1 {
		ids = ids[:1]
	}
	ids = append(ids, msgIDs(m.Header.Get("References"))...)
	return append(ids, msgIDs(m.Header.Get("In-Reply-To"))...)
}

func containsFiling(list []*filing, x *filing) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}
