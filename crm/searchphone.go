package crm

import "strings"

// SearchPhoneDigits returns the digits of a search query written as a phone number in
// any common format (+1 415 555 0123, 4155550123, (415) 555-0123, 415.555.0123), or ""
// when the query is not one: fewer than 7 digits, or any letter. Stores match them
// against the end of E.164 phone identities, so that a number without its country
// code is found too.
func SearchPhoneDigits(q string) string {
	q = strings.TrimSpace(q)
	var digits strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case strings.ContainsRune(" +-().", r):
		default:
			return ""
		}
	}
	if digits.Len() < 7 || digits.Len() > 15 {
		return ""
	}
	return digits.String()
}
