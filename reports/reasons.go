package reports

import (
	"context"
	"io"
	"math"
	"slices"
	"strconv"

	"parley/crm"
)

// ReasonRow is one contact reason's figures over a range (ReasonID 0: the tickets without
// a reason). Contacts are the tickets created in the range, by channel; first response
// and resolution are counted as the overview counts them; ContactRate is contacts per 100
// orders placed in the range (nil without orders); HandleSecs is the agents' time on
// those tickets and Cost what it cost at the hourly cost, in minor units.
type ReasonRow struct {
	ReasonID      int64          `json:"reason_id"`
	Name          string         `json:"name"`
	Contacts      int            `json:"contacts"`
	Auto          int            `json:"auto"` // of the contacts, how many the classifier labelled
	ByChannel     map[string]int `json:"by_channel"`
	FirstResponse Stats          `json:"first_response"`
	Resolution    Stats          `json:"resolution"`
	ContactRate   *float64       `json:"contact_rate"`
	HandleSecs    int64          `json:"handle_secs"`
	Cost          int64          `json:"cost"`
	CostPerTicket *int64         `json:"cost_per_ticket"`
	CostPerOrder  *float64       `json:"cost_per_order"`
}

// ReasonDay counts the contacts of one reason on one channel on one day of the range.
type ReasonDay struct {
	Date     string `json:"date"`
	ReasonID int64  `json:"reason_id"`
	Channel  string `json:"channel"`
	Contacts int    `json:"contacts"`
}

// ReasonsReport answers "why do people contact us, and what does it cost?" over a range.
// Cost figures are in minor units of Currency; CostPerOrder is the whole support cost
// divided by the orders placed in the range. SelfService counts what shoppers did
// themselves in the widget: Track my order offered for a first message ("offered") and
// orders looked up ("lookup").
type ReasonsReport struct {
	From          string         `json:"from"`
	To            string         `json:"to"`
	Reasons       []*ReasonRow   `json:"reasons"`
	ByDay         []ReasonDay    `json:"by_day"`
	Contacts      int            `json:"contacts"`
	Orders        int            `json:"orders"`
	ContactRate   *float64       `json:"contact_rate"`
	HandleSecs    int64          `json:"handle_secs"`
	Cost          int64          `json:"cost"`
	CostPerTicket *int64         `json:"cost_per_ticket"`
	CostPerOrder  *float64       `json:"cost_per_order"`
	HourlyCost    int64          `json:"hourly_cost"`
	Currency      string         `json:"currency"`
	SelfService   map[string]int `json:"self_service"`
	// SuggestionsUsed counts the suggested replies agents inserted in the range.
	SuggestionsUsed int `json:"suggestions_used"`
}

// ReasonsStore is what ReasonsOf reads.
type ReasonsStore interface {
	crm.ReportService
	Reasons(ctx context.Context) ([]*crm.Reason, error)
	ReasonSettings(ctx context.Context) (*crm.ReasonSettings, error)
	CountOrders(ctx context.Context, f crm.ReportFilter) (int, error)
	CountSuggestionUses(ctx context.Context, f crm.ReportFilter) (int, error)
	SelfServiceCounts(ctx context.Context, f crm.ReportFilter) (map[string]int, error)
}

// ReasonsOf reads what range r's reasons report needs and computes it.
func ReasonsOf(ctx context.Context, store ReasonsStore, r *Range, inboxID int64, channel string) (*ReasonsReport, error) {
	f := r.Filter(inboxID, channel)
	facts, err := store.ReportFacts(ctx, f)
	if err != nil {
		return nil, err
	}
	list, err := store.Reasons(ctx)
	if err != nil {
		return nil, err
	}
	set, err := store.ReasonSettings(ctx)
	if err != nil {
		return nil, err
	}
	orders, err := store.CountOrders(ctx, f)
	if err != nil {
		return nil, err
	}
	self, err := store.SelfServiceCounts(ctx, f)
	if err != nil {
		return nil, err
	}
	used, err := store.CountSuggestionUses(ctx, f)
	if err != nil {
		return nil, err
	}
	rep := ComputeReasons(r, facts, list, set, orders, self)
	rep.SuggestionsUsed = used
	return rep, nil
}

// cost is what secs of an agent's time cost at hourly, rounded to the minor unit.
func cost(secs, hourly int64) int64 {
	return int64(math.Round(float64(secs) * float64(hourly) / 3600))
}

// perOrder divides a cost or a count by orders (times scale), nil without orders.
func perOrder(v int64, orders int, scale float64) *float64 {
	if orders == 0 {
		return nil
	}
	x := math.Round(float64(v)*scale/float64(orders)*100) / 100
	return &x
}

// ComputeReasons groups the facts of range r by reason. Every reason that is not
// archived has a row, in the shop's order, then archived ones that counted, then the
// tickets without a reason.
func ComputeReasons(r *Range, facts []*crm.TicketFact, list []*crm.Reason, set *crm.ReasonSettings, orders int, self map[string]int) *ReasonsReport {
	type acc struct {
		row     *ReasonRow
		fr, res []int64
	}
	rows := map[int64]*acc{}
	get := func(id int64) *acc {
		if rows[id] == nil {
			rows[id] = &acc{row: &ReasonRow{ReasonID: id, ByChannel: map[string]int{}}}
		}
		return rows[id]
	}
	days := map[ReasonDay]int{}
	rep := &ReasonsReport{From: r.From, To: r.To, Orders: orders, HourlyCost: set.HourlyCost, Currency: set.Currency,
		SelfService: map[string]int{crm.SelfServiceOffered: self[crm.SelfServiceOffered], crm.SelfServiceLookup: self[crm.SelfServiceLookup]}}
	for _, x := range facts {
		a := get(x.ReasonID)
		if ok, at := counts(r, x, MetricCreated); ok {
			a.row.Contacts++
			a.row.ByChannel[x.Channel]++
			a.row.HandleSecs += x.HandleSecs
			if x.ReasonAuto {
				a.row.Auto++
			}
			days[ReasonDay{Date: r.date(at), ReasonID: x.ReasonID, Channel: x.Channel}]++
		}
		if ok, _ := counts(r, x, MetricFirstResponse); ok {
			a.fr = append(a.fr, *x.FirstResponseSecs)
		}
		if ok, _ := counts(r, x, MetricResolved); ok && x.ResolutionSecs != nil {
			a.res = append(a.res, *x.ResolutionSecs)
		}
	}
	finish := func(id int64, name string) {
		a := get(id)
		row := a.row
		row.Name = name
		row.FirstResponse, row.Resolution = statsOf(a.fr), statsOf(a.res)
		row.ContactRate = perOrder(int64(row.Contacts), orders, 100)
		row.Cost = cost(row.HandleSecs, set.HourlyCost)
		if row.Contacts > 0 {
			c := int64(math.Round(float64(row.Cost) / float64(row.Contacts)))
			row.CostPerTicket = &c
		}
		row.CostPerOrder = perOrder(row.Cost, orders, 1)
		rep.Reasons = append(rep.Reasons, row)
		rep.Contacts += row.Contacts
		rep.HandleSecs += row.HandleSecs
		delete(rows, id)
	}
	for _, x := range list {
		if !x.Archived || (rows[x.ID] != nil && rows[x.ID].row.Contacts > 0) {
			finish(x.ID, x.Name)
		}
	}
	// Reasons deleted since, if any, count with the tickets without one.
	var rest []int64
	for id := range rows {
		rest = append(rest, id)
	}
	slices.Sort(rest)
	none := get(0)
	for _, id := range rest {
		if id != 0 {
			o := rows[id]
			none.row.Contacts += o.row.Contacts
			none.row.HandleSecs += o.row.HandleSecs
			for ch, n := range o.row.ByChannel {
				none.row.ByChannel[ch] += n
			}
			none.fr, none.res = append(none.fr, o.fr...), append(none.res, o.res...)
		}
	}
	finish(0, "No reason")
	rep.ContactRate = perOrder(int64(rep.Contacts), orders, 100)
	rep.Cost = cost(rep.HandleSecs, set.HourlyCost)
	if rep.Contacts > 0 {
		c := int64(math.Round(float64(rep.Cost) / float64(rep.Contacts)))
		rep.CostPerTicket = &c
	}
	rep.CostPerOrder = perOrder(rep.Cost, orders, 1)
	rep.ByDay = []ReasonDay{}
	for d, n := range days {
		d.Contacts = n
		rep.ByDay = append(rep.ByDay, d)
	}
	slices.SortFunc(rep.ByDay, func(a, b ReasonDay) int {
		switch {
		case a.Date != b.Date:
			return cmpString(a.Date, b.Date)
		case a.ReasonID != b.ReasonID:
			return int(a.ReasonID - b.ReasonID)
		}
		return cmpString(a.Channel, b.Channel)
	})
	return rep
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// WriteReasonsCSV writes the reasons report, one row per reason.
func WriteReasonsCSV(rep *ReasonsReport, w io.Writer) error {
	cw := NewCSVWriter(w)
	cw.Write("reason_id", "reason", "contacts", "auto", "contacts_per_100_orders", "first_response_median_seconds",
		"resolution_median_seconds", "handle_seconds", "cost_minor", "cost_per_ticket_minor", "cost_per_order_minor", "currency")
	for _, x := range rep.Reasons {
		cw.Write(strconv.FormatInt(x.ReasonID, 10), x.Name, itoa(x.Contacts), itoa(x.Auto), floatCell(x.ContactRate),
			int64Cell(x.FirstResponse.Median), int64Cell(x.Resolution.Median), strconv.FormatInt(x.HandleSecs, 10),
			strconv.FormatInt(x.Cost, 10), int64Cell(x.CostPerTicket), floatCell(x.CostPerOrder), rep.Currency)
	}
	return cw.Flush()
}
