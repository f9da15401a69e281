package agentui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"parley/channels/phone/twiliotest"
	"parley/crm"
)

// TestVoicemailInTheConsole: a voicemail's recording plays in an audio player beside its
// transcript, and the reply box says the answer goes by SMS, as it does.
func TestVoicemailInTheConsole(t *testing.T) {
	f := newFixture(t)
	res := f.ingest(&crm.Inbound{Channel: crm.ChannelVoice, ExternalID: "CA-vm-1", ThreadKey: "CA-vm-1", FromName: "Vera Voice",
		From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+14155550123"}}, Subject: "Voicemail from +1 415 555 0123",
		Text:        "Hi, my parcel never came, please call me back.",
		Attachments: []crm.NewAttachment{{Filename: "voicemail-RE1.mp3", ContentType: "audio/mpeg", Data: []byte("ID3\x03\x00\x00\x00\x00\x00\x00")}},
	})
	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", res.TicketID))
	b.waitText("#thread .msg .text", "please call me back")
	b.waitJS("the recording has a player", `() => { const a = document.querySelector('#thread audio.recording');
		return !!a && a.controls && /\/api\/v1\/attachments\/\d+$/.test(a.getAttribute('src')) && a.getAttribute('aria-label') === 'Play voicemail-RE1.mp3'; }`)
	b.waitText("#reply-channel", "Reply by SMS")
	b.noScriptErrors()
}

// TestClickToCall: the agent saves their own phone on the profile, then calls the
// customer from the customer panel: Twilio is asked to ring the agent first and to put
// them through to the customer's number; an agent without a phone is told what to do.
func TestClickToCall(t *testing.T) {
	f := newChannelFixture(t)
	tw := twiliotest.New("AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef")
	defer tw.Close()
	tw.AddNumber("+14155550100")
	sys := crm.AsSystem(context.Background())
	in, err := f.db.CreateInbox(sys, &crm.Inbox{Kind: crm.KindPhone, Name: "Hotline", Config: map[string]any{"account_sid": tw.SID,
		"auth_token": tw.Token, "phone_number": "+14155550100", "api_base_url": tw.URL}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.db.Ingest(sys, &crm.Inbound{InboxID: in.ID, Channel: crm.ChannelSMS, ExternalID: "SM-call-me", FromName: "Cal Caller",
		From: []crm.Identity{{Kind: crm.IdentityPhone, Address: "+14155550123"}}, Text: "Please call me about my order."})
	if err != nil {
		t.Fatal(err)
	}

	b := f.newTab(t)
	b.login("ada@test.example", fmt.Sprintf("#/tickets/%d", res.TicketID))
	b.click(`#identities button.call[aria-label="Call +14155550123"]`)
	b.waitText("#call-status", "add your phone number to your profile first")
	if n := len(tw.Calls()); n != 0 {
		t.Fatalf("a call without the agent's phone reached Twilio: %d", n)
	}

	b.eval(`(() => { location.hash = '#/profile'; return ''; })()`)
	b.setValue("#profile-phone", "+14155550199")
	b.click("#phone-form button[type=submit]")
	b.waitText("#settings-pane", "Phone saved.")

	b.eval(fmt.Sprintf(`(() => { location.hash = '#/tickets/%d'; return ''; })()`, res.TicketID))
	b.click(`#identities button.call[aria-label="Call +14155550123"]`)
	b.waitText("#call-status", "pick up your phone to be put through to +14155550123")
	calls := tw.Calls()
	if len(calls) != 1 || calls[0].Get("To") != "+14155550199" || calls[0].Get("From") != "+14155550100" ||
		!strings.Contains(calls[0].Get("Twiml"), "+14155550123") {
		t.Fatalf("calls at Twilio: %v", calls)
	}
	// The call is logged on the customer's phone ticket, as an inbound call is.
	waitUntil(t, "the call is logged", func() bool {
		list, _, err := f.db.Tickets(sys, crm.TicketFilter{})
		if err != nil {
			return false
		}
		for _, tk := range list {
			if tk.CustomerID != f.ticket(res.TicketID).CustomerID {
				continue
			}
			msgs, _, _ := f.db.Messages(sys, tk.ID, crm.Page{Limit: 50})
			for _, m := range msgs {
				if strings.HasPrefix(m.Text, "Outgoing call to +14155550123 by Ada Admin") {
					return true
				}
			}
		}
		return false
	})
	b.noScriptErrors()
}
