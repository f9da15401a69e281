package reports

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"parley/crm"
)

// CSVWriter writes CSV rows whose cells are safe to open in a spreadsheet: a cell that
// starts with = + - @, a tab or a carriage return is prefixed with a single quote, so it
// is shown as text instead of run as a formula.
type CSVWriter struct{ w *csv.Writer }

// NewCSVWriter returns a CSVWriter on w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: csv.NewWriter(w)} }

// Write writes one row.
func (c *CSVWriter) Write(cells ...string) error {
	for i, s := range cells {
		cells[i] = EscapeCell(s)
	}
	return c.w.Write(cells)
}

// Flush writes buffered rows and returns the first write error.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// EscapeCell neutralises a spreadsheet formula at the start of s.
func EscapeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// TicketsCSVHeader is the header row of the tickets export.
var TicketsCSVHeader = []string{"id", "channel", "inbox", "customer", "created_at", "first_response_at", "resolved_at",
	"status", "priority", "assignee", "tags", "sla_met", "csat"}

// WriteTicketsCSV streams one row per ticket created in range r and scope to w, as the
// store reads them, and returns how many rows it wrote.
func WriteTicketsCSV(ctx context.Context, store crm.ReportService, r *Range, inboxID int64, channel string, w io.Writer) (int, error) {
	cw := NewCSVWriter(w)
	if err := cw.Write(append([]string{}, TicketsCSVHeader...)...); err != nil {
		return 0, err
	}
	n := 0
	err := store.ExportTickets(ctx, r.Filter(inboxID, channel), func(x *crm.ExportRow) error {
		t := x.Ticket
		sla := ""
		if x.SLAMet != nil {
			sla = map[bool]string{true: "yes", false: "no"}[*x.SLAMet]
		}
		rating := ""
		if x.Rating > 0 {
			rating = strconv.Itoa(x.Rating)
		}
		n++
		if err := cw.Write(strconv.FormatInt(t.ID, 10), t.Channel, x.Inbox, x.Customer, timeCell(&t.CreatedAt),
			timeCell(x.FirstResponseAt), timeCell(x.ResolvedAt), t.Status, t.Priority, x.Assignee,
			strings.Join(t.Tags, ";"), sla, rating); err != nil {
			return err
		}
		if n%1000 == 0 { // keep memory flat and the download moving
			return cw.Flush()
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, cw.Flush()
}

// WriteAgentsCSV writes the agents report as CSV.
func WriteAgentsCSV(b *Breakdown, w io.Writer) error {
	cw := NewCSVWriter(w)
	cw.Write("agent_id", "name", "assigned", "replies", "tickets_resolved", "first_response_median_seconds",
		"first_response_p90_seconds", "first_response_count", "resolution_median_seconds", "resolution_p90_seconds",
		"resolution_count", "sla_met", "sla_missed", "sla_met_percent", "csat_count", "csat_average")
	for _, a := range b.Agents {
		m := a.Metrics
		cw.Write(strconv.FormatInt(a.AgentID, 10), a.Name, itoa(m.Assigned), itoa(m.Replies), itoa(m.TicketsResolved),
			int64Cell(m.FirstResponse.Median), int64Cell(m.FirstResponse.P90), itoa(m.FirstResponse.Count),
			int64Cell(m.Resolution.Median), int64Cell(m.Resolution.P90), itoa(m.Resolution.Count),
			itoa(m.SLA.Met), itoa(m.SLA.Missed), floatCell(m.SLAMetPercent), itoa(m.CSAT.Count), floatCell(m.CSAT.Average))
	}
	return cw.Flush()
}

func itoa(n int) string { return strconv.Itoa(n) }

func timeCell(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func int64Cell(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

func floatCell(v *float64) string {
	if v == nil {
		return ""
	}
	return fmt.Sprintf("%g", *v)
}
