package phone

import (
	"context"
	"fmt"
	"strings"

	"parley/channels"
	"parley/crm"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

var (
	_ channels.InboxSetup      = (*Channel)(nil)
	_ channels.InboxStepTester = (*Channel)(nil)
)

// Webhook is a URL an admin pastes into a setting of the Twilio console.
type Webhook struct {
	Setting string `json:"setting"`
	URL     string `json:"url"`
}

// webhooks are the URLs of an inbox that Twilio must be given by hand, all with HTTP POST.
// The other endpoints (delivery status, gather, recording, transcription) are named by
// Parley in each request it makes.
func webhooks(base string, inboxID int64) []Webhook {
	return []Webhook{
		{"Messaging: A message comes in (and the WhatsApp sender's webhook URL)", hookURL(base, inboxID, "messages", "")},
		{"Voice: A call comes in", hookURL(base, inboxID, "voice", "")},
		{"Voice: Call status changes", hookURL(base, inboxID, "voice/status", "")},
	}
}

// base is where Twilio reaches Parley: the channel's public URL, else publicURL.
func (c *Channel) base(publicURL string) string {
	if c.public != "" {
		return c.public
	}
	return strings.TrimRight(publicURL, "/")
}

// SetupInbox answers the webhook URLs to paste into the Twilio console for the inbox:
// {"webhooks": [{"setting", "url"}]}. It makes no request to Twilio.
func (c *Channel) SetupInbox(ctx context.Context, in *crm.Inbox, publicURL string) (any, error) {
	return map[string]any{"webhooks": webhooks(c.base(publicURL), in.ID)}, nil
}

// TestInboxSteps checks a phone inbox against Twilio in steps: the credentials (the
// account is fetched and must be active), then the number (it must be one of the
// account's), then its webhooks (the number must send its messages and calls to this
// inbox; checked only when the channel knows its public URL).
func (c *Channel) TestInboxSteps(ctx context.Context, in *crm.Inbox) []channels.TestStep {
	cfg, err := c.parseConfig(in)
	if err != nil {
		return []channels.TestStep{{Step: "Settings", Detail: crm.ErrorMessage(err)}}
	}
	api := c.api(ctx, cfg)
	acct, err := api.FetchAccount(cfg.AccountSID)
	if err != nil {
		return []channels.TestStep{{Step: "Twilio account", Detail: "Twilio refused the Account SID and Auth Token: " + restMessage(err)}}
	}
	name, status := cfg.AccountSID, "unknown"
	if acct.FriendlyName != nil {
		name = fmt.Sprintf("%s (%s)", *acct.FriendlyName, cfg.AccountSID)
	}
	if acct.Status != nil {
		status = *acct.Status
	}
	if status != "active" {
		return []channels.TestStep{{Step: "Twilio account", Detail: fmt.Sprintf("account %s is %s", name, status)}}
	}
	steps := []channels.TestStep{{Step: "Twilio account", OK: true, Detail: fmt.Sprintf("account %s is active", name)}}

	params := (&openapi.ListIncomingPhoneNumberParams{}).SetPhoneNumber(cfg.PhoneNumber).SetLimit(20)
	numbers, err := api.ListIncomingPhoneNumber(params)
	if err != nil {
		return append(steps, channels.TestStep{Step: "Phone number", Detail: "the account's numbers could not be read: " + restMessage(err)})
	}
	var num *openapi.ApiV2010IncomingPhoneNumber
	for i := range numbers {
		if numbers[i].PhoneNumber != nil && *numbers[i].PhoneNumber == cfg.PhoneNumber {
			num = &numbers[i]
		}
	}
	if num == nil {
		return append(steps, channels.TestStep{Step: "Phone number",
			Detail: fmt.Sprintf("%s is not a number of this Twilio account: buy it or enter one the account has", cfg.PhoneNumber)})
	}
	steps = append(steps, channels.TestStep{Step: "Phone number", OK: true, Detail: cfg.PhoneNumber + " belongs to the account"})
	if c.public == "" {
		return steps
	}
	hooks := webhooks(c.public, in.ID)
	var wrong []string
	for _, h := range []struct {
		got  *string
		want Webhook
	}{{num.SmsUrl, hooks[0]}, {num.VoiceUrl, hooks[1]}} {
		got := ""
		if h.got != nil {
			got = *h.got
		}
		if got != h.want.URL {
			where := "nowhere"
			if got != "" {
				where = "to " + got
			}
			setting := strings.SplitN(h.want.Setting, " (", 2)[0]
			wrong = append(wrong, fmt.Sprintf("%q goes %s; paste %s there", setting, where, h.want.URL))
		}
	}
	if len(wrong) > 0 {
		return append(steps, channels.TestStep{Step: "Webhooks",
			Detail: "on the number in the Twilio console, " + strings.Join(wrong, "; ")})
	}
	return append(steps, channels.TestStep{Step: "Webhooks", OK: true, Detail: "messages and calls to " + cfg.PhoneNumber + " come to this inbox"})
}
