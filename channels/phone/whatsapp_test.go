package phone_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/channels/phone"
	"parley/channels/phone/twiliotest"
	"parley/crm"
)

const (
	orderUpdateSID = "HX0123456789abcdef0123456789abcdef"
	pendingSID     = "HXfedcba9876543210fedcba9876543210"
	rejectedSID    = "HX00000000000000000000000000000001"
)

// waEnv is the phone channel's env with its REST and Content API calls going to
// twiliotest's fake, which holds an approved, a pending and a rejected template.
func waEnv(t *testing.T) (*env, *twiliotest.Fake) {
	t.Helper()
	tw := twiliotest.New(testSID, testToken)
	t.Cleanup(tw.Close)
	tw.AddTemplate(twiliotest.Template{SID: orderUpdateSID, Name: "order_update", Language: "en", Category: "UTILITY",
		Status: "approved", Body: "Hi {{1}}, your order {{2}} has shipped.", Samples: map[string]string{"1": "Alice", "2": "#1001"}})
	tw.AddTemplate(twiliotest.Template{SID: pendingSID, Name: "promo", Language: "en", Status: "pending", Body: "Sale!"})
	tw.AddTemplate(twiliotest.Template{SID: rejectedSID, Name: "spam", Language: "en", Status: "rejected", Body: "Buy!"})
	e := newEnv(t, phone.Options{}, map[string]any{"api_base_url": tw.URL})
	return e, tw
}

// whatsAppTicket files a customer's WhatsApp message and returns its ticket.
func (e *env) whatsAppTicket() *crm.Ticket {
	e.t.Helper()
	form := with(smsForm(randSID("SM"), "whatsapp:+447700900123", "Where is my order?"),
		"To", "whatsapp:"+waNum, "ProfileName", "Grace Hopper", "WaId", "447700900123")
	if status, body := e.post("messages", form); status != http.StatusOK {
		e.t.Fatalf("status %d: %s", status, body)
	}
	return e.onlyTicket()
}

// TestWhatsAppTemplates: the inbox's templates come from Twilio's Content API, only
// the approved ones, with their variables; the list is cached.
func TestWhatsAppTemplates(t *testing.T) {
	e, tw := waEnv(t)
	ctx := context.Background()
	list, err := e.ch.WhatsAppTemplates(ctx, e.inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("templates = %+v, want only the approved one", list)
	}
	got := list[0]
	if got.SID != orderUpdateSID || got.Name != "order_update" || got.Language != "en" || got.Category != "utility" ||
		got.Body != "Hi {{1}}, your order {{2}} has shipped." || strings.Join(got.Variables, ",") != "1,2" || got.Samples["2"] != "#1001" {
		t.Fatalf("template = %+v", got)
	}
	tw.AddTemplate(twiliotest.Template{SID: "HX11111111111111111111111111111111", Name: "new", Status: "approved", Body: "New"})
	if again, err := e.ch.WhatsAppTemplates(ctx, e.inbox); err != nil || len(again) != 1 {
		t.Fatalf("second listing = %d templates, %v; want the cached one", len(again), err)
	}

	// Wrong credentials: Twilio's refusal, said.
	bad := *e.inbox
	bad.ID = e.inbox.ID + 1000 // not cached
	bad.Secrets = map[string]string{"auth_token": "ffffffffffffffffffffffffffffffff"}
	bad.Config = map[string]any{}
	for k, v := range e.inbox.Config {
		bad.Config[k] = v
	}
	if _, err := e.ch.WhatsAppTemplates(ctx, &bad); crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(err.Error(), "20003") {
		t.Fatalf("templates with a wrong token: %v", err)
	}
}

// TestWhatsAppTemplateSend: a reply as a template goes to Twilio as ContentSid and
// ContentVariables from the WhatsApp number, with no Body.
func TestWhatsAppTemplateSend(t *testing.T) {
	e, tw := waEnv(t)
	e.dispatch()
	tk := e.whatsAppTicket()
	m, err := e.db.AddMessage(crm.WithAgent(crm.AsSystem(context.Background()), e.admin), &crm.NewMessage{TicketID: tk.ID,
		Body:     "Hi Grace, your order #1042 has shipped.",
		Template: &crm.MessageTemplate{SID: orderUpdateSID, Name: "order_update", Variables: map[string]string{"1": "Grace", "2": "#1042"}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the template at Twilio", func() bool { return len(tw.Messages()) == 1 })
	sent := tw.Messages()[0]
	var vars map[string]string
	if err := json.Unmarshal([]byte(sent.Get("ContentVariables")), &vars); err != nil {
		t.Fatalf("ContentVariables %q: %v", sent.Get("ContentVariables"), err)
	}
	if sent.Get("ContentSid") != orderUpdateSID || vars["1"] != "Grace" || vars["2"] != "#1042" || sent.Has("Body") ||
		sent.Get("From") != "whatsapp:"+waNum || sent.Get("To") != "whatsapp:+447700900123" {
		t.Fatalf("sent %v", sent)
	}
	waitFor(t, "the template reply to be sent", func() bool { return e.message(tk.ID, m.ID).Status == crm.MsgSent })
}

// TestWhatsApp63016: Twilio's error 63016 (a free-form message outside WhatsApp's
// 24-hour window), whether it answers the send or comes later in a delivery report,
// fails the message with a reason that says what to do.
func TestWhatsApp63016(t *testing.T) {
	e, tw := waEnv(t)
	e.dispatch()
	tk := e.whatsAppTicket()

	tw.FailSends(http.StatusBadRequest, 63016)
	m := e.reply(tk.ID, "Any news?")
	waitFor(t, "the refused reply to fail", func() bool { return e.message(tk.ID, m.ID).Status == crm.MsgFailed })
	if got := e.message(tk.ID, m.ID).Error; !strings.Contains(got, "63016") || !strings.Contains(got, "more than 24 hours old") ||
		!strings.Contains(got, "approved template") {
		t.Fatalf("error = %q", got)
	}

	// Twilio took the send, and its delivery report says 63016.
	tw.FailSends(0, 0)
	m2 := e.reply(tk.ID, "Hello again?")
	waitFor(t, "the reply to be sent", func() bool { return e.message(tk.ID, m2.ID).Status == crm.MsgSent })
	sid := e.message(tk.ID, m2.ID).ExternalID
	form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {testSID}, "From": {"whatsapp:" + waNum},
		"To": {"whatsapp:+447700900123"}, "ApiVersion": {"2010-04-01"}, "MessageStatus": {"failed"}, "SmsStatus": {"failed"},
		"ErrorCode": {"63016"}}
	if code, body := e.post("status", form); code != http.StatusOK {
		t.Fatalf("status callback: %d %s", code, body)
	}
	if got := e.message(tk.ID, m2.ID); got.Status != crm.MsgFailed || !strings.Contains(got.Error, "63016") ||
		!strings.Contains(got.Error, "24-hour window") || !strings.Contains(got.Error, "approved template") {
		t.Fatalf("after the report: %s %q", got.Status, got.Error)
	}
}
