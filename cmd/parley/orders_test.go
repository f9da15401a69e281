package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"parley/crm"
)

// TestOrdersImport imports a CSV with good and bad rows into a fresh data directory
// through the command's own entry point and reads the orders back from the store.
func TestOrdersImport(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "orders.csv")
	csv := "number,email,phone,status,currency,subtotal,shipping,tax,discount,total,placed_at,carrier,tracking_number,tracking_url,items\n" +
		"1001,alice@x.example,,shipped,USD,58.00,5.00,4.64,0,67.64,2026-11-22T10:00:00Z,UPS,1Z999,,MUG:Blue mug:2:29.00\n" +
		"1002,bob@x.example,,paid,USD,-3,,,,1.00,2026-11-23,,,,\n" +
		"1003,carol@x.example,,paid,EUR,12.00,,,,12.00,2026-11-23,,,,\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := run(crm.AsSystem(context.Background()), []string{"orders", "import", file, "--data", data, "--source", "legacy"}, nil, &stdout); err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	if !strings.Contains(out, "imported 2, skipped 1") || !strings.Contains(out, "line 3: ") {
		t.Fatalf("output:\n%s", out)
	}

	// Again, with progress caught: the same rows replace the same orders.
	var stderr bytes.Buffer
	if err := ordersCmd(crm.AsSystem(context.Background()), []string{"import", "--data", data, file}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "read 3 rows") {
		t.Fatalf("no progress on stderr: %q", stderr.String())
	}

	db, err := openStore(context.Background(), &storeFlags{data: data}, storeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o, err := db.Order(crm.AsSystem(context.Background()), "1001")
	if err != nil || o.Total != 6764 || o.CustomerID == 0 || o.Items[0].UnitPrice != 2900 {
		t.Fatalf("order 1001 = %+v, %v", o, err)
	}

	for _, args := range [][]string{
		{"orders"},
		{"orders", "import"},
		{"orders", "import", filepath.Join(data, "missing.csv"), "--data", data},
		{"orders", "import", filepath.Join(data, "orders.txt"), "--data", data},
	} {
		if err := run(crm.AsSystem(context.Background()), args, nil, &stdout); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
