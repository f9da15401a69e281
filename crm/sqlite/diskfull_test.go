package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/sqlite"
)

// logBuffer collects a logger's lines for a test to read while the store writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count returns how many lines contain s.
func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// openLogged opens a store at path with its data dir, the test clock and a logger
// writing to the returned buffer.
func openLogged(t *testing.T, path, dataDir string) (*sqlite.DB, *Clock, *logBuffer) {
	t.Helper()
	clock := &Clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	logs := &logBuffer{}
	db, err := sqlite.Open(path, sqlite.Options{DataDir: dataDir, SecretKey: testKey, Now: clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, clock, logs
}

// bigInbound is an inbound email of about size bytes of text, its own thread.
func bigInbound(inbox int64, id string, size int) *crm.Inbound {
	return &crm.Inbound{InboxID: inbox, Channel: crm.ChannelEmail, ExternalID: id, ThreadKey: id,
		From: email("full@example.com"), Subject: "Disk " + id,
		Text: "diskfull " + id + " " + strings.Repeat("lorem ipsum dolor ", size/18)}
}

const diskFullMessage = "the disk of the data directory is full: nothing was saved; try again later"

// wantDiskFull checks that err is what a user gets when the disk is full.
func wantDiskFull(t *testing.T, err error) {
	t.Helper()
	if crm.ErrorCode(err) != crm.EUNAVAILABLE || crm.ErrorMessage(err) != diskFullMessage {
		t.Fatalf("error = %q %q (%v), want unavailable %q", crm.ErrorCode(err), crm.ErrorMessage(err), err, diskFullMessage)
	}
}

// fillUntilFull ingests big messages until one fails, at most max, and returns the
// external id of the failed one. Every write before it must have succeeded.
func fillUntilFull(t *testing.T, db *sqlite.DB, inbox int64, prefix string, size, max int) string {
	t.Helper()
	for i := 0; i < max; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		_, err := db.Ingest(crm.AsSystem(context.Background()), bigInbound(inbox, id, size))
		if err != nil {
			wantDiskFull(t, err)
			t.Logf("write %d of %d bytes: %v", i, size, err)
			return id
		}
	}
	t.Fatalf("%d messages of %d bytes fit; the disk never filled", max, size)
	return ""
}

// TestDiskFull fills the database for real (SQLite's max_page_count makes a write that
// needs another page fail with SQLITE_FULL, as a full disk does) and checks what callers,
// Ping and the log see, during and after.
func TestDiskFull(t *testing.T) {
	ctx := crm.AsSystem(context.Background())
	dir := t.TempDir()
	db, clock, logs := openLogged(t, filepath.Join(dir, "parley.db"), dir)
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Mail"})
	if err != nil {
		t.Fatal(err)
	}
	before, err := db.Ingest(ctx, bigInbound(inbox.ID, "before", 100))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.LimitPages(ctx, 1); err != nil {
		t.Fatal(err)
	}
	failed := fillUntilFull(t, db, inbox.ID, "full", 20_000, 50)
	if err := db.Ping(ctx); crm.ErrorCode(err) != crm.EUNAVAILABLE || crm.ErrorMessage(err) != "disk full" {
		t.Fatalf("Ping while full = %v, want unavailable \"disk full\"", err)
	}
	if n := logs.count("disk full"); n != 1 {
		t.Fatalf("%d disk-full log lines after the first failure, want 1:\n%s", n, logs)
	}

	// Concurrent writers share group commits, which run again with a savepoint per write
	// when one fails: each gets unavailable or success, never an internal error.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.Ingest(ctx, bigInbound(inbox.ID, fmt.Sprintf("many-%d", i), 20_000))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && crm.ErrorCode(err) != crm.EUNAVAILABLE {
			t.Errorf("concurrent write %d: %v, want success or unavailable", i, err)
		}
	}
	for i := range 3 {
		_, err := db.Ingest(ctx, bigInbound(inbox.ID, fmt.Sprintf("again-%d", i), 20_000))
		wantDiskFull(t, err)
	}
	if n := logs.count("disk full"); n != 1 {
		t.Fatalf("%d disk-full log lines within a minute, want 1:\n%s", n, logs)
	}
	clock.Add(time.Minute)
	_, err = db.Ingest(ctx, bigInbound(inbox.ID, "a-minute-later", 20_000))
	wantDiskFull(t, err)
	if n := logs.count("disk full"); n != 2 {
		t.Fatalf("%d disk-full log lines a minute later, want 2:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "dir="+dir) || !strings.Contains(logs.String(), "database or disk is full") {
		t.Errorf("the log names neither the data dir nor SQLite's error:\n%s", logs)
	}

	// Space again: the write that failed was not saved, so it is new now.
	if err := db.LimitPages(ctx, 0); err != nil {
		t.Fatal(err)
	}
	res, err := db.Ingest(ctx, bigInbound(inbox.ID, failed, 20_000))
	if err != nil {
		t.Fatalf("write after space came back: %v", err)
	}
	if res.Duplicate {
		t.Errorf("the message that failed for lack of space was saved after all")
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after a successful write = %v, want nil", err)
	}
	// One after each logged failure at most (a concurrent write that fitted may have
	// made one already).
	if n := logs.count("disk space again"); n < 1 || n > 2 {
		t.Errorf("%d recovery log lines, want 1 or 2:\n%s", n, logs)
	}
	if _, err := db.Ticket(ctx, before.TicketID); err != nil {
		t.Errorf("the message from before: %v", err)
	}
	found, err := db.Search(ctx, crm.SearchQuery{Q: failed, Limit: 10})
	if err != nil || len(found.Messages) != 1 {
		t.Errorf("search for the saved message: %v, %v", found, err)
	}
}

// inMountNamespace runs the calling test again in a child process that has a mount
// namespace of its own, where the test may mount file systems (a small tmpfs, a
// read-only bind mount) that vanish with the process. It returns true in the child,
// which goes on with the test, and false in the parent, which reports the child's
// outcome and must return. Without the privilege to do so (not root), the test skips.
func inMountNamespace(t *testing.T) bool {
	t.Helper()
	const key = "PARLEY_TEST_MOUNT_NS"
	if os.Getenv(key) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), key+"="+t.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	switch {
	case errors.Is(err, syscall.EPERM):
		t.Skipf("needs a mount namespace of its own, which takes root: %v", err)
	case err != nil:
		t.Fatalf("in a mount namespace of its own: %v\n%s", err, out)
	case bytes.Contains(out, []byte("--- SKIP: "+t.Name())):
		t.Skipf("skipped in its mount namespace:\n%s", out)
	case !bytes.Contains(out, []byte("--- PASS: "+t.Name())):
		t.Fatalf("the test did not pass in its mount namespace:\n%s", out)
	}
	return false
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory, unmounted at the end.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fillDisk writes a file in dir until the file system is full and returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); errors.Is(err, syscall.ENOSPC) {
			return path
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// TestDiskFullTmpfs fills a real file system, a small tmpfs holding the database and
// the attachments: an attachment that cannot be written and a commit whose WAL cannot
// grow both answer unavailable, and writes succeed again once space is freed.
func TestDiskFullTmpfs(t *testing.T) {
	if !inMountNamespace(t) {
		return
	}
	ctx := crm.AsSystem(context.Background())
	dir := mountTmpfs(t, 4<<20)
	db, _, logs := openLogged(t, filepath.Join(dir, "parley.db"), dir)
	inbox, err := db.CreateInbox(ctx, &crm.Inbox{Kind: crm.KindEmail, Name: "Mail"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Ingest(ctx, bigInbound(inbox.ID, "before", 100)); err != nil {
		t.Fatal(err)
	}
	filler := fillDisk(t, dir)

	withFile := bigInbound(inbox.ID, "with-file", 100)
	withFile.Attachments = []crm.NewAttachment{{Filename: "photo.png", ContentType: "image/png", Data: bytes.Repeat([]byte("png!"), 8192)}}
	_, err = db.Ingest(ctx, withFile)
	wantDiskFull(t, err)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("error %v does not keep the ENOSPC it comes from", err)
	}
	if err := db.Ping(ctx); crm.ErrorCode(err) != crm.EUNAVAILABLE {
		t.Errorf("Ping after a failed attachment = %v, want unavailable", err)
	}
	// The WAL has room for what fits in its current size; bigger commits need the disk.
	failed := fillUntilFull(t, db, inbox.ID, "wal", 200_000, 40)
	if !strings.Contains(logs.String(), "disk full") {
		t.Errorf("nothing logged:\n%s", logs)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for _, in := range []*crm.Inbound{withFile, bigInbound(inbox.ID, failed, 200_000)} {
		res, err := db.Ingest(ctx, in)
		if err != nil {
			t.Fatalf("write %s after space was freed: %v", in.ExternalID, err)
		}
		if res.Duplicate {
			t.Errorf("%s failed for lack of space but was saved", in.ExternalID)
		}
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after space was freed = %v, want nil", err)
	}
}

// TestReadOnlyDataDir opens a store in a data directory on a read-only file system
// (a read-only bind mount, which binds root too): the error names the directory and
// the cause.
func TestReadOnlyDataDir(t *testing.T) {
	if !inMountNamespace(t) {
		return
	}
	dir := filepath.Join(t.TempDir(), "data")
	db := &DB{Path: filepath.Join(dir, "parley.db"), Opt: sqlite.Options{DataDir: dir, SecretKey: testKey}}
	var err error
	if db.DB, err = sqlite.Open(db.Path, db.Opt); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := syscall.Mount("", dir, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	_, err = sqlite.Open(db.Path, db.Opt)
	want := "data directory " + dir + " is not writable: read-only file system"
	if err == nil || err.Error() != want {
		t.Fatalf("Open on a read-only data dir: %v, want %q", err, want)
	}
}

// TestDataDirNotADirectory opens a store whose data directory cannot be made, as a
// path under a regular file: the error names the path and the cause, as root too.
func TestDataDirNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "data")
	_, err := sqlite.Open(filepath.Join(dir, "parley.db"), sqlite.Options{DataDir: dir, SecretKey: testKey})
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Open under a regular file: %v, want an error naming %s and \"not a directory\"", err, dir)
	}
}
