package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"parley/channels"
	"parley/crm"

	"github.com/bwmarrin/discordgo"
)

// How long Send waits out 429 responses itself before it leaves the retry to the outbox.
const (
	maxRateLimitRetries = 3
	maxRateLimitWait    = 30 * time.Second
)

// Send delivers an agent's reply to the Discord thread of the ticket, or to the
// customer's DM. A reply longer than 2,000 characters goes out as several messages split
// at line or word boundaries; each forbids every mention, so nobody is pinged. It returns
// the id of the first message. Errors Discord will repeat (a missing permission, an
// unknown channel, a user who does not accept DMs) are permanent; others are retried.
func (c *Channel) Send(ctx context.Context, out *crm.Outbound) (string, error) {
	if out == nil || out.Message == nil || out.Inbox == nil {
		return "", channels.Permanent(errors.New("discord: incomplete outbound message"))
	}
	cfg, err := parseConfig(out.Inbox)
	if err != nil {
		return "", channels.Permanent(fmt.Errorf("discord inbox %d: %w", out.Inbox.ID, err))
	}
	text := strings.TrimSpace(out.Message.Text)
	if text == "" {
		return "", channels.Permanent(errors.New("discord: empty reply"))
	}
	var s *discordgo.Session
	b := c.runningBot(out.Inbox.ID, cfg)
	if b != nil {
		s = b.s // share its rate-limit buckets
	} else {
		s = c.newSession(cfg)
	}
	target, err := c.target(ctx, s, b, out)
	if err != nil {
		return "", err
	}
	parts := splitMessage(text, maxMessageLen)
	var first string
	for i, part := range parts {
		// The nonce makes Discord return the earlier message instead of posting it twice
		// when a retry repeats parts that went out before a failure.
		id, err := c.post(ctx, s, target, part, fmt.Sprintf("p%d-%d", out.Message.ID, i))
		if err != nil {
			return "", fmt.Errorf("send part %d of %d to discord channel %s: %w", i+1, len(parts), target, err)
		}
		if i == 0 {
			first = id
		}
	}
	return first, nil
}

// target returns the channel a reply goes to: the ticket's Discord thread, else a DM
// channel with the customer.
func (c *Channel) target(ctx context.Context, s *discordgo.Session, b *bot, out *crm.Outbound) (string, error) {
	var key string
	if out.Ticket != nil {
		k, err := c.store.TicketThreadKey(ctx, out.Ticket.ID)
		if err != nil {
			return "", fmt.Errorf("find thread of ticket %d: %w", out.Ticket.ID, err)
		}
		key = k
	}
	if id, ok := strings.CutPrefix(key, threadKeyPrefix); ok && crm.IsSnowflake(id) {
		return id, nil
	}
	user, _ := strings.CutPrefix(key, dmKeyPrefix)
	if !crm.IsSnowflake(user) {
		user = ""
		if out.Customer != nil {
			for _, id := range out.Customer.Identities {
				if id.Kind == crm.IdentityDiscord && crm.IsSnowflake(id.Address) {
					user = id.Address
					break
				}
			}
		}
	}
	if user == "" {
		return "", channels.Permanent(errors.New("discord: the customer has no Discord identity to reply to"))
	}
	if b != nil {
		b.mu.Lock()
		id := b.dms[user]
		b.mu.Unlock()
		if id != "" {
			return id, nil
		}
	}
	ch, err := s.UserChannelCreate(user, discordgo.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("open DM with discord user %s: %w", user, classify(err))
	}
	if b != nil {
		b.mu.Lock()
		b.dms[user] = ch.ID
		b.mu.Unlock()
	}
	return ch.ID, nil
}

// createMessage is the body of POST /channels/{id}/messages. discordgo's MessageSend
// has no nonce, so the channel sends its own.
type createMessage struct {
	Content         string          `json:"content"`
	AllowedMentions allowedMentions `json:"allowed_mentions"`
	Nonce           string          `json:"nonce,omitempty"`
	EnforceNonce    bool            `json:"enforce_nonce,omitempty"`
}

// allowedMentions with an empty, non-nil Parse turns off @everyone, @here, role and user
// pings, whatever the text says.
type allowedMentions struct {
	Parse []string `json:"parse"`
}

// post creates one message and returns its id. A 429 is waited out (at most 30 seconds,
// three times) before the error goes back to the outbox to retry later.
func (c *Channel) post(ctx context.Context, s *discordgo.Session, channelID, content, nonce string) (string, error) {
	body := createMessage{Content: content, AllowedMentions: allowedMentions{Parse: []string{}},
		Nonce: nonce, EnforceNonce: true}
	endpoint := discordgo.EndpointChannelMessages(channelID)
	for attempt := 0; ; attempt++ {
		resp, err := s.RequestWithBucketID(http.MethodPost, endpoint, body, endpoint,
			discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false))
		if err == nil {
			var m discordgo.Message
			if err := json.Unmarshal(resp, &m); err != nil || m.ID == "" {
				return "", fmt.Errorf("discord returned an unreadable message (%v)", err)
			}
			return m.ID, nil
		}
		var rl *discordgo.RateLimitError
		if !errors.As(err, &rl) || rl.TooManyRequests == nil {
			return "", classify(err)
		}
		wait := max(rl.RetryAfter, 50*time.Millisecond)
		if attempt >= maxRateLimitRetries || wait > maxRateLimitWait {
			return "", fmt.Errorf("discord rate limit, retry after %s: %w", wait, err)
		}
		c.log.Info("discord rate limit, waiting", "channel_id", channelID, "retry_after", wait)
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(wait):
		}
	}
}

// apiError is a failed Discord REST call.
type apiError struct {
	status int
	code   int
	msg    string
	err    error
}

func (e *apiError) Error() string {
	if e.code != 0 {
		return fmt.Sprintf("discord: HTTP %d: %s (code %d)", e.status, e.msg, e.code)
	}
	return fmt.Sprintf("discord: HTTP %d: %s", e.status, e.msg)
}

func (e *apiError) Unwrap() error { return e.err }

// classify turns a discordgo error into an *apiError, marked permanent for a 4xx that a
// retry cannot fix. Network errors and 5xx stay retryable.
func classify(err error) error {
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Errorf("discord: %w", err)
	}
	e := &apiError{status: re.Response.StatusCode, msg: http.StatusText(re.Response.StatusCode), err: err}
	if re.Message != nil {
		e.code = re.Message.Code
		if re.Message.Message != "" {
			e.msg = crm.CutRunes(re.Message.Message, 200)
		}
	}
	if e.status >= 400 && e.status < 500 && e.status != http.StatusRequestTimeout && e.status != http.StatusTooManyRequests {
		return channels.Permanent(e)
	}
	return e
}

// restMessage describes a discordgo error in one line for logs and the inbox status.
func restMessage(err error) string {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		var ae *apiError
		if errors.As(classify(err), &ae) {
			return strings.TrimPrefix(ae.Error(), "discord: ")
		}
	}
	return err.Error()
}

// apiCode returns Discord's JSON error code of a REST error, or 0.
func apiCode(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

// splitMessage cuts s into parts of at most limit UTF-16 code units (how Discord counts
// characters), preferring a line break, then a space, in the second half of a part.
// Whitespace at the cuts is dropped.
func splitMessage(s string, limit int) []string {
	var parts []string
	for s != "" {
		end, n := len(s), 0
		for i, r := range s {
			w := 1
			if r > 0xffff {
				w = 2
			}
			if n+w > limit {
				end = i
				break
			}
			n += w
		}
		if end == len(s) {
			parts = append(parts, s)
			break
		}
		at := end
		if i := strings.LastIndexByte(s[:end], '\n'); i >= end/2 {
			at = i
		} else if i := strings.LastIndexAny(s[:end], " \t"); i >= end/2 {
			at = i
		} else if i := strings.LastIndexAny(s[:end], "\n \t"); i > 0 {
			at = i
		}
		if part := strings.TrimRight(s[:at], " \t\r\n"); part != "" {
			parts = append(parts, part)
		}
		s = strings.TrimLeft(s[at:], " \t\r\n")
	}
	return parts
}
