// Package chat is the live-chat channel: the widget shops embed (widget.js), its
// WebSocket endpoint, the identity checks of signed-in shoppers, uploads from shoppers,
// the delivery of agent replies to the right widget (and by email while the shopper is
// away) and the demo shop page.
package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/htmlsafe"

	"github.com/gorilla/websocket"
)

// Interface guards.
var (
	_ channels.Connector     = (*Channel)(nil)
	_ channels.InboxPreparer = (*Channel)(nil)
)

// Options configure a Channel.
type Options struct {
	// PublicURL is where browsers reach Parley, scheme and host. The demo page on this
	// origin may open the demo chat inbox. Nil: the request's own host.
	PublicURL *url.URL
	Logger    *slog.Logger
	// Online returns the ids of the agents of an inbox who are online. The widget says
	// the team is away when it returns none. Nil: always online.
	Online func(inboxID int64) []int64
	// Connectors is where Send finds the email connector for offline replies.
	Connectors *channels.Registry
	// Visitors keeps chat visitors. Nil: the store. Tests count its writes.
	Visitors crm.ChatService
	// Limits are the abuse limits; zero fields take defaults.
	Limits Limits
	// Cluster says several nodes serve the widget: a new visitor is stored at its hello
	// instead of with its first message, since its upload or reload may reach another
	// node, which knows only stored visitors.
	Cluster bool
	// RateLimits, when set, are buckets every node of a cluster shares, so that the
	// limits hold for the cluster; this node's own decide while they cannot be reached.
	RateLimits crm.TokenBuckets
	// Deflect says whether a shopper's first message asks where an order is, surely
	// enough to offer Track my order in the widget (package reasoner). Nil: never.
	Deflect func(ctx context.Context, text string) bool
}

// Channel is the chat channel: the connector of chat inboxes and the widget's HTTP side.
type Channel struct {
	store    Store
	visitors crm.ChatService
	bus      crm.Bus
	opt      Options
	log      *slog.Logger
	hub      *hub
	upgrader websocket.Upgrader
	// life is the context of every widget socket: the system's, since a shopper is no
	// agent, and it ends when Run does, which closes the sockets at shutdown.
	life context.Context
	end  context.CancelFunc

	newPerIP   *keyed
	msgPerIP   *keyed
	msgPerUser *keyed

	lookupPerUser *keyed
	lookupPerIP   *keyed

	helloPerIP    *keyed
	uploadPerUser *keyed
	uploadPerIP   *keyed

	mu      sync.Mutex
	cache   map[int64]cachedSettings
	lookups map[string]*lookupNotes    // visitor id -> order lookups before the first message
	pending map[string]*pendingVisitor // token hash -> visitor not stored yet
}

type cachedSettings struct {
	s  *settings
	at time.Time
}

// settingsTTL bounds how stale a cached inbox config may be when an inbox.updated
// event was missed.
const settingsTTL = 30 * time.Second

// New returns the chat channel over store and bus.
func New(store Store, bus crm.Bus, opt Options) *Channel {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	opt.Limits.defaults()
	v := opt.Visitors
	if v == nil {
		v = store
	}
	ch := &Channel{
		store:      store,
		visitors:   v,
		bus:        bus,
		opt:        opt,
		log:        opt.Logger.With("channel", "chat"),
		hub:        newHub(),
		newPerIP:   newKeyed(opt.Limits.NewVisitorsPerIP, opt.RateLimits, "chat:newPerIP:"),
		msgPerIP:   newKeyed(opt.Limits.MessagesPerIP, opt.RateLimits, "chat:msgPerIP:"),
		msgPerUser: newKeyed(opt.Limits.MessagesPerVisitor, opt.RateLimits, "chat:msgPerUser:"),
		cache:      map[int64]cachedSettings{},

		lookupPerUser: newKeyed(opt.Limits.OrderLookupsPerVisitor, opt.RateLimits, "chat:lookupPerUser:"),
		lookupPerIP:   newKeyed(opt.Limits.OrderLookupsPerIP, opt.RateLimits, "chat:lookupPerIP:"),
		lookups:       map[string]*lookupNotes{},
		pending:       map[string]*pendingVisitor{},

		helloPerIP:    newKeyed(opt.Limits.HellosPerIP, opt.RateLimits, "chat:helloPerIP:"),
		uploadPerUser: newKeyed(opt.Limits.UploadsPerVisitor, opt.RateLimits, "chat:uploadPerUser:"),
		uploadPerIP:   newKeyed(opt.Limits.UploadsPerIP, opt.RateLimits, "chat:uploadPerIP:"),
	}
	ch.life, ch.end = context.WithCancel(crm.AsSystem(context.Background()))
	ch.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// The handler checks the Origin against the inbox before upgrading.
		CheckOrigin: func(r *http.Request) bool { return true },
		// A pool lends write buffers only while a frame is written, so idle widgets
		// hold none; a small read buffer of their own replaces net/http's 4 KiB one.
		WriteBufferPool: &sync.Pool{},
		ReadBufferSize:  1024,
	}
	return ch
}

// Handler returns the widget's endpoints: GET /widget.js, GET /widget/config,
// GET /widget/ws, POST and OPTIONS /widget/upload and GET /demo.
func (ch *Channel) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /widget.js", ch.handleScript)
	mux.HandleFunc("GET /widget/config", ch.handleConfig)
	mux.HandleFunc("OPTIONS /widget/config", ch.handlePreflight)
	mux.HandleFunc("GET /widget/ws", ch.handleSocket)
	mux.HandleFunc("POST /widget/upload", ch.handleUpload)
	mux.HandleFunc("OPTIONS /widget/upload", ch.handlePreflight)
	mux.HandleFunc("GET /demo", ch.handleDemo)
	// A shopper is no agent: the endpoints act as the system, and each checks the
	// inbox's allowed origins and the visitor's token itself.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(crm.AsSystem(r.Context())))
	})
}

// Run delivers events from the bus to widget sockets, pings idle sockets, forgets idle
// rate-limit buckets and removes day-old uploads, until ctx is done; then it closes
// every widget socket ("going away": the widget reconnects, to another node if there
// is one) and returns nil.
func (ch *Channel) Run(ctx context.Context) error {
	defer ch.end()
	ctx = crm.AsSystem(ctx)
	var events <-chan *crm.Event
	var sub *crm.Subscription
	if ch.bus != nil {
		sub = ch.bus.Subscribe(4096)
		defer sub.Close()
		events = sub.C
	}
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	sweep := time.NewTicker(10 * time.Minute)
	defer sweep.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-events:
			if !ok {
				return nil
			}
			if e.ID != 0 && e.ID <= last {
				continue // replayed already, or still buffered from before a replay
			}
			ch.handleEvent(e)
			if e.ID > last {
				last = e.ID
			}
			if sub.Lagged() {
				last = ch.replay(ctx, last)
			}
		case <-ping.C:
			ch.hub.each(func(c *conn) { c.ping() })
		case <-sweep.C:
			ch.newPerIP.sweep()
			ch.msgPerIP.sweep()
			ch.msgPerUser.sweep()
			ch.lookupPerUser.sweep()
			ch.lookupPerIP.sweep()
			ch.helloPerIP.sweep()
			ch.uploadPerUser.sweep()
			ch.uploadPerIP.sweep()
			ch.sweepLookups()
			ch.sweepPending()
			if n, err := ch.visitors.DeleteChatUploads(ctx, time.Now().Add(-24*time.Hour)); err != nil {
				ch.log.Error("delete old uploads", "err", err)
			} else if n > 0 {
				ch.log.Info("deleted old uploads", "count", n)
			}
		}
	}
}

// replay re-reads the stored events after last that a lagging subscription dropped, so
// no agent reply is lost; the widget ignores a message it already shows.
func (ch *Channel) replay(ctx context.Context, last int64) int64 {
	if last == 0 {
		return 0
	}
	for ctx.Err() == nil {
		list, err := ch.store.Events(ctx, last, 500)
		if err != nil {
			ch.log.Error("replay events", "err", err)
			return last
		}
		for _, e := range list {
			ch.handleEvent(e)
			last = e.ID
		}
		if len(list) < 500 {
			break
		}
	}
	return last
}

// typingFrame is what the widget gets while an agent types.
var typingFrame = []byte(`{"type":"typing"}`)

// handleEvent pushes an event to the widgets it concerns: replies (never notes) and the
// shopper's own messages to the sockets of the ticket, agent typing likewise.
func (ch *Channel) handleEvent(e *crm.Event) {
	switch e.Type {
	case crm.EventInboxUpdated:
		ch.mu.Lock()
		delete(ch.cache, e.InboxID)
		ch.mu.Unlock()
	case crm.EventMessageCreated:
		conns := ch.hub.ticketConns(e.TicketID)
		if len(conns) == 0 {
			return
		}
		var m crm.Message
		if err := json.Unmarshal(e.Data, &m); err != nil {
			ch.log.Error("decode message event", "event", e.ID, "err", err)
			return
		}
		if m.Direction != crm.DirIn && m.Direction != crm.DirOut {
			return
		}
		b, _ := json.Marshal(map[string]any{"type": "message", "message": widgetMessageOf(&m, "")})
		for _, c := range conns {
			if c.s.InboxID == m.InboxID { // not a message merged in from another channel
				c.push(b)
			}
		}
	case crm.EventCSATRequested:
		var d struct {
			Channel string `json:"channel"`
		}
		if json.Unmarshal(e.Data, &d) != nil || d.Channel != crm.ChannelChat {
			return
		}
		ch.pushTicket(e, csatFrame("csat", e.TicketID))
	case crm.EventCSATAnswered:
		// Every tab hides the survey, whether it was answered there, in another tab or
		// by typing a rating in the chat.
		ch.pushTicket(e, csatFrame("csat_thanks", e.TicketID))
	case crm.EventTyping:
		if e.ID != 0 || e.Actor.Kind != "agent" || e.TicketID == 0 {
			return
		}
		for _, c := range ch.hub.ticketConns(e.TicketID) {
			c.push(typingFrame)
		}
	}
}

// pushTicket pushes a frame to the sockets of the event's ticket on the event's inbox.
func (ch *Channel) pushTicket(e *crm.Event, b []byte) {
	for _, c := range ch.hub.ticketConns(e.TicketID) {
		if c.s.InboxID == e.InboxID {
			c.push(b)
		}
	}
}

// settings returns the cached settings of a chat inbox. Returns not_found.
func (ch *Channel) settings(ctx context.Context, inboxID int64) (*settings, error) {
	ch.mu.Lock()
	c, ok := ch.cache[inboxID]
	ch.mu.Unlock()
	if ok && time.Since(c.at) < settingsTTL {
		return c.s, nil
	}
	in, err := ch.store.Inbox(ctx, inboxID)
	// A disabled inbox's widget does not open, as if it did not exist.
	if crm.ErrorCode(err) == crm.ENOTFOUND || (err == nil && (in.Kind != crm.KindChat || in.Accepts() != nil)) {
		return nil, crm.Errorf(crm.ENOTFOUND, "chat inbox %d not found", inboxID)
	} else if err != nil {
		return nil, fmt.Errorf("load chat inbox: %w", err)
	}
	s := settingsOf(in)
	ch.mu.Lock()
	ch.cache[inboxID] = cachedSettings{s: s, at: time.Now()}
	ch.mu.Unlock()
	return s, nil
}

// online reports whether an agent of the inbox is online.
func (ch *Channel) online(inboxID int64) bool {
	if ch.opt.Online == nil {
		return true
	}
	return len(ch.opt.Online(inboxID)) > 0
}

// Send delivers an agent's reply on a chat inbox. The reply already reached any open
// widget of the shopper through the bus when it was stored, so Send only returns its id
// (chat-<message id>). When no widget of the shopper is connected and the inbox links
// an email inbox, it also emails the reply to the shopper's address through the email
// connector; an email failure is returned so the dispatcher retries it.
func (ch *Channel) Send(ctx context.Context, out *crm.Outbound) (string, error) {
	if out == nil || out.Message == nil || out.Ticket == nil || out.Inbox == nil {
		return "", channels.Permanent(fmt.Errorf("chat: incomplete outbound message"))
	}
	if err := ch.continueByEmail(ctx, out); err != nil {
		return "", fmt.Errorf("email continuity: %w", err)
	}
	return fmt.Sprintf("chat-%d", out.Message.ID), nil
}

func (ch *Channel) continueByEmail(ctx context.Context, out *crm.Outbound) error {
	s := settingsOf(out.Inbox)
	if s.EmailInboxID == 0 {
		return nil
	}
	v, err := ch.visitors.ChatVisitorOfTicket(ctx, out.Ticket.ID)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if ch.hub.connected(v.ID) {
		return nil
	}
	addr, verified := v.Email, v.EmailVerified
	if addr == "" && out.Customer != nil {
		for _, id := range out.Customer.Identities {
			if id.Kind == crm.IdentityEmail && (addr == "" || id.Verified) {
				addr, verified = id.Address, id.Verified
			}
		}
	}
	if addr == "" {
		return nil
	}
	email := ch.connector(crm.KindEmail)
	if email == nil {
		ch.log.Warn("no email connector for offline chat replies", "inbox", out.Inbox.ID, "email_inbox", s.EmailInboxID)
		return nil
	}
	inbox, err := ch.store.Inbox(ctx, s.EmailInboxID)
	if err != nil {
		return fmt.Errorf("load email inbox %d: %w", s.EmailInboxID, err)
	}
	// The email connector addresses the customer's email identity; a claimed address is
	// not an identity, so the synthetic customer carries it for this one message.
	cust := &crm.Customer{Identities: []crm.Identity{{Kind: crm.IdentityEmail, Address: addr, Verified: verified}}}
	if out.Customer != nil {
		c := *out.Customer
		for _, id := range out.Customer.Identities {
			if id.Kind != crm.IdentityEmail {
				cust.Identities = append(cust.Identities, id)
			}
		}
		c.Identities = cust.Identities
		cust = &c
	}
	m := *out.Message
	m.Channel = crm.ChannelEmail
	if _, err := email.Send(ctx, &crm.Outbound{Message: &m, Ticket: out.Ticket, Inbox: inbox, Customer: cust,
		References: out.References, Attempts: out.Attempts}); err != nil {
		return err
	}
	ch.log.Info("chat reply also sent by email", "message", out.Message.ID, "ticket", out.Ticket.ID)
	return nil
}

func (ch *Channel) connector(kind string) channels.Connector {
	if ch.opt.Connectors == nil {
		return nil
	}
	return ch.opt.Connectors.Connector(kind)
}

// widgetMessage is a message as the widget shows it: no ids of agents or customers, no
// delivery details, no HTML.
type widgetMessage struct {
	ID          int64              `json:"id"`
	Direction   string             `json:"direction"`
	ClientID    string             `json:"client_id,omitempty"`
	Author      widgetAuthor       `json:"author"`
	Text        string             `json:"text"`
	Attachments []widgetAttachment `json:"attachments"`
	CreatedAt   time.Time          `json:"created_at"`
}

type widgetAuthor struct {
	Name string `json:"name"`
}

type widgetAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// widgetMessageOf converts a stored message; visitorID recovers the client id of the
// shopper's own messages from their external id.
func widgetMessageOf(m *crm.Message, visitorID string) widgetMessage {
	w := widgetMessage{ID: m.ID, Direction: m.Direction, Author: widgetAuthor{Name: m.Author.Name}, Text: m.Text,
		Attachments: []widgetAttachment{}, CreatedAt: m.CreatedAt}
	if m.Text == "" && m.HTML != "" {
		w.Text = htmlsafe.Text(m.HTML)
	}
	if m.Direction == crm.DirIn && visitorID != "" {
		prefix := "chat:" + visitorID + ":"
		if len(m.ExternalID) > len(prefix) && m.ExternalID[:len(prefix)] == prefix {
			w.ClientID = m.ExternalID[len(prefix):]
		}
	}
	for _, a := range m.Attachments {
		w.Attachments = append(w.Attachments, widgetAttachment{Filename: a.Filename, ContentType: a.ContentType, Size: a.Size})
	}
	return w
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hashToken returns the SHA-256 of a visitor token, as it is stored.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// newVisitorID returns a new visitor's id: "v", the time in unix milliseconds as 12 hex
// digits, then 16 random ones. The id is no secret (the visitor token is); starting with
// the time puts the new visitors of a group commit next to each other in the indexes
// that hold the id (visitors, identities, message ids), so that a commit writes a few
// shared pages instead of one page per chat and index.
func newVisitorID() string {
	return fmt.Sprintf("v%012x%s", time.Now().UnixMilli(), randomHex(8))
}
