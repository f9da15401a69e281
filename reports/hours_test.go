package reports_test

import (
	"testing"
	"time"

	"parley/crm"
	"parley/reports"
)

// office is Monday to Friday, 09:00-17:00 in Berlin, with 2026-12-25 off.
var office = crm.Schedule{Timezone: "Europe/Berlin", Holidays: []string{"2026-12-25"}, Hours: map[string][][2]string{
	"mon": {{"09:00", "17:00"}}, "tue": {{"09:00", "17:00"}}, "wed": {{"09:00", "17:00"}},
	"thu": {{"09:00", "17:00"}}, "fri": {{"09:00", "12:00"}, {"11:00", "17:00"}}, // overlapping spans count once
}}

func berlin(s string) time.Time {
	loc, _ := time.LoadLocation("Europe/Berlin")
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func TestCalendar(t *testing.T) {
	cal, err := reports.NewCalendar(office)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		start string
		add   time.Duration
		want  string
	}{
		{"inside a day", "2026-12-21 10:00", 2 * time.Hour, "2026-12-21 12:00"},
		{"before work starts", "2026-12-21 06:00", time.Hour, "2026-12-21 10:00"},
		{"over the night", "2026-12-21 16:30", time.Hour, "2026-12-22 09:30"},
		{"over the holiday and the weekend", "2026-12-24 16:00", 2 * time.Hour, "2026-12-28 10:00"},
		{"from a Saturday", "2026-12-19 12:00", time.Hour, "2026-12-21 10:00"},
		{"ends exactly at closing", "2026-12-21 09:00", 8 * time.Hour, "2026-12-21 17:00"},
		{"across the DST change", "2026-03-27 16:00", 2 * time.Hour, "2026-03-30 10:00"},
	}
	for _, tt := range tests {
		got := cal.Add(berlin(tt.start), tt.add)
		if want := berlin(tt.want); !got.Equal(want) {
			t.Errorf("%s: Add(%s, %s) = %s, want %s", tt.name, tt.start, tt.add, got.In(want.Location()), want)
		}
		// Between is Add's inverse whenever the start lies in working time.
		if back := cal.Between(berlin(tt.start), got); tt.name != "before work starts" && tt.name != "from a Saturday" && back != tt.add {
			t.Errorf("%s: Between = %s, want %s", tt.name, back, tt.add)
		}
	}
	if got := cal.Between(berlin("2026-12-24 16:00"), berlin("2026-12-28 10:00")); got != 2*time.Hour {
		t.Errorf("Between over Christmas = %s, want 2h", got)
	}
	if got := cal.Between(berlin("2026-12-26 10:00"), berlin("2026-12-27 10:00")); got != 0 {
		t.Errorf("Between on a weekend = %s, want 0", got)
	}
	if got := cal.Between(berlin("2026-12-22 10:00"), berlin("2026-12-21 10:00")); got != 0 {
		t.Errorf("Between backwards = %s, want 0", got)
	}
}

func TestCalendar_AroundTheClock(t *testing.T) {
	cal, err := reports.NewCalendar(crm.Schedule{Timezone: "UTC", Holidays: []string{"2026-12-25"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 24, 22, 0, 0, 0, time.UTC)
	if got, want := cal.Add(start, 4*time.Hour), time.Date(2026, 12, 26, 2, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("24/7 with a holiday: got %s, want %s", got, want)
	}
	var plain *reports.Calendar
	if got := plain.Between(start, start.Add(90*time.Minute)); got != 90*time.Minute {
		t.Errorf("no calendar: got %s", got)
	}
	for _, bad := range []crm.Schedule{{Timezone: "Mars/Olympus"}, {Hours: map[string][][2]string{"mon": {{"17:00", "09:00"}}}}} {
		if _, err := reports.NewCalendar(bad); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("NewCalendar(%+v) = %v, want invalid", bad, err)
		}
	}
}

func TestMatchPolicy(t *testing.T) {
	one := int64(1)
	policies := []*crm.SLAPolicy{
		{ID: 1, Name: "default"},
		{ID: 2, Name: "urgent anywhere", Priorities: []string{"urgent"}},
		{ID: 3, Name: "inbox 1", InboxID: &one},
		{ID: 4, Name: "inbox 1 urgent", InboxID: &one, Priorities: []string{"urgent", "high"}},
	}
	tests := []struct {
		inbox    int64
		priority string
		want     int64
	}{{1, "urgent", 4}, {1, "high", 4}, {1, "normal", 3}, {2, "urgent", 2}, {2, "low", 1}}
	for _, tt := range tests {
		if got := reports.MatchPolicy(policies, tt.inbox, tt.priority); got == nil || got.ID != tt.want {
			t.Errorf("MatchPolicy(%d, %s) = %v, want %d", tt.inbox, tt.priority, got, tt.want)
		}
	}
	if got := reports.MatchPolicy(policies[1:2], 1, "low"); got != nil {
		t.Errorf("no match: got %v", got)
	}
}

func TestParseRange(t *testing.T) {
	r, err := reports.ParseRange("2026-03-28", "2026-03-29", "Europe/Berlin", 366)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.End.Sub(r.Start); got != 47*time.Hour { // the clocks go forward on the 29th
		t.Errorf("range length %s, want 47h", got)
	}
	for _, bad := range [][3]string{
		{"2026-11-10", "2026-11-01", ""}, {"2026-13-01", "2026-12-01", ""}, {"yesterday", "2026-01-01", ""},
		{"2020-01-01", "2026-01-01", ""}, {"0001-01-01", "2026-01-01", ""}, {"2026-01-01", "2026-01-02", "Nowhere/City"},
		{"", "2026-01-02", ""},
	} {
		if _, err := reports.ParseRange(bad[0], bad[1], bad[2], 366); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("ParseRange(%q) = %v, want invalid", bad, err)
		}
	}
	if _, err := reports.ParseRange("2020-01-01", "2026-01-01", "", 0); err != nil {
		t.Errorf("an export may span years: %v", err)
	}
}

func TestEscapeCell(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+49 30": "'+49 30", "-x": "'-x", "@SUM": "'@SUM",
		"\tx": "'\tx", "\rx": "'\rx", "plain": "plain", "": "", "a=b": "a=b"} {
		if got := reports.EscapeCell(in); got != want {
			t.Errorf("EscapeCell(%q) = %q, want %q", in, got, want)
		}
	}
}
