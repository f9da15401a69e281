package orders_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"parley/crm"
	"parley/crm/sqlite"
	"parley/crm/storetest/teststore"
	"parley/orders"
)

func TestImportCSV(t *testing.T) {
	e := newEnv(t, 0)
	ctx := crm.AsSystem(context.Background())
	csv := "number,email,phone,status,currency,subtotal,shipping,tax,discount,total,placed_at,carrier,tracking_number,tracking_url,items\n" +
		"1001,Alice@X.example,,shipped,USD,58.00,5.00,4.64,0,67.64,2026-11-22T10:00:00Z,UPS,1Z999,https://ups.example/1Z999,MUG-BLUE:Blue mug: large:2:29.00|TEA:Tea:1:0\n" +
		"1002,bob@x.example,+1 415 555 0100,paid,JPY,1200,,,,1200,2026-11-23,,,,TEA:Sencha:1:1200\n" +
		"1003,carol@x.example,,paid,USD,-1.00,,,,1.00,2026-11-23,,,,\n" + // negative
		"1004,dan@x.example,,paid,XYZ,1.00,,,,1.00,2026-11-23,,,,\n" + // unknown currency
		"1005,erin@x.example,,paid,USD,abc,,,,1.00,2026-11-23,,,,\n" + // not a number
		"1006,fay@x.example,,paid,USD\n" + // short row
		"1007,gus@x.example,,lost,USD,1,,,,1,2026-11-23,,,,\n" + // bad status
		"1008,hal@x.example,,paid,USD,1,,,,1,yesterday,,,,\n" + // bad date
		"1009,ian@x.example,,paid,USD,1,,,,1,2026-11-23,,,,MUG:Mug:zero:1.00\n" + // bad item
		"1001,alice@x.example,,delivered,USD,58.00,5.00,4.64,0,67.64,2026-11-22T10:00:00Z,UPS,1Z999,,MUG-BLUE:Blue mug:2:29.00\n" // upsert
	var progress []int
	res, err := e.svc.Import(ctx, strings.NewReader(csv), orders.ImportOptions{Format: "csv", Source: "legacy",
		Progress: func(n int) { progress = append(progress, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 3 || len(res.Skipped) != 7 {
		t.Fatalf("imported %d, skipped %+v", res.Imported, res.Skipped)
	}
	wantLines := []int{4, 5, 6, 7, 8, 9, 10}
	for i, s := range res.Skipped {
		if s.Line != wantLines[i] || s.Reason == "" {
			t.Errorf("skipped[%d] = %+v, want line %d", i, s, wantLines[i])
		}
	}
	if !strings.Contains(res.Skipped[1].Reason, "unknown currency") || !strings.Contains(res.Skipped[3].Reason, "fields") {
		t.Errorf("reasons = %+v", res.Skipped)
	}
	if len(progress) == 0 || progress[len(progress)-1] != 10 {
		t.Errorf("progress = %v", progress)
	}

	o, err := e.db.Order(ctx, "1001")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != "delivered" || o.Email != "alice@x.example" || o.Total != 6764 || o.Source != "legacy" || len(o.Items) != 1 {
		t.Fatalf("order 1001 = %+v", o)
	}
	jp, err := e.db.Order(ctx, "1002")
	if err != nil || jp.Total != 1200 || jp.Phone != "+14155550100" || jp.Items[0].UnitPrice != 1200 {
		t.Fatalf("order 1002 = %+v, %v", jp, err)
	}

	// A header that is not an order CSV stops the import.
	_, err = e.svc.Import(ctx, strings.NewReader("id,name\n1,x\n"), orders.ImportOptions{Format: "csv"})
	wantCode(t, err, crm.EINVALID)
	_, err = e.svc.Import(ctx, strings.NewReader("number,status,currency,total\n"), orders.ImportOptions{Format: "csv"})
	wantCode(t, err, crm.EINVALID)
}

func TestImportCSVItemNames(t *testing.T) {
	e := newEnv(t, 0)
	csv := "number,status,currency,total,placed_at,items\n" +
		`2001,paid,EUR,10.00,2026-11-22,"SKU-1:Mug: blue, large:1:10.00"` + "\n" +
		`2002,paid,EUR,1.00,2026-11-22,"unterminated` + "\n"
	res, err := e.svc.Import(crm.AsSystem(context.Background()), strings.NewReader(csv), orders.ImportOptions{Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 1 || len(res.Skipped) != 1 || res.Skipped[0].Line != 3 {
		t.Fatalf("result = %+v", res)
	}
	o, err := e.db.Order(crm.AsSystem(context.Background()), "2001")
	if err != nil || o.Items[0].Name != "Mug: blue, large" || o.Items[0].SKU != "SKU-1" || o.Total != 1000 {
		t.Fatalf("order = %+v, %v", o, err)
	}
}

func TestImportNDJSON(t *testing.T) {
	e := newEnv(t, 0)
	nd := `{"number":"3001","email":"a@x.example","status":"paid","currency":"USD","total":500,"placed_at":"2026-11-22T10:00:00Z"}` + "\n" +
		"\n" +
		`{"number":"3002","status":"paid","currency":"USD","total":1.5,"placed_at":"2026-11-22T10:00:00Z"}` + "\n" +
		`{"number":"3003","status":"paid","currency":"USD","total":5,"placed_at":"2026-11-22T10:00:00Z","colour":"red"}` + "\n" +
		`not json` + "\n" +
		`{"number":"3004","status":"paid","currency":"USD","total":5,"placed_at":"2026-11-22T10:00:00Z"}`
	res, err := e.svc.Import(crm.AsSystem(context.Background()), strings.NewReader(nd), orders.ImportOptions{Format: "ndjson"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || len(res.Skipped) != 3 || res.Skipped[0].Line != 3 || res.Skipped[2].Line != 5 {
		t.Fatalf("result = %+v", res)
	}
	if _, err := e.db.Order(crm.AsSystem(context.Background()), "3004"); err != nil {
		t.Fatal("last line without a newline was not imported")
	}
}

// TestImportStopsOnFullDisk imports into a store whose database is full for real
// (SQLite's max_page_count): the import stops with unavailable at the first row that
// cannot be saved, instead of reporting every later row as skipped.
func TestImportStopsOnFullDisk(t *testing.T) {
	teststore.SQLiteOnly(t, "it fills the database with SQLite's max_page_count")
	e := newEnv(t, 0)
	ctx := crm.AsSystem(context.Background())
	if err := e.db.(*sqlite.DB).LimitPages(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&sb, `{"number":"F%d","email":"shopper%d@x.example","status":"paid","currency":"USD","total":500,"placed_at":"2026-11-22T10:00:00Z"}`+"\n", i, i)
	}
	res, err := e.svc.Import(ctx, strings.NewReader(sb.String()), orders.ImportOptions{Format: "ndjson"})
	wantCode(t, err, crm.EUNAVAILABLE)
	if res != nil && len(res.Skipped) > 0 {
		t.Errorf("rows reported as skipped on a full disk: %+v", res.Skipped[:1])
	}
}

// BenchmarkImportCSV measures the import of CSV rows into a real store, one order a row.
func BenchmarkImportCSV(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("number,email,status,currency,total,placed_at,items\n")
	for i := range b.N {
		fmt.Fprintf(&sb, "B%d,shopper%d@x.example,paid,USD,12.50,2026-11-22,MUG:Mug:1:12.50\n", i, i%500)
	}
	e := newBenchEnv(b)
	b.ResetTimer()
	res, err := e.Import(crm.AsSystem(context.Background()), strings.NewReader(sb.String()), orders.ImportOptions{Format: "csv"})
	if err != nil || res.Imported != b.N {
		b.Fatalf("imported %v, %v", res, err)
	}
}

func newBenchEnv(b *testing.B) *orders.Service {
	return orders.New(teststore.Open(b, teststore.Options{}).Store, orders.Options{})
}
