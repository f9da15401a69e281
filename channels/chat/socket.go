package chat

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"parley/crm"
	"parley/httpjson"
	"parley/identity"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

// Limits of the widget protocol.
const (
	maxFrame       = 32 << 10 // larger frames get a too_large error frame
	maxFrameHard   = 64 << 10 // larger frames close the socket (1009)
	maxText        = 5000     // characters of a message
	maxAttachments = 5
	maxPageURL     = 2048
	maxName        = 200
	historyLimit   = 100
	maxCSATComment = 1000 // characters of a survey comment
	// lastSeenEvery is how often a returning visitor's hello saves its last_seen_at
	// when nothing else changed: every hello would cost a write transaction.
	lastSeenEvery = time.Minute
)

var clientIDRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// frame is any frame a widget sends; Type says which fields matter.
type frame struct {
	Type         string          `json:"type"`
	VisitorToken *string         `json:"visitor_token"`
	Name         string          `json:"name"`
	Email        string          `json:"email"`
	Identity     *signedIdentity `json:"identity"`
	PageURL      string          `json:"page_url"`
	ClientID     string          `json:"client_id"`
	Text         string          `json:"text"`
	Attachments  []string        `json:"attachments"`
	URL          string          `json:"url"`
	Number       string          `json:"number"`
	Rating       int             `json:"rating"`
	Comment      string          `json:"comment"`
}

// signedIdentity is a signed-in shopper as the shop vouches for them: an email and its
// HMAC under the inbox's identity secret.
type signedIdentity struct {
	Email string `json:"email"`
	Hash  string `json:"hash"`
}

// fatal marks a frame error after which the socket is closed.
type fatal struct{ err error }

func (f fatal) Error() string { return f.err.Error() }
func (f fatal) Unwrap() error { return f.err }

// handleSocket upgrades a widget to a WebSocket after checking that its page's Origin
// may open the inbox: 404 for an unknown inbox, 403 for a foreign origin. A socket over
// the cap of its IP address is refused right after the upgrade, where the widget can
// read why: a rate_limited error frame, then a close with 1013 (try again later).
func (ch *Channel) handleSocket(w http.ResponseWriter, r *http.Request) {
	s, origin, err := ch.widgetInbox(r)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	ws, err := ch.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &conn{ws: ws, ip: clientIP(r), origin: origin, s: s, held: true,
		typing: rate.NewLimiter(rate.Every(2*time.Second), 2), pages: rate.NewLimiter(1, 5)}
	var refusal error
	admitted := ch.hub.admitIP(c.ip, ch.opt.Limits.SocketsPerIP)
	if !admitted {
		ch.log.Warn("widget sockets per address capped", "inbox", s.InboxID, "ip", c.ip)
		refusal = crm.Errorf(crm.ERATELIMITED, "too many chat windows are open from your network; try again later")
	}
	// Returning from the handler lets net/http free what it kept for the connection
	// (its write buffer, the request); an idle widget then costs its socket, a small
	// read buffer and this one goroutine.
	go func() {
		defer func() {
			ch.hub.unregister(c)
			c.close()
			if admitted {
				ch.hub.leaveIP(c.ip)
			}
		}()
		ch.serve(ch.life, c, refusal)
	}()
}

// serve runs the protocol on one socket until it closes. A socket refused before its
// hello gets the refusal and is closed.
func (ch *Channel) serve(ctx context.Context, c *conn, refusal error) {
	stop := context.AfterFunc(ctx, func() { // shutdown: the reader fails and serve returns
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway,
			"server shutting down"), time.Now().Add(time.Second))
		c.close()
	})
	defer stop()
	ws := c.ws
	ws.SetReadLimit(maxFrameHard)
	ws.SetReadDeadline(time.Now().Add(helloWait))
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(pongWait)) })

	// Nothing but a valid hello is answered before the visitor is known.
	var f *frame
	var data []byte
	var err error
	if refusal != nil {
		err = fatal{refusal}
	} else if data, err = ch.readFrame(c); err != nil {
		err = fatal{err}
	} else {
		err = ch.deep(func() (err error) {
			if f, err = decodeFrame(data); err != nil {
				return fatal{err}
			} else if f.Type != "hello" {
				return fatal{crm.Errorf(crm.EINVALID, "the first frame must be a hello")}
			}
			return ch.hello(ctx, c, f)
		})
	}
	for err == nil || !isFatal(err) {
		if err != nil {
			c.push(errorFrame(err, f))
		}
		f = nil
		ws.SetReadDeadline(time.Now().Add(pongWait))
		if data, err = ch.readFrame(c); err == nil {
			err = ch.deep(func() (err error) {
				if f, err = decodeFrame(data); err != nil {
					return err
				}
				return ch.dispatch(ctx, c, f)
			})
		}
	}
	var broken brokenError
	if errors.As(err, &broken) {
		return
	}
	if crm.ErrorCode(err) == crm.EINTERNAL {
		ch.log.Error("widget socket", "inbox", c.s.InboxID, "err", err)
	}
	c.mu.Lock()
	held := c.held
	c.mu.Unlock()
	if held {
		c.release(errorFrame(err, f))
	} else {
		c.push(errorFrame(err, f))
	}
	// A refusal for now (too many sockets or hellos) asks the widget to come back later;
	// any other refusal is final.
	code := websocket.ClosePolicyViolation
	if crm.ErrorCode(err) == crm.ERATELIMITED {
		code = websocket.CloseTryAgainLater
	}
	c.closeWith(code, crm.ErrorCode(err))
	// Wait for the widget's close frame, as the closing handshake asks.
	ws.SetReadDeadline(time.Now().Add(closeWait))
	for {
		if _, _, err := ws.NextReader(); err != nil {
			return
		}
	}
}

// deep runs fn on a short-lived goroutine and waits for it. Handling a frame (SQLite,
// JSON) grows a goroutine's stack to several KiB; keeping that off the reading
// goroutine keeps the stack of an idle widget small. A panic becomes an internal error.
func (ch *Channel) deep(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				ch.log.Error("widget frame panic", "panic", v)
				done <- fatal{fmt.Errorf("panic: %v", v)}
			}
		}()
		done <- fn()
	}()
	return <-done
}

// brokenError is a failure of the socket itself: nothing more can be said on it.
type brokenError struct{ err error }

func (b brokenError) Error() string { return b.err.Error() }
func (b brokenError) Unwrap() error { return b.err }

func isFatal(err error) bool {
	var f fatal
	return errors.As(err, &f)
}

// readFrame reads one frame. A frame over maxFrame is skipped with a too_large error;
// a broken connection is fatal.
func (ch *Channel) readFrame(c *conn) ([]byte, error) {
	typ, r, err := c.ws.NextReader()
	if err != nil {
		return nil, fatal{brokenError{err}}
	}
	data, err := io.ReadAll(io.LimitReader(r, maxFrame+1))
	if err != nil {
		return nil, fatal{brokenError{err}}
	}
	if len(data) > maxFrame {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, fatal{brokenError{err}}
		}
		return nil, crm.Errorf(crm.ETOOLARGE, "frames are limited to %d KiB", maxFrame>>10)
	}
	if typ != websocket.TextMessage {
		return nil, crm.Errorf(crm.EINVALID, "frames must be JSON text")
	}
	return data, nil
}

// decodeFrame decodes a frame's JSON. Returns invalid.
func decodeFrame(data []byte) (*frame, error) {
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, crm.Errorf(crm.EINVALID, "frames must be JSON objects with a type")
	}
	return &f, nil
}

// dispatch handles one frame after the hello. Its error is sent as an error frame.
func (ch *Channel) dispatch(ctx context.Context, c *conn, f *frame) error {
	switch f.Type {
	case "message":
		return ch.message(ctx, c, f)
	case "typing":
		ch.typing(c)
		return nil
	case "page":
		return ch.page(ctx, c, f.URL)
	case "contact":
		return ch.contact(ctx, c, f)
	case "order_lookup":
		return ch.orderLookup(ctx, c, f)
	case "my_orders":
		return ch.myOrders(ctx, c)
	case "csat_answer":
		return ch.csatAnswer(ctx, c, f)
	case "hello":
		return crm.Errorf(crm.EINVALID, "hello was already sent")
	}
	return crm.Errorf(crm.EINVALID, "unknown frame type %q", crm.CutRunes(f.Type, 40))
}

// errorFrame encodes err for the widget; a frame about a message names its client id,
// one about an order request names the request in "for".
func errorFrame(err error, f *frame) []byte {
	code, msg := crm.ErrorCode(err), crm.ErrorMessage(err)
	e := map[string]any{"type": "error", "error": map[string]string{"code": code, "message": msg}}
	if f != nil && f.Type == "message" && clientIDRe.MatchString(f.ClientID) {
		e["client_id"] = f.ClientID
	}
	if f != nil && (f.Type == "order_lookup" || f.Type == "my_orders" || f.Type == "csat_answer") {
		e["for"] = f.Type
	}
	b, _ := json.Marshal(e)
	return b
}

// hello identifies the visitor, creating it when its token is unknown, sends the welcome
// and attaches the socket to the visitor's conversation, followed by a csat frame when
// the conversation waits for its rating. Every hello counts against the IP address's
// limit before it costs anything. Returns forbidden, rate_limited or internal, all fatal.
func (ch *Channel) hello(ctx context.Context, c *conn, f *frame) error {
	s := c.s
	if !ch.helloPerIP.allow(c.ip) {
		return fatal{crm.Errorf(crm.ERATELIMITED, "too many chat connections from your network; try again in a minute")}
	}
	verified := ""
	if id := f.Identity; id != nil && (id.Email != "" || id.Hash != "") {
		email, err := identity.Normalize(crm.IdentityEmail, id.Email, "")
		if err != nil || !validHash(s.Secret, email, id.Hash) {
			ch.log.Warn("widget identity refused", "inbox", s.InboxID, "ip", c.ip)
			return fatal{crm.Errorf(crm.EFORBIDDEN, "the shopper's identity could not be verified")}
		}
		verified = email
	}
	name := cleanName(f.Name)
	var warn error
	claimed := ""
	if f.Email != "" {
		e, err := identity.Normalize(crm.IdentityEmail, f.Email, "")
		if err != nil {
			warn = err
		} else {
			claimed = e
		}
	}
	page := cleanPageURL(f.PageURL)

	var v *crm.ChatVisitor
	if f.VisitorToken != nil && *f.VisitorToken != "" && len(*f.VisitorToken) <= 128 {
		var err error
		v, err = ch.visitorByToken(ctx, s.InboxID, *f.VisitorToken)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			v = nil // an unknown or foreign token starts a new conversation
		} else if err != nil {
			return fatal{err}
		} else {
			c.token = *f.VisitorToken
		}
	}
	changed := false
	switch {
	case v == nil:
	case verified != "" && v.EmailVerified && v.Email == verified:
	case verified != "" && !v.EmailVerified && v.TicketID == 0:
		v.Email, v.EmailVerified = verified, true // signed in before the first message
		changed = true
	case verified != "" || v.EmailVerified:
		// Another signed-in shopper, a sign-in after an anonymous chat or a sign-out on
		// a shared computer: the old conversation must not show, so start a new one.
		v = nil
	}

	newTicketNote, created := false, false
	if v == nil {
		created = true
		if !ch.newPerIP.allow(c.ip) {
			return fatal{crm.Errorf(crm.ERATELIMITED, "too many new conversations from your network; try again in a minute")}
		}
		v = &crm.ChatVisitor{ID: newVisitorID(), InboxID: s.InboxID, Name: name, PageURL: page}
		if verified != "" {
			v.Email, v.EmailVerified = verified, true
		} else {
			v.Email = claimed
		}
		c.token = randomHex(32)
		// In a cluster the visitor's reload or upload may reach another node, which knows
		// only stored visitors.
		if c.unsaved = !ch.opt.Cluster && ch.addPending(hashToken(c.token), v); !c.unsaved {
			if err := ch.visitors.CreateChatVisitor(ctx, v, hashToken(c.token)); err != nil {
				return fatal{err}
			}
		}
	} else {
		if name != "" && name != v.Name {
			v.Name, changed = name, true
		}
		if claimed != "" && !v.EmailVerified && claimed != v.Email {
			v.Email, newTicketNote, changed = claimed, v.TicketID != 0, true
		}
		if page != "" && page != v.PageURL {
			v.PageURL, changed = page, true
		}
		if changed || time.Since(v.LastSeenAt) >= lastSeenEvery {
			if err := ch.visitors.UpdateChatVisitor(ctx, v); err != nil {
				return fatal{err}
			}
		}
	}
	c.v = v
	if !ch.hub.register(c, v.ID, v.TicketID, ch.opt.Limits.SocketsPerVisitor) {
		return fatal{crm.Errorf(crm.ERATELIMITED, "the chat is open in too many windows; close some and try again")}
	}

	var msgs []*crm.Message
	if c.token != "" && !created {
		var err error
		if msgs, err = ch.visitors.ChatMessages(ctx, v, historyLimit); err != nil {
			return fatal{err}
		}
	}
	list := make([]widgetMessage, len(msgs))
	for i, m := range msgs {
		list[i] = widgetMessageOf(m, v.ID)
	}
	b, err := json.Marshal(map[string]any{
		"type": "welcome", "visitor_token": c.token, "name": v.Name, "email": v.Email,
		"email_verified": v.EmailVerified, "email_required": s.RequireEmail && v.Email == "",
		"online": ch.online(s.InboxID), "messages": list,
	})
	if err != nil {
		return fatal{fmt.Errorf("encode welcome: %w", err)}
	}
	c.release(b)
	if !created && v.TicketID != 0 {
		// A survey asked while the shopper was away is shown when they come back.
		if _, err := ch.visitors.OpenChatSurvey(ctx, v.TicketID); err == nil {
			c.push(csatFrame("csat", v.TicketID))
		} else if crm.ErrorCode(err) != crm.ENOTFOUND {
			ch.log.Warn("find open chat survey", "ticket", v.TicketID, "err", err)
		}
	}
	if newTicketNote {
		ch.note(ctx, v.TicketID, claimNote(v))
	}
	return warn
}

// csatFrame is {"type":typ,"ticket_id":ticketID}: "csat" asks the widget to show the
// rating form, "csat_thanks" to thank the shopper instead.
func csatFrame(typ string, ticketID int64) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "ticket_id": ticketID})
	return b
}

// csatAnswer records the shopper's rating of the visitor's own current conversation and
// answers csat_thanks. The ticket is the socket's, never one the widget names, so a
// visitor can rate nothing but its own conversation. Returns invalid (rating, comment),
// not_found (no conversation or no open survey) or rate_limited.
func (ch *Channel) csatAnswer(ctx context.Context, c *conn, f *frame) error {
	if f.Rating < 1 || f.Rating > 5 {
		return crm.Errorf(crm.EINVALID, "rating must be a whole number from 1 to 5")
	}
	if !utf8.ValidString(f.Comment) {
		return crm.Errorf(crm.EINVALID, "comment must be UTF-8")
	}
	comment := strings.TrimSpace(f.Comment)
	if utf8.RuneCountInString(comment) > maxCSATComment {
		return crm.Errorf(crm.EINVALID, "comments are limited to %d characters", maxCSATComment)
	}
	ticket := ch.hub.ticketOf(c)
	if ticket == 0 {
		return crm.Errorf(crm.ENOTFOUND, "there is no conversation to rate")
	}
	if !ch.msgPerUser.allow(c.v.ID) || !ch.msgPerIP.allow(c.ip) {
		return crm.Errorf(crm.ERATELIMITED, "you are sending messages too fast; wait a moment")
	}
	if _, err := ch.store.AnswerCSAT(ctx, ticket, f.Rating, comment, crm.ChannelChat); err != nil {
		return err
	}
	c.push(csatFrame("csat_thanks", ticket))
	return nil
}

// validHash reports whether hash is hex(HMAC-SHA256(secret, email)), in constant time.
// Without a secret nothing is valid.
func validHash(secret, email, hash string) bool {
	if secret == "" || len(hash) != 64 {
		return false
	}
	got, err := hex.DecodeString(strings.ToLower(hash))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(email))
	return hmac.Equal(got, mac.Sum(nil))
}

// message files a shopper's message and acknowledges it once committed. A resend with
// the same client_id is acknowledged again with the same message id.
func (ch *Channel) message(ctx context.Context, c *conn, f *frame) error {
	v, s := c.v, c.s
	if !clientIDRe.MatchString(f.ClientID) {
		return crm.Errorf(crm.EINVALID, "client_id must be 1 to 64 letters, digits, - or _")
	}
	if s.RequireEmail && v.Email == "" {
		return crm.Errorf(crm.EINVALID, "please leave your email address before you chat")
	}
	if !utf8.ValidString(f.Text) {
		return crm.Errorf(crm.EINVALID, "text must be UTF-8")
	}
	text := strings.TrimSpace(f.Text)
	if utf8.RuneCountInString(text) > maxText {
		return crm.Errorf(crm.ETOOLARGE, "messages are limited to %d characters", maxText)
	}
	if text == "" && len(f.Attachments) == 0 {
		return crm.Errorf(crm.EINVALID, "message text required")
	}
	if len(f.Attachments) > maxAttachments {
		return crm.Errorf(crm.EINVALID, "at most %d attachments per message", maxAttachments)
	}
	if !ch.msgPerUser.allow(v.ID) || !ch.msgPerIP.allow(c.ip) {
		return crm.Errorf(crm.ERATELIMITED, "you are sending messages too fast; wait a moment")
	}
	var atts []crm.NewAttachment
	for _, id := range f.Attachments {
		if len(id) > 64 {
			return crm.Errorf(crm.EINVALID, "invalid upload id")
		}
		u, err := ch.visitors.ChatUpload(ctx, v.ID, id)
		if err != nil {
			return err
		}
		atts = append(atts, crm.NewAttachment{Filename: u.Filename, ContentType: u.ContentType, Data: u.Data})
	}
	from := []crm.Identity{{Kind: crm.IdentityChat, Address: v.ID}}
	if v.EmailVerified {
		// The signed email first: the message joins the customer who owns it.
		from = []crm.Identity{{Kind: crm.IdentityEmail, Address: v.Email, Verified: true}, from[0]}
	}
	in := &crm.ChatInbound{Inbound: &crm.Inbound{
		InboxID: s.InboxID, Channel: crm.ChannelChat, ExternalID: "chat:" + v.ID + ":" + f.ClientID,
		ThreadKey: crm.ChatThreadKey(v.ID), FromName: visitorName(v), From: from, Text: text,
		Attachments: atts, ReceivedAt: time.Now(),
	}, Visitor: v, Uploads: f.Attachments}
	if c.unsaved {
		in.TokenHash = hashToken(c.token)
	}
	// The agents' note goes in the message's transaction. Its lines are those of a new
	// conversation only when the message opens one, which the store knows.
	if v.PageURL != "" && v.PageURL != c.notedPage {
		in.Note = append(in.Note, "The shopper is on "+v.PageURL)
	}
	// Order lookups made before the conversation existed are told now.
	in.Note = append(in.Note, ch.peekLookups(v.ID)...)
	if n := claimNote(v); n != "" || len(in.Note) > 0 {
		in.NewTicketNote = []string{"New chat conversation."}
		if n != "" {
			in.NewTicketNote = append(in.NewTicketNote, n)
		}
	}
	res, err := ch.visitors.IngestChat(ctx, in)
	if err != nil {
		return err
	}
	if c.unsaved {
		c.unsaved = false
		ch.dropPending(in.TokenHash)
	}
	if res.TicketID != ch.hub.ticketOf(c) {
		ch.hub.moveVisitor(v.ID, res.TicketID)
	}
	v.TicketID, v.CustomerID = res.TicketID, res.CustomerID
	if !res.Duplicate {
		c.notedPage = v.PageURL
		ch.takeLookups(v.ID)
	}
	b, _ := json.Marshal(map[string]any{"type": "ack", "client_id": f.ClientID, "message_id": res.MessageID,
		"duplicate": res.Duplicate})
	c.push(b)
	if res.NewTicket && !res.Duplicate && ch.opt.Deflect != nil && ch.opt.Deflect(ctx, text) {
		// The widget offers Track my order beside the conversation: the shopper may find
		// the answer before an agent comes, and reports count how often that happens.
		c.push([]byte(`{"type":"offer","offer":"track_order"}`))
		if err := ch.store.RecordSelfService(ctx, s.InboxID, crm.SelfServiceOffered); err != nil {
			ch.log.Warn("count a self-service offer", "inbox", s.InboxID, "err", err)
		}
	}
	return nil
}

// claimNote describes a typed, unverified email for agents, or returns "".
func claimNote(v *crm.ChatVisitor) string {
	if v.Email == "" || v.EmailVerified {
		return ""
	}
	return "Email typed in the chat: " + v.Email + " (unverified: not linked to any customer; " +
		"check before sharing order details)."
}

// note adds an internal note for agents; a failure is logged, the chat goes on.
func (ch *Channel) note(ctx context.Context, ticketID int64, body string) {
	if ticketID == 0 || body == "" {
		return
	}
	if _, err := ch.store.AddMessage(ctx, &crm.NewMessage{TicketID: ticketID, Body: body, Internal: true}); err != nil {
		ch.log.Warn("add chat note", "ticket", ticketID, "err", err)
	}
}

// typing tells the agents that the shopper is typing, at most every two seconds.
func (ch *Channel) typing(c *conn) {
	ticket := ch.hub.ticketOf(c)
	if ch.bus == nil || ticket == 0 || !c.typing.Allow() {
		return
	}
	data, _ := json.Marshal(map[string]any{"ticket_id": ticket, "customer": true, "page_url": c.v.PageURL})
	ch.bus.Publish(&crm.Event{Type: crm.EventTyping, TicketID: ticket, CustomerID: c.v.CustomerID,
		InboxID: c.s.InboxID, Actor: crm.Actor{Kind: "customer", ID: c.v.CustomerID}, Data: data, At: time.Now().UTC()})
}

// page records the page the shopper moved to. Bursts of navigation are kept in memory
// and saved with the next page frame the limiter lets through.
func (ch *Channel) page(ctx context.Context, c *conn, raw string) error {
	u := cleanPageURL(raw)
	if u == "" {
		return crm.Errorf(crm.EINVALID, "url must be an http or https URL of at most %d bytes", maxPageURL)
	}
	c.v.PageURL = u
	if c.unsaved || !c.pages.Allow() {
		return nil // a pending visitor's page is stored with its first message
	}
	return ch.visitors.UpdateChatVisitor(ctx, c.v)
}

// contact stores the name and email the shopper typed in the pre-chat or offline form.
// The email stays a claim: it is shown to agents and used for offline replies, but it
// links nothing.
func (ch *Channel) contact(ctx context.Context, c *conn, f *frame) error {
	v := c.v
	email, err := identity.Normalize(crm.IdentityEmail, f.Email, "")
	if err != nil {
		return crm.Errorf(crm.EINVALID, "please enter a valid email address")
	}
	if v.EmailVerified && email != v.Email {
		return crm.Errorf(crm.EFORBIDDEN, "your email address comes from your shop account")
	}
	changed := email != v.Email
	if name := cleanName(f.Name); name != "" {
		v.Name = name
	}
	v.Email = email
	if c.unsaved {
		// A reload must not lose what the shopper typed: store the visitor now.
		if err := ch.storeVisitor(ctx, v, hashToken(c.token)); err != nil {
			return err
		}
		c.unsaved = false
	}
	if err := ch.visitors.UpdateChatVisitor(ctx, v); err != nil {
		return err
	}
	if changed && v.TicketID != 0 {
		ch.note(ctx, v.TicketID, claimNote(v))
	}
	b, _ := json.Marshal(map[string]any{"type": "contact", "name": v.Name, "email": v.Email, "email_verified": v.EmailVerified})
	c.push(b)
	return nil
}

// visitorName is the name the visitor's messages and customer carry: the one it gave,
// else one made of its email or page (crm.VisitorName), never its raw id.
func visitorName(v *crm.ChatVisitor) string {
	if v.Name != "" {
		return v.Name
	}
	return crm.VisitorName(v.Email, v.PageURL)
}

// cleanName trims a display name to maxName characters without control characters.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	return crm.CutRunes(strings.TrimSpace(s), maxName)
}

// cleanPageURL returns an http(s) URL of at most maxPageURL bytes, or "".
func cleanPageURL(s string) string {
	if s == "" || len(s) > maxPageURL {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.String()
}

// clientIP is the address rate limits count against: the peer of the connection.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
