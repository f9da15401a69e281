package phone_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf16"

	"parley/channels"
	"parley/channels/phone"
	"parley/crm"
)

func TestPrepareInbox(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	base := func() map[string]any {
		return map[string]any{"account_sid": testSID, "auth_token": testToken, "phone_number": "+1 415 555 0100"}
	}
	in := &crm.Inbox{Kind: crm.KindPhone, Name: "Hotline", Config: base()}
	if err := e.ch.PrepareInbox(crm.AsSystem(context.Background()), in); err != nil {
		t.Fatal(err)
	}
	if got := in.Config["phone_number"]; got != "+14155550100" {
		t.Errorf("phone_number = %v, want +14155550100", got)
	}
	if got := in.Config["api_base_url"]; got != "https://api.twilio.com" {
		t.Errorf("api_base_url = %v, want the default", got)
	}

	tests := []struct {
		name string
		key  string
		val  any
		want string
	}{
		{"bad account sid", "account_sid", "SK123", "account_sid"},
		{"no token", "auth_token", "", "auth_token is required"},
		// A token that is there but wrong is not "required": the admin is told what is wrong.
		{"token with symbols", "auth_token", "abc$%^&*()defgh", "auth_token is not a Twilio Auth Token"},
		{"token with dashes", "auth_token", "your-auth-token", "32 letters and digits"},
		{"national number", "phone_number", "4155550100", "E.164"},
		{"not a number", "phone_number", "+1 call me", "phone_number"},
		{"bad whatsapp", "whatsapp_number", "whatsapp:12", "whatsapp_number"},
		{"forward not a list", "forward_numbers", "+14155550198", "forward_numbers"},
		{"bad forward", "forward_numbers", []any{"+14155550198", "nope"}, "forward_numbers"},
		{"plain http elsewhere", "api_base_url", "http://api.example.test", "https"},
		{"base with path", "api_base_url", "https://api.twilio.com/2010-04-01", "api_base_url"},
		{"unknown key", "auth_tokn", "x", "unknown"},
		{"bad timezone", "timezone", "Mars/Olympus", "timezone"},
		{"bad hours", "open_hours", "17:00-09:00", "timezone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			cfg[tt.key] = tt.val
			err := e.ch.PrepareInbox(crm.AsSystem(context.Background()), &crm.Inbox{Kind: crm.KindPhone, Config: cfg})
			if crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(crm.ErrorMessage(err), tt.want) {
				t.Errorf("err = %v, want invalid mentioning %q", err, tt.want)
			}
		})
	}

	// On an update the stored token stands in for the one the form leaves out.
	upd := &crm.Inbox{ID: e.inbox.ID, Kind: crm.KindPhone, Config: base(), Secrets: map[string]string{"auth_token": testToken}}
	delete(upd.Config, "auth_token")
	if err := e.ch.PrepareInbox(crm.AsSystem(context.Background()), upd); err != nil {
		t.Errorf("update without a new token: %v", err)
	}
}

func TestTestInbox(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	if err := e.ch.TestInbox(crm.AsSystem(context.Background()), e.inbox); err != nil {
		t.Fatalf("TestInbox: %v", err)
	}
	wrong := *e.inbox
	wrong.Secrets = map[string]string{"auth_token": "ffffffffffffffffffffffffffffffff"}
	err := e.ch.TestInbox(crm.AsSystem(context.Background()), &wrong)
	if err == nil || !strings.Contains(err.Error(), "20003") {
		t.Fatalf("TestInbox with a wrong token = %v, want Twilio's error 20003", err)
	}
}

func TestInboundSMS(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	const from = "+14155550123"
	status, body := e.post("messages", smsForm(randSID("SM"), from, "Where is my order? 📦"))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if resp := parseTwiML(t, body); len(resp.Children) != 0 {
		t.Errorf("acknowledgement = %s, want an empty <Response/>", body)
	}
	tk := e.onlyTicket()
	if tk.Channel != crm.ChannelSMS || tk.Status != crm.StatusOpen || tk.Subject != "Where is my order? 📦" {
		t.Errorf("ticket = %+v", tk)
	}
	cu, err := e.db.Customer(crm.AsSystem(context.Background()), tk.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cu.Identities) != 1 || cu.Identities[0] != (crm.Identity{Kind: crm.IdentityPhone, Address: from}) {
		t.Errorf("identities = %+v", cu.Identities)
	}

	// A second text and a Twilio retry of it join the same ticket once.
	sid := randSID("SM")
	for range 2 {
		if status, body := e.post("messages", smsForm(sid, from, "Order 1001")); status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
	}
	msgs := e.messages(e.onlyTicket().ID)
	if len(msgs) != 2 || msgs[1].Text != "Order 1001" || msgs[1].Direction != crm.DirIn || msgs[1].Status != crm.MsgReceived {
		t.Fatalf("messages = %+v", msgs)
	}

	// A resolved ticket is reopened by the next text within the reopen window.
	resolved := crm.StatusResolved
	if _, err := e.db.UpdateTicket(crm.AsSystem(context.Background()), tk.ID, crm.TicketUpdate{Status: &resolved}); err != nil {
		t.Fatal(err)
	}
	e.post("messages", smsForm(randSID("SM"), from, "Still waiting"))
	if tk := e.onlyTicket(); tk.Status != crm.StatusOpen {
		t.Errorf("status after a new text = %s, want open", tk.Status)
	}
}

func TestInboundBadInput(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	tests := []struct {
		name string
		form url.Values
		want int
	}{
		{"no MessageSid", url.Values{"From": {"+14155550123"}, "Body": {"hi"}}, http.StatusBadRequest},
		{"national From", smsForm(randSID("SM"), "4155550123", "hi"), http.StatusBadRequest},
		{"short code From", smsForm(randSID("SM"), "TWILIO", "hi"), http.StatusBadRequest},
		{"NumMedia too big", with(smsForm(randSID("SM"), "+14155550123", "hi"), "NumMedia", "99"), http.StatusBadRequest},
		{"NumMedia not a number", with(smsForm(randSID("SM"), "+14155550123", "hi"), "NumMedia", "x"), http.StatusBadRequest},
		{"huge form", smsForm(randSID("SM"), "+14155550123", strings.Repeat("a", 70<<10)), http.StatusRequestEntityTooLarge},
		{"text over the limit", smsForm(randSID("SM"), "+14155550123", strings.Repeat("a", 20<<10)), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := e.post("messages", tt.form); status != tt.want {
				t.Errorf("status %d (%s), want %d", status, body, tt.want)
			}
		})
	}
	if n := len(e.tickets()); n != 0 {
		t.Errorf("bad input stored %d tickets", n)
	}
	// An inbox that does not exist, or is not a phone inbox, is not found.
	req, _ := http.NewRequest(http.MethodPost, e.web.URL+"/webhooks/twilio/999/messages", strings.NewReader(""))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown inbox: %v %v", resp, err)
	}
}

func TestSignatureRequired(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	form := smsForm(randSID("SM"), "+14155550123", "hello")
	path := e.hookPath("messages")
	tests := []struct {
		name string
		sig  string
	}{
		{"missing", ""},
		{"garbage", "not-a-signature"},
		{"other token", phone.Signature("ffffffffffffffffffffffffffffffff", publicURL+path, form)},
		{"internal URL instead of the public one", phone.Signature(testToken, e.web.URL+path, form)},
		{"another webhook's URL", phone.Signature(testToken, publicURL+e.hookPath("status"), form)},
		{"another inbox's URL", phone.Signature(testToken, publicURL+"/webhooks/twilio/2/messages", form)},
		{"other form", phone.Signature(testToken, publicURL+path, with(form, "Body", "hello!"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, _ := e.postSigned("messages", form, tt.sig); status != http.StatusForbidden {
				t.Errorf("status %d, want 403", status)
			}
		})
	}
	// Every webhook checks it, not just messages.
	for _, hook := range []string{"status", "voice", "voice/status", "gather?step=menu", "recording", "transcription"} {
		if status, _ := e.postSigned(hook, callForm(randSID("CA"), "+14155550123"), "bm90IGEgc2lnbmF0dXJl"); status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", hook, status)
		}
	}
	if n := len(e.tickets()); n != 0 {
		t.Errorf("forged webhooks stored %d tickets", n)
	}
	// The genuine one goes through.
	if status, body := e.post("messages", form); status != http.StatusOK {
		t.Errorf("signed: status %d: %s", status, body)
	}
}

func TestInboundMMS(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	var evilHits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		w.Write([]byte("stolen"))
	}))
	defer evil.Close()

	sid := randSID("MM")
	photo := []byte("\xff\xd8\xff\xe0 a photo of a broken mug")
	good := e.tw.addMedia(fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s/Media/%s", testSID, sid, randSID("ME")), photo)
	form := with(smsForm(sid, "+14155550123", "The mug arrived broken"),
		"NumMedia", "3",
		"MediaUrl0", good, "MediaContentType0", "image/jpeg",
		"MediaUrl1", evil.URL+"/2010-04-01/Accounts/"+testSID+"/Messages/x/Media/y", "MediaContentType1", "image/jpeg",
		"MediaUrl2", "file:///etc/passwd", "MediaContentType2", "text/plain")
	if status, body := e.post("messages", form); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	msgs := e.messages(e.onlyTicket().ID)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m := msgs[0]
	if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "image/jpeg" || m.Attachments[0].Size != int64(len(photo)) {
		t.Fatalf("attachments = %+v", m.Attachments)
	}
	if !strings.HasPrefix(m.Text, "The mug arrived broken") || strings.Count(m.Text, "not on the Twilio API host") != 2 {
		t.Errorf("text = %q, want the body and a note for each media not fetched", m.Text)
	}
	if evilHits.Load() != 0 {
		t.Errorf("a media URL on another host was requested %d times", evilHits.Load())
	}
	_, f, err := e.db.Attachment(crm.AsSystem(context.Background()), m.Attachments[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()

	// A picture without words still opens a ticket with a subject.
	sid2 := randSID("MM")
	pic := e.tw.addMedia(fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s/Media/%s", testSID, sid2, randSID("ME")), []byte("GIF89a"))
	e.post("messages", with(smsForm(sid2, "+14155550124", ""), "NumMedia", "1", "MediaUrl0", pic, "MediaContentType0", "image/gif"))
	for _, tk := range e.tickets() {
		if tk.Subject == "" || tk.Subject == "(no subject)" {
			t.Errorf("ticket %d has subject %q", tk.ID, tk.Subject)
		}
	}
}

func TestWhatsAppRoundTrip(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	e.dispatch()
	form := with(smsForm(randSID("SM"), "whatsapp:+447700900123", "Hello from WhatsApp"),
		"To", "whatsapp:"+waNum, "ProfileName", "Grace Hopper", "WaId", "447700900123")
	if status, body := e.post("messages", form); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	tk := e.onlyTicket()
	if tk.Channel != crm.ChannelWhatsApp {
		t.Errorf("channel = %s, want whatsapp", tk.Channel)
	}
	cu, _ := e.db.Customer(crm.AsSystem(context.Background()), tk.CustomerID)
	if cu.Name != "Grace Hopper" || cu.Identities[0].Address != "+447700900123" {
		t.Errorf("customer = %+v", cu)
	}
	e.reply(tk.ID, "Hi Grace, how can we help?")
	waitFor(t, "the reply at Twilio", func() bool { return len(e.tw.sentMessages()) == 1 })
	got := e.tw.sentMessages()[0]
	if got.Get("From") != "whatsapp:"+waNum || got.Get("To") != "whatsapp:+447700900123" || got.Get("Body") != "Hi Grace, how can we help?" {
		t.Errorf("sent %v", got)
	}
}

func TestReplyAndDeliveryStatus(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	e.dispatch()
	e.post("messages", smsForm(randSID("SM"), "+14155550123", "Hi"))
	tk := e.onlyTicket()

	sub := e.bus.Subscribe(256)
	defer sub.Close()
	m := e.reply(tk.ID, "Your order ships today.")
	waitFor(t, "the reply at Twilio", func() bool { return len(e.tw.sentMessages()) == 1 })
	sent := e.tw.sentMessages()[0]
	if sent.Get("To") != "+14155550123" || sent.Get("From") != inboxNum || sent.Get("Body") != "Your order ships today." {
		t.Errorf("sent %v", sent)
	}
	if want := fmt.Sprintf("%s/webhooks/twilio/%d/status", publicURL, e.inbox.ID); sent.Get("StatusCallback") != want {
		t.Errorf("StatusCallback = %q, want %q", sent.Get("StatusCallback"), want)
	}
	waitFor(t, "the reply marked sent", func() bool { return e.message(tk.ID, m.ID).Status == crm.MsgSent })

	sid := e.tw.sentSIDs()[0]

	status := func(sid, st string, kv ...string) {
		t.Helper()
		form := with(url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {testSID}, "From": {inboxNum},
			"To": {"+14155550123"}, "ApiVersion": {"2010-04-01"}}, append([]string{"MessageStatus", st, "SmsStatus", st}, kv...)...)
		if code, body := e.post("status", form); code != http.StatusOK {
			t.Fatalf("status callback %s: %d %s", st, code, body)
		}
	}
	// Out of order: delivered before sent; the late sent and queued change nothing.
	status(sid, "delivered")
	status(sid, "sent")
	status(sid, "queued")
	if got := e.message(tk.ID, m.ID); got.Status != crm.MsgDelivered || got.Error != "" {
		t.Errorf("after delivered, sent, queued: status %q error %q, want delivered", got.Status, got.Error)
	}
	// The console hears of the change live.
	waitFor(t, "a message.updated event for delivered", func() bool {
		for {
			select {
			case ev := <-sub.C:
				if ev.Type == crm.EventMessageUpdated && strings.Contains(string(ev.Data), `"status":"delivered"`) {
					return true
				}
			default:
				return false
			}
		}
	})

	// A second reply is undelivered with an error code.
	m2 := e.reply(tk.ID, "Did you get this?")
	waitFor(t, "the second reply marked sent", func() bool { return e.message(tk.ID, m2.ID).Status == crm.MsgSent })
	sid2 := e.tw.sentSIDs()[1]
	status(sid2, "sent")
	status(sid2, "undelivered", "ErrorCode", "30003")
	status(sid2, "delivered") // too late: failed is final
	got := e.message(tk.ID, m2.ID)
	if got.Status != crm.MsgFailed || !strings.Contains(got.Error, "30003") || !strings.Contains(got.Error, "unreachable") {
		t.Errorf("undelivered: status %q error %q", got.Status, got.Error)
	}

	// A report for a message Parley never sent is acknowledged and changes nothing.
	status(randSID("SM"), "delivered")
	status(sid, "receiving")
}

func TestReplyToBadNumberFailsAtOnce(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	e.dispatch()
	e.post("messages", smsForm(randSID("SM"), badNumber, "Hi"))
	tk := e.onlyTicket()
	m := e.reply(tk.ID, "Hello?")
	waitFor(t, "the reply failed", func() bool { return e.message(tk.ID, m.ID).Status == crm.MsgFailed })
	if got := e.message(tk.ID, m.ID); !strings.Contains(got.Error, "21211") {
		t.Errorf("error = %q, want Twilio's 21211", got.Error)
	}
}

func TestStopAndStart(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	e.dispatch()
	const from = "+14155550123"
	e.post("messages", smsForm(randSID("SM"), from, "Hi, question about my order"))
	e.post("messages", smsForm(randSID("SM"), from, " stop "))
	tk := e.onlyTicket()
	if msgs := e.messages(tk.ID); len(msgs) != 2 || msgs[1].Text != "stop" {
		t.Errorf("the STOP message is on the ticket: %+v", msgs)
	}
	m := e.reply(tk.ID, "Sorry to see you go")
	waitFor(t, "the reply refused", func() bool { return e.message(tk.ID, m.ID).Status == crm.MsgFailed })
	if got := e.message(tk.ID, m.ID); !strings.Contains(got.Error, "opted out") {
		t.Errorf("error = %q, want opted out", got.Error)
	}
	if n := len(e.tw.sentMessages()); n != 0 {
		t.Fatalf("%d messages went to an opted-out number", n)
	}

	for _, w := range []string{"START"} {
		e.post("messages", smsForm(randSID("SM"), from, w))
	}
	m2 := e.reply(tk.ID, "Welcome back")
	waitFor(t, "the reply after START", func() bool { return len(e.tw.sentMessages()) == 1 })
	waitFor(t, "marked sent", func() bool { return e.message(tk.ID, m2.ID).Status == crm.MsgSent })

	// Synonyms count too, and only as a whole message.
	for _, tt := range []struct {
		body string
		out  bool
	}{{"UNSUBSCRIBE", true}, {"yes", false}, {"Please stop calling me at work", false}, {"quit.", true}, {"unstop", false}} {
		e.post("messages", smsForm(randSID("SM"), from, tt.body))
		out, err := e.db.PhoneOptedOut(crm.AsSystem(context.Background()), e.inbox.ID, from)
		if err != nil || out != tt.out {
			t.Errorf("after %q: opted out = %v (%v), want %v", tt.body, out, err, tt.out)
		}
	}
}

func TestLongReplySplit(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	e.dispatch()
	e.post("messages", smsForm(randSID("SM"), "+14155550123", "Tell me everything"))
	tk := e.onlyTicket()
	var b strings.Builder
	for b.Len() < 5000 {
		b.WriteString("Thanks for waiting 🙏 your parcel is on its way. ")
	}
	body := strings.TrimSpace(b.String())
	m := e.reply(tk.ID, body)
	waitFor(t, "marked sent", func() bool { return e.message(tk.ID, m.ID).Status == crm.MsgSent })
	parts := e.tw.sentMessages()
	if len(parts) < 3 {
		t.Fatalf("sent %d parts, want at least 3", len(parts))
	}
	var joined []string
	for _, p := range parts {
		text := p.Get("Body")
		if n := len(utf16.Encode([]rune(text))); n > 1600 {
			t.Errorf("a part has %d UTF-16 units", n)
		}
		if strings.ContainsRune(text, '\uFFFD') {
			t.Errorf("a part has a broken character")
		}
		joined = append(joined, text)
	}
	if strings.Join(joined, " ") != body {
		t.Errorf("the parts do not add up to the reply")
	}
}

// TestTooLongReplyFails checks that a reply of more than four texts fails at once with a
// clear reason instead of being split into many messages and retried.
func TestTooLongReplyFails(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	e.dispatch()
	e.post("messages", smsForm(randSID("SM"), "+14155550123", "Tell me everything"))
	tk := e.onlyTicket()
	m := e.reply(tk.ID, strings.Repeat("All the details. ", 600))
	waitFor(t, "marked failed", func() bool { return e.message(tk.ID, m.ID).Status == crm.MsgFailed })
	if got := e.message(tk.ID, m.ID).Error; !strings.Contains(got, "too long for a text message") {
		t.Errorf("error = %q", got)
	}
	if n := len(e.tw.sentMessages()); n != 0 {
		t.Errorf("%d texts reached Twilio, want 0", n)
	}
}

func TestSendWithoutPhone(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	out := &crm.Outbound{Message: &crm.Message{ID: 1, Text: "hi", Channel: crm.ChannelSMS}, Inbox: e.inbox,
		Customer: &crm.Customer{ID: 1, Identities: []crm.Identity{{Kind: crm.IdentityEmail, Address: "a@example.test"}}}}
	_, err := e.ch.Send(crm.AsSystem(context.Background()), out)
	if err == nil || !channels.IsPermanent(err) {
		t.Errorf("Send to a customer without a phone = %v, want a permanent error", err)
	}
}

// BenchmarkInboundSMS measures signed SMS webhooks filed into tickets through the
// handler, each answered only after its commit, from 32 concurrent senders each new to
// the shop, as `make bench` sends them.
func BenchmarkInboundSMS(b *testing.B) {
	e := newEnv(b, phone.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	h := e.ch.Handler()
	path := e.hookPath("messages")
	forms := make([]string, b.N)
	sigs := make([]string, b.N)
	for i := range b.N {
		f := smsForm(fmt.Sprintf("SM%032x", i), fmt.Sprintf("+1415%07d", i), "Where is my order?")
		forms[i], sigs[i] = f.Encode(), phone.Signature(testToken, publicURL+path, f)
	}
	var next atomic.Int64
	b.SetParallelism((32 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(forms[i]))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", sigs[i])
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
}
