// Package reports computes Parley's manager reports from the store's facts, keeps the
// per-ticket SLA state up to date from the event log, watches SLA due times, sends CSAT
// surveys when tickets are resolved, and writes CSV exports. It imports only crm and
// i18n (the surveys' texts).
package reports

import (
	"fmt"
	"slices"
	"time"

	"parley/crm"
)

// maxDays bounds the walk over a calendar: a schedule always has working time within a
// week, so only an absurd target runs into it.
const maxDays = 10 * 366

var dayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// span is working time within a day, in minutes from local midnight, [start, end).
type span struct{ start, end int }

// Calendar does arithmetic in business hours: a weekly schedule in a time zone minus
// holidays. A nil *Calendar is the plain clock, around the clock in UTC.
type Calendar struct {
	loc      *time.Location
	days     [7][]span
	holidays map[string]bool
	always   bool // no hours and no holidays: the plain clock
}

// NewCalendar compiles a schedule. Empty hours mean around the clock (holidays still
// off). Returns invalid for a bad zone, day, time or date.
func NewCalendar(s crm.Schedule) (*Calendar, error) {
	tz := s.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "unknown time zone %q", tz)
	}
	c := &Calendar{loc: loc, holidays: map[string]bool{}}
	around := true
	for _, spans := range s.Hours {
		if len(spans) > 0 {
			around = false
		}
	}
	for i, key := range dayKeys {
		if around {
			c.days[i] = []span{{0, 24 * 60}}
			continue
		}
		for _, sp := range s.Hours[key] {
			a, err1 := clockMinutes(sp[0])
			b, err2 := clockMinutes(sp[1])
			if err1 != nil || err2 != nil || a >= b {
				return nil, crm.Errorf(crm.EINVALID, "bad %s hours %q-%q", key, sp[0], sp[1])
			}
			c.days[i] = append(c.days[i], span{a, b})
		}
		c.days[i] = mergeSpans(c.days[i])
	}
	for _, h := range s.Holidays {
		if _, err := time.Parse(time.DateOnly, h); err != nil {
			return nil, crm.Errorf(crm.EINVALID, "bad holiday %q", h)
		}
		c.holidays[h] = true
	}
	c.always = around && len(c.holidays) == 0
	return c, nil
}

func clockMinutes(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("bad time %q", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 24 || m > 59 || (h == 24 && m > 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}

// mergeSpans sorts spans and joins overlapping ones, so no minute counts twice.
func mergeSpans(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && s.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// workSpans calls fn with the working intervals of each local day from the day of t on,
// in order, until fn returns false or maxDays have passed.
func (c *Calendar) workSpans(t time.Time, fn func(start, end time.Time) bool) {
	y, m, d := t.In(c.loc).Date()
	for i := 0; i < maxDays; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, c.loc)
		if c.holidays[day.Format(time.DateOnly)] {
			continue
		}
		dy, dm, dd := day.Date()
		for _, sp := range c.days[day.Weekday()] {
			// time.Date normalises 24:00 to the next midnight and resolves DST gaps.
			start := time.Date(dy, dm, dd, sp.start/60, sp.start%60, 0, 0, c.loc)
			end := time.Date(dy, dm, dd, sp.end/60, sp.end%60, 0, 0, c.loc)
			if !fn(start, end) {
				return
			}
		}
	}
}

// Add returns the moment d of working time after t. Time before the next working span
// does not count: a ticket opened on Saturday with a 60-minute target is due at 10:00 on
// Monday when work starts at 09:00.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	if c == nil || c.always || d <= 0 {
		return t.Add(d)
	}
	out := t.Add(time.Duration(maxDays) * 24 * time.Hour)
	left := d
	c.workSpans(t, func(start, end time.Time) bool {
		if !end.After(t) {
			return true
		}
		if start.Before(t) {
			start = t
		}
		if avail := end.Sub(start); left <= avail {
			out = start.Add(left)
			return false
		} else {
			left -= avail
		}
		return true
	})
	return out.UTC()
}

// Between returns the working time from a to b; zero when b is not after a.
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if c == nil || c.always {
		return b.Sub(a)
	}
	var sum time.Duration
	c.workSpans(a, func(start, end time.Time) bool {
		if !start.Before(b) {
			return false
		}
		if start.Before(a) {
			start = a
		}
		if end.After(b) {
			end = b
		}
		if end.After(start) {
			sum += end.Sub(start)
		}
		return true
	})
	return sum
}
