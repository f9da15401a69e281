package sqlite_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/crm"
	"parley/crm/sqlite"
	"parley/migrations"
)

// shippedVersions returns the versions of the migration files, in order.
func shippedVersions(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(migrations.SQLite, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".sql")
	}
	return names
}

// execFile runs the statements of an SQL file on the database at path, through a
// connection of its own, as an older Parley wrote its rows.
func execFile(t *testing.T, path, file string) {
	t.Helper()
	buf, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on&_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(string(buf)); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// TestUpgrade opens, with this Parley, the database of every older one: for each
// shipped migration, the database as the Parley whose newest migration it was left it,
// with the rows such Parleys wrote on the way (testdata/upgrade/<version>.sql, each run
// right after its migration). Opening applies the later migrations; then everything is
// read back through the store, searched, and written to again. A new migration gets a
// step of its own here by itself; one that changes what the store writes (a new table,
// a column the store fills) adds its fixture, named after it, with such rows.
func TestUpgrade(t *testing.T) {
	versions := shippedVersions(t)
	files, err := filepath.Glob(filepath.Join("testdata", "upgrade", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no upgrade fixtures: %v", err)
	}
	fixtures := map[string]string{}
	for _, f := range files {
		v := strings.TrimSuffix(filepath.Base(f), ".sql")
		if !slices.Contains(versions, v) {
			t.Fatalf("fixture %s is named after no migration", f)
		}
		fixtures[v] = f
	}
	for i, step := range versions {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "parley.db")
			opt := sqlite.Options{DataDir: dir, SecretKey: testKey}
			migrateTo := func(v string) []string {
				db, err := sqlite.OpenAt(path, v, opt)
				if err != nil {
					t.Fatalf("migrate to %s: %v", v, err)
				}
				defer db.Close()
				got, err := db.Migrations()
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			for _, v := range versions[:i+1] {
				if f, ok := fixtures[v]; ok {
					migrateTo(v)
					execFile(t, path, f)
				}
			}
			if got := migrateTo(step); !slices.Equal(got, versions[:i+1]) {
				t.Fatalf("the database of %s has migrations %v", step, got)
			}

			db, err := sqlite.Open(path, opt)
			if err != nil {
				t.Fatalf("open the database of %s: %v", step, err)
			}
			defer db.Close()
			if got, err := db.Migrations(); err != nil || !slices.Equal(got, versions) {
				t.Fatalf("after the upgrade migrations = %v, %v; want %v", got, err, versions)
			}
			checkUpgraded(t, db, path, step)
		})
	}
}

// checkUpgraded reads the rows of testdata/upgrade back through the store: those of the
// fixtures up to step.
func checkUpgraded(t *testing.T, db *sqlite.DB, path string, step string) {
	t.Helper()
	ctx := crm.AsSystem(context.Background())
	late := step >= "0010_fts_in_code"
	fail := func(what string, got any, err error) {
		t.Helper()
		t.Errorf("%s: %+v, %v", what, got, err)
	}

	if a, err := db.Authenticate(ctx, "old.admin@upgrade.test", "upgrade password"); err != nil || a.ID != 1 || a.Role != crm.RoleAdmin {
		fail("log in as the old admin", a, err)
	}
	if a, _, err := db.TokenAgent(ctx, "pk_upgrade-fixture-token"); err != nil || a.ID != 1 {
		fail("the old API token", a, err)
	}
	if a, err := db.Agent(ctx, 2); err != nil || a.Name != "Otto Agent" || !slices.Equal(a.InboxIDs, []int64{1}) {
		fail("the old agent and its inbox", a, err)
	}
	if in, err := db.Inbox(ctx, 1); err != nil || in.Kind != crm.KindEmail || in.Name != "Old Mailbox" || !in.Enabled {
		fail("the old inbox", in, err)
	}
	if step >= "0015_inbox_lifecycle" {
		if in, err := db.Inbox(ctx, 3); err != nil || in.Enabled {
			fail("the old disabled inbox", in, err)
		}
		if in, err := db.Inbox(ctx, 4); crm.ErrorCode(err) != crm.ENOTFOUND {
			fail("the old deleted inbox", in, err)
		}
		if list, err := db.ArchivedInboxes(ctx); err != nil || len(list) != 1 || list[0].ID != 4 || list[0].DeletedAt == nil {
			fail("the archived inboxes", list, err)
		}
	}

	if step >= "0016_agent_accounts" {
		if n, err := db.Notifications(ctx, 2); err != nil || !n.Assigned || n.CustomerReplied || !n.Email {
			fail("the old agent's notification choices", n, err)
		}
		if list, err := db.Sessions(ctx, 2, ""); err != nil || len(list) != 1 || list[0].UserAgent != "Old Browser/1.0" ||
			list[0].IP != "192.0.2.55" {
			fail("the old session", list, err)
		}
		if inv, err := db.InvitationByToken(ctx, "upgrade-invitation-token"); err != nil || inv.Email != "nina@upgrade.test" ||
			inv.Role != crm.RoleManager || !slices.Equal(inv.InboxIDs, []int64{1}) {
			fail("the old invitation", inv, err)
		}
		if a, err := db.AcceptInvitation(ctx, "upgrade-invitation-token", "Nina New", "upgrade password"); err != nil ||
			a.Role != crm.RoleManager || !slices.Equal(a.InboxIDs, []int64{1}) {
			fail("accept the old invitation", a, err)
		}
	} else if n, err := db.Notifications(ctx, 2); err != nil || *n != crm.DefaultNotifications() {
		fail("the notification choices of an agent from before they were kept", n, err)
	}

	c, err := db.Customer(ctx, 1)
	if err != nil || c.Name != "Wilhelmina Oldfield" || len(c.Identities) != 2 {
		fail("the old customer", c, err)
	}
	if cs, _, err := db.Customers(ctx, "Oldfield", crm.Page{}); err != nil || len(cs) != 1 || cs[0].ID != 1 {
		fail("customers matching Oldfield", cs, err)
	}

	tk, err := db.Ticket(ctx, 1)
	if err != nil || tk.Subject != "Parcel never arrived" || tk.Status != crm.StatusOpen || tk.Priority != "high" ||
		tk.AssigneeID == nil || *tk.AssigneeID != 2 || !slices.Equal(tk.Tags, []string{"shipping", "vip"}) {
		fail("the old ticket", tk, err)
	}
	checkUpgradedReasons(t, db, tk, step)
	msgs, _, err := db.Messages(ctx, 1, crm.Page{})
	want := []string{"in My zanzibar teapot never arrived.", "out Sorry! We are sending another one.", "note Checked with the carrier."}
	if late {
		want = append(want, "in Still waiting for the quokka teapot.")
	}
	mail := step >= "0014_mail_headers"
	if mail {
		want = append(want, "in Walter sends his regards.")
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.Direction+" "+m.Text)
	}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("messages of the old ticket = %q, %v; want %q", got, err, want)
	}
	if mail {
		if m := msgs[len(msgs)-1]; m.From == nil || m.From.Name != "Wilhelmina Oldfield" || len(m.CC) != 1 ||
			m.CC[0].Address != "walter@oldfield.test" {
			fail("the addresses of the old email", m.MailAddresses, nil)
		}
		if len(tk.Participants) != 1 || tk.Participants[0].Name != "Walter Oldfield" {
			fail("the participants of the old ticket", tk.Participants, nil)
		}
	}
	words := []string{"zanzibar", "parcel"}
	if late {
		words = append(words, "quokka")
	}
	for _, w := range words {
		if res, err := db.Search(ctx, crm.SearchQuery{Q: w, Limit: 10}); err != nil || len(res.Tickets)+len(res.Messages) == 0 {
			fail("search for "+w, res, err)
		}
	}

	if o, err := db.Order(ctx, "1001"); err != nil || o.Total != 5000 || o.Currency != "EUR" || o.CustomerID != 1 || len(o.Items) != 1 {
		fail("the old order", o, err)
	}
	var channels []string
	err = db.DiscordChannels(ctx, 2, 10, func(id, kind, last string) { channels = append(channels, id+" "+kind+" "+last) })
	if err != nil || !slices.Equal(channels, []string{"223456789012345678 thread 323456789012345678"}) {
		fail("discord channels found in the old tickets", channels, err)
	}
	evs, err := db.Events(ctx, 0, 100)
	if err != nil || len(evs) < 3 || evs[0].Type != crm.EventTicketCreated {
		fail("the old events", evs, err)
	}
	// Customer and order events name the inboxes that may see them: those stored with
	// the event, or for an older row those where the customer has tickets now.
	wantInboxes := map[int64][]int64{}
	if step >= "0012_order_version" {
		wantInboxes[20] = []int64{1}
	}
	if step >= "0013_event_inboxes" {
		wantInboxes[21] = []int64{}
	}
	for _, ev := range evs {
		if want, ok := wantInboxes[ev.ID]; ok {
			if ev.InboxIDs == nil || !slices.Equal(ev.InboxIDs, want) {
				t.Errorf("inboxes of old event %d = %v, want %v", ev.ID, ev.InboxIDs, want)
			}
			delete(wantInboxes, ev.ID)
		}
	}
	if len(wantInboxes) != 0 {
		t.Errorf("old events not read back: %v", wantInboxes)
	}

	if step >= "0018_webhooks" {
		if w, err := db.Webhook(ctx, 1); err != nil || w.URL != "https://hooks.upgrade.test/parley" || !w.Enabled ||
			!slices.Equal(w.Events, []string{crm.EventTicketCreated}) {
			fail("the old webhook", w, err)
		}
		if list, _, err := db.WebhookDeliveries(ctx, 1, crm.Page{}); err != nil || len(list) != 1 ||
			list[0].State != crm.WebhookDelivered || list[0].StatusCode != 204 || list[0].Attempts != 2 {
			fail("the old webhook delivery", list, err)
		}
		// Its secret still opens: a redelivery is claimed with it.
		if _, err := db.RedeliverWebhook(ctx, 1, 1); err != nil {
			fail("redeliver the old delivery", nil, err)
		}
		if jobs, err := db.ClaimWebhookDeliveries(ctx, 1, time.Now().Add(time.Hour), time.Minute, 10); err != nil || len(jobs) != 1 ||
			jobs[0].Secret != "upgrade-webhook-secret" {
			fail("claim the redelivery with the old secret", jobs, err)
		}
	}

	// Written to again: the customer's old thread and identity still find their ticket,
	// an old message id is still a duplicate, and the new message is searchable.
	in := &crm.Inbound{InboxID: 1, Channel: crm.ChannelEmail, ExternalID: "<after-upgrade@oldfield.test>",
		ThreadKey: "<m1@oldfield.test>", From: email("wilhelmina@oldfield.test"), Text: "Any news about the wombat?"}
	if res, err := db.Ingest(ctx, in); err != nil || res.TicketID != 1 || res.Duplicate {
		fail("a new message in the old thread", res, err)
	}
	in.ExternalID = "<m1@oldfield.test>"
	if res, err := db.Ingest(ctx, in); err != nil || !res.Duplicate {
		fail("the old message again", res, err)
	}
	if res, err := db.Search(ctx, crm.SearchQuery{Q: "wombat", Limit: 10}); err != nil || len(res.Messages) != 1 {
		fail("search for the new message", res, err)
	}
	if mail {
		// The old email's References still find its ticket for the mail they name, and
		// its content hash still tells a copy from another mail with its Message-ID.
		first := &crm.Inbound{InboxID: 1, Channel: crm.ChannelEmail, ExternalID: "<m0@oldfield.test>",
			From: email("wilhelmina@oldfield.test"), Text: "The first mail, late.", FindReferrer: true}
		if res, err := db.Ingest(ctx, first); err != nil || res.TicketID != 1 || res.NewTicket {
			fail("a mail the old email references", res, err)
		}
		again := &crm.Inbound{InboxID: 1, Channel: crm.ChannelEmail, ExternalID: "<m6@oldfield.test>",
			From: email("wilhelmina@oldfield.test"), Text: "Walter sends his regards.", ContentHash: "c0ffee"}
		if res, err := db.Ingest(ctx, again); err != nil || !res.Duplicate {
			fail("the old email again", res, err)
		}
		again.ContentHash = "0ther"
		if res, err := db.Ingest(ctx, again); err != nil || res.Duplicate {
			fail("another mail with the old email's Message-ID", res, err)
		}
	}

	conn, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var ok string
	if err := conn.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check: %s, %v", ok, err)
	}
	for _, table := range []string{"tickets_fts", "messages_fts", "reason_texts_fts"} {
		if _, err := conn.Exec(fmt.Sprintf(`INSERT INTO %[1]s (%[1]s) VALUES ('integrity-check')`, table)); err != nil {
			t.Errorf("%s does not match its table: %v", table, err)
		}
	}
}

// checkUpgradedReasons checks the contact reasons of the upgraded database: the default
// set, and from 0026_reasons on the rows of its fixture, with the old ticket tk.
func checkUpgradedReasons(t *testing.T, db *sqlite.DB, tk *crm.Ticket, step string) {
	t.Helper()
	ctx := crm.AsSystem(context.Background())
	list, err := db.Reasons(ctx)
	if err != nil || len(list) < 13 || list[0].Slug != "where_is_my_order" || list[12].Slug != "other" {
		t.Errorf("the default contact reasons: %v, %v", list, err)
	}
	if step < "0026_reasons" {
		if tk != nil && tk.ReasonID != nil {
			t.Errorf("the old ticket has reason %d", *tk.ReasonID)
		}
		return
	}
	if tk == nil || tk.ReasonID == nil || *tk.ReasonID != 1 || tk.ReasonSource != crm.ReasonByAgent {
		t.Errorf("the old ticket's reason: %+v", tk)
	}
	if len(list) != 14 || list[13].Slug != "gift_cards" || !slices.Equal(list[13].Tags, []string{"gift"}) {
		t.Errorf("the shop's own reason: %+v", list[len(list)-1])
	}
	if m, err := db.LatestReasonModel(ctx); err != nil || m.Version != 1 || m.Examples != 150 || m.MacroF1 != 0.87 ||
		string(m.Data) != "\x00\x01\x02\x03" {
		t.Errorf("the old model: %+v, %v", m, err)
	}
	facts, err := db.ReportFacts(ctx, crm.ReportFilter{From: time.Now().Add(-time.Hour), To: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(facts, func(f *crm.TicketFact) bool { return f.ID == 1 })
	if i < 0 || facts[i].HandleSecs != 95 || facts[i].ReasonID != 1 {
		t.Errorf("report facts of the old ticket (open, so counted now): %+v", facts)
	}
}

// TestMigrationChecksums checks what Open does with the checksums in schema_migrations:
// it records one per file, refuses a database whose recorded file differs from the
// shipped one or that has a migration this Parley does not ship, and fills in the
// checksums of a database from before checksums were kept.
func TestMigrationChecksums(t *testing.T) {
	db := MustOpenDB(t)
	db.Close()
	raw, err := sql.Open("sqlite3", "file:"+db.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	checksums := func() map[string]string {
		t.Helper()
		rows, err := raw.Query(`SELECT version, checksum FROM schema_migrations`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]string{}
		for rows.Next() {
			var v, s string
			if err := rows.Scan(&v, &s); err != nil {
				t.Fatal(err)
			}
			m[v] = s
		}
		return m
	}
	want := map[string]string{}
	for _, v := range shippedVersions(t) {
		buf, err := fs.ReadFile(migrations.SQLite, v+".sql")
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(buf)
		want[v] = hex.EncodeToString(sum[:])
	}
	if got := checksums(); !mapsEqual(got, want) {
		t.Fatalf("recorded checksums %v, want the files' %v", got, want)
	}
	reopen := func() error {
		t.Helper()
		d, err := sqlite.Open(db.Path, db.Opt)
		if err == nil {
			d.Close()
		}
		return err
	}

	exec(`UPDATE schema_migrations SET checksum = ? WHERE version = '0003_phone'`, strings.Repeat("0", 64))
	err = reopen()
	if err == nil || !strings.Contains(err.Error(), "migration 0003_phone.sql differs from the file that was applied") {
		t.Errorf("Open with an edited migration: %v", err)
	}
	exec(`UPDATE schema_migrations SET checksum = ? WHERE version = '0003_phone'`, want["0003_phone"])

	exec(`INSERT INTO schema_migrations (version, applied_at, checksum) VALUES ('9999_from_the_future', 0, 'abc')`)
	err = reopen()
	if err == nil || !strings.Contains(err.Error(), "database was migrated by a newer Parley: unknown migration 9999_from_the_future") {
		t.Errorf("Open with an unknown migration: %v", err)
	}
	exec(`DELETE FROM schema_migrations WHERE version = '9999_from_the_future'`)

	// The table of a Parley from before checksums.
	exec(`ALTER TABLE schema_migrations DROP COLUMN checksum`)
	if err := reopen(); err != nil {
		t.Fatalf("Open of a database without checksums: %v", err)
	}
	if got := checksums(); !mapsEqual(got, want) {
		t.Fatalf("checksums filled in %v, want the files' %v", got, want)
	}
	if err := reopen(); err != nil {
		t.Fatalf("Open once the checksums are filled in: %v", err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestUpgradeDisabledConfig: an inbox that an older Parley kept from running with the
// config's "disabled": true is disabled after the upgrade, and the key is gone from its
// config, so that the enabled column alone says whether an inbox runs.
func TestUpgradeDisabledConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "parley.db")
	opt := sqlite.Options{DataDir: dir, SecretKey: testKey}
	old, err := sqlite.OpenAt(path, "0014_mail_headers", opt)
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	conn, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(`INSERT INTO inboxes (id, kind, name, config, created_at, updated_at) VALUES
		(1, 'email', 'Paused', '{"address":"a@x.test","disabled":true}', 1, 1),
		(2, 'email', 'Running', '{"address":"b@x.test","disabled":false}', 1, 1),
		(3, 'email', 'Plain', '{"address":"c@x.test"}', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	db, err := sqlite.Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list, err := db.Inboxes(crm.AsSystem(context.Background()))
	if err != nil || len(list) != 3 {
		t.Fatalf("inboxes = %+v, %v", list, err)
	}
	for i, want := range []bool{false, true, true} {
		in := list[i]
		if _, ok := in.Config["disabled"]; ok || in.Enabled != want || in.Config["address"] == nil {
			t.Errorf("inbox %s: enabled %v, config %v; want enabled %v and no disabled key", in.Name, in.Enabled, in.Config, want)
		}
	}
}
