package email

import (
	"strings"
)

// Limits of reading Authentication-Results headers (RFC 8601).
const (
	maxAuthResults   = 50      // headers looked at
	maxAuthResultLen = 8 << 10 // bytes of one header parsed
	maxAuthServIDLen = 255     // a host name, or another identifier of about that size
)

// unverifiedLine starts the text of a mail whose sender failed the receiving server's
// checks, so that an agent does not take it for the customer it claims to be from.
const unverifiedLine = "⚠ Unverified sender: this message failed the sender checks"

// authResult is what one Authentication-Results header says: the server that wrote it
// and the result of each method, lower-cased. A method may appear more than once (one
// dkim result per signature).
type authResult struct {
	servID  string
	results map[string][]string
}

// senderCheckFailure returns which sender checks a mail failed according to the
// receiving server: "DMARC" when dmarc=fail, "SPF and DKIM" when there is no usable
// DMARC result, spf=fail and no DKIM signature passed; "" otherwise. headers are the
// mail's Authentication-Results values, topmost first.
//
// Anyone can write such a header into a mail, so only one is believed: the topmost one
// whose authserv-id is trusted (the receiving server's name, such as mx.google.com),
// or when trusted is empty the topmost one, which the receiving server added last.
// Receiving servers remove forged headers with their own authserv-id (RFC 8601 section
// 5); headers further down are whatever the sender put there.
func senderCheckFailure(headers []string, trusted string) string {
	var ar *authResult
	for i, h := range headers {
		if i >= maxAuthResults {
			break
		}
		r, ok := parseAuthResults(h)
		if trusted == "" {
			if ok {
				ar = r
			}
			break
		}
		if ok && strings.EqualFold(r.servID, trusted) {
			ar = r
			break
		}
	}
	if ar == nil {
		return ""
	}
	switch first(ar.results["dmarc"]) {
	case "fail":
		return "DMARC"
	case "pass":
		return ""
	}
	// Without a DMARC verdict (no policy, or a temporary error), a mail whose SPF check
	// failed and that has no passing DKIM signature has nothing that ties it to its sender.
	if first(ar.results["spf"]) != "fail" {
		return ""
	}
	for _, r := range ar.results["dkim"] {
		if r != "fail" && r != "none" {
			return ""
		}
	}
	return "SPF and DKIM"
}

func first(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[0]
}

// parseAuthResults reads an Authentication-Results value:
//
//	authserv-id [version] ; method[/version]=result [reason=...] [ptype.prop=value ...] ; ...
//
// Comments in parentheses are dropped and quoted strings kept whole. ok is false when
// the value has no authserv-id.
func parseAuthResults(v string) (*authResult, bool) {
	if len(v) > maxAuthResultLen {
		v = v[:maxAuthResultLen]
	}
	parts := splitOutsideQuotes(stripComments(v), ';')
	head := strings.Fields(parts[0])
	if len(head) == 0 || len(head[0]) > maxAuthServIDLen {
		return nil, false
	}
	ar := &authResult{servID: strings.Trim(head[0], `"`), results: map[string][]string{}}
	for _, p := range parts[1:] {
		method, rest, ok := strings.Cut(p, "=")
		if !ok {
			continue // "none": no checks were made
		}
		method, _, _ = strings.Cut(method, "/")
		method = strings.ToLower(strings.TrimSpace(method))
		result := strings.Fields(rest)
		if method == "" || len(result) == 0 || len(ar.results[method]) >= 20 {
			continue
		}
		ar.results[method] = append(ar.results[method], strings.ToLower(result[0]))
	}
	return ar, true
}

// stripComments removes RFC 5322 comments, which may nest and quote characters with a
// backslash, outside quoted strings.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted, escaped := 0, false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && (quoted || depth > 0):
			escaped = true
		case depth == 0 && r == '"':
			quoted = !quoted
		case !quoted && r == '(':
			if depth == 0 {
				b.WriteByte(' ') // a comment separates what is around it
			}
			depth++
			continue
		case !quoted && r == ')' && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitOutsideQuotes splits s at sep where sep is not inside a quoted string.
func splitOutsideQuotes(s string, sep rune) []string {
	var parts []string
	quoted, escaped, start := false, false, 0
	for i, r := range s {
		switch {
		case escaped:
			escaped = false
		case quoted && r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
		case !quoted && r == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}
