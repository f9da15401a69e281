package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"parley/channels"
	"parley/crm"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Fetching limits.
const (
	fetchChunk    = 20       // messages fetched per FETCH command
	maxFetchSize  = 64 << 20 // larger mail is read only up to its header
	initialImport = 500      // the newest mail imported when an inbox is first connected
)

// Run keeps one fetcher per email inbox until ctx is done (channels.InboxWorkers): an
// inbox.updated event starts, restarts or stops the fetcher of its inbox, and a disabled
// or deleted inbox is not fetched. Every IMAP session is closed before
// Run returns nil.
func (c *Channel) Run(ctx context.Context) error {
	c.defaults()
	w := &channels.InboxWorkers{Kind: crm.KindEmail, Store: c.store, Bus: c.bus, Logger: c.logger, Work: c.fetch, Hold: c.Hold}
	return w.Run(ctx)
}

// fetch reads the mailbox of an inbox until ctx is done. Its status lasts as long.
func (c *Channel) fetch(ctx context.Context, in *crm.Inbox) {
	c.setStatus(in.ID, "connecting", nil)
	defer func() {
		c.mu.Lock()
		delete(c.status, in.ID)
		c.mu.Unlock()
	}()
	f := &fetcher{c: c, inbox: in, cfg: ConfigOf(in)}
	f.run(ctx)
}

// fetcher reads one inbox's mailbox.
type fetcher struct {
	c     *Channel
	inbox *crm.Inbox
	cfg   *Config
	guard *stallGuard // the watchdog of the current session's connection
}

// expect starts the watch for the answer to the next IMAP command.
func (f *fetcher) expect() { f.guard.expect(f.c.CommandTimeout) }

// run keeps a session open, reconnecting with exponential backoff after errors.
func (f *fetcher) run(ctx context.Context) {
	c, id := f.c, f.inbox.ID
	backoff := c.MinBackoff
	for {
		connected, err := f.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			backoff = c.MinBackoff
		}
		c.setStatus(id, "error", err)
		if channels.SignInRequired(err) {
			c.markSignIn(id, f.cfg.Auth)
		}
		c.logger.Warn("imap session ended", "inbox", id, "retry_in", backoff.String(), "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, c.MaxBackoff)
		c.setStatus(id, "connecting", nil)
	}
}

func (c *Channel) tlsConfig(host string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLSConfig != nil {
		cfg = c.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg
}

// dialIMAP connects and logs in to the inbox's IMAP server. The connection is watched
// by the returned guard: until login is done the server has DialTimeout to answer.
func (c *Channel) dialIMAP(ctx context.Context, cfg *Config, opts *imapclient.Options) (*imapclient.Client, *stallGuard, error) {
	c.defaults()
	addr := net.JoinHostPort(cfg.IMAPHost, strconv.Itoa(cfg.IMAPPort))
	dctx, cancel := context.WithTimeout(ctx, c.DialTimeout)
	defer cancel()
	raw, err := c.Outbound.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to imap server: %w", err)
	}
	guard := newStallGuard(raw)
	guard.expect(c.DialTimeout)
	var conn net.Conn = guard
	opts.TLSConfig = c.tlsConfig(cfg.IMAPHost)
	var client *imapclient.Client
	switch cfg.IMAPSecurity {
	case SecurityTLS:
		client = imapclient.New(tls.Client(conn, opts.TLSConfig), opts)
	case SecurityStartTLS:
		if client, err = imapclient.NewStartTLS(conn, opts); err != nil {
			guard.Close()
			return nil, nil, guard.explain(fmt.Errorf("imap starttls: %w", err))
		}
	default:
		client = imapclient.New(conn, opts)
	}
	if err := client.WaitGreeting(); err != nil {
		client.Close()
		return nil, nil, guard.explain(fmt.Errorf("imap greeting: %w", err))
	}
	if _, err := c.imapLogin(ctx, client, cfg); err != nil {
		client.Close()
		return nil, nil, guard.explain(err)
	}
	guard.expect(0)
	return client, guard, nil
}

// session connects, catches up with the mailbox and then waits for new mail with IDLE,
// or polls, until an error or ctx ends it. connected says whether login succeeded.
func (f *fetcher) session(ctx context.Context) (connected bool, err error) {
	c, cfg := f.c, f.cfg
	news := make(chan struct{}, 1)
	opts := &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				select {
				case news <- struct{}{}:
				default:
				}
			}
		},
	}}
	client, guard, err := c.dialIMAP(ctx, cfg, opts)
	if err != nil {
		return false, err
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	f.guard = guard
	return true, guard.explain(f.serve(ctx, client, news))
}

// serve catches up with the mailbox and then waits for new mail with IDLE, or polls,
// until an error or ctx ends it. Every command runs under the stall watch.
func (f *fetcher) serve(ctx context.Context, client *imapclient.Client, news <-chan struct{}) error {
	c, cfg := f.c, f.cfg
	f.expect()
	sel, err := client.Select(cfg.IMAPMailbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("select %s: %w", cfg.IMAPMailbox, err)
	}
	c.setStatus(f.inbox.ID, "connected", nil)
	idle := client.Caps().Has(imap.CapIdle)
	c.logger.Info("imap connected", "inbox", f.inbox.ID, "mailbox", cfg.IMAPMailbox, "idle", idle)
	for {
		if err := f.sync(ctx, client, sel.UIDValidity); err != nil {
			return err
		}
		if !idle {
			f.guard.expect(0) // no command is out while the poll waits
			t := time.NewTimer(c.PollInterval)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			case <-client.Closed():
				t.Stop()
				return errors.New("imap connection closed")
			}
			continue
		}
		// Mail that arrived while the sync filed and saved the checkpoint may wait in the
		// server's queue: some servers (go-imap's own among them) send queued news only
		// after a command, not when IDLE starts. A NOOP right before IDLE collects it.
		f.expect()
		if err := client.Noop().Wait(); err != nil {
			return fmt.Errorf("noop: %w", err)
		}
		cmd, err := client.Idle()
		if err != nil {
			return fmt.Errorf("idle: %w", err)
		}
		// The server may rightly say nothing until the refresh; the watch still bounds the
		// wait, in case the refresh itself is lost.
		f.guard.expect(c.IdleRefresh + c.CommandTimeout)
		t := time.NewTimer(c.IdleRefresh)
		select {
		case <-news:
		case <-t.C:
		case <-ctx.Done():
		case <-client.Closed():
		}
		t.Stop()
		if ctx.Err() != nil {
			return nil
		}
		f.expect()
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("stop idle: %w", err)
		}
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("idle: %w", err)
		}
	}
}

// sync files every message above the checkpoint. After a UIDVALIDITY change (or a
// changed mailbox) the UIDs mean nothing any more: the whole mailbox is walked again,
// and the store recognises what it has (the same Message-ID, sender and content), so
// nothing is filed twice and a mail that merely reuses a known Message-ID is not lost.
func (f *fetcher) sync(ctx context.Context, client *imapclient.Client, validity uint32) error {
	c, id := f.c, f.inbox.ID
	cp, err := c.store.MailCheckpoint(ctx, id)
	if err != nil {
		return fmt.Errorf("load checkpoint: %w", err)
	}
	first, resync := false, false
	if cp.Mailbox != f.cfg.IMAPMailbox || cp.UIDValidity != validity {
		if cp.UIDValidity == 0 {
			first = true
		} else {
			resync = true
			switch {
			case cp.Mailbox != f.cfg.IMAPMailbox && cp.UIDValidity != validity:
				c.logger.Warn("mailbox changed and its uidvalidity differs: re-syncing by message-id", "inbox", id,
					"old_mailbox", cp.Mailbox, "new_mailbox", f.cfg.IMAPMailbox, "old", cp.UIDValidity, "new", validity)
			case cp.Mailbox != f.cfg.IMAPMailbox:
				c.logger.Warn("mailbox changed: re-syncing by message-id", "inbox", id,
					"old_mailbox", cp.Mailbox, "new_mailbox", f.cfg.IMAPMailbox, "uidvalidity", validity)
			default:
				c.logger.Warn("uidvalidity changed: re-syncing by message-id", "inbox", id,
					"mailbox", f.cfg.IMAPMailbox, "old", cp.UIDValidity, "new", validity)
			}
		}
		cp = crm.MailCheckpoint{Mailbox: f.cfg.IMAPMailbox, UIDValidity: validity}
	}
	f.expect()
	data, err := client.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{{{Start: imap.UID(cp.LastUID + 1), Stop: 0}}}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("search new mail: %w", err)
	}
	var uids []imap.UID
	for _, u := range data.AllUIDs() {
		if uint32(u) > cp.LastUID {
			uids = append(uids, u)
		}
	}
	slices.Sort(uids)
	if first && len(uids) > initialImport {
		c.logger.Info("first import: older mail left in the mailbox", "inbox", id, "skipped", len(uids)-initialImport)
		cp.LastUID = uint32(uids[len(uids)-initialImport-1])
		uids = uids[len(uids)-initialImport:]
	}
	if len(uids) == 0 && (first || resync) {
		return c.store.SetMailCheckpoint(ctx, id, cp)
	}
	for len(uids) > 0 {
		n := min(fetchChunk, len(uids))
		chunk := uids[:n]
		uids = uids[n:]
		last, err := f.fetchChunk(ctx, client, chunk)
		if last > 0 {
			cp.LastUID = uint32(last)
			if err := c.store.SetMailCheckpoint(ctx, id, cp); err != nil {
				return fmt.Errorf("save checkpoint: %w", err)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fetchChunk files the messages of chunk (sorted UIDs) and returns the highest UID up to
// which every message is committed, so that the checkpoint never skips a failed one.
func (f *fetcher) fetchChunk(ctx context.Context, client *imapclient.Client, chunk []imap.UID) (imap.UID, error) {
	c := f.c
	// First the sizes: a huge mail is read by its header only.
	f.expect()
	bufs, err := client.Fetch(imap.UIDSetNum(chunk...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return 0, fmt.Errorf("fetch envelopes: %w", err)
	}
	done := map[imap.UID]bool{}
	var normal, huge []imap.UID
	for _, b := range bufs {
		switch {
		case b.RFC822Size > maxFetchSize:
			huge = append(huge, b.UID)
		default:
			normal = append(normal, b.UID)
		}
	}
	var fetched []imap.UID
	var ferr error
	if len(normal) > 0 {
		fetched, ferr = f.fetchBodies(ctx, client, normal, &imap.FetchItemBodySection{Peek: true}, "")
	}
	if len(huge) > 0 && ferr == nil {
		var more []imap.UID
		more, ferr = f.fetchBodies(ctx, client, huge, &imap.FetchItemBodySection{Peek: true, Specifier: imap.PartSpecifierHeader},
			fmt.Sprintf("The message is larger than %d MiB: only its header was read. It is still in the mailbox.", maxFetchSize>>20))
		fetched = append(fetched, more...)
	}
	for _, u := range fetched {
		done[u] = true
	}
	var last imap.UID
	for _, u := range chunk {
		if !done[u] {
			// Expunged since the search, or failed: stop at a failure, skip a vanished one.
			if ferr != nil {
				break
			}
			present := slices.ContainsFunc(bufs, func(b *imapclient.FetchMessageBuffer) bool { return b.UID == u })
			if present {
				break
			}
		}
		last = u
	}
	if f.cfg.MarkSeen && len(fetched) > 0 {
		f.expect()
		if err := client.Store(imap.UIDSetNum(fetched...), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
			Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			c.logger.Warn("mark seen", "inbox", f.inbox.ID, "err", err)
		}
	}
	return last, ferr
}

// fetchBodies files the given section of each message and returns the UIDs that were
// filed (or deliberately ignored). Mails are read from the connection one after the
// other and filed by a filer's workers at the same time (see filer).
func (f *fetcher) fetchBodies(ctx context.Context, client *imapclient.Client, uids []imap.UID, section *imap.FetchItemBodySection,
	note string) ([]imap.UID, error) {
	f.expect()
	cmd := client.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, InternalDate: true,
		BodySection: []*imap.FetchItemBodySection{section}})
	defer cmd.Close()
	fl := newFiler(ctx, f, note)
	for !fl.failed() {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		fl.read(msg)
	}
	// While the workers finish nothing is read, so the server is not expected to send.
	f.guard.expect(0)
	filed, err := fl.wait()
	f.expect() // the rest of the response, read by Close, is due now
	if err != nil {
		return filed, err
	}
	if err := cmd.Close(); err != nil {
		return filed, fmt.Errorf("fetch messages: %w", err)
	}
	return filed, nil
}

// TestInbox checks an email inbox's settings against its servers: IMAP login and the
// mailbox, then SMTP connection and login. Returns the first failure.
func (c *Channel) TestInbox(ctx context.Context, in *crm.Inbox) error {
	cfg := ConfigOf(in)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client, guard, err := c.dialIMAP(ctx, cfg, &imapclient.Options{})
	if err != nil {
		return err
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	guard.expect(c.CommandTimeout)
	if _, err := client.Select(cfg.IMAPMailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return guard.explain(fmt.Errorf("open mailbox %s: %w", cfg.IMAPMailbox, err))
	}
	client.Logout().Wait()
	sc, err := c.dialSMTP(ctx, cfg)
	if err != nil {
		return err
	}
	defer sc.Close()
	return sc.Quit()
}
