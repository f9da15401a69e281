package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"parley/orders"
)

// ordersCmd runs `parley orders import FILE`: progress goes to stderr, the summary and
// each skipped row to stdout.
func ordersCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		return errors.New("usage: parley orders import [--data DIR] [--source NAME] [--format csv|ndjson] FILE")
	}
	fs, data := newFlags("orders import")
	source := fs.String("source", "import", "label of the imported orders' source")
	format := fs.String("format", "", "csv or ndjson (default: from the file name)")
	file, err := fileArg(fs, args[1:], "usage: parley orders import [--data DIR] [--source NAME] [--format csv|ndjson] FILE")
	if err != nil {
		return err
	}
	if *format == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".csv":
			*format = "csv"
		case ".ndjson", ".jsonl", ".json":
			*format = "ndjson"
		default:
			return fmt.Errorf("cannot tell the format of %s: use --format csv or --format ndjson", file)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open import file: %w", err)
	}
	defer f.Close()
	db, err := openStore(ctx, data, storeOptions{})
	if err != nil {
		return err
	}
	defer db.Close()
	svc := orders.New(db, orders.Options{DefaultRegion: env("PARLEY_DEFAULT_REGION", "US")})
	res, err := svc.Import(ctx, f, orders.ImportOptions{Format: *format, Source: *source,
		Progress: func(rows int) { fmt.Fprintf(stderr, "read %d rows\n", rows) }})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d, skipped %d\n", res.Imported, len(res.Skipped))
	for _, s := range res.Skipped {
		fmt.Fprintf(stdout, "line %d: %s\n", s.Line, s.Reason)
	}
	return nil
}
