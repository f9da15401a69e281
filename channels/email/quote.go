package email

import (
	"bytes"
	"html"
	"regexp"
	"strings"

	"parley/htmlsafe"

	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
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

// htmlText returns the visible text of HTML as an agent reads it: one line per block,
// a blank line between paragraphs (never more than one), the cells of a table row on
// one line separated by " | ", list items on lines of their own, preformatted text as
// it is.
func htmlText(s string) string {
	if s == "" {
		return ""
	}
	root, err := nethtml.Parse(strings.NewReader(s))
	if err != nil {
		return collapseBlank(htmlsafe.Text(s))
	}
	var t textWriter
	t.walk(root, false)
	return collapseBlank(t.b.String())
}

// textWriter collects the text of an HTML tree with the breaks its blocks make.
type textWriter struct {
	b     strings.Builder
	space bool // white space is owed before the next word
	cells int  // cells written in the current table row
}

// breaks says how many line ends an element puts around itself: 1 for a block, 2 for
// a paragraph.
var breaks = map[atom.Atom]int{
	atom.P: 2, atom.H1: 2, atom.H2: 2, atom.H3: 2, atom.H4: 2, atom.H5: 2, atom.H6: 2,
	atom.Table: 2, atom.Blockquote: 2, atom.Ul: 2, atom.Ol: 2, atom.Pre: 2, atom.Hr: 2, atom.Details: 2,
	atom.Div: 1, atom.Tr: 1, atom.Li: 1, atom.Section: 1, atom.Article: 1, atom.Header: 1, atom.Footer: 1,
	atom.Summary: 1, atom.Dt: 1, atom.Dd: 1, atom.Caption: 1, atom.Address: 1,
}

func (t *textWriter) newline(n int) {
	t.space = false
	s := t.b.String()
	have := len(s) - len(strings.TrimRight(s, "\n"))
	if t.b.Len() == 0 {
		return
	}
	for ; have < n; have++ {
		t.b.WriteByte('\n')
	}
}

func (t *textWriter) walk(n *nethtml.Node, pre bool) {
	switch n.Type {
	case nethtml.TextNode:
		if pre {
			t.b.WriteString(n.Data)
			return
		}
		for i, w := range strings.Fields(n.Data) {
			if (i > 0 || t.space || startsWithSpace(n.Data)) && t.b.Len() > 0 && !endsWithBreak(&t.b) {
				t.b.WriteByte(' ')
			}
			t.b.WriteString(w)
			t.space = false
		}
		if strings.TrimSpace(n.Data) != "" && endsWithSpace(n.Data) {
			t.space = true
		}
		return
	case nethtml.ElementNode:
		switch n.DataAtom {
		case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template:
			return
		case atom.Details:
			// The history foldQuotedHTML folded away is not what the sender wrote.
			if s := findElement(n, atom.Summary); s != nil && s.FirstChild != nil && s.FirstChild.Data == quotedSummary {
				return
			}
		case atom.Br:
			t.b.WriteByte('\n')
			t.space = false
			return
		case atom.Tr:
			t.cells = 0
		case atom.Td, atom.Th:
			if t.cells > 0 {
				t.b.WriteString(" | ")
				t.space = false
			}
			t.cells++
		case atom.Li:
			t.newline(1)
			t.b.WriteString("- ")
		case atom.Img:
			for _, a := range n.Attr {
				if a.Key == "alt" && strings.TrimSpace(a.Val) != "" {
					t.b.WriteString(strings.TrimSpace(a.Val))
				}
			}
		}
		pre = pre || n.DataAtom == atom.Pre
	}
	br := breaks[n.DataAtom]
	if n.Type == nethtml.ElementNode && br > 0 {
		t.newline(br)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		t.walk(c, pre)
	}
	if n.Type == nethtml.ElementNode && br > 0 {
		t.newline(br)
	}
}

func startsWithSpace(s string) bool { return s != "" && strings.TrimLeft(s, " \t\r\n") != s }
func endsWithSpace(s string) bool   { return s != "" && strings.TrimRight(s, " \t\r\n") != s }
func endsWithBreak(b *strings.Builder) bool {
	s := b.String()
	return s != "" && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ')
}

var blankRun = regexp.MustCompile(`\n(?:[ \t]*\n){2,}`)

// collapseBlank trims the lines of s on the right and makes every run of blank lines one.
func collapseBlank(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\u00a0")
	}
	return strings.TrimSpace(blankRun.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// quotedSummary is the switch that unfolds the quoted history of a mail in the console.
const quotedSummary = "Show quoted text"

// foldQuotedHTML puts the quoted history of an HTML mail into a closed <details>
// element, so that the console shows what the sender wrote and the history one click
// away. It knows the marks mail programs leave: Gmail's gmail_quote, Apple Mail's and
// Thunderbird's <blockquote type="cite"> (with Thunderbird's moz-cite-prefix line),
// Yahoo's yahoo_quoted and Outlook's divRplyFwdMsg, after which everything is history.
// A forwarded mail is content, not history, and a mail that is all quote stays as it
// is. s is the HTML as it came, before sanitizing: the marks are classes and ids that
// the sanitizer removes.
func foldQuotedHTML(s string) string {
	if s == "" || !quoteMark.MatchString(s) {
		return s
	}
	root, err := nethtml.Parse(strings.NewReader(s))
	if err != nil {
		return s
	}
	body := findElement(root, atom.Body)
	if body == nil {
		return s
	}
	if !foldQuotes(body) {
		return s
	}
	// Nothing but the history would be left to see: fold nothing.
	var outside strings.Builder
	visibleText(body, &outside)
	if strings.TrimSpace(outside.String()) == "" {
		return s
	}
	var b bytes.Buffer
	for c := body.FirstChild; c != nil; c = c.NextSibling {
		if err := nethtml.Render(&b, c); err != nil {
			return s
		}
	}
	return b.String()
}

var quoteMark = regexp.MustCompile(`(?i)gmail_quote|type=["']?cite|moz-cite-prefix|yahoo_quoted|divRplyFwdMsg`)

func findElement(n *nethtml.Node, a atom.Atom) *nethtml.Node {
	if n.Type == nethtml.ElementNode && n.DataAtom == a {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findElement(c, a); f != nil {
			return f
		}
	}
	return nil
}

func attr(n *nethtml.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *nethtml.Node, class string) bool {
	return n.Type == nethtml.ElementNode && slicesContainsFold(strings.Fields(attr(n, "class")), class)
}

func slicesContainsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// quoteStart reports whether n starts quoted history, and whether everything after it
// in its parent is history too (Outlook puts the history beside its header block).
func quoteStart(n *nethtml.Node) (start, rest bool) {
	if n.Type != nethtml.ElementNode {
		return false, false
	}
	switch {
	case hasClass(n, "gmail_quote") || hasClass(n, "gmail_quote_container") || hasClass(n, "yahoo_quoted"):
		return true, false
	case n.DataAtom == atom.Blockquote && strings.EqualFold(attr(n, "type"), "cite"):
		return true, false
	case hasClass(n, "moz-cite-prefix"), strings.EqualFold(attr(n, "id"), "divRplyFwdMsg"):
		return true, true
	}
	return false, false
}

// foldQuotes wraps the quoted history under n in closed <details> elements and reports
// whether it found any.
func foldQuotes(n *nethtml.Node) bool {
	found := false
	for c := n.FirstChild; c != nil; {
		start, rest := quoteStart(c)
		if !start || isForward(c) {
			if foldQuotes(c) {
				found = true
			}
			c = c.NextSibling
			continue
		}
		d := &nethtml.Node{Type: nethtml.ElementNode, Data: "details", DataAtom: atom.Details}
		sum := &nethtml.Node{Type: nethtml.ElementNode, Data: "summary", DataAtom: atom.Summary}
		sum.AppendChild(&nethtml.Node{Type: nethtml.TextNode, Data: quotedSummary})
		d.AppendChild(sum)
		n.InsertBefore(d, c)
		end := c.NextSibling
		if rest {
			end = nil
		}
		for x := c; x != end; {
			next := x.NextSibling
			n.RemoveChild(x)
			d.AppendChild(x)
			x = next
		}
		found = true
		c = end
	}
	return found
}

// isForward reports whether quoted-looking n is a forwarded mail, which is content.
func isForward(n *nethtml.Node) bool {
	var b strings.Builder
	visibleText(n, &b)
	head := b.String()
	if len(head) > 400 {
		head = head[:400]
	}
	return forwarded.MatchString(head)
}

// visibleText writes the text under n, leaving out folded <details>.
func visibleText(n *nethtml.Node, b *strings.Builder) {
	if n.Type == nethtml.TextNode {
		b.WriteString(n.Data)
		return
	}
	if n.Type == nethtml.ElementNode && (n.DataAtom == atom.Details || n.DataAtom == atom.Script || n.DataAtom == atom.Style) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		visibleText(c, b)
		if b.Len() > 4096 {
			return
		}
	}
}

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
	return textHTML(reply) + `<details><summary>` + quotedSummary + `</summary><blockquote>` + textHTML(quoted) +
		"</blockquote></details>"
}
