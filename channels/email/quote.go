package email

import (
	"html"
	"regexp"
	"strings"

	"parley/htmlsafe"
)

var headElement = regexp.MustCompile(`(?is)<head[\s>].*?</head\s*>`)

// sanitize makes the HTML of a mail safe to display. The head goes first: its title and
// styles are not part of what the sender wrote.
func sanitize(s string) string {
	if s == "" {
		return ""
	}
	return htmlsafe.Sanitize(headElement.ReplaceAllString(s, ""))
}

// htmlText returns the visible text of sanitized HTML.
func htmlText(s string) string { return htmlsafe.Text(s) }

var (
	// "On Mon, 3 Jun 2024 at 10:02, Ann <ann@x> wrote:" and its translations; Gmail
	// wraps it over two lines, so it is matched on a line joined with the next.
	attribution = regexp.MustCompile(`(?i)^\s*(on|am|le|el|il|op|den|em)\s.{0,200}\s(wrote|schrieb|a écrit|escribió|ha scritto|schreef|skrev|escreveu)\s*:\s*$`)
	originalMsg = regexp.MustCompile(`(?i)^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original)\s*-{2,}\s*$`)
	outlookRule = regexp.MustCompile(`^\s*_{20,}\s*$`)
	headerLine  = regexp.MustCompile(`(?i)^\s*\*?(from|von|de|van)\s*:\*?\s`)
	sentLine    = regexp.MustCompile(`(?i)^\s*\*?(sent|gesendet|envoyé|enviado|date|datum)\s*:\*?\s`)
	forwarded   = regexp.MustCompile(`(?i)(forwarded message|begin forwarded message|weitergeleitete nachricht|message transféré)`)
)

// trimQuoted splits a plain-text reply into what the sender wrote and the quoted
// history below it. Inline replies between quotes are kept whole: only a trailing quote
// or everything from a reply attribution or an Outlook header block on is history.
// When nothing would remain, nothing is trimmed.
func trimQuoted(text string) (reply, quoted string) {
	lines := strings.Split(text, "\n")
	cut, fwd := -1, false
	for i := 0; i < len(lines) && cut < 0; i++ {
		l := lines[i]
		next := ""
		if i+1 < len(lines) {
			next = lines[i+1]
		}
		if forwarded.MatchString(l) {
			fwd = true
			break // a forwarded mail is the content, not history
		}
		switch {
		case attribution.MatchString(l) && followedByQuote(lines[i+1:]):
			cut = i
		case attribution.MatchString(l+" "+next) && followedByQuote(lines[min(i+2, len(lines)):]):
			cut = i
		case originalMsg.MatchString(l):
			cut = i
		case outlookRule.MatchString(l) && hasOutlookHeader(lines[i+1:]):
			cut = i
		case headerLine.MatchString(l) && hasSentLine(lines[i+1:]) && i > 0:
			cut = i
		}
	}
	if cut < 0 && !fwd {
		// A trailing block of "> " lines.
		end := len(lines)
		for end > 0 && strings.TrimSpace(lines[end-1]) == "" {
			end--
		}
		start := end
		for start > 0 && (strings.HasPrefix(lines[start-1], ">") || strings.TrimSpace(lines[start-1]) == "") {
			start--
		}
		if start < end && strings.HasPrefix(strings.TrimSpace(strings.Join(lines[start:end], "\n")), ">") {
			cut = start
		}
	}
	if cut < 0 {
		return strings.TrimSpace(text), ""
	}
	reply = strings.TrimSpace(strings.Join(lines[:cut], "\n"))
	if reply == "" {
		return strings.TrimSpace(text), ""
	}
	return reply, strings.TrimSpace(strings.Join(lines[cut:], "\n"))
}

// followedByQuote reports whether the next non-empty line starts a quote. Apple Mail
// and Gmail put "> " before the history; without it an attribution line is just text.
func followedByQuote(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return strings.HasPrefix(strings.TrimSpace(l), ">")
		}
	}
	return false
}

func hasOutlookHeader(lines []string) bool {
	for i := 0; i < len(lines) && i < 3; i++ {
		if headerLine.MatchString(lines[i]) {
			return true
		}
	}
	return false
}

func hasSentLine(lines []string) bool {
	for i := 0; i < len(lines) && i < 3; i++ {
		if sentLine.MatchString(lines[i]) {
			return true
		}
	}
	return false
}

// textHTML renders plain text as HTML paragraphs, escaped.
func textHTML(s string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if para = strings.TrimSpace(para); para == "" {
			continue
		}
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(para), "\n", "<br>\n"))
		b.WriteString("</p>\n")
	}
	return b.String()
}

// quotedHTML renders a trimmed plain-text mail with its history kept in a collapsed
// element, so the console shows the reply and the full mail is one click away.
func quotedHTML(reply, quoted string) string {
	return textHTML(reply) + `<details><summary>Quoted text</summary><blockquote>` + textHTML(quoted) +
		"</blockquote></details>"
}
