package phone_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"parley/channels"
	"parley/channels/phone"
	"parley/channels/phone/twiliotest"
	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/outbound"
)

// TestSetupAndTestSteps: a phone inbox's setup answer names the three URLs to paste into
// Twilio, and its connection test walks the account, the number and the number's
// webhooks, stopping at the first step that fails with what to do about it.
func TestSetupAndTestSteps(t *testing.T) {
	tw := twiliotest.New(testSID, testToken)
	defer tw.Close()
	db := teststore.Open(t, teststore.Options{}).Store
	pub, _ := url.Parse(publicURL)
	ch := phone.New(db, phone.Options{PublicURL: pub, Logger: testLogger(t),
		Outbound: outbound.New(outbound.Options{AllowPrivateNetwork: true})})
	ctx := crm.AsSystem(context.Background())
	in := &crm.Inbox{Kind: crm.KindPhone, Name: "Hotline", Config: map[string]any{"account_sid": testSID,
		"auth_token": testToken, "phone_number": inboxNum, "api_base_url": tw.URL}}
	if err := ch.PrepareInbox(ctx, in); err != nil {
		t.Fatal(err)
	}
	in, err := db.CreateInbox(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ch.SetupInbox(ctx, in, "http://ignored.example")
	if err != nil {
		t.Fatal(err)
	}
	hooks := v.(map[string]any)["webhooks"].([]phone.Webhook)
	prefix := publicURL + "/webhooks/twilio/" + strconv.FormatInt(in.ID, 10)
	if len(hooks) != 3 || hooks[0].URL != prefix+"/messages" || hooks[1].URL != prefix+"/voice" || hooks[2].URL != prefix+"/voice/status" {
		t.Fatalf("webhooks = %+v", hooks)
	}

	check := func(what string, wantOK int, wantFail string) {
		t.Helper()
		steps := ch.TestInboxSteps(ctx, in)
		ok := 0
		for _, s := range steps {
			if s.OK {
				ok++
			}
		}
		last := steps[len(steps)-1]
		if ok != wantOK || (wantFail == "" && !last.OK) || (wantFail != "" && (last.OK || !strings.Contains(last.Detail, wantFail))) {
			t.Fatalf("%s: steps = %+v; want %d ok, then a failure mentioning %q", what, steps, wantOK, wantFail)
		}
	}
	check("a number the account lacks", 1, "not a number of this Twilio account")
	tw.AddNumber(inboxNum)
	check("webhooks not pasted", 2, hooks[0].URL)
	tw.SetWebhooks(inboxNum, hooks[0].URL, hooks[1].URL)
	check("all set", 3, "")

	wrong := *in
	wrong.Secrets = map[string]string{"auth_token": strings.Repeat("f", 32)}
	steps := ch.TestInboxSteps(ctx, &wrong)
	if len(steps) != 1 || steps[0].OK || !strings.Contains(steps[0].Detail, "20003") {
		t.Fatalf("wrong token: steps = %+v, want Twilio's error 20003", steps)
	}
	var _ channels.InboxStepTester = ch
}
