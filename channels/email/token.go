package email

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
)

// sigLen is the length in hex digits of a reply address signature: 64 bits, enough
// that guessing one for a ticket is hopeless, short enough for an address.
const sigLen = 16

// replySig signs a ticket id with an inbox's reply secret.
func replySig(secret string, ticketID int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("t" + strconv.FormatInt(ticketID, 10)))
	return hex.EncodeToString(m.Sum(nil))[:sigLen]
}

// ReplyAddress returns the signed reply-to address of a ticket:
// local+t1042.<signature>@domain for the inbox address local@domain.
func ReplyAddress(address, secret string, ticketID int64) string {
	local, domain, _ := strings.Cut(address, "@")
	return local + "+t" + strconv.FormatInt(ticketID, 10) + "." + replySig(secret, ticketID) + "@" + domain
}

// TicketOfAddress returns the ticket id of a signed reply-to address of the inbox
// address, or 0 when addr is not one or its signature is wrong. Mail systems may change
// the case of an address, so the comparison ignores it.
func TicketOfAddress(address, secret, addr string) int64 {
	if secret == "" {
		return 0
	}
	local, domain, _ := strings.Cut(strings.ToLower(address), "@")
	alocal, adomain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(addr)), "@")
	if !ok || adomain != domain {
		return 0
	}
	tag, ok := strings.CutPrefix(alocal, local+"+t")
	if !ok {
		return 0
	}
	num, sig, ok := strings.Cut(tag, ".")
	if !ok || len(sig) != sigLen || len(num) > 18 {
		return 0
	}
	id, err := strconv.ParseInt(num, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	if !hmac.Equal([]byte(sig), []byte(replySig(secret, id))) {
		return 0
	}
	return id
}

var subjectToken = regexp.MustCompile(`\[#(\d{1,15})\]`)

// TicketOfSubject returns the ticket id of the last [#1042] token in a subject, or 0.
func TicketOfSubject(subject string) int64 {
	all := subjectToken.FindAllStringSubmatch(subject, -1)
	if len(all) == 0 {
		return 0
	}
	id, _ := strconv.ParseInt(all[len(all)-1][1], 10, 64)
	return id
}

var replyPrefix = regexp.MustCompile(`(?i)^\s*((re|fwd?|aw|wg|sv|vs|antw|réf|tr)\s*(\[\d+\])?\s*:\s*)+`)

// ReplySubject returns the subject of a reply on ticket id: Re: and the subject without
// earlier reply prefixes and ticket tokens, then the ticket's token. Line breaks and
// other control characters are removed, so it is safe as a header value.
func ReplySubject(subject string, id int64) string {
	s := subjectToken.ReplaceAllString(headerSafe(subject), "")
	s = strings.TrimSpace(replyPrefix.ReplaceAllString(s, ""))
	s = strings.Join(strings.Fields(s), " ")
	token := "[#" + strconv.FormatInt(id, 10) + "]"
	if s == "" {
		return "Re: " + token
	}
	return "Re: " + s + " " + token
}

// headerSafe returns s as one line without control characters, so that nothing typed by
// an agent or a customer can end a header and start another.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 || r == 0x85:
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	return strings.TrimSpace(s)
}
