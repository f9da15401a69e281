package reports

import "time"

// Open reports whether t falls in working time: on a working day that is no holiday,
// within one of its hours. A nil or around-the-clock Calendar is always open. Automation
// rules test it for their business-hours conditions.
func (c *Calendar) Open(t time.Time) bool {
	if c == nil || c.always {
		return true
	}
	local := t.In(c.loc)
	if c.holidays[local.Format(time.DateOnly)] {
		return false
	}
	m := local.Hour()*60 + local.Minute()
	for _, sp := range c.days[local.Weekday()] {
		if m >= sp.start && m < sp.end {
			return true
		}
	}
	return false
}
