package discord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"parley/crm"
	"parley/identity"

	"github.com/bwmarrin/discordgo"
)

// Thread keys: a DM conversation is one per Discord user; a support-channel conversation
// is the Discord thread opened from its first message. Discord gives a thread started from
// a message the id of that message, so the key is known before the thread exists and the
// message can be committed before Parley touches Discord.
const (
	dmKeyPrefix     = "discord-dm:"
	threadKeyPrefix = "discord-thread:"
)

const maxParentCache = 10000

// fromCustomer reports whether m was written by a person: not a bot (this one included),
// a webhook or Discord itself.
func (b *bot) fromCustomer(m *discordgo.Message) bool {
	return m.Author != nil && !m.Author.Bot && !m.Author.System && m.WebhookID == "" &&
		m.Author.ID != b.selfID() && crm.IsSnowflake(m.Author.ID) && crm.IsSnowflake(m.ID)
}

// place returns the thread key of a message the bot watches: a DM, a message in a support
// channel (start reports that a thread is to be opened from it) or a message in a thread
// of a support channel. ok is false for every other channel.
func (b *bot) place(ctx context.Context, m *discordgo.Message) (key string, start, ok bool) {
	switch {
	case b.cfg.channels[m.ChannelID]:
		return threadKeyPrefix + m.ID, true, true
	case m.GuildID == "" && m.Author != nil:
		return dmKeyPrefix + m.Author.ID, false, true
	case m.GuildID != "" && crm.IsSnowflake(m.ChannelID) && b.cfg.channels[b.parent(ctx, m.ChannelID)]:
		return threadKeyPrefix + m.ChannelID, false, true
	}
	return "", false, false
}

// parent returns the parent channel of a thread, or "" for a channel that is not a
// thread or cannot be read. Answers are cached, so a busy guild costs one lookup per
// channel.
func (b *bot) parent(ctx context.Context, channelID string) string {
	b.mu.Lock()
	p, ok := b.parents[channelID]
	b.mu.Unlock()
	if ok {
		return p
	}
	ch, err := b.s.Channel(channelID, discordgo.WithContext(ctx))
	if err != nil {
		var re *discordgo.RESTError
		if !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode >= 500 {
			b.c.log.Warn("look up discord channel", "inbox", b.inboxID, "channel", channelID, "err", err)
			return "" // transient: ask again next time
		}
	} else if ch.IsThread() {
		p = ch.ParentID
	}
	b.setParent(channelID, p)
	return p
}

func (b *bot) setParent(channelID, parentID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.parents) >= maxParentCache {
		b.parents = map[string]string{}
	}
	b.parents[channelID] = parentID
}

// handleCreate files a new message and, for a message in a support channel, opens the
// Discord thread the conversation continues in.
func (b *bot) handleCreate(ctx context.Context, m *discordgo.Message) {
	if !b.accept(m) {
		return
	}
	key, start, ok := b.place(ctx, m)
	if !ok {
		return
	}
	b.file(ctx, m, key, start)
}

// accept reports whether m is a customer's message of a kind that is filed: text,
// attachments or a reply, not a system notice.
func (b *bot) accept(m *discordgo.Message) bool {
	return b.fromCustomer(m) && (m.Type == discordgo.MessageTypeDefault || m.Type == discordgo.MessageTypeReply)
}

// file files an accepted message under its thread key, opens the Discord thread of a
// new support-channel conversation and remembers the channel for back-fill. Live
// gateway events and back-filled history take this same path. It reports false when
// the message could not be filed, so that back-fill stops before it.
func (b *bot) file(ctx context.Context, m *discordgo.Message, key string, start bool) bool {
	from, err := identityOf(m.Author.ID)
	if err != nil {
		return true // not a user Parley can file; nothing to retry
	}
	in := &crm.Inbound{InboxID: b.inboxID, Channel: crm.ChannelDiscord, ExternalID: m.ID, ThreadKey: key,
		FromName: displayName(m.Author), From: []crm.Identity{from},
		ReceivedAt: m.Timestamp}
	text := cleanText(m.ContentWithMentionsReplaced())
	atts, notes := b.c.fetchAttachments(ctx, m.Attachments)
	in.Text, in.Attachments = joinNotes(text, notes), atts
	if in.Text == "" && len(atts) == 0 {
		in.Text = "[A Discord message without text: a sticker, embed or poll]"
	}
	res, err := b.ingest(ctx, in)
	if err != nil {
		return false
	}
	if start && !res.Duplicate {
		b.startThread(ctx, m, res.TicketID, text)
	}
	switch {
	case start:
		// Discord gives a thread started from a message that message's id.
		b.remember(ctx, m.ChannelID, kindSupport, m.ID)
		b.remember(ctx, m.ID, kindThread, m.ID)
	case strings.HasPrefix(key, dmKeyPrefix):
		b.remember(ctx, m.ChannelID, kindDM, m.ID)
	default:
		b.remember(ctx, m.ChannelID, kindThread, m.ID)
	}
	return true
}

// startThread opens a public thread from a support-channel message, named after the
// ticket, so that the agent's replies and the customer's follow-ups stay together.
func (b *bot) startThread(ctx context.Context, m *discordgo.Message, ticketID int64, text string) {
	name := fmt.Sprintf("Ticket #%d", ticketID)
	if line, _, _ := strings.Cut(text, "\n"); strings.TrimSpace(line) != "" {
		name += ": " + strings.TrimSpace(line)
	}
	ch, err := b.s.MessageThreadStartComplex(m.ChannelID, m.ID,
		&discordgo.ThreadStart{Name: crm.CutRunes(name, 100), AutoArchiveDuration: 10080}, discordgo.WithContext(ctx))
	switch {
	case err == nil:
		b.setParent(ch.ID, m.ChannelID)
	case apiCode(err) == 160004: // a thread already exists for this message
		b.setParent(m.ID, m.ChannelID)
	default:
		b.c.log.Warn("open discord thread", "inbox", b.inboxID, "ticket", ticketID, "err", err)
		b.c.setStatus(b, "connected", "could not open a thread for ticket #"+fmt.Sprint(ticketID)+
			" (the bot needs Create Public Threads and Send Messages in Threads): "+restMessage(err))
	}
}

// handleUpdate records an edit of a filed customer message as a new message on its
// ticket, so that agents see both what was said and what it became.
func (b *bot) handleUpdate(ctx context.Context, m *discordgo.Message) {
	// Updates without edited_timestamp only add link previews and the like.
	if m.EditedTimestamp == nil || !b.fromCustomer(m) {
		return
	}
	orig, err := b.c.store.MessageByExternalID(ctx, b.inboxID, m.ID)
	if err != nil || orig.Direction != crm.DirIn {
		return // not a message Parley filed
	}
	from, err := identityOf(m.Author.ID)
	if err != nil {
		return
	}
	key, _, _ := b.place(ctx, m)
	text := cleanText(m.ContentWithMentionsReplaced())
	in := &crm.Inbound{InboxID: b.inboxID, Channel: crm.ChannelDiscord, TicketID: orig.TicketID, ThreadKey: key,
		ExternalID: m.ID + ":edit:" + m.EditedTimestamp.UTC().Format(time.RFC3339Nano),
		FromName:   displayName(m.Author), From: []crm.Identity{from},
		Text: "[Edited on Discord] The customer changed a message to:\n\n" + text, ReceivedAt: *m.EditedTimestamp}
	b.ingest(ctx, in)
}

// handleDelete records the deletion of a filed customer message on its ticket. A delete
// event carries only ids, so the author comes from the stored message.
func (b *bot) handleDelete(ctx context.Context, m *discordgo.Message) {
	if !crm.IsSnowflake(m.ID) {
		return
	}
	orig, err := b.c.store.MessageByExternalID(ctx, b.inboxID, m.ID)
	if err != nil || orig.Direction != crm.DirIn || orig.Author.Kind != "customer" {
		return
	}
	c, err := b.c.store.Customer(ctx, orig.Author.ID)
	if err != nil {
		b.c.log.Warn("record discord delete", "inbox", b.inboxID, "message", m.ID, "err", err)
		return
	}
	user := ""
	for _, id := range c.Identities {
		if id.Kind == crm.IdentityDiscord {
			user = id.Address
			break
		}
	}
	from, err := identityOf(user)
	if err != nil {
		return
	}
	key := threadKeyPrefix + m.ChannelID
	switch {
	case b.cfg.channels[m.ChannelID]:
		key = threadKeyPrefix + m.ID
	case m.GuildID == "":
		key = dmKeyPrefix + user
	}
	quote := crm.CutRunes(orig.Text, 500)
	quote = "> " + strings.ReplaceAll(quote, "\n", "\n> ")
	in := &crm.Inbound{InboxID: b.inboxID, Channel: crm.ChannelDiscord, TicketID: orig.TicketID, ThreadKey: key,
		ExternalID: m.ID + ":delete", FromName: c.Name, From: []crm.Identity{from},
		Text: "[Deleted on Discord] The customer deleted this message:\n\n" + quote}
	b.ingest(ctx, in)
}

// ingest files in, retrying internal errors (a busy database) a few times. Errors are
// logged; the gateway does not redeliver, so there is nobody to hand them to.
func (b *bot) ingest(ctx context.Context, in *crm.Inbound) (*crm.IngestResult, error) {
	for attempt := 1; ; attempt++ {
		res, err := b.c.store.Ingest(ctx, in)
		if err == nil {
			return res, nil
		}
		if attempt == 5 || crm.ErrorCode(err) != crm.EINTERNAL || ctx.Err() != nil {
			if ctx.Err() == nil {
				b.c.log.Error("file discord message", "inbox", b.inboxID, "message", in.ExternalID, "err", err)
			}
			return nil, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

// displayName is the name a Discord user shows: the global display name, else the
// username, without invisible characters.
func displayName(u *discordgo.User) string {
	if n := cleanText(u.GlobalName); n != "" {
		return crm.CutRunes(n, 100)
	}
	return crm.CutRunes(cleanText(u.Username), 100)
}

// cleanText makes Discord text safe to show as text: invalid UTF-8 replaced, control,
// zero-width and direction-override characters removed (they hide or reorder what an
// agent reads), except a zero-width joiner inside an emoji sequence. Markdown stays as
// typed, so a link like [https://good](https://evil) is shown as exactly that; mass
// mentions are plain text to Parley.
func cleanText(s string) string {
	rs := []rune(strings.ToValidUTF8(s, "\uFFFD"))
	var sb strings.Builder
	sb.Grow(len(s))
	for i, r := range rs {
		switch {
		case r == '\n' || r == '\t':
		case r == 0x200d:
			if i == 0 || i == len(rs)-1 || rs[i-1] < 0x2000 || rs[i+1] < 0x2000 {
				continue
			}
		case r < 0x20 || (r >= 0x7f && r < 0xa0) || invisible(r):
			continue
		}
		sb.WriteRune(r)
	}
	return strings.TrimSpace(sb.String())
}

// invisible reports whether r is a format character that renders as nothing.
func invisible(r rune) bool {
	switch {
	case r == 0xad, r == 0x34f, r == 0x61c, r == 0x115f, r == 0x1160, r == 0x17b4, r == 0x17b5,
		r == 0x180e, r == 0x3164, r == 0xfeff, r == 0xffa0:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2060 && r <= 0x206f,
		r >= 0xfff0 && r <= 0xfff8:
		return true
	}
	return false
}

func joinNotes(text string, notes []string) string {
	if len(notes) == 0 {
		return text
	}
	n := strings.Join(notes, "\n")
	if text == "" {
		return n
	}
	return text + "\n\n" + n
}

// fetchAttachments downloads up to ten attachments from Discord's CDN, each at most
// 25 MiB and 50 MiB in all. What is not stored is described in notes for the agent.
func (c *Channel) fetchAttachments(ctx context.Context, list []*discordgo.MessageAttachment) ([]crm.NewAttachment, []string) {
	var out []crm.NewAttachment
	var notes []string
	total := 0
	for i, a := range list {
		if i >= maxAttachments {
			notes = append(notes, fmt.Sprintf("[%d more attachments were not stored: at most %d per message]", len(list)-i, maxAttachments))
			break
		}
		if a == nil {
			continue
		}
		name := crm.CutRunes(cleanText(a.Filename), 200)
		if name == "" {
			name = "attachment"
		}
		if a.Size > crm.MaxAttachmentSize {
			notes = append(notes, fmt.Sprintf("[Attachment %q was not stored: larger than %d MiB]", name, crm.MaxAttachmentSize>>20))
			continue
		}
		if total+a.Size > maxAttachmentTotal {
			notes = append(notes, fmt.Sprintf("[Attachment %q was not stored: the message's attachments exceed %d MiB]", name, maxAttachmentTotal>>20))
			continue
		}
		data, ctype, err := c.download(ctx, a.URL)
		if err != nil {
			c.log.Warn("download discord attachment", "attachment", a.ID, "err", err)
			notes = append(notes, fmt.Sprintf("[Attachment %q was not stored: %v]", name, err))
			continue
		}
		if total += len(data); total > maxAttachmentTotal {
			notes = append(notes, fmt.Sprintf("[Attachment %q was not stored: the message's attachments exceed %d MiB]", name, maxAttachmentTotal>>20))
			continue
		}
		if mt, _, err := mime.ParseMediaType(a.ContentType); err == nil {
			ctype = mt
		}
		out = append(out, crm.NewAttachment{Filename: name, ContentType: ctype, Data: data})
	}
	return out, notes
}

// download fetches one attachment from an allowed CDN host, reading at most the size
// limit. Returns its content and content type.
func (c *Channel) download(ctx context.Context, raw string) ([]byte, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, "", errors.New("invalid attachment URL")
	}
	if err := c.checkCDN(u); err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("build request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("download failed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("download failed: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, crm.MaxAttachmentSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("download failed: %w", err)
	} else if len(data) > crm.MaxAttachmentSize {
		return nil, "", fmt.Errorf("larger than %d MiB", crm.MaxAttachmentSize>>20)
	}
	ctype := "application/octet-stream"
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		ctype = mt
	}
	return data, ctype, nil
}

// identityOf returns the normalised Discord identity of a user id.
func identityOf(userID string) (crm.Identity, error) {
	addr, err := identity.Normalize(crm.IdentityDiscord, userID, "")
	return crm.Identity{Kind: crm.IdentityDiscord, Address: addr}, err
}
