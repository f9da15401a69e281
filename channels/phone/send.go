package phone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"parley/channels"
	"parley/crm"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// maxSegment is the longest body Twilio accepts in one message, in UTF-16 code units
// (an emoji counts twice); maxParts caps how many messages one reply may become.
const (
	maxSegment = 1600
	maxParts   = 4
)

// Twilio error codes: the recipient unsubscribed (replied STOP); a free-form WhatsApp
// message outside the 24-hour window.
const (
	errUnsubscribed    = 21610
	errOutsideWhatsApp = 63016
)

// Send delivers an agent's reply as an SMS, or as a WhatsApp message when the ticket's
// last inbound message came over WhatsApp, and returns the MessageSid of its first part.
// Bodies longer than Twilio's 1,600 characters go out as several messages. A reply with a
// template goes out as that approved WhatsApp template (ContentSid and ContentVariables),
// which WhatsApp delivers outside its 24-hour window too. A customer without a phone
// number, an opted-out number, a bad config and Twilio's 4xx answers (63016: a free-form
// message outside the window) are permanent failures; network errors, 429 and 5xx
// answers are retried.
func (c *Channel) Send(ctx context.Context, out *crm.Outbound) (string, error) {
	cfg, err := c.parseConfig(out.Inbox)
	if err != nil {
		return "", channels.Permanent(fmt.Errorf("phone inbox %d: %w", out.Inbox.ID, err))
	}
	to := out.ReplyAddress(crm.IdentityPhone)
	if to == "" {
		return "", channels.Permanent(crm.Errorf(crm.EINVALID, "the customer has no phone number"))
	}
	if opted, err := c.store.PhoneOptedOut(ctx, out.Inbox.ID, to); err != nil {
		return "", fmt.Errorf("check opt-out: %w", err)
	} else if opted {
		return "", channels.Permanent(crm.Errorf(crm.EFORBIDDEN, "%s opted out of messages (replied STOP); they must text START first", to))
	}
	body := strings.TrimSpace(strings.ToValidUTF8(out.Message.Text, "\uFFFD"))
	if body == "" {
		return "", channels.Permanent(crm.Errorf(crm.EINVALID, "the message is empty"))
	}
	from := cfg.PhoneNumber
	if out.Message.Channel == crm.ChannelWhatsApp {
		if cfg.WhatsAppNumber == "" {
			return "", channels.Permanent(crm.Errorf(crm.EINVALID, "the inbox has no whatsapp_number"))
		}
		from, to = "whatsapp:"+cfg.WhatsAppNumber, "whatsapp:"+to
	}

	api := c.api(ctx, cfg)
	var status string // without a public URL Twilio cannot report back
	if c.public != "" {
		status = hookURL(c.public, out.Inbox.ID, "status", "")
	}
	if t := out.Message.Template; t != nil {
		if out.Message.Channel != crm.ChannelWhatsApp {
			return "", channels.Permanent(crm.Errorf(crm.EINVALID, "templates are for WhatsApp replies"))
		}
		vars, err := json.Marshal(t.Variables)
		if err != nil {
			return "", channels.Permanent(fmt.Errorf("template variables: %w", err))
		}
		p := &openapi.CreateMessageParams{}
		p.SetTo(to).SetFrom(from).SetContentSid(t.SID)
		if len(t.Variables) > 0 {
			p.SetContentVariables(string(vars))
		}
		if status != "" {
			p.SetStatusCallback(status)
		}
		m, err := api.CreateMessage(p)
		if err != nil {
			return "", sendError(err, 0)
		}
		if m.Sid == nil || *m.Sid == "" {
			return "", errors.New("twilio accepted the template without a MessageSid")
		}
		c.log.Info("sent template", "inbox", out.Inbox.ID, "message", out.Message.ID, "sid", *m.Sid, "template", t.SID)
		return *m.Sid, nil
	}
	parts := splitBody(body, maxSegment)
	if len(parts) > maxParts {
		// A retry resends every part, so a long reply would arrive many times over.
		return "", channels.Permanent(crm.Errorf(crm.ETOOLARGE, "the reply is too long for a text message (%d parts, at most %d): shorten it", len(parts), maxParts))
	}
	var first string
	for i, part := range parts {
		p := &openapi.CreateMessageParams{}
		p.SetTo(to).SetFrom(from).SetBody(part)
		if status != "" {
			p.SetStatusCallback(status)
		}
		m, err := api.CreateMessage(p)
		if err != nil {
			if te, ok := asRestError(err); ok && te.Code == errUnsubscribed {
				// Twilio knows of an opt-out we missed: remember it so later replies fail at once.
				if err := c.store.SetPhoneOptOut(ctx, out.Inbox.ID, strings.TrimPrefix(to, "whatsapp:"), true); err != nil {
					c.log.Error("record opt-out", "inbox", out.Inbox.ID, "err", err)
				}
			}
			return "", sendError(err, i)
		}
		if m.Sid == nil || *m.Sid == "" {
			return "", fmt.Errorf("twilio accepted part %d without a MessageSid", i+1)
		}
		if i == 0 {
			first = *m.Sid
		}
	}
	c.log.Info("sent", "inbox", out.Inbox.ID, "message", out.Message.ID, "sid", first, "channel", out.Message.Channel)
	return first, nil
}

// sendError classifies an error of CreateMessage: Twilio's 4xx answers other than 429
// (an invalid or unsubscribed number, a bad sender) cannot be fixed by retrying.
func sendError(err error, part int) error {
	if te, ok := asRestError(err); ok {
		if te.Code == errOutsideWhatsApp {
			return channels.Permanent(fmt.Errorf("twilio error %d: WhatsApp refused the message because the customer's last message "+
				"is more than 24 hours old; send an approved template instead", te.Code))
		}
		err = fmt.Errorf("twilio rejected part %d (HTTP %d): error %d: %s", part+1, te.Status, te.Code, te.Message)
		if te.Status >= 400 && te.Status < 500 && te.Status != 429 {
			return channels.Permanent(err)
		}
		return err
	}
	return fmt.Errorf("send part %d to twilio: %w", part+1, err)
}

// asRestError finds Twilio's error answer in err, in either of its formats.
func asRestError(err error) (*client.TwilioRestError, bool) {
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		return te, true
	}
	var v1 *client.RestErrorV1
	if errors.As(err, &v1) {
		return &client.TwilioRestError{Code: v1.Code, Message: v1.Message, Status: v1.HttpStatusCode}, true
	}
	return nil, false
}

// splitBody cuts s into parts of at most max UTF-16 code units, at a space or line
// break in the second half of a part when there is one and never inside a character.
func splitBody(s string, max int) []string {
	var parts []string
	for s != "" {
		cut, units := 0, 0
		for cut < len(s) {
			r, size := utf8.DecodeRuneInString(s[cut:])
			w := 1
			if r >= 0x10000 {
				w = 2
			}
			if units+w > max {
				break
			}
			units += w
			cut += size
		}
		if cut == 0 { // max is below one character: send it whole rather than loop
			_, cut = utf8.DecodeRuneInString(s)
		} else if cut < len(s) {
			if i := strings.LastIndexFunc(s[:cut], unicode.IsSpace); i > cut/2 {
				cut = i
			}
		}
		if p := strings.TrimSpace(s[:cut]); p != "" {
			parts = append(parts, p)
		}
		s = strings.TrimLeftFunc(s[cut:], unicode.IsSpace)
	}
	return parts
}
