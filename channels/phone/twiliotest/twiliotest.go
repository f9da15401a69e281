// Package twiliotest is a fake of the parts of Twilio's REST API that Parley uses, for
// the tests of other packages (the console's setup forms) and their examples: the
// account, its incoming phone numbers with their webhook URLs, message sends, calls, and the
// Content API's WhatsApp templates (GET /v1/Content and /v1/ContentAndApprovals). It
// speaks Twilio's wire format (basic auth with the Account SID and Auth Token, JSON
// answers, Twilio's error bodies) on a loopback httptest server.
package twiliotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Number is one of the account's incoming phone numbers, with the webhooks set on it in
// the Twilio console.
type Number struct {
	PhoneNumber string
	SMSURL      string
	VoiceURL    string
}

// Fake is a running fake Twilio with one account.
type Fake struct {
	*httptest.Server
	SID, Token string

	mu        sync.Mutex
	numbers   []*Number
	messages  []url.Values
	calls     []url.Values
	templates []Template
	sendError *sendError // the answer to the next message sends, when set
}

// Template is a content template of the account, as Twilio's Content API lists it.
type Template struct {
	SID      string // HX and 32 hexadecimal digits
	Name     string
	Language string
	Body     string            // the twilio/text body, with {{1}} variables
	Samples  map[string]string // the variables' sample values
	Category string            // WhatsApp's category, e.g. UTILITY
	Status   string            // WhatsApp's approval: approved, pending, rejected, unsubmitted
}

type sendError struct{ status, code int }

// AddTemplate gives the account a content template.
func (f *Fake) AddTemplate(t Template) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.templates = append(f.templates, t)
}

// FailSends makes every message send from now on fail with Twilio's error code (63016:
// a free-form WhatsApp message outside the 24-hour window) and HTTP status; code 0 ends it.
func (f *Fake) FailSends(status, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code == 0 {
		f.sendError = nil
		return
	}
	f.sendError = &sendError{status, code}
}

// errorMessages are Twilio's texts of the error codes FailSends may give.
var errorMessages = map[int]string{
	63016: "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.",
	21610: "Attempt to send to unsubscribed recipient",
}

// New starts a fake Twilio whose account sid takes token. Close stops it.
func New(sid, token string) *Fake {
	f := &Fake{SID: sid, Token: token}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// AddNumber gives the account a phone number (E.164) with no webhooks set.
func (f *Fake) AddNumber(e164 string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.numbers = append(f.numbers, &Number{PhoneNumber: e164})
}

// SetWebhooks sets a number's messaging and voice URLs, as an admin does in the Twilio
// console. It reports whether the account has the number.
func (f *Fake) SetWebhooks(e164, smsURL, voiceURL string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.numbers {
		if n.PhoneNumber == e164 {
			n.SMSURL, n.VoiceURL = smsURL, voiceURL
			return true
		}
	}
	return false
}

// Messages returns the form of every message sent so far.
func (f *Fake) Messages() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.messages...)
}

// Calls returns the form of every call placed so far (click-to-call).
func (f *Fake) Calls() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.calls...)
}

func sid(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.SID || pass != f.Token {
		twilioError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	prefix := "/2010-04-01/Accounts/" + f.SID
	now := time.Now().UTC().Format(time.RFC1123Z)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix+".json":
		json.NewEncoder(w).Encode(map[string]any{"sid": f.SID, "friendly_name": "Test shop", "status": "active",
			"type": "Full", "date_created": now, "uri": prefix + ".json"})
	case r.Method == http.MethodGet && r.URL.Path == prefix+"/IncomingPhoneNumbers.json":
		want := r.URL.Query().Get("PhoneNumber")
		list := []any{}
		f.mu.Lock()
		for _, n := range f.numbers {
			if want == "" || n.PhoneNumber == want {
				list = append(list, map[string]any{"sid": "PN" + strings.Repeat("0", 32), "account_sid": f.SID,
					"phone_number": n.PhoneNumber, "friendly_name": n.PhoneNumber, "sms_url": n.SMSURL, "sms_method": "POST",
					"voice_url": n.VoiceURL, "voice_method": "POST", "status": "in-use"})
			}
		}
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"incoming_phone_numbers": list, "next_page_uri": nil,
			"page": 0, "page_size": 50, "start": 0, "end": len(list) - 1, "uri": r.URL.RequestURI()})
	case r.Method == http.MethodGet && (r.URL.Path == "/v1/Content" || r.URL.Path == "/v1/ContentAndApprovals"):
		f.serveContent(w, r)
	case r.Method == http.MethodPost && r.URL.Path == prefix+"/Messages.json":
		r.ParseForm()
		f.mu.Lock()
		se := f.sendError
		f.mu.Unlock()
		if se != nil {
			twilioError(w, se.status, se.code, errorMessages[se.code])
			return
		}
		id := sid("SM")
		f.mu.Lock()
		f.messages = append(f.messages, r.PostForm)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": id, "account_sid": f.SID, "status": "queued",
			"to": r.PostForm.Get("To"), "from": r.PostForm.Get("From"), "body": r.PostForm.Get("Body"),
			"num_segments": "1", "num_media": "0", "direction": "outbound-api", "api_version": "2010-04-01",
			"date_created": now, "date_updated": now, "uri": prefix + "/Messages/" + id + ".json"})
	case r.Method == http.MethodPost && r.URL.Path == prefix+"/Calls.json":
		r.ParseForm()
		id := sid("CA")
		f.mu.Lock()
		f.calls = append(f.calls, r.PostForm)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": id, "account_sid": f.SID, "status": "queued",
			"to": r.PostForm.Get("To"), "from": r.PostForm.Get("From"), "direction": "outbound-api",
			"api_version": "2010-04-01", "date_created": now, "date_updated": now, "uri": prefix + "/Calls/" + id + ".json"})
	default:
		twilioError(w, http.StatusNotFound, 20404, "The requested resource was not found")
	}
}

// serveContent lists the account's content templates in the Content API's format: with
// their WhatsApp approvals on /v1/ContentAndApprovals, without on /v1/Content, a page of
// PageSize (default 50) at a time with meta.next_page_url.
func (f *Fake) serveContent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size := 50
	if n, err := strconv.Atoi(q.Get("PageSize")); err == nil && n > 0 && n <= 1000 {
		size = n
	}
	page, _ := strconv.Atoi(q.Get("Page"))
	f.mu.Lock()
	all := append([]Template(nil), f.templates...)
	f.mu.Unlock()
	approvals := r.URL.Path == "/v1/ContentAndApprovals"
	list := []any{}
	start := min(page*size, len(all))
	end := min(start+size, len(all))
	for _, t := range all[start:end] {
		c := map[string]any{"sid": t.SID, "account_sid": f.SID, "friendly_name": t.Name, "language": t.Language,
			"variables": t.Samples, "types": map[string]any{"twilio/text": map[string]any{"body": t.Body}},
			"date_created": "2025-01-01T00:00:00Z", "date_updated": "2025-01-01T00:00:00Z",
			"url": f.URL + "/v1/Content/" + t.SID}
		if approvals {
			c["approval_requests"] = map[string]any{"name": t.Name, "category": t.Category, "content_type": "twilio/text",
				"status": t.Status, "rejection_reason": "", "allow_category_change": true}
		}
		list = append(list, c)
	}
	pageURL := func(p int) string {
		return fmt.Sprintf("%s%s?PageSize=%d&Page=%d", f.URL, r.URL.Path, size, p)
	}
	var next any
	if end < len(all) {
		next = pageURL(page + 1)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"contents": list, "meta": map[string]any{"page": page, "page_size": size,
		"first_page_url": pageURL(0), "previous_page_url": nil, "url": pageURL(page), "next_page_url": next, "key": "contents"}})
}
