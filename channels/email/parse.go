package email

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"parley/crm"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decodes non-UTF-8 bodies and headers
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Limits of parsing. Mail is hostile: each limit keeps one message from taking the
// fetcher's memory or time, and everything cut is said in a note on the message.
const (
	maxDepth          = 20        // multipart nesting followed
	maxParts          = 500       // MIME parts looked at
	maxTextPart       = 1 << 20   // bytes read of one text part
	maxText           = 400 << 10 // bytes of text kept
	maxHTML           = 500 << 10 // bytes of HTML kept
	maxAttachments    = 50
	maxAttachmentsSum = 60 << 20
	maxAddresses      = 1000 // recipient addresses looked at for a reply token
	maxRefs           = 100
	maxIDLen          = 900
)

// Attachment is a file of a parsed message. ContentID is set for parts that HTML may
// reference with a cid: URL.
type Attachment struct {
	crm.NewAttachment
	ContentID string
}

// Bounce is what a delivery status notification says about the message it bounces.
type Bounce struct {
	OriginalMessageID string // the Message-ID of the bounced message, when the report has it
	Failed            bool   // false for a report that only says delivery is delayed
	Reason            string // the remote server's diagnostic or the status code
}

// Addr is an address of a mail header, lower-cased, with its decoded display name.
type Addr struct {
	Name    string
	Address string
}

// Parsed is a mail message parsed for filing. Every string is valid UTF-8.
type Parsed struct {
	MessageID   string   // without angle brackets; empty when missing
	References  []string // In-Reply-To and References, oldest first, without duplicates
	Subject     string
	FromName    string
	FromAddress string    // lower-cased; empty when missing or unusable
	Recipients  []string  // addresses of To, Cc, Delivered-To, X-Original-To and Envelope-To
	Date        time.Time // zero when missing or unreadable
	Text        string    // the full plain text (from the HTML when there is no text part)
	HTML        string    // the full HTML, sanitized
	Attachments []Attachment
	Notes       []string // what was dropped or could not be read, for the agent
	AutoReply   bool
	// AutoSubmitted says that the Auto-Submitted header marks the mail as sent by a
	// program (RFC 3834), as bounces and out-of-office replies are.
	AutoSubmitted bool
	Bounce        *Bounce  // set for delivery status notifications
	AuthResults   []string // Authentication-Results values, topmost first

	To, CC []Addr
	// ReplyTo holds the addresses of Reply-To; ReplyToBroken says that it was there but
	// could not be read as one or more addresses.
	ReplyTo       []Addr
	ReplyToBroken bool
	// OriginalFrom is who wrote a mail that a list or group passed on with its own
	// From (X-Original-From, else X-Original-Sender); empty otherwise.
	OriginalFrom Addr
	// ListPost is the posting address of the mailing list the mail came through
	// (List-Post: <mailto:...>); ListID is its List-Id. Both empty for direct mail.
	ListPost string
	ListID   string
	// Unreadable counts the parts whose content could not be read.
	Unreadable int
}

type parser struct {
	out      *Parsed
	parts    int
	attSum   int
	deepNote bool
	report   bool // multipart/report; report-type=delivery-status
	text     strings.Builder
	html     strings.Builder
}

// Parse reads a mail message from r. Only a header that cannot be read at all is an
// error; broken bodies, charsets and structures are read as far as they go, with notes.
func Parse(r io.Reader) (*Parsed, error) {
	e, err := message.ReadWithOptions(r, &message.ReadOptions{MaxHeaderBytes: 1 << 20})
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("read message header: %w", err)
	}
	p := &parser{out: &Parsed{}}
	p.header(mail.Header{Header: e.Header})
	p.walk(e, 0)
	p.finish()
	return p.out, nil
}

func (p *parser) note(format string, args ...any) {
	if len(p.out.Notes) < 20 {
		p.out.Notes = append(p.out.Notes, fmt.Sprintf(format, args...))
	}
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(cs string, r io.Reader) (io.Reader, error) {
	if message.CharsetReader == nil {
		return nil, fmt.Errorf("unknown charset %q", cs)
	}
	return message.CharsetReader(strings.ToLower(cs), r)
}}

// decodeHeader decodes RFC 2047 words; an undecodable value is kept as it is.
func decodeHeader(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return clean(v)
}

// clean makes a header value valid UTF-8 on one line.
func clean(s string) string {
	return headerSafe(strings.ToValidUTF8(s, "\uFFFD"))
}

var addrSpec = regexp.MustCompile(`[A-Za-z0-9._%+\-=!#$&'*/?^{|}~]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*`)

// addressesOf returns up to max addresses found in a header value. It looks for
// addr-specs instead of parsing the full grammar, so broken lists still yield addresses.
func addressesOf(v string, max int) []string {
	if max <= 0 {
		return nil
	}
	found := addrSpec.FindAllString(v, max)
	for i := range found {
		found[i] = strings.ToLower(found[i])
	}
	return found
}

// msgIDs returns the message ids of an In-Reply-To, References or Message-ID value,
// without angle brackets. Ids without brackets are accepted, as sloppy mailers write them.
func msgIDs(v string) []string {
	var ids []string
	for len(ids) < maxRefs {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(v[i+1 : i+j]); id != "" && len(id) <= maxIDLen && !strings.ContainsAny(id, " \t\r\n<") {
			ids = append(ids, id)
		}
		v = v[i+j+1:]
	}
	if len(ids) == 0 {
		for _, f := range strings.Fields(v) {
			if strings.Contains(f, "@") && len(f) <= maxIDLen && len(ids) < maxRefs {
				ids = append(ids, strings.Trim(f, "<>,;"))
			}
		}
	}
	for i, id := range ids {
		ids[i] = strings.ToValidUTF8(id, "")
	}
	return ids
}

func (p *parser) header(h mail.Header) {
	out := p.out
	if ids := msgIDs(h.Get("Message-Id")); len(ids) > 0 {
		out.MessageID = ids[0]
	}
	seen := map[string]bool{}
	refs := append(msgIDs(h.Get("References")), msgIDs(h.Get("In-Reply-To"))...)
	for _, id := range refs {
		if !seen[id] && len(out.References) < maxRefs {
			seen[id] = true
			out.References = append(out.References, id)
		}
	}
	out.Subject = decodeHeader(h.Get("Subject"))

	for _, key := range []string{"From", "Sender", "Return-Path"} {
		if list, _ := addrList(h, key, 1); len(list) > 0 {
			out.FromName, out.FromAddress = list[0].Name, list[0].Address
			break
		}
	}
	out.To, _ = addrList(h, "To", maxAddresses)
	out.CC, _ = addrList(h, "Cc", maxAddresses)
	out.ReplyTo, out.ReplyToBroken = addrList(h, "Reply-To", maxAddresses)
	if list, _ := addrList(h, "X-Original-From", 1); len(list) > 0 {
		out.OriginalFrom = list[0]
	} else if list, _ := addrList(h, "X-Original-Sender", 1); len(list) > 0 {
		out.OriginalFrom = list[0]
	}
	if v := h.Get("List-Post"); v != "" {
		if _, rest, ok := strings.Cut(strings.ToLower(v), "mailto:"); ok {
			if a := addressesOf(rest, 1); len(a) > 0 {
				out.ListPost = a[0]
			}
		}
	}
	out.ListID = crm.CutRunes(clean(h.Get("List-Id")), 300)
	for _, key := range []string{"To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"} {
		for _, f := range h.Header.Values(key) {
			out.Recipients = append(out.Recipients, addressesOf(f, maxAddresses-len(out.Recipients))...)
		}
	}
	for _, v := range h.Header.Values("Authentication-Results") {
		if len(out.AuthResults) == maxAuthResults {
			break
		}
		out.AuthResults = append(out.AuthResults, v)
	}
	if t, err := h.Date(); err == nil && t.Year() > 1970 {
		out.Date = t.UTC()
	}

	as := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted")))
	prec := strings.ToLower(strings.TrimSpace(h.Get("Precedence")))
	out.AutoSubmitted = as != "" && as != "no"
	// A list marks everything it passes on "Precedence: list", a person's mail too: it
	// says how the mail came, not that a program wrote it.
	viaList := prec == "list" && (out.ListPost != "" || out.ListID != "")
	out.AutoReply = out.AutoSubmitted || h.Has("X-Autoreply") || h.Has("X-Autorespond") ||
		h.Has("X-Auto-Response-Suppress") || prec == "bulk" || (prec == "list" && !viaList) || prec == "junk" || prec == "auto_reply"

	if t, params, err := h.ContentType(); err == nil && t == "multipart/report" &&
		strings.EqualFold(params["report-type"], "delivery-status") {
		p.report = true
		out.Bounce = &Bounce{Failed: true}
	}
}

// addrList returns up to max addresses of header key, with their display names decoded,
// and whether the header is there but yields no address. It reads the header's grammar
// and, when that fails, looks for addresses in it, so broken lists still yield them.
func addrList(h mail.Header, key string, max int) ([]Addr, bool) {
	values := h.Header.Values(key)
	v := strings.Join(values, ", ")
	if strings.TrimSpace(v) == "" {
		return nil, false
	}
	var out []Addr
	if list, err := h.AddressList(key); err == nil {
		for _, a := range list {
			if len(out) == max {
				break
			}
			if a.Address = strings.ToLower(strings.TrimSpace(a.Address)); a.Address != "" {
				out = append(out, Addr{Name: displayName(a.Name), Address: a.Address})
			}
		}
	} else {
		for _, part := range strings.Split(v, ",") {
			a := addressesOf(part, 1)
			if len(a) == 0 || len(out) == max {
				continue
			}
			name := ""
			if n, _, ok := strings.Cut(part, "<"); ok {
				name = displayName(n)
			}
			out = append(out, Addr{Name: name, Address: a[0]})
		}
	}
	return out, len(out) == 0
}

// displayName decodes a display name. RFC 2047 forbids encoded words inside quotes,
// but mailers write "=?UTF-8?B?...?=" <a@b> all the same, and the address parser leaves
// them raw: they are decoded here, wherever a name is read.
func displayName(n string) string {
	n = strings.TrimSpace(n)
	if strings.Contains(n, "=?") {
		n = decodeHeader(strings.Trim(n, `"`))
	}
	return crm.CutRunes(strings.TrimSpace(strings.Trim(clean(n), `"`)), 200)
}

// walk reads entity e at the given nesting depth into the parser's output.
func (p *parser) walk(e *message.Entity, depth int) {
	p.parts++
	if p.parts > maxParts {
		if p.parts == maxParts+1 {
			p.note("The message has more than %d parts; the rest were skipped.", maxParts)
		}
		return
	}
	mediaType, params, err := e.Header.ContentType()
	if err != nil || mediaType == "" {
		mediaType, params = "text/plain", map[string]string{}
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxDepth {
			if !p.deepNote {
				p.deepNote = true
				p.note("Parts nested deeper than %d levels were skipped.", maxDepth)
			}
			return
		}
		boundary := params["boundary"]
		if boundary == "" {
			p.body(e, "text/plain", nil)
			return
		}
		mr := textproto.NewMultipartReader(newHeaderFixer(e.Body, boundary), boundary)
		for {
			tp, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			} else if err != nil {
				// A never-closed boundary ends the mail early: what was read is kept. A
				// part header that even the fixer cannot read loses the rest.
				if !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "EOF") {
					p.out.Unreadable++
				}
				return
			}
			part, err := message.New(message.Header{Header: tp.Header}, tp)
			if part == nil {
				p.out.Unreadable++
				continue
			}
			_ = err // an unknown charset or encoding leaves the content as it is
			p.walk(part, depth+1)
			if p.parts > maxParts {
				return
			}
		}
	}
	p.body(e, mediaType, params)
}

// body reads one leaf part: text into the bodies, delivery reports into the bounce,
// anything else into the attachments.
func (p *parser) body(e *message.Entity, mediaType string, params map[string]string) {
	disp, dparams, _ := e.Header.ContentDisposition()
	filename := ""
	if dparams != nil {
		filename = dparams["filename"]
	}
	if filename == "" && params != nil {
		filename = params["name"]
	}
	filename = decodeHeader(filename)

	switch {
	case p.report && mediaType == "message/delivery-status":
		p.deliveryStatus(e.Body)
		return
	case p.report && (mediaType == "message/rfc822" || mediaType == "text/rfc822-headers" || mediaType == "message/rfc822-headers"):
		p.bouncedHeader(e.Body)
		return
	case (mediaType == "text/plain" || mediaType == "text/html") && disp != "attachment" && filename == "":
		b, err := io.ReadAll(io.LimitReader(e.Body, maxTextPart+1))
		if len(b) > maxTextPart {
			b = b[:maxTextPart]
			p.note("A text part longer than %d KiB was cut.", maxTextPart>>10)
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			// Broken base64 or quoted-printable: what decoded is kept, and the agent is
			// told that more was there.
			p.out.Unreadable++
		}
		s := strings.ToValidUTF8(string(b), "\uFFFD")
		if mediaType == "text/html" {
			p.html.WriteString(s)
		} else {
			if p.text.Len() > 0 {
				p.text.WriteString("\n")
			}
			p.text.WriteString(s)
		}
		return
	}
	p.attachment(e, mediaType, filename)
}

func (p *parser) attachment(e *message.Entity, mediaType, filename string) {
	name := safeFilename(filename)
	if name == "" {
		name = "attachment"
		if mediaType == "message/rfc822" {
			name = "forwarded-message.eml"
		}
	}
	if len(p.out.Attachments) >= maxAttachments {
		p.note("Attachment %q was dropped: a message keeps at most %d attachments.", name, maxAttachments)
		return
	}
	limit := crm.MaxAttachmentSize
	b, err := io.ReadAll(io.LimitReader(e.Body, int64(limit)+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		p.out.Unreadable++
		return
	}
	if len(b) > limit {
		p.note("Attachment %q was dropped: it is larger than %d MiB.", name, limit>>20)
		return
	}
	if p.attSum+len(b) > maxAttachmentsSum {
		p.note("Attachment %q was dropped: the attachments of a message may total %d MiB.", name, maxAttachmentsSum>>20)
		return
	}
	p.attSum += len(b)
	if len(mediaType) > 100 || !strings.Contains(mediaType, "/") {
		mediaType = "application/octet-stream"
	}
	cid := strings.Trim(strings.TrimSpace(e.Header.Get("Content-Id")), "<>")
	if len(cid) > maxIDLen {
		cid = ""
	}
	p.out.Attachments = append(p.out.Attachments, Attachment{
		NewAttachment: crm.NewAttachment{Filename: name, ContentType: mediaType, Data: b},
		ContentID:     strings.ToValidUTF8(cid, ""),
	})
}

// safeFilename keeps the base name of a file name, without control characters and
// path separators, at most 200 characters.
func safeFilename(s string) string {
	s = strings.ToValidUTF8(s, "")
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x202e || r == 0x202d {
			return -1
		}
		return r
	}, s)
	s = strings.Trim(strings.TrimSpace(s), ".")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:200])
	}
	return s
}

// deliveryStatus reads a message/delivery-status part (RFC 3464): groups of fields, the
// first for the message, one per recipient.
func (p *parser) deliveryStatus(r io.Reader) {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	var action, status, diag string
	// Fields are folded like header fields: a line that starts with white space goes on
	// the one before, so a long Diagnostic-Code is read whole.
	var lines []string
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if n := len(lines); n > 0 && line != "" && (line[0] == ' ' || line[0] == '\t') && lines[n-1] != "" {
			lines[n-1] += " " + strings.TrimSpace(line)
			continue
		}
		lines = append(lines, line)
	}
	for _, line := range lines {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = clean(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "action":
			if action == "" || strings.EqualFold(v, "failed") {
				action = strings.ToLower(v)
			}
		case "status":
			if status == "" {
				status = v
			}
		case "diagnostic-code":
			if diag == "" {
				_, d, ok := strings.Cut(v, ";")
				if !ok {
					d = v
				}
				diag = strings.TrimSpace(d)
			}
		}
	}
	p.out.Bounce.Failed = action == "" || action == "failed"
	switch {
	case diag != "":
		p.out.Bounce.Reason = diag
	case status != "":
		p.out.Bounce.Reason = "status " + status
	}
}

// bouncedHeader reads the Message-ID of the bounced message from the copy of it, or of
// its header, that a delivery report carries.
func (p *parser) bouncedHeader(r io.Reader) {
	h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(r, 256<<10)))
	if err != nil && h.Len() == 0 {
		return
	}
	if ids := msgIDs(h.Get("Message-Id")); len(ids) > 0 && p.out.Bounce.OriginalMessageID == "" {
		p.out.Bounce.OriginalMessageID = ids[0]
	}
}

// finish fills the bodies from what walk collected.
func (p *parser) finish() {
	out := p.out
	switch {
	case out.Unreadable == 1:
		p.note("1 part could not be read; the original mail is attached as message.eml.")
	case out.Unreadable > 1:
		p.note("%d parts could not be read; the original mail is attached as message.eml.", out.Unreadable)
	}
	text, html := p.text.String(), p.html.String()
	if len(html) > maxHTML {
		html = crm.CutBytes(html, maxHTML)
		p.note("The HTML of the message was cut to %d KiB.", maxHTML>>10)
	}
	out.HTML = strings.TrimSpace(sanitize(foldQuotedHTML(html)))
	if strings.TrimSpace(text) == "" && out.HTML != "" {
		text = htmlText(out.HTML)
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if len(text) > maxText {
		text = crm.CutBytes(text, maxText)
		p.note("The text of the message was cut to %d KiB.", maxText>>10)
	}
	out.Text = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, text))
}

// headerFixer passes the body of a multipart entity through, adding the blank line that
// ends a part's header where the sender left it out: a part whose text starts right
// after its header lines would otherwise fail to parse and lose its text. A line of a
// part header that is neither a header field nor the continuation of one starts the
// body.
type headerFixer struct {
	r        *bufio.Reader
	delim    []byte // "--" + boundary
	inHeader bool   // between a boundary line and the end of that part's header
	midLine  bool   // the last chunk read did not end its line
	blank    bool   // a blank line goes out before pending
	pending  []byte // the rest of the chunk last read, valid until the next read
	err      error
}

func newHeaderFixer(r io.Reader, boundary string) *headerFixer {
	return &headerFixer{r: bufio.NewReaderSize(r, 16<<10), delim: []byte("--" + boundary)}
}

var (
	headerField = regexp.MustCompile(`^[!-9;-~]+:`)
	crlf        = []byte("\r\n")
)

func (f *headerFixer) Read(b []byte) (int, error) {
	for !f.blank && len(f.pending) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		chunk, err := f.r.ReadSlice('\n')
		start := !f.midLine
		f.midLine = errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !f.midLine {
			f.err = err
		}
		if len(chunk) > 0 && start {
			f.blank = f.endsHeader(chunk)
		}
		f.pending = chunk
	}
	if f.blank {
		f.blank = false
		if len(b) < len(crlf) {
			f.pending = append(append([]byte(nil), crlf[len(b):]...), f.pending...)
			return copy(b, crlf), nil
		}
		n := copy(b, crlf)
		m := copy(b[n:], f.pending)
		f.pending = f.pending[m:]
		return n + m, nil
	}
	n := copy(b, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

// endsHeader follows the structure line by line and reports whether line, the start of
// a line, is the first line of a part's body that came without the blank line before.
func (f *headerFixer) endsHeader(chunk []byte) bool {
	line := bytes.TrimRight(chunk, "\r\n")
	switch {
	case bytes.HasPrefix(line, f.delim):
		rest := line[len(f.delim):]
		if bytes.HasPrefix(rest, []byte("--")) {
			f.inHeader = false
		} else if len(bytes.TrimSpace(rest)) == 0 {
			f.inHeader = true
		}
	case !f.inHeader:
	case len(line) == 0:
		f.inHeader = false
	case line[0] == ' ' || line[0] == '\t' || headerField.Match(line):
	default:
		f.inHeader = false
		return true
	}
	return false
}
