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

// IsSnowflake reports whether s has the shape of a Discord id: 1 to 20 digits.
func IsSnowflake(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
