package crm

import "unicode/utf8"

// CutBytes shortens s to at most n bytes without splitting a UTF-8 sequence: for
// limits of storage and of error messages.
func CutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CutRunes shortens s to at most n runes: for limits people count in characters.
func CutRunes(s string, n int) string {
	if len(s) <= n || utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
