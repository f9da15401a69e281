package phone

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"parley/crm"
	"parley/i18n"
	"parley/identity"

	"github.com/twilio/twilio-go/twiml"
)

// Voice settings. Twilio transcribes recordings of up to two minutes.
const (
	menuTimeout  = "6"
	dialTimeout  = "20"
	maxVoicemail = "120"
)

var (
	digitsRe    = regexp.MustCompile(`^[0-9]{1,20}$`)
	recordingRe = regexp.MustCompile(`^RE[0-9a-fA-F]{32}$`)
)

// handleVoice answers a call: the first request of a call logs it on the caller's
// ticket and greets; ?step=menu repeats the menu. A failure to log the call is logged
// and the caller is served anyway, since Twilio does not retry voice requests.
func (c *Channel) handleVoice(w http.ResponseWriter, r *http.Request, h *hook) error {
	sid, err := h.sid("CallSid")
	if err != nil {
		return err
	}
	if r.URL.Query().Get("step") == "menu" {
		return writeTwiML(w, c.menu(h, "")...)
	}
	caller, err := c.number(h.form.Get("From"))
	if err != nil {
		caller = "" // a withheld or SIP caller: served, but there is no customer to file the call for
	}
	if caller != "" {
		call := &crm.PhoneCall{Direction: crm.DirIn, Party: caller, Outcome: crm.CallInProgress}
		c.logCall(r.Context(), h.inbox.ID, sid, call, h.form.Get("CallerName"))
	}
	// A greeting the shop typed is said as typed, in its own words.
	greeting := h.cfg.Greeting
	if greeting == "" {
		greeting = h.cfg.text("voice.greeting", "name", h.inbox.Name)
	}
	if !h.cfg.open(c.opt.Now()) {
		greeting += " " + h.cfg.text("voice.closed")
	}
	return writeTwiML(w, c.menu(h, greeting)...)
}

// logCall files a call as a voice message on the customer's phone ticket and starts
// its call record.
func (c *Channel) logCall(ctx context.Context, inboxID int64, sid string, call *crm.PhoneCall, name string) *crm.PhoneCall {
	subject := "Call from " + call.Party
	if call.Direction == crm.DirOut {
		subject = "Call to " + call.Party
	}
	in := &crm.Inbound{
		InboxID:    inboxID,
		Channel:    crm.ChannelVoice,
		ExternalID: sid,
		ThreadKey:  "phone:" + call.Party,
		FromName:   name,
		From:       []crm.Identity{{Kind: crm.IdentityPhone, Address: call.Party}},
		Subject:    subject,
		Text:       call.Text(),
		ReceivedAt: c.opt.Now(),
	}
	if _, err := c.store.Ingest(ctx, in); err != nil {
		c.log.Error("log call", "inbox", inboxID, "sid", sid, "err", err)
		return nil
	}
	return c.updateCall(ctx, inboxID, sid, crm.CallUpdate{Direction: call.Direction, Party: call.Party, Agent: call.Agent})
}

// updateCall applies u to a call, logging failures: a call that was never logged (a
// withheld number) is not an error.
func (c *Channel) updateCall(ctx context.Context, inboxID int64, sid string, u crm.CallUpdate) *crm.PhoneCall {
	call, err := c.store.UpdateCall(ctx, inboxID, sid, u)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil
	} else if err != nil {
		c.log.Error("update call", "inbox", inboxID, "sid", sid, "err", err)
		return nil
	}
	return call
}

// voiceLanguages are Twilio's <Say> languages of the catalogues' languages. Twilio speaks
// each with the default voice its console sets for that language.
var voiceLanguages = map[string]string{"en": "en-US", "de": "de-DE", "fr": "fr-FR", "es": "es-ES"}

// say speaks s, written in lang.
func say(lang, s string) twiml.Element {
	return &twiml.VoiceSay{Message: s, Language: voiceLanguages[lang]}
}

// text is the prompt of key in the inbox's language.
func (cfg *config) text(key string, vars ...string) string {
	return i18n.Text(cfg.Language, key, vars...)
}

// say speaks the prompt of key in the inbox's language.
func (cfg *config) say(key string, vars ...string) twiml.Element {
	return say(cfg.Language, cfg.text(key, vars...))
}

// menu is the phone menu, with voicemail when the caller keys nothing.
func (c *Channel) menu(h *hook, intro string) []twiml.Element {
	prompt := h.cfg.text("voice.menu")
	if intro != "" {
		prompt = intro + " " + prompt
	}
	gather := &twiml.VoiceGather{
		Input:         "dtmf",
		NumDigits:     "1",
		Timeout:       menuTimeout,
		Action:        hookURL(h.base, h.inbox.ID, "gather", "step=menu"),
		Method:        "POST",
		InnerElements: []twiml.Element{say(h.cfg.Language, prompt)},
	}
	return append([]twiml.Element{gather}, c.voicemail(h, h.cfg.text("voice.no_choice"))...)
}

// voicemail asks the caller to leave a message and records it with transcription.
func (c *Channel) voicemail(h *hook, intro string) []twiml.Element {
	return []twiml.Element{
		say(h.cfg.Language, strings.TrimSpace(intro+" "+h.cfg.text("voice.voicemail"))),
		&twiml.VoiceRecord{
			Action:                       hookURL(h.base, h.inbox.ID, "recording", "step=done"),
			Method:                       "POST",
			MaxLength:                    maxVoicemail,
			FinishOnKey:                  "#",
			PlayBeep:                     "true",
			Transcribe:                   "true",
			TranscribeCallback:           hookURL(h.base, h.inbox.ID, "transcription", ""),
			RecordingStatusCallback:      hookURL(h.base, h.inbox.ID, "recording", ""),
			RecordingStatusCallbackEvent: "completed",
		},
		h.cfg.say("voice.no_message"),
		&twiml.VoiceHangup{},
	}
}

// handleGather acts on keys the caller pressed: ?step=menu for the menu choice,
// ?step=order for an order number.
func (c *Channel) handleGather(w http.ResponseWriter, r *http.Request, h *hook) error {
	ctx := r.Context()
	sid, err := h.sid("CallSid")
	if err != nil {
		return err
	}
	digits := h.form.Get("Digits")
	switch r.URL.Query().Get("step") {
	case "menu":
		switch digits {
		case "1":
			return writeTwiML(w,
				&twiml.VoiceGather{
					Input:         "dtmf",
					FinishOnKey:   "#",
					Timeout:       "10",
					Action:        hookURL(h.base, h.inbox.ID, "gather", "step=order"),
					Method:        "POST",
					InnerElements: []twiml.Element{h.cfg.say("voice.order.prompt")},
				},
				h.cfg.say("voice.order.missing"),
				&twiml.VoiceRedirect{Url: hookURL(h.base, h.inbox.ID, "voice", "step=menu"), Method: "POST"},
			)
		case "2":
			return writeTwiML(w, c.toAgent(ctx, h, sid)...)
		case "3":
			c.updateCall(ctx, h.inbox.ID, sid, crm.CallUpdate{Outcome: crm.CallMissed})
			return writeTwiML(w, c.voicemail(h, "")...)
		}
		return writeTwiML(w, h.cfg.say("voice.invalid_choice"),
			&twiml.VoiceRedirect{Url: hookURL(h.base, h.inbox.ID, "voice", "step=menu"), Method: "POST"})
	case "order":
		caller, _ := c.number(h.form.Get("From"))
		text, note := c.orderStatus(ctx, h.cfg.Language, caller, digits)
		c.updateCall(ctx, h.inbox.ID, sid, crm.CallUpdate{Outcome: crm.CallSelfService, Note: note})
		return writeTwiML(w,
			say(h.cfg.Language, text),
			&twiml.VoiceGather{
				Input:         "dtmf",
				NumDigits:     "1",
				Timeout:       menuTimeout,
				Action:        hookURL(h.base, h.inbox.ID, "gather", "step=menu"),
				Method:        "POST",
				InnerElements: []twiml.Element{h.cfg.say("voice.order.again")},
			},
			h.cfg.say("voice.goodbye"),
			&twiml.VoiceHangup{},
		)
	}
	return crm.Errorf(crm.EINVALID, "unknown gather step")
}

// toAgent puts the caller through to the forward numbers of the agents who are
// online, or to voicemail when nobody can take the call.
func (c *Channel) toAgent(ctx context.Context, h *hook, sid string) []twiml.Element {
	if !h.cfg.open(c.opt.Now()) {
		c.updateCall(ctx, h.inbox.ID, sid, crm.CallUpdate{Outcome: crm.CallMissed, Note: "Called outside business hours."})
		return c.voicemail(h, h.cfg.text("voice.closed"))
	}
	nums := c.dialNumbers(ctx, h.inbox.ID, h.cfg)
	if len(nums) == 0 {
		c.updateCall(ctx, h.inbox.ID, sid, crm.CallUpdate{Outcome: crm.CallMissed, Note: "Nobody was online to take the call."})
		return c.voicemail(h, h.cfg.text("voice.nobody"))
	}
	dial := &twiml.VoiceDial{
		Timeout:        dialTimeout,
		Action:         hookURL(h.base, h.inbox.ID, "voice/status", "step=dial"),
		Method:         "POST",
		AnswerOnBridge: "true",
	}
	for _, n := range nums {
		dial.InnerElements = append(dial.InnerElements, &twiml.VoiceNumber{PhoneNumber: n})
	}
	return []twiml.Element{h.cfg.say("voice.hold"), dial}
}

// dialNumbers are the inbox's forward numbers, only those of online agents when the
// channel knows who is online.
func (c *Channel) dialNumbers(ctx context.Context, inboxID int64, cfg *config) []string {
	if c.opt.Online == nil {
		return cfg.ForwardNumbers
	}
	online := map[string]bool{}
	for _, id := range c.opt.Online(inboxID) {
		a, err := c.store.Agent(ctx, id)
		if err != nil || a.Disabled || a.Phone == "" {
			continue
		}
		if p, err := identity.Normalize(crm.IdentityPhone, a.Phone, c.opt.DefaultRegion); err == nil {
			online[p] = true
		}
	}
	var nums []string
	for _, n := range cfg.ForwardNumbers {
		if online[n] {
			nums = append(nums, n)
		}
	}
	return nums
}

// handleCallStatus takes two kinds of request: the result of <Dial> (?step=dial, with
// DialCallStatus), answered with what the call does next, and the call's own status
// callback when it ends, with its duration.
func (c *Channel) handleCallStatus(w http.ResponseWriter, r *http.Request, h *hook) error {
	ctx := r.Context()
	sid, err := h.sid("CallSid")
	if err != nil {
		return err
	}
	if dial := h.form.Get("DialCallStatus"); dial != "" || r.URL.Query().Get("step") == "dial" {
		if dial == "completed" || dial == "answered" {
			c.updateCall(ctx, h.inbox.ID, sid, crm.CallUpdate{Outcome: crm.CallAnswered})
			return writeTwiML(w, &twiml.VoiceHangup{})
		}
		call := c.updateCall(ctx, h.inbox.ID, sid, crm.CallUpdate{Outcome: crm.CallMissed})
		if call != nil && call.Direction == crm.DirOut {
			return writeTwiML(w, h.cfg.say("voice.customer_no_answer"), &twiml.VoiceHangup{})
		}
		return writeTwiML(w, c.voicemail(h, h.cfg.text("voice.no_answer"))...)
	}
	switch h.form.Get("CallStatus") {
	case "completed", "busy", "no-answer", "failed", "canceled":
		d, _ := strconv.Atoi(h.form.Get("CallDuration"))
		if d < 0 || d > 24*3600 {
			d = 0
		}
		c.updateCall(ctx, h.inbox.ID, sid, crm.CallUpdate{Duration: d, Ended: true})
	}
	return writeTwiML(w)
}

// handleRecording takes the end of a voicemail: ?step=done is <Record>'s action, which
// says goodbye; without a step it is the recording status callback, whose recording is
// fetched from the API host and stored on the call's message.
func (c *Channel) handleRecording(w http.ResponseWriter, r *http.Request, h *hook) error {
	ctx := r.Context()
	sid, err := h.sid("CallSid")
	if err != nil {
		return err
	}
	if r.URL.Query().Get("step") == "done" {
		if d, _ := strconv.Atoi(h.form.Get("RecordingDuration")); d > 0 {
			c.updateCall(ctx, h.inbox.ID, sid, crm.CallUpdate{Outcome: crm.CallVoicemail})
		}
		return writeTwiML(w, h.cfg.say("voice.message_thanks"), &twiml.VoiceHangup{})
	}
	if h.form.Get("RecordingStatus") != "completed" {
		return writeTwiML(w)
	}
	rsid := h.form.Get("RecordingSid")
	if !recordingRe.MatchString(rsid) {
		return crm.Errorf(crm.EINVALID, "RecordingSid missing or malformed")
	}
	u := crm.CallUpdate{Outcome: crm.CallVoicemail}
	raw := h.form.Get("RecordingUrl")
	if !strings.HasSuffix(raw, ".mp3") && !strings.HasSuffix(raw, ".wav") {
		raw += ".mp3" // smaller than the default WAV
	}
	data, ct, err := c.fetch(ctx, h.cfg, raw, maxRecording)
	if err != nil {
		c.log.Error("fetch recording", "inbox", h.inbox.ID, "call", sid, "recording", rsid, "err", err)
		u.Note = fmt.Sprintf("The voicemail recording could not be downloaded (Twilio recording %s).", rsid)
	} else {
		if ct == "" {
			ct = "audio/mpeg"
		}
		ext := extOf[ct]
		if ext == "" {
			ext = ".mp3"
		}
		u.Attachments = []crm.NewAttachment{{Filename: "voicemail-" + rsid + ext, ContentType: ct, Data: data}}
	}
	// A voicemail must not be lost: a store failure answers 500 so Twilio retries.
	if _, uerr := c.store.UpdateCall(ctx, h.inbox.ID, sid, u); crm.ErrorCode(uerr) == crm.ENOTFOUND {
		c.log.Warn("recording of an unknown call", "inbox", h.inbox.ID, "call", sid)
	} else if uerr != nil {
		return fmt.Errorf("store recording of %s: %w", sid, uerr)
	}
	return writeTwiML(w)
}

// handleTranscription adds a voicemail's transcription to the caller's ticket as a
// message of its own (external id CallSid + ":transcription"), so it is searchable and
// counts as news on the ticket.
func (c *Channel) handleTranscription(w http.ResponseWriter, r *http.Request, h *hook) error {
	ctx := r.Context()
	sid, err := h.sid("CallSid")
	if err != nil {
		return err
	}
	if h.form.Get("TranscriptionStatus") != "completed" {
		c.updateCall(ctx, h.inbox.ID, sid, crm.CallUpdate{Note: "The voicemail could not be transcribed."})
		return writeTwiML(w)
	}
	text := strings.TrimSpace(strings.ToValidUTF8(h.form.Get("TranscriptionText"), "\uFFFD"))
	if len(text) > maxTextLen {
		return crm.Errorf(crm.ETOOLARGE, "TranscriptionText is longer than %d bytes", maxTextLen)
	}
	call := c.updateCall(ctx, h.inbox.ID, sid, crm.CallUpdate{})
	if call == nil || call.Party == "" {
		c.log.Warn("transcription of an unknown call", "inbox", h.inbox.ID, "call", sid)
		return writeTwiML(w)
	}
	if text == "" {
		text = "(no words recognised)"
	}
	in := &crm.Inbound{
		InboxID:    h.inbox.ID,
		Channel:    crm.ChannelVoice,
		ExternalID: sid + ":transcription",
		ThreadKey:  "phone:" + call.Party,
		TicketID:   call.TicketID,
		From:       []crm.Identity{{Kind: crm.IdentityPhone, Address: call.Party}},
		Text:       "Voicemail transcription:\n" + text,
		ReceivedAt: c.opt.Now(),
	}
	if _, err := c.store.Ingest(ctx, in); err != nil {
		return fmt.Errorf("ingest transcription of %s: %w", sid, err)
	}
	return writeTwiML(w)
}
