package discord

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// bot is the gateway session of one Discord inbox. discordgo reads the gateway in its own
// goroutine and calls the handlers in order; they only put events on a queue that one
// worker files, so a slow attachment download never stalls heartbeats.
type bot struct {
	c       *Channel
	inboxID int64
	cfg     config
	s       *discordgo.Session

	queue        chan any
	disconnected chan struct{}
	quit         <-chan struct{} // closed when the bot stops

	mu      sync.Mutex
	userID  string            // the bot's own user, from READY
	parents map[string]string // channel id -> parent channel id ("" when none), a cache
	dms     map[string]string // user id -> DM channel id, a cache
}

func (c *Channel) newBot(inboxID int64, cfg config) *bot {
	b := &bot{c: c, inboxID: inboxID, cfg: cfg, s: c.newSession(cfg),
		queue: make(chan any, 256), disconnected: make(chan struct{}, 1),
		parents: map[string]string{}, dms: map[string]string{}}
	b.s.AddHandler(b.onReady)
	b.s.AddHandler(b.onResumed)
	b.s.AddHandler(b.onDisconnect)
	b.s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { b.enqueue(m) })
	b.s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageUpdate) { b.enqueue(m) })
	b.s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageDelete) { b.enqueue(m) })
	return b
}

// serve runs the connection loop and the worker until ctx is done and both have ended.
func (b *bot) serve(ctx context.Context) {
	b.quit = ctx.Done()
	var wg sync.WaitGroup
	wg.Go(func() { b.work(ctx) })
	b.run(ctx)
	wg.Wait()
}

// run keeps the gateway connected: it opens the session, waits for a disconnect and opens
// it again. discordgo resumes the session (op 6) when it has one, else identifies anew.
// Reconnect waits double from Options.ReconnectDelay up to five minutes.
func (b *bot) run(ctx context.Context) {
	log := b.c.log.With("inbox", b.inboxID)
	delay := b.c.opt.ReconnectDelay
	for ctx.Err() == nil {
		select {
		case <-b.disconnected: // a stale signal of an earlier connection
		default:
		}
		b.c.setStatus(b, "connecting", "")
		err := b.s.Open()
		if err == nil {
			delay = b.c.opt.ReconnectDelay
			select {
			case <-ctx.Done():
				b.s.Close()
				b.c.setStatus(b, "disconnected", "")
				return
			case <-b.disconnected:
			}
			log.Warn("discord gateway disconnected, reconnecting")
			b.c.setStatus(b, "disconnected", "gateway connection lost")
		} else {
			msg := gatewayError(err)
			log.Warn("discord gateway connect failed", "err", err, "retry_in", delay)
			b.c.setStatus(b, "error", msg)
			if fatalGatewayError(err) {
				delay = max(delay, time.Minute) // a bad token or intent will not fix itself soon
			}
		}
		select {
		case <-ctx.Done():
			b.c.setStatus(b, "disconnected", "")
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Minute)
	}
}

// gatewayError explains a failed gateway connection to an admin.
func gatewayError(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case 4004:
			return "Discord rejected the bot token (4004 authentication failed)"
		case 4013, 4014:
			return "Discord refused the intents: enable the Message Content intent on the Bot page of the application (" + ce.Error() + ")"
		}
		return "gateway closed: " + ce.Error()
	}
	return restMessage(err)
}

func fatalGatewayError(err error) bool {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code == 4004 || ce.Code == 4013 || ce.Code == 4014
	}
	return false
}

func (b *bot) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	if r.User != nil {
		b.mu.Lock()
		b.userID = r.User.ID
		b.mu.Unlock()
	}
	b.c.setStatus(b, "connected", "")
	// A fresh session means Discord will not replay what was sent while the bot was away
	// (a resumed one does), so the worker catches up from the channels' history.
	b.enqueue(backfillRequest{})
}

func (b *bot) onResumed(_ *discordgo.Session, _ *discordgo.Resumed) {
	b.c.setStatus(b, "connected", "")
}

func (b *bot) onDisconnect(_ *discordgo.Session, _ *discordgo.Disconnect) {
	select {
	case b.disconnected <- struct{}{}:
	default:
	}
}

// enqueue hands a gateway event to the worker. It blocks when the worker is far behind,
// which holds up the gateway reader rather than dropping a customer's message.
func (b *bot) enqueue(ev any) {
	select {
	case b.queue <- ev:
	case <-b.quit:
	}
}

// work files queued events one at a time, in gateway order. A back-fill runs in the
// same line, so the history it files lands before the live events queued behind it.
func (b *bot) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-b.queue:
			switch ev := ev.(type) {
			case *discordgo.MessageCreate:
				b.handleCreate(ctx, ev.Message)
			case *discordgo.MessageUpdate:
				b.handleUpdate(ctx, ev.Message)
			case *discordgo.MessageDelete:
				b.handleDelete(ctx, ev.Message)
			case backfillRequest:
				b.backfill(ctx)
			}
		}
	}
}

func (b *bot) selfID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.userID
}
