package email_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/channels/email"
	"parley/crm"
	"parley/crm/storetest/teststore"
)

// BenchmarkParseAndFile measures parsing and filing typical mails into the store, each a
// new message (half of them replies into an existing thread). The issue asks for at
// least 500 emails/s.
func BenchmarkParseAndFile(b *testing.B) {
	db := teststore.Open(b, teststore.Options{}).Store
	ctx := crm.AsSystem(context.Background())
	ch := email.New(db, nil, quietLogger())
	ch.Outbound = allowPrivate
	in := &crm.Inbox{Kind: crm.KindEmail, Name: "Support", Config: map[string]any{"address": supportAddr,
		"imap_host": "127.0.0.1", "imap_password": "x", "smtp_host": "127.0.0.1"}}
	if err := ch.PrepareInbox(ctx, in); err != nil {
		b.Fatal(err)
	}
	inbox, err := db.CreateInbox(ctx, in)
	if err != nil {
		b.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join("testdata", "01-gmail-new.eml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		raw := strings.Replace(string(tmpl), "CAFx9k2E7q+Kp=abc123XYZ@mail.gmail.test", fmt.Sprintf("bench-%d@mail.test", i), 1)
		raw = strings.Replace(raw, "juergen.mueller@gmail.test", fmt.Sprintf("c%d@mail.test", i%100), 1)
		if i%2 == 1 {
			raw = strings.Replace(raw, "MIME-Version: 1.0", fmt.Sprintf("In-Reply-To: <bench-%d@mail.test>\r\nMIME-Version: 1.0", i-1), 1)
		}
		d, err := ch.Deliver(ctx, inbox, strings.NewReader(raw), time.Time{})
		if err != nil || d.Result == nil || d.Result.Duplicate {
			b.Fatalf("deliver: %+v %v", d, err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "emails/s")
}

// BenchmarkParse measures the MIME parser alone on the corpus.
func BenchmarkParse(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	var mails []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		mails = append(mails, string(raw))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := email.Parse(strings.NewReader(mails[i%len(mails)])); err != nil {
			b.Fatal(err)
		}
	}
}
