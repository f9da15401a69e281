package orders

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/crm"
)

// Import limits: a longer NDJSON line or CSV field is a bad row.
const (
	maxImportLine  = 1 << 20
	ProgressEvery  = 1000
	maxItemsColumn = 64 << 10
)

// csvColumns are the columns of an order CSV; the header row names them in any order.
var csvColumns = []string{"number", "email", "phone", "status", "currency", "subtotal", "shipping", "tax",
	"discount", "total", "placed_at", "carrier", "tracking_number", "tracking_url", "items"}

// csvRequired must be in the header.
var csvRequired = []string{"number", "status", "currency", "total", "placed_at"}

// ImportOptions configure an import.
type ImportOptions struct {
	// Format is "csv" or "ndjson".
	Format string
	// Source labels the imported orders (crm.Order.Source). Default "import".
	Source string
	// Progress, when set, is called with the number of rows read every ProgressEvery
	// rows and once at the end.
	Progress func(rows int)
}

// Skipped is a row that was not imported: its line in the file and why.
type Skipped struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// ImportResult counts the rows of an import.
type ImportResult struct {
	Imported int       `json:"imported"`
	Skipped  []Skipped `json:"skipped"`
}

// Import reads orders from r and stores each one (an order number seen again replaces
// the order). A malformed row is skipped and reported with its line and reason; only a
// file that cannot be read at all, a bad CSV header or a store failure (a full disk
// among them: unavailable) stops the import.
// CSV amounts are decimals in the currency's units ("58.00"); NDJSON lines are the JSON
// of PUT /api/v1/orders/{number} with "number", amounts in minor units.
// Returns invalid for a bad format or header.
func (s *Service) Import(ctx context.Context, r io.Reader, opt ImportOptions) (*ImportResult, error) {
	if opt.Source == "" {
		opt.Source = "import"
	}
	if opt.Progress == nil {
		opt.Progress = func(int) {}
	}
	res := &ImportResult{Skipped: []Skipped{}}
	rows := 0
	put := func(line int, o *crm.Order, err error) error {
		rows++
		if rows%ProgressEvery == 0 {
			opt.Progress(rows)
		}
		if err == nil {
			if err = s.Normalize(o); err == nil {
				o.Source, o.SourceID, o.ExternalID, o.CustomerID = opt.Source, 0, "", 0
				_, err = s.store.PutOrder(crm.AsSystem(ctx), o)
			}
		}
		switch code := crm.ErrorCode(err); code {
		case "":
			res.Imported++
		case crm.EINTERNAL, crm.EUNAVAILABLE: // the store's failure, not the row's
			return fmt.Errorf("line %d: %w", line, err)
		default:
			res.Skipped = append(res.Skipped, Skipped{Line: line, Reason: crm.ErrorMessage(err)})
		}
		return nil
	}
	var err error
	switch opt.Format {
	case "csv":
		err = readCSV(r, put)
	case "ndjson", "jsonl":
		err = readNDJSON(r, put)
	default:
		return nil, crm.Errorf(crm.EINVALID, "format must be csv or ndjson")
	}
	if err != nil {
		return nil, err
	}
	opt.Progress(rows)
	return res, nil
}

// readNDJSON calls put with each non-empty line decoded as an order.
func readNDJSON(r io.Reader, put func(int, *crm.Order, error) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		b, tooLong, err := readLine(br)
		if err == io.EOF && len(b) == 0 && !tooLong {
			return nil
		} else if err != nil && err != io.EOF {
			return fmt.Errorf("read line %d: %w", line, err)
		}
		if tooLong {
			if perr := put(line, nil, crm.Errorf(crm.EINVALID, "line is longer than %d bytes", maxImportLine)); perr != nil {
				return perr
			}
		} else if b = bytes.TrimSpace(b); len(b) > 0 {
			var o crm.Order
			derr := decodeStrict(b, &o)
			if perr := put(line, &o, derr); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// readLine reads one line without its end; a line over maxImportLine is consumed and
// reported as tooLong.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			line = append(line, chunk...)
			if len(line) > maxImportLine {
				tooLong, line = true, nil
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, err
	}
}

// readCSV calls put with each row after the header, parsed as an order.
func readCSV(r io.Reader, put func(int, *crm.Order, error) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return crm.Errorf(crm.EINVALID, "the file is empty: a header row is required")
	} else if err != nil {
		return crm.Errorf(crm.EINVALID, "header row: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(csvColumns, h) {
			return crm.Errorf(crm.EINVALID, "unknown column %q; columns are %s", cut(h, 40), strings.Join(csvColumns, ","))
		}
		col[h] = i
	}
	for _, c := range csvRequired {
		if _, ok := col[c]; !ok {
			return crm.Errorf(crm.EINVALID, "column %q is required", c)
		}
	}
	width := len(header)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		line, _ := cr.FieldPos(0)
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			if perr := put(perr.StartLine, nil, crm.Errorf(crm.EINVALID, "malformed CSV: %v", perr.Err)); perr != nil {
				return perr
			}
			continue
		} else if err != nil {
			return fmt.Errorf("read csv: %w", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if slices.ContainsFunc(rec, func(f string) bool { return len(f) > maxImportLine }) {
			if perr := put(line, nil, crm.Errorf(crm.EINVALID, "a field is longer than %d bytes", maxImportLine)); perr != nil {
				return perr
			}
			continue
		}
		if len(rec) != width {
			err = crm.Errorf(crm.EINVALID, "%d fields, the header has %d", len(rec), width)
			if perr := put(line, nil, err); perr != nil {
				return perr
			}
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		o, err := csvOrder(get)
		if perr := put(line, o, err); perr != nil {
			return perr
		}
	}
}

// csvOrder builds an order from the fields of one CSV row. Returns invalid.
func csvOrder(get func(string) string) (*crm.Order, error) {
	o := &crm.Order{Number: get("number"), Email: get("email"), Phone: get("phone"), Status: get("status"),
		Currency: strings.ToUpper(get("currency")), Carrier: get("carrier"), TrackingNumber: get("tracking_number"),
		TrackingURL: get("tracking_url"), Items: []crm.OrderItem{}}
	if o.Number == "" {
		return nil, crm.Errorf(crm.EINVALID, "number is empty")
	}
	if _, ok := crm.CurrencyExponent(o.Currency); !ok {
		return nil, crm.Errorf(crm.EINVALID, "unknown currency %q", cut(o.Currency, 10))
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"subtotal", &o.Subtotal}, {"shipping", &o.Shipping}, {"tax", &o.Tax}, {"discount", &o.Discount}, {"total", &o.Total}} {
		v := get(f.name)
		if v == "" {
			continue
		}
		n, err := ParseMoney(v, o.Currency)
		if err != nil {
			return nil, crm.Errorf(crm.EINVALID, "%s: %s", f.name, crm.ErrorMessage(err))
		}
		*f.dst = n
	}
	var err error
	if o.PlacedAt, err = parseTime(get("placed_at")); err != nil {
		return nil, err
	}
	if items := get("items"); items != "" {
		if len(items) > maxItemsColumn {
			return nil, crm.Errorf(crm.EINVALID, "items is longer than %d bytes", maxItemsColumn)
		}
		for _, part := range strings.Split(items, "|") {
			it, err := csvItem(part, o.Currency)
			if err != nil {
				return nil, err
			}
			o.Items = append(o.Items, it)
		}
	}
	return o, nil
}

// csvItem parses "sku:name:qty:unit_price"; the name may contain colons.
func csvItem(s, currency string) (crm.OrderItem, error) {
	bad := crm.Errorf(crm.EINVALID, "item %q must be sku:name:quantity:unit_price", cut(s, 60))
	sku, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	i := strings.LastIndex(rest, ":")
	if !ok || i < 0 {
		return crm.OrderItem{}, bad
	}
	price := rest[i+1:]
	rest = rest[:i]
	j := strings.LastIndex(rest, ":")
	if j < 0 {
		return crm.OrderItem{}, bad
	}
	qty, err := strconv.ParseInt(strings.TrimSpace(rest[j+1:]), 10, 64)
	if err != nil || qty < 1 {
		return crm.OrderItem{}, crm.Errorf(crm.EINVALID, "item %q: quantity must be a whole number of at least 1", cut(s, 60))
	}
	unit, err := ParseMoney(price, currency)
	if err != nil {
		return crm.OrderItem{}, crm.Errorf(crm.EINVALID, "item %q: %s", cut(s, 60), crm.ErrorMessage(err))
	}
	return crm.OrderItem{SKU: strings.TrimSpace(sku), Name: strings.TrimSpace(rest[:j]), Quantity: qty, UnitPrice: unit}, nil
}

// parseTime reads RFC 3339, "2006-01-02 15:04:05" or "2006-01-02" (both UTC).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, crm.Errorf(crm.EINVALID, "placed_at %q must be a date like 2026-11-22 or 2026-11-22T10:00:00Z", cut(s, 40))
}
