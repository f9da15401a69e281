package discord

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"parley/crm"

	"github.com/bwmarrin/discordgo"
)

// Kinds of the channels the store remembers for back-fill.
const (
	kindDM      = "dm"
	kindThread  = "thread"
	kindSupport = "support"
)

// Bounds of one back-fill, so that a long outage costs a bounded number of requests:
// every support channel and the 200 most recently active DM channels and threads, ten
// pages of 100 messages each.
const (
	backfillChannels = 200
	backfillPages    = 10
	backfillPageSize = 100
)

// backfillRequest asks the worker to catch up with the channels' history.
type backfillRequest struct{}

// cursor is a channel to back-fill and the newest message already handled in it.
type cursor struct {
	channelID, kind, after string
}

// remember records that a message was handled in a channel, for the next back-fill.
// A failure only costs a back-fill, so it is logged.
func (b *bot) remember(ctx context.Context, channelID, kind, messageID string) {
	if !crm.IsSnowflake(channelID) || !crm.IsSnowflake(messageID) {
		return
	}
	if err := b.c.store.SaveDiscordChannel(ctx, b.inboxID, channelID, kind, messageID); err != nil && ctx.Err() == nil {
		b.c.log.Warn("remember discord channel", "inbox", b.inboxID, "channel", channelID, "err", err)
	}
}

// backfill files the messages that reached Discord while the bot had no session: for
// every support channel and every DM channel and thread the inbox has filed messages
// from, it reads the history after the newest message handled there, oldest first, and
// files it like a live MESSAGE_CREATE. Filing is idempotent on the Discord message id,
// so messages the gateway delivers as well are not filed twice.
func (b *bot) backfill(ctx context.Context) {
	stored := map[string]cursor{}
	var order []string
	err := b.c.store.DiscordChannels(ctx, b.inboxID, backfillChannels+maxSupportChannels, func(id, kind, after string) {
		stored[id] = cursor{channelID: id, kind: kind, after: after}
		order = append(order, id)
	})
	if err != nil {
		if ctx.Err() == nil {
			b.c.log.Error("list discord channels for back-fill", "inbox", b.inboxID, "err", err)
		}
		return
	}
	var list []cursor
	for id := range b.cfg.channels {
		if cur, ok := stored[id]; ok {
			cur.kind = kindSupport
			list = append(list, cur)
		} else {
			b.startCursor(ctx, id)
		}
	}
	slices.SortFunc(list, func(x, y cursor) int { return compareIDs(x.channelID, y.channelID) })
	others := 0
	for _, id := range order {
		if cur := stored[id]; (cur.kind == kindDM || cur.kind == kindThread) && others < backfillChannels {
			list = append(list, cur)
			others++
		}
	}
	filed := 0
	for _, cur := range list {
		if ctx.Err() != nil {
			return
		}
		filed += b.backfillChannel(ctx, cur)
	}
	if filed > 0 {
		b.c.log.Info("discord back-fill filed missed messages", "inbox", b.inboxID, "messages", filed)
	}
}

// startCursor records where a support channel's history starts for Parley: its newest
// message now, so that a back-fill never files what was said there before the channel
// was configured. A channel without messages starts at zero.
func (b *bot) startCursor(ctx context.Context, channelID string) {
	ch, err := b.s.Channel(channelID, discordgo.WithContext(ctx))
	if err != nil {
		if ctx.Err() == nil {
			b.c.log.Warn("read discord support channel", "inbox", b.inboxID, "channel", channelID, "err", err)
		}
		return
	}
	last := ch.LastMessageID
	if last == "" {
		last = "0"
	}
	b.remember(ctx, channelID, kindSupport, last)
}

// backfillChannel files the messages of one channel after its cursor, at most
// backfillPages pages, and moves the cursor past what it handled. It stops at the first
// message it cannot file, so that the next back-fill tries it again. Returns how many
// messages it handed to filing.
func (b *bot) backfillChannel(ctx context.Context, cur cursor) int {
	after, n := cur.after, 0
	defer func() {
		if after != cur.after {
			b.remember(ctx, cur.channelID, cur.kind, after)
		}
	}()
	for range backfillPages {
		msgs, err := b.s.ChannelMessages(cur.channelID, backfillPageSize, "", after, "", discordgo.WithContext(ctx))
		if err != nil {
			if ctx.Err() == nil && !gone(err) {
				b.c.log.Warn("read discord history", "inbox", b.inboxID, "channel", cur.channelID, "err", err)
			}
			return n
		}
		// Discord lists a page newest first, also when asked for messages after an id.
		msgs = slices.DeleteFunc(msgs, func(m *discordgo.Message) bool {
			return m == nil || !crm.IsSnowflake(m.ID) || compareIDs(m.ID, after) <= 0
		})
		slices.SortFunc(msgs, func(x, y *discordgo.Message) int { return compareIDs(x.ID, y.ID) })
		for _, m := range msgs {
			if ctx.Err() != nil {
				return n
			}
			m.ChannelID = cur.channelID // history items do not always say; the request does
			if b.accept(m) {
				key, start, ok := b.placeHistory(ctx, cur, m)
				if ok {
					if !b.file(ctx, m, key, start) {
						return n
					}
					n++
				}
			}
			after = m.ID
		}
		if len(msgs) < backfillPageSize {
			return n
		}
	}
	b.c.log.Warn("discord back-fill stopped at its page limit; the next fresh session continues from here",
		"inbox", b.inboxID, "channel", cur.channelID, "pages", backfillPages)
	return n
}

// placeHistory returns the thread key of a message read from a channel's history. Such
// messages carry no guild id, so the key comes from the kind of channel they were read
// from. A thread whose parent is no longer a support channel is left alone, as its live
// messages are.
func (b *bot) placeHistory(ctx context.Context, cur cursor, m *discordgo.Message) (key string, start, ok bool) {
	switch cur.kind {
	case kindSupport:
		return threadKeyPrefix + m.ID, true, true
	case kindDM:
		return dmKeyPrefix + m.Author.ID, false, true
	case kindThread:
		if b.cfg.channels[b.parent(ctx, cur.channelID)] {
			return threadKeyPrefix + cur.channelID, false, true
		}
	}
	return "", false, false
}

// gone reports whether Discord refused a channel for good: deleted, or no longer
// visible to the bot (a DM with a user who left every shared server, a locked thread).
func gone(err error) bool {
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Response == nil {
		return false
	}
	return re.Response.StatusCode == http.StatusNotFound || re.Response.StatusCode == http.StatusForbidden
}

// compareIDs orders Discord snowflakes as the numbers they are: a shorter id is
// smaller, ids of one length compare digit by digit.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
