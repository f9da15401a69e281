package phone_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/channels/phone"
	"parley/crm"
)

// hookURL is the public URL of a webhook of the env's inbox.
func (e *env) hookURL(hook string) string { return publicURL + e.hookPath(hook) }

// callMessage returns the voice message of a call and its ticket.
func (e *env) callMessage(t *testing.T, callSid string) (*crm.Ticket, *crm.Message) {
	t.Helper()
	m, err := e.db.MessageByExternalID(crm.AsSystem(context.Background()), e.inbox.ID, callSid)
	if err != nil {
		t.Fatalf("voice message of call %s: %v", callSid, err)
	}
	tk, err := e.db.Ticket(crm.AsSystem(context.Background()), m.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Channel != crm.ChannelVoice {
		t.Errorf("call message channel = %s, want voice", m.Channel)
	}
	return tk, m
}

func TestIncomingCallMenu(t *testing.T) {
	e := newEnv(t, phone.Options{}, map[string]any{"greeting": "Welcome to Mugs & Co."})
	sid := randSID("CA")
	status, body := e.post("voice", callForm(sid, "+14155550123"))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	resp := parseTwiML(t, body)
	if got := strings.Join(resp.verbs(), ","); got != "Gather,Say,Record,Say,Hangup" {
		t.Errorf("verbs = %s", got)
	}
	g, _ := resp.find("Gather")
	if g.attr("numDigits") != "1" || g.attr("action") != e.hookURL("gather?step=menu") || g.attr("input") != "dtmf" {
		t.Errorf("gather = %+v", g.Attrs)
	}
	if s := g.says(); !strings.Contains(s, "Welcome to Mugs & Co.") || !strings.Contains(s, "press 1") {
		t.Errorf("menu says %q", s)
	}
	rec, _ := resp.find("Record")
	if rec.attr("transcribe") != "true" || rec.attr("transcribeCallback") != e.hookURL("transcription") ||
		rec.attr("recordingStatusCallback") != e.hookURL("recording") || rec.attr("action") != e.hookURL("recording?step=done") {
		t.Errorf("record = %+v", rec.Attrs)
	}

	tk, m := e.callMessage(t, sid)
	if m.Direction != crm.DirIn || m.Text != "Incoming call from +14155550123, in progress" {
		t.Errorf("call message = %q (%s)", m.Text, m.Direction)
	}
	if tk.Subject != "Call from +14155550123" || tk.Status != crm.StatusOpen {
		t.Errorf("ticket = %+v", tk)
	}

	// A text from the same number joins the same ticket.
	e.post("messages", smsForm(randSID("SM"), "+14155550123", "I just called"))
	if n := len(e.tickets()); n != 1 {
		t.Errorf("%d tickets, want the call and the text on one", n)
	}

	// Menu choices.
	status, body = e.post("gather?step=menu", with(callForm(sid, "+14155550123"), "Digits", "1"))
	resp = parseTwiML(t, body)
	g, ok := resp.find("Gather")
	if status != http.StatusOK || !ok || g.attr("action") != e.hookURL("gather?step=order") || g.attr("finishOnKey") != "#" {
		t.Errorf("choice 1: %d %s", status, body)
	}
	_, body = e.post("gather?step=menu", with(callForm(sid, "+14155550123"), "Digits", "9"))
	resp = parseTwiML(t, body)
	if r, ok := resp.find("Redirect"); !ok || strings.TrimSpace(r.Text) != e.hookURL("voice?step=menu") {
		t.Errorf("a wrong key: %s", body)
	}
	_, body = e.post("voice?step=menu", callForm(sid, "+14155550123"))
	if resp := parseTwiML(t, body); !strings.Contains(resp.says(), "press 2") {
		t.Errorf("menu again: %s", body)
	}
	if _, m := e.callMessage(t, sid); !strings.Contains(m.Text, "in progress") {
		t.Errorf("the menu changed the call: %q", m.Text)
	}
}

func TestOrderStatusByPhone(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	ctx := crm.AsSystem(context.Background())
	const owner, stranger = "+14155550123", "+14155550999"
	sid := randSID("CA")
	e.post("voice", callForm(sid, owner)) // creates the caller as a customer
	if _, err := e.db.PutOrder(ctx, &crm.Order{Number: "1001", Phone: owner, Status: "shipped", Currency: "EUR",
		Subtotal: 3750, Shipping: 500, Total: 4250, Carrier: "DHL", TrackingNumber: "JD0123456789",
		PlacedAt: time.Now().Add(-48 * time.Hour), Source: "test"}); err != nil {
		t.Fatal(err)
	}

	_, body := e.post("gather?step=order", with(callForm(sid, owner), "Digits", "1001"))
	says := parseTwiML(t, body).says()
	for _, want := range []string{"shipped", "42.50 euros", "DHL", "6 7 8 9"} {
		if !strings.Contains(says, want) {
			t.Errorf("the owner hears %q, want it to contain %q", says, want)
		}
	}
	if _, m := e.callMessage(t, sid); !strings.Contains(m.Text, "handled by the phone menu") || !strings.Contains(m.Text, "order 1001: read out") {
		t.Errorf("call message = %q", m.Text)
	}

	// Another caller, and an order that does not exist, hear the same refusal.
	other := randSID("CA")
	e.post("voice", callForm(other, stranger))
	_, body = e.post("gather?step=order", with(callForm(other, stranger), "Digits", "1001"))
	refusal := parseTwiML(t, body).says()
	if strings.Contains(refusal, "42.50") || strings.Contains(refusal, "DHL") || !strings.Contains(refusal, "cannot share") {
		t.Errorf("a stranger hears %q", refusal)
	}
	_, body = e.post("gather?step=order", with(callForm(other, stranger), "Digits", "4242"))
	if got := parseTwiML(t, body).says(); got != refusal {
		t.Errorf("a missing order sounds different from someone else's: %q vs %q", got, refusal)
	}
	// Garbage keys.
	if status, body := e.post("gather?step=order", with(callForm(other, stranger), "Digits", "12*#")); status != http.StatusOK ||
		!strings.Contains(parseTwiML(t, body).says(), "did not get an order number") {
		t.Errorf("bad digits: %d %s", status, body)
	}
}

func TestCallToAgentMissedThenVoicemail(t *testing.T) {
	// Only Bob is online; his phone is one of the two forward numbers.
	var onlineAsked int64
	var online []int64
	e := newEnv(t, phone.Options{Online: func(inboxID int64) []int64 {
		onlineAsked = inboxID
		return online
	}}, nil)
	ctx := crm.AsSystem(context.Background())
	bob, err := e.db.CreateAgent(ctx, &crm.NewAgent{Email: "bob@example.test", Name: "Bob", Role: crm.RoleAgent,
		Password: "correct horse battery", Phone: "+14155550198", InboxIDs: []int64{e.inbox.ID}})
	if err != nil {
		t.Fatal(err)
	}
	online = []int64{bob.ID}

	const caller = "+14155550123"
	sid := randSID("CA")
	e.post("voice", callForm(sid, caller))
	_, body := e.post("gather?step=menu", with(callForm(sid, caller), "Digits", "2"))
	resp := parseTwiML(t, body)
	dial, ok := resp.find("Dial")
	if !ok || dial.attr("timeout") != "20" || dial.attr("action") != e.hookURL("voice/status?step=dial") {
		t.Fatalf("choice 2: %s", body)
	}
	if len(dial.Children) != 1 || strings.TrimSpace(dial.Children[0].Text) != "+14155550198" {
		t.Errorf("dials %+v, want only the online agent's number", dial.Children)
	}
	if onlineAsked != e.inbox.ID {
		t.Errorf("Online asked for inbox %d", onlineAsked)
	}

	// Nobody answers: voicemail.
	_, body = e.post("voice/status?step=dial", with(callForm(sid, caller), "DialCallStatus", "no-answer", "DialCallSid", randSID("CA")))
	resp = parseTwiML(t, body)
	if _, ok := resp.find("Record"); !ok || !strings.Contains(resp.says(), "nobody could take your call") {
		t.Fatalf("after no answer: %s", body)
	}
	if _, m := e.callMessage(t, sid); !strings.HasPrefix(m.Text, "Missed call from "+caller) {
		t.Errorf("call message = %q", m.Text)
	}

	// The voicemail: Record's action, the recording, then its transcription.
	rsid := randSID("RE")
	recPath := fmt.Sprintf("/2010-04-01/Accounts/%s/Recordings/%s", testSID, rsid)
	audio := []byte("ID3 fake mp3 voicemail")
	e.tw.addMedia(recPath+".mp3", audio)
	_, body = e.post("recording?step=done", with(callForm(sid, caller), "RecordingUrl", e.tw.srv.URL+recPath,
		"RecordingDuration", "14", "Digits", "#"))
	if resp := parseTwiML(t, body); !strings.Contains(resp.says(), "Thank you for your message") {
		t.Errorf("record action: %s", body)
	}
	form := url.Values{"AccountSid": {testSID}, "CallSid": {sid}, "RecordingSid": {rsid},
		"RecordingUrl": {e.tw.srv.URL + recPath}, "RecordingStatus": {"completed"}, "RecordingDuration": {"14"},
		"RecordingChannels": {"1"}, "RecordingSource": {"RecordVerb"}}
	for range 2 { // a repeated callback adds nothing
		if status, body := e.post("recording", form); status != http.StatusOK {
			t.Fatalf("recording: %d %s", status, body)
		}
	}
	transcription := url.Values{"AccountSid": {testSID}, "CallSid": {sid}, "RecordingSid": {rsid},
		"From": {caller}, "To": {inboxNum}, "TranscriptionSid": {randSID("TR")}, "TranscriptionStatus": {"completed"},
		"TranscriptionText": {"Hi, my mug arrived broken, please call me back."}, "CallStatus": {"completed"}}
	for range 2 {
		if status, body := e.post("transcription", transcription); status != http.StatusOK {
			t.Fatalf("transcription: %d %s", status, body)
		}
	}
	e.post("voice/status", with(callForm(sid, caller), "CallStatus", "completed", "CallDuration", "95"))

	tk, m := e.callMessage(t, sid)
	if !strings.HasPrefix(m.Text, "Voicemail from "+caller+" (1m 35s)") {
		t.Errorf("call message = %q", m.Text)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "audio/mpeg" || m.Attachments[0].Size != int64(len(audio)) ||
		!strings.HasSuffix(m.Attachments[0].Filename, ".mp3") {
		t.Errorf("attachments = %+v", m.Attachments)
	}
	msgs := e.messages(tk.ID)
	if len(msgs) != 2 || msgs[1].Text != "Voicemail transcription:\nHi, my mug arrived broken, please call me back." {
		t.Errorf("messages = %+v", msgs)
	}
	if tk.Status != crm.StatusOpen || tk.AssigneeID != nil {
		t.Errorf("after a voicemail the ticket is %s, assignee %v; want open and unassigned", tk.Status, tk.AssigneeID)
	}
}

func TestCallAnswered(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	const caller = "+14155550123"
	sid := randSID("CA")
	e.post("voice", callForm(sid, caller))
	_, body := e.post("gather?step=menu", with(callForm(sid, caller), "Digits", "2"))
	if dial, ok := parseTwiML(t, body).find("Dial"); !ok || len(dial.Children) != 2 {
		t.Fatalf("without Online every forward number rings: %s", body)
	}
	_, body = e.post("voice/status?step=dial", with(callForm(sid, caller), "DialCallStatus", "completed", "DialCallDuration", "61"))
	if got := parseTwiML(t, body).verbs(); len(got) != 1 || got[0] != "Hangup" {
		t.Errorf("after an answered call: %s", body)
	}
	// The final status arrives twice, and a stray late no-answer cannot undo the answer.
	for range 2 {
		e.post("voice/status", with(callForm(sid, caller), "CallStatus", "completed", "CallDuration", "75"))
	}
	e.post("voice/status?step=dial", with(callForm(sid, caller), "DialCallStatus", "no-answer"))
	if _, m := e.callMessage(t, sid); m.Text != "Answered call from "+caller+" (1m 15s)" {
		t.Errorf("call message = %q", m.Text)
	}
}

func TestCallOutOfHours(t *testing.T) {
	sunday := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) // a Sunday
	e := newEnv(t, phone.Options{Now: func() time.Time { return sunday }},
		map[string]any{"timezone": "Europe/Berlin", "open_days": []any{"mon", "tue", "wed", "thu", "fri"}, "open_hours": "09:00-17:00"})
	const caller = "+14155550123"
	sid := randSID("CA")
	_, body := e.post("voice", callForm(sid, caller))
	if !strings.Contains(parseTwiML(t, body).says(), "not available right now") {
		t.Errorf("greeting out of hours: %s", body)
	}
	_, body = e.post("gather?step=menu", with(callForm(sid, caller), "Digits", "2"))
	resp := parseTwiML(t, body)
	if _, ok := resp.find("Dial"); ok {
		t.Errorf("dialled agents out of hours: %s", body)
	}
	if _, ok := resp.find("Record"); !ok {
		t.Errorf("no voicemail out of hours: %s", body)
	}
	// The caller hangs up without a message: a missed call, open for a call back.
	e.post("voice/status", with(callForm(sid, caller), "CallStatus", "completed", "CallDuration", "20"))
	tk, m := e.callMessage(t, sid)
	if !strings.HasPrefix(m.Text, "Missed call from "+caller) || !strings.Contains(m.Text, "outside business hours") {
		t.Errorf("call message = %q", m.Text)
	}
	if tk.Status != crm.StatusOpen || tk.AssigneeID != nil {
		t.Errorf("ticket %s assignee %v", tk.Status, tk.AssigneeID)
	}
}

func TestRecordingFromAnotherHostIsNotFetched(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	hits := 0
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer evil.Close()
	sid := randSID("CA")
	e.post("voice", callForm(sid, "+14155550123"))
	rsid := randSID("RE")
	status, _ := e.post("recording", url.Values{"AccountSid": {testSID}, "CallSid": {sid}, "RecordingSid": {rsid},
		"RecordingUrl": {evil.URL + "/2010-04-01/Accounts/" + testSID + "/Recordings/" + rsid}, "RecordingStatus": {"completed"}})
	if status != http.StatusOK {
		t.Errorf("status %d", status)
	}
	if hits != 0 {
		t.Errorf("the recording URL on another host was requested")
	}
	if _, m := e.callMessage(t, sid); len(m.Attachments) != 0 || !strings.Contains(m.Text, "could not be downloaded") {
		t.Errorf("call message = %q, %d attachments", m.Text, len(m.Attachments))
	}
}

func TestWithheldNumberIsServed(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	sid := randSID("CA")
	status, body := e.post("voice", callForm(sid, "+266696687"))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if _, ok := parseTwiML(t, body).find("Gather"); !ok {
		t.Errorf("no menu for a withheld caller: %s", body)
	}
	status, _ = e.post("voice", callForm(randSID("CA"), "anonymous"))
	if status != http.StatusOK {
		t.Errorf("anonymous caller: status %d", status)
	}
	e.post("voice/status", with(callForm(sid, "anonymous"), "CallStatus", "completed", "CallDuration", "3"))
}

func TestClickToCall(t *testing.T) {
	e := newEnv(t, phone.Options{}, nil)
	ctx := crm.AsSystem(context.Background())
	const customer = "+14155550123"
	e.post("messages", smsForm(randSID("SM"), customer, "Please call me"))
	tk := e.onlyTicket()

	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server authenticates; here the agent of the X-Agent header stands in for it.
		var a *crm.Agent
		switch r.Header.Get("X-Agent") {
		case "admin":
			a = e.admin
		case "nophone":
			a = &crm.Agent{ID: 99, Name: "No Phone", Role: crm.RoleAdmin}
		case "agent":
			a = &crm.Agent{ID: e.admin.ID, Name: "Ada as an agent", Role: crm.RoleAgent, Phone: e.admin.Phone, InboxIDs: []int64{e.inbox.ID}}
		}
		if a != nil {
			r = r.WithContext(crm.WithAgent(r.Context(), a))
		}
		mux := http.NewServeMux()
		mux.Handle("POST /api/v1/customers/{id}/call", e.ch.CallHandler())
		mux.ServeHTTP(w, r)
	}))
	defer api.Close()
	call := func(agent string, customerID int64, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/customers/%d/call", api.URL, customerID), bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Agent", agent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	status, out := call("admin", tk.CustomerID, fmt.Sprintf(`{"inbox_id": %d}`, e.inbox.ID))
	if status != http.StatusAccepted {
		t.Fatalf("status %d: %v", status, out)
	}
	calls := e.tw.placedCalls()
	if len(calls) != 1 {
		t.Fatalf("%d calls at Twilio", len(calls))
	}
	c := calls[0]
	if c.Get("To") != "+14155550199" || c.Get("From") != inboxNum || c.Get("StatusCallback") != e.hookURL("voice/status") {
		t.Errorf("call = %v", c)
	}
	bridge := parseTwiML(t, c.Get("Twiml"))
	dial, ok := bridge.find("Dial")
	if !ok || dial.attr("callerId") != inboxNum || len(dial.Children) != 1 || dial.Children[0].Text != customer ||
		dial.attr("action") != e.hookURL("voice/status?step=dial") {
		t.Errorf("bridge TwiML = %s", c.Get("Twiml"))
	}
	sid, _ := out["call_sid"].(string)
	if out["ticket_id"] != float64(tk.ID) || sid == "" {
		t.Errorf("answer = %v, want the customer's ticket %d", out, tk.ID)
	}
	if _, m := e.callMessage(t, sid); m.Text != "Outgoing call to "+customer+" by Ada Admin, in progress" {
		t.Errorf("call message = %q", m.Text)
	}
	// The customer picks up.
	e.post("voice/status?step=dial", url.Values{"CallSid": {sid}, "AccountSid": {testSID}, "From": {inboxNum},
		"To": {"+14155550199"}, "Direction": {"outbound-api"}, "DialCallStatus": {"completed"}, "DialCallDuration": {"42"}})
	e.post("voice/status", url.Values{"CallSid": {sid}, "AccountSid": {testSID}, "CallStatus": {"completed"}, "CallDuration": {"50"}})
	if _, m := e.callMessage(t, sid); m.Text != "Outgoing call to "+customer+" by Ada Admin, answered (0m 50s)" {
		t.Errorf("call message = %q", m.Text)
	}

	// Refusals.
	other, err := e.db.Ingest(ctx, &crm.Inbound{InboxID: e.inbox.ID, ExternalID: "api-1",
		From: []crm.Identity{{Kind: crm.IdentityEmail, Address: "nophone@example.test"}}, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, agent string
		customer    int64
		body        string
		want        int
	}{
		{"not logged in", "", tk.CustomerID, `{}`, http.StatusUnauthorized},
		{"agent without a phone", "nophone", tk.CustomerID, `{}`, http.StatusBadRequest},
		{"an agent calling a number not the customer's", "agent", tk.CustomerID, `{"phone": "+14155550177"}`, http.StatusForbidden},
		{"a premium-rate number, even for an admin", "admin", tk.CustomerID, `{"phone": "+19005550100"}`, http.StatusForbidden},
		{"customer without a phone", "admin", other.CustomerID, `{}`, http.StatusBadRequest},
		{"unknown customer", "admin", 9999, `{}`, http.StatusNotFound},
		{"bad JSON", "admin", tk.CustomerID, `{"inbox_id": "x"}`, http.StatusBadRequest},
		{"unknown field", "admin", tk.CustomerID, `{"to": "+19005550100"}`, http.StatusBadRequest},
	} {
		if status, out := call(tt.agent, tt.customer, tt.body); status != tt.want {
			t.Errorf("%s: status %d (%v), want %d", tt.name, status, out, tt.want)
		}
	}
	if n := len(e.tw.placedCalls()); n != 1 {
		t.Errorf("refused calls reached Twilio: %d calls", n)
	}
	// An admin may call another number for the customer (a new mobile given on the phone).
	if status, out := call("admin", tk.CustomerID, `{"phone": "+14155550177"}`); status != http.StatusAccepted {
		t.Fatalf("an admin calling another number: %d %v", status, out)
	}
	calls = e.tw.placedCalls()
	if len(calls) != 2 {
		t.Fatalf("%d calls at Twilio, want 2", len(calls))
	}
	if dial, ok := parseTwiML(t, calls[1].Get("Twiml")).find("Dial"); !ok || len(dial.Children) != 1 || dial.Children[0].Text != "+14155550177" {
		t.Errorf("the admin's call dials %s", calls[1].Get("Twiml"))
	}
}
