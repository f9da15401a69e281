package phone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"parley/crm"

	"github.com/twilio/twilio-go/twiml"
)

// Limits of what Twilio may send.
const (
	maxWebhookBody = 64 << 10 // Twilio's form posts are a few KiB
	maxMedia       = 10       // MMS and WhatsApp carry at most 10 media
	maxMediaSize   = 16 << 20 // WhatsApp allows up to 16 MB, MMS 5 MB
	maxRecording   = crm.MaxAttachmentSize
	maxTextLen     = 16 << 10
)

var sidRe = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)

// hook is one verified webhook request.
type hook struct {
	inbox *crm.Inbox
	cfg   *config
	form  url.Values
	base  string // the public URL the request was signed for, without the path
}

type hookFunc func(w http.ResponseWriter, r *http.Request, h *hook) error

// sid returns the Twilio id of the request: the first of keys the form has, checked.
// Returns invalid.
func (h *hook) sid(keys ...string) (string, error) {
	for _, k := range keys {
		if s := h.form.Get(k); s != "" {
			if sidRe.MatchString(s) {
				return s, nil
			}
			break
		}
	}
	return "", crm.Errorf(crm.EINVALID, "%s missing or malformed", keys[0])
}

// Handler returns Twilio's webhook endpoints, to mount at /webhooks/twilio/:
// POST /webhooks/twilio/{inbox}/messages, /status, /voice, /voice/status, /recording,
// /transcription and /gather. Each request must carry a valid X-Twilio-Signature for
// the public URL and its form, else it gets 403 and nothing is stored.
func (c *Channel) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/twilio/{inbox}/messages", c.webhook(c.handleMessage))
	mux.Handle("POST /webhooks/twilio/{inbox}/status", c.webhook(c.handleStatus))
	mux.Handle("POST /webhooks/twilio/{inbox}/voice", c.webhook(c.handleVoice))
	mux.Handle("POST /webhooks/twilio/{inbox}/voice/status", c.webhook(c.handleCallStatus))
	mux.Handle("POST /webhooks/twilio/{inbox}/gather", c.webhook(c.handleGather))
	mux.Handle("POST /webhooks/twilio/{inbox}/recording", c.webhook(c.handleRecording))
	mux.Handle("POST /webhooks/twilio/{inbox}/transcription", c.webhook(c.handleTranscription))
	return mux
}

// webhook reads and verifies a Twilio request before fn sees it. Errors of fn become
// plain-text answers: 400 or 413 for bad input, 500 for a store failure so that
// Twilio retries where it does.
func (c *Channel) webhook(fn hookFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("inbox"), 10, 64)
		if err != nil || id < 1 {
			http.Error(w, "unknown inbox", http.StatusNotFound)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "invalid form body", http.StatusBadRequest)
			return
		}
		// Twilio, not an agent, acts: the inbox is read to check the signature, and what the
		// handlers store is stored as the system once the signature holds.
		ctx := crm.AsSystem(r.Context())
		inbox, err := c.store.Inbox(ctx, id)
		if err != nil || inbox.Kind != crm.KindPhone {
			if err != nil && crm.ErrorCode(err) != crm.ENOTFOUND {
				c.log.Error("load inbox", "inbox", id, "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			http.Error(w, "unknown inbox", http.StatusNotFound)
			return
		}
		cfg, err := c.parseConfig(inbox)
		if err != nil {
			c.log.Error("phone inbox is misconfigured", "inbox", id, "err", err)
			http.Error(w, "inbox is not configured", http.StatusServiceUnavailable)
			return
		}
		base := c.publicBase(r)
		if !validSignature(cfg.AuthToken, base+r.URL.RequestURI(), r.PostForm, r.Header.Get("X-Twilio-Signature")) {
			c.log.Warn("bad twilio signature", "inbox", id, "path", r.URL.Path, "ip", r.RemoteAddr)
			http.Error(w, "invalid signature", http.StatusForbidden)
			return
		}
		if err := inbox.Accepts(); err != nil {
			// A disabled inbox takes nothing: Twilio shows the refusal in its console.
			http.Error(w, crm.ErrorMessage(err), http.StatusForbidden)
			return
		}
		h := &hook{inbox: inbox, cfg: cfg, form: r.PostForm, base: base}
		if err := fn(w, r.WithContext(ctx), h); err != nil {
			switch crm.ErrorCode(err) {
			case crm.EINVALID:
				http.Error(w, crm.ErrorMessage(err), http.StatusBadRequest)
			case crm.ETOOLARGE:
				http.Error(w, crm.ErrorMessage(err), http.StatusRequestEntityTooLarge)
			case crm.EUNAVAILABLE: // a full disk: Twilio retries a 503 where the URL asks it to
				http.Error(w, crm.ErrorMessage(err), http.StatusServiceUnavailable)
			default:
				c.log.Error("webhook failed", "inbox", id, "path", r.URL.Path, "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}
	})
}

// publicBase is the scheme and host Twilio was given: the configured public URL, else
// the address the request came to.
func (c *Channel) publicBase(r *http.Request) string {
	if c.public != "" {
		return c.public
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// hookURL is the public URL of one of an inbox's webhooks.
func hookURL(base string, inboxID int64, name, query string) string {
	u := fmt.Sprintf("%s/webhooks/twilio/%d/%s", base, inboxID, name)
	if query != "" {
		u += "?" + query
	}
	return u
}

// writeTwiML answers with a TwiML document of verbs; no verbs is the empty <Response/>
// that acknowledges a message or a callback.
func writeTwiML(w http.ResponseWriter, verbs ...twiml.Element) error {
	s, err := twiml.Voice(verbs)
	if err != nil {
		return fmt.Errorf("build twiml: %w", err)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, s)
	return nil
}

// Keywords that opt a number out of or back into messages, as carriers and Twilio
// define them. A message is a keyword only when it is nothing else.
var (
	optOutWords = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true,
		"END": true, "QUIT": true, "OPTOUT": true, "REVOKE": true}
	optInWords = map[string]bool{"START": true, "YES": true, "UNSTOP": true, "OPTIN": true}
)

// keyword returns "STOP", "START", "HELP" or "" for a message body. Twilio's
// OptOutType, sent when Advanced Opt-Out is on, takes precedence.
func keyword(body, optOutType string) string {
	switch t := strings.ToUpper(optOutType); t {
	case "STOP", "START", "HELP":
		return t
	}
	w := strings.ToUpper(strings.Trim(strings.TrimSpace(body), ".!?"))
	switch {
	case optOutWords[w]:
		return "STOP"
	case optInWords[w]:
		return "START"
	case w == "HELP" || w == "INFO":
		return "HELP"
	}
	return ""
}

// handleMessage files an inbound SMS, MMS or WhatsApp message and acknowledges it with
// an empty TwiML response once it is committed.
func (c *Channel) handleMessage(w http.ResponseWriter, r *http.Request, h *hook) error {
	// Twilio gives up on a webhook after 15 seconds and does not send that message again,
	// so once it has arrived it is filed even if Twilio hangs up; media that take longer
	// than the budget are skipped with a note on the message.
	ctx := context.WithoutCancel(r.Context())
	mediaCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	f := h.form
	sid, err := h.sid("MessageSid", "SmsSid")
	if err != nil {
		return err
	}
	rawFrom := f.Get("From")
	channel := crm.ChannelSMS
	if strings.HasPrefix(rawFrom, "whatsapp:") {
		channel = crm.ChannelWhatsApp
	}
	from, err := c.number(rawFrom)
	if err != nil {
		return crm.Errorf(crm.EINVALID, "From: %s", crm.ErrorMessage(err))
	}
	body := strings.ToValidUTF8(f.Get("Body"), "\uFFFD")
	if len(body) > maxTextLen {
		return crm.Errorf(crm.ETOOLARGE, "Body is longer than %d bytes", maxTextLen)
	}
	n := 0
	if s := f.Get("NumMedia"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 0 || n > maxMedia {
			return crm.Errorf(crm.EINVALID, "NumMedia must be 0 to %d", maxMedia)
		}
	}

	switch keyword(body, f.Get("OptOutType")) {
	case "STOP":
		if err := c.store.SetPhoneOptOut(ctx, h.inbox.ID, from, true); err != nil {
			return fmt.Errorf("record opt-out: %w", err)
		}
		c.log.Info("number opted out", "inbox", h.inbox.ID, "from", from)
	case "START":
		if err := c.store.SetPhoneOptOut(ctx, h.inbox.ID, from, false); err != nil {
			return fmt.Errorf("record opt-in: %w", err)
		}
		c.log.Info("number opted in", "inbox", h.inbox.ID, "from", from)
	}

	text := strings.TrimSpace(body)
	var atts []crm.NewAttachment
	var notes []string
	for i := range n {
		raw, ctype := f.Get(fmt.Sprintf("MediaUrl%d", i)), f.Get(fmt.Sprintf("MediaContentType%d", i))
		data, ct, err := c.fetch(mediaCtx, h.cfg, raw, maxMediaSize)
		switch {
		case errors.Is(err, errUntrustedHost):
			c.log.Warn("media not on the twilio host: not fetched", "inbox", h.inbox.ID, "sid", sid, "url", raw)
			notes = append(notes, fmt.Sprintf("[attachment %d was not downloaded: its address is not on the Twilio API host]", i+1))
		case errors.Is(err, errTooLarge):
			notes = append(notes, fmt.Sprintf("[attachment %d was not downloaded: it is larger than %d MiB]", i+1, maxMediaSize>>20))
		case err != nil:
			c.log.Error("fetch media", "inbox", h.inbox.ID, "sid", sid, "err", err)
			notes = append(notes, fmt.Sprintf("[attachment %d could not be downloaded from Twilio]", i+1))
		default:
			if ct == "" {
				ct = ctype
			}
			atts = append(atts, crm.NewAttachment{Filename: mediaName(sid, i, ct), ContentType: ct, Data: data})
		}
	}
	if len(notes) > 0 {
		text = strings.TrimSpace(text + "\n" + strings.Join(notes, "\n"))
	}
	subject := ""
	if strings.TrimSpace(body) == "" {
		subject = "Message from " + from
	}
	in := &crm.Inbound{
		InboxID:     h.inbox.ID,
		Channel:     channel,
		ExternalID:  sid,
		ThreadKey:   "phone:" + from,
		FromName:    f.Get("ProfileName"),
		From:        []crm.Identity{{Kind: crm.IdentityPhone, Address: from}},
		Subject:     subject,
		Text:        text,
		Attachments: atts,
		ReceivedAt:  c.opt.Now(),
	}
	res, err := c.store.Ingest(ctx, in)
	if err != nil {
		return fmt.Errorf("ingest %s: %w", sid, err)
	}
	if !res.Duplicate {
		c.log.Info("received", "inbox", h.inbox.ID, "sid", sid, "channel", channel, "ticket", res.TicketID, "media", len(atts))
	}
	return writeTwiML(w)
}

// errorTexts explain Twilio's most common delivery error codes.
var errorTexts = map[string]string{
	"21610": "the recipient replied STOP",
	"21211": "invalid phone number",
	"21614": "not a mobile number",
	"30003": "unreachable handset",
	"30004": "message blocked",
	"30005": "unknown handset",
	"30006": "landline or unreachable carrier",
	"30007": "filtered by the carrier",
	"30008": "unknown error",
	"63016": "outside WhatsApp's 24-hour window: the customer's last message is more than 24 hours old, so WhatsApp takes only an approved template",
}

var errorCodeRe = regexp.MustCompile(`^[0-9]{1,6}$`)

// handleStatus applies a delivery report of an agent's message. Reports only move a
// message forward; one for an unknown MessageSid is acknowledged and changes nothing.
func (c *Channel) handleStatus(w http.ResponseWriter, r *http.Request, h *hook) error {
	f := h.form
	sid, err := h.sid("MessageSid", "SmsSid")
	if err != nil {
		return err
	}
	st := f.Get("MessageStatus")
	if st == "" {
		st = f.Get("SmsStatus")
	}
	var status, reason string
	switch st {
	case "accepted", "scheduled", "queued", "sending":
		status = crm.MsgQueued
	case "sent":
		status = crm.MsgSent
	case "delivered", "read":
		status = crm.MsgDelivered
	case "undelivered", "failed", "canceled":
		status, reason = crm.MsgFailed, st
		if code := f.Get("ErrorCode"); errorCodeRe.MatchString(code) {
			reason = fmt.Sprintf("%s: Twilio error %s", st, code)
			if t := errorTexts[code]; t != "" {
				reason += " (" + t + ")"
			}
		}
	default:
		return writeTwiML(w) // receiving, received and future statuses say nothing about delivery
	}
	m, err := c.store.SetDeliveryStatus(r.Context(), h.inbox.ID, sid, status, reason)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		c.log.Info("status of an unknown message", "inbox", h.inbox.ID, "sid", sid, "status", st)
		return writeTwiML(w)
	} else if err != nil {
		return fmt.Errorf("delivery status of %s: %w", sid, err)
	}
	c.log.Debug("delivery status", "inbox", h.inbox.ID, "sid", sid, "twilio", st, "status", m.Status)
	return writeTwiML(w)
}

var (
	errUntrustedHost = errors.New("URL is not on the inbox's Twilio API host")
	errTooLarge      = errors.New("content is too large")
)

// fetch downloads media or a recording with the account's credentials, but only from
// the inbox's API host: a URL anywhere else is never requested, so a forged or odd
// webhook cannot make Parley send its credentials elsewhere or probe the network.
func (c *Channel) fetch(ctx context.Context, cfg *config, raw string, limit int64) ([]byte, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || !strings.EqualFold(u.Scheme, cfg.apiScheme) || !strings.EqualFold(u.Host, cfg.apiHost) {
		return nil, "", errUntrustedHost
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", errUntrustedHost
	}
	req.SetBasicAuth(cfg.AccountSID, cfg.AuthToken)
	hc := &http.Client{
		Transport: c.opt.Outbound.Transport(),
		// Twilio answers media requests with a redirect to its CDN. Go drops the
		// Authorization header when a redirect leaves the host.
		CheckRedirect: func(next *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if next.URL.Scheme != "https" && next.URL.Scheme != cfg.apiScheme {
				return errors.New("redirect to an insecure URL")
			}
			return nil
		},
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("get %s: %w", u.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("get %s: HTTP %d", u.Path, resp.StatusCode)
	}
	if resp.ContentLength > limit {
		return nil, "", errTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", u.Path, err)
	} else if int64(len(data)) > limit {
		return nil, "", errTooLarge
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return data, ct, nil
}

var extOf = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
	"image/webp": ".webp", "image/heic": ".heic", "video/mp4": ".mp4", "video/3gpp": ".3gp",
	"audio/mpeg": ".mp3", "audio/ogg": ".ogg", "audio/amr": ".amr", "audio/mp4": ".m4a",
	"application/pdf": ".pdf", "text/vcard": ".vcf", "text/x-vcard": ".vcf", "text/plain": ".txt"}

// mediaName names the i-th medium of a message after the message and its type.
func mediaName(sid string, i int, ct string) string {
	ext, ok := extOf[ct]
	if !ok {
		ext = ".bin"
	}
	return fmt.Sprintf("%s-%d%s", sid, i+1, ext)
}
