package discord

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/crm/storetest"
	"parley/crm/storetest/teststore"
)

const (
	supportChannel = "210000000000000001"
	generalChannel = "210000000000000002"
	goodToken      = "good-token.abc"
	customerID     = "400000000000000001"
)

type env struct {
	t     *testing.T
	ctx   context.Context
	db    storetest.Store
	bus   *crm.LocalBus
	fake  *fakeDiscord
	ch    *Channel
	inbox *crm.Inbox
}

// newEnv starts a store, a fake Discord, a Discord inbox and the channel's Run, and
// waits until the bot is connected.
func newEnv(t *testing.T) *env {
	t.Helper()
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	e := &env{t: t, db: db, bus: bus, fake: newFakeDiscord(t)}
	e.ch = New(db, bus, Options{AllowedCDNHosts: []string{e.fake.host()}, ReconnectDelay: 10 * time.Millisecond,
		Outbound: allowPrivate})
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	e.ctx = ctx
	e.inbox = e.createInbox("Community", goodToken)
	done := make(chan struct{})
	go func() {
		e.ch.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	e.waitConnected(e.inbox.ID)
	return e
}

func (e *env) createInbox(name, token string) *crm.Inbox {
	e.t.Helper()
	in := &crm.Inbox{Kind: crm.KindDiscord, Name: name, Config: map[string]any{
		"bot_token": token, "support_channel_ids": []any{supportChannel}, "api_base_url": e.fake.srv.URL}}
	if err := e.ch.PrepareInbox(crm.AsSystem(context.Background()), in); err != nil {
		e.t.Fatal(err)
	}
	out, err := e.db.CreateInbox(crm.AsSystem(context.Background()), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) waitConnected(inboxID int64) {
	e.t.Helper()
	waitFor(e.t, "bot connected", func() bool {
		st := e.ch.InboxStatus(inboxID)
		return st != nil && st.State == "connected" && e.fake.live()
	})
}

// waitFor polls cond until it holds or ten seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) tickets() []*crm.Ticket {
	e.t.Helper()
	list, _, err := e.db.Tickets(crm.AsSystem(context.Background()), crm.TicketFilter{InboxID: e.inbox.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *env) messages(ticketID int64) []*crm.Message {
	e.t.Helper()
	list, _, err := e.db.Messages(crm.AsSystem(context.Background()), ticketID, crm.Page{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// waitMessages waits until the only ticket of the inbox has n messages and returns them.
func (e *env) waitMessages(n int) (*crm.Ticket, []*crm.Message) {
	e.t.Helper()
	var t *crm.Ticket
	var msgs []*crm.Message
	waitFor(e.t, fmt.Sprintf("%d messages", n), func() bool {
		ts := e.tickets()
		if len(ts) == 0 {
			return false
		}
		t = ts[0]
		msgs = e.messages(t.ID)
		return len(msgs) >= n
	})
	return t, msgs
}

// startDispatcher runs the outbox dispatcher with this channel as the Discord connector.
func (e *env) startDispatcher() {
	reg := channels.NewRegistry()
	reg.Register(crm.KindDiscord, e.ch)
	d := &channels.Dispatcher{Outbox: e.db, Bus: e.bus, Connectors: reg, Poll: 20 * time.Millisecond,
		BaseBackoff: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	done := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(done)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// reply queues an agent reply and waits until the dispatcher has handled it.
func (e *env) reply(ticketID int64, body string) *crm.Message {
	e.t.Helper()
	m, err := e.db.AddMessage(crm.AsSystem(context.Background()), &crm.NewMessage{TicketID: ticketID, Body: body})
	if err != nil {
		e.t.Fatal(err)
	}
	var got *crm.Message
	waitFor(e.t, "reply sent", func() bool {
		for _, x := range e.messages(ticketID) {
			if x.ID == m.ID && (x.Status == crm.MsgSent || x.Status == crm.MsgFailed) {
				got = x
				return true
			}
		}
		return false
	})
	if got.Status != crm.MsgSent {
		e.t.Fatalf("reply status = %s (%s), want sent", got.Status, got.Error)
	}
	return got
}

var msgSeq int64 = 700000000000000000

func nextMsgID() string {
	msgSeq++
	return fmt.Sprint(msgSeq)
}

func dmMessage(id, userID, content string) map[string]any {
	return map[string]any{"id": id, "channel_id": "300000000000000001", "type": 0, "content": content,
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"author":    map[string]any{"id": userID, "username": "sam_shops", "global_name": "Sam Shopper"},
		"mentions":  []any{}, "attachments": []any{}}
}

func guildMessage(id, channelID, userID, content string) map[string]any {
	m := dmMessage(id, userID, content)
	m["channel_id"], m["guild_id"] = channelID, fakeGuildID
	return m
}

func TestDMCreatesTicket(t *testing.T) {
	e := newEnv(t)
	e.fake.mu.Lock()
	intents := e.fake.intents
	e.fake.mu.Unlock()
	if want := 1<<9 | 1<<12 | 1<<15; intents != want {
		t.Errorf("intents = %d, want %d (guild messages, DMs, message content)", intents, want)
	}
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(nextMsgID(), customerID, "Where is my order #1001?"))
	tk, msgs := e.waitMessages(1)
	if tk.Channel != crm.ChannelDiscord || tk.Subject != "Where is my order #1001?" {
		t.Errorf("ticket = %s %q", tk.Channel, tk.Subject)
	}
	m := msgs[0]
	if m.Direction != crm.DirIn || m.Text != "Where is my order #1001?" || m.Author.Name != "Sam Shopper" {
		t.Errorf("message = %s %q by %q", m.Direction, m.Text, m.Author.Name)
	}
	c, err := e.db.Customer(crm.AsSystem(context.Background()), tk.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Identities) != 1 || c.Identities[0].Kind != crm.IdentityDiscord || c.Identities[0].Address != customerID {
		t.Errorf("identities = %+v", c.Identities)
	}
	// A second DM from the same user joins the same ticket.
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(nextMsgID(), customerID, "It was due Monday."))
	e.waitMessages(2)
	if n := len(e.tickets()); n != 1 {
		t.Errorf("tickets = %d, want 1", n)
	}
}

func TestSupportChannelOpensThread(t *testing.T) {
	e := newEnv(t)
	first := nextMsgID()
	e.fake.dispatch("MESSAGE_CREATE", guildMessage(first, supportChannel, customerID, "My code does not work\nit says expired"))
	var threads []fakeThread
	waitFor(t, "thread created", func() bool {
		_, threads, _ = e.fake.snapshot()
		return len(threads) == 1
	})
	tk, _ := e.waitMessages(1)
	if threads[0].ChannelID != supportChannel || threads[0].MessageID != first {
		t.Errorf("thread = %+v", threads[0])
	}
	if want := fmt.Sprintf("Ticket #%d: My code does not work", tk.ID); threads[0].Name != want {
		t.Errorf("thread name = %q, want %q", threads[0].Name, want)
	}
	// The follow-up in the thread (its channel is the thread) joins the ticket.
	e.fake.dispatch("MESSAGE_CREATE", guildMessage(nextMsgID(), first, customerID, "any news?"))
	_, msgs := e.waitMessages(2)
	if msgs[1].Text != "any news?" || len(e.tickets()) != 1 {
		t.Errorf("follow-up = %q, tickets = %d", msgs[1].Text, len(e.tickets()))
	}
	// The agent's reply goes to the thread.
	e.startDispatcher()
	e.reply(tk.ID, "Let me check that code.")
	posts, _, dms := e.fake.snapshot()
	if len(posts) != 1 || posts[0].ChannelID != first || len(dms) != 0 {
		t.Fatalf("posts = %+v, dm opens = %v", posts, dms)
	}
}

func TestReplyToDM(t *testing.T) {
	e := newEnv(t)
	e.startDispatcher()
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(nextMsgID(), customerID, "hello"))
	tk, _ := e.waitMessages(1)
	body := "Hi @everyone and @here, <@&123456> and <@" + customerID + ">: your parcel ships today."
	m := e.reply(tk.ID, body)
	posts, _, dms := e.fake.snapshot()
	if len(dms) != 1 || dms[0] != customerID {
		t.Errorf("DM channels opened for %v, want [%s]", dms, customerID)
	}
	if len(posts) != 1 {
		t.Fatalf("posts = %d, want 1", len(posts))
	}
	p := posts[0]
	if p.Content != body {
		t.Errorf("content = %q", p.Content)
	}
	if p.AllowedMentions == nil || p.AllowedMentions.Parse == nil || len(p.AllowedMentions.Parse) != 0 {
		t.Errorf("allowed_mentions = %+v, want parse: []", p.AllowedMentions)
	}
	if m.Status != crm.MsgSent {
		t.Errorf("status = %s", m.Status)
	}
	// The DM channel is reused for the next reply.
	e.reply(tk.ID, "Tracking: 1Z999")
	if _, _, dms := e.fake.snapshot(); len(dms) != 1 {
		t.Errorf("DM channel opened %d times, want once", len(dms))
	}
}

func TestLongReplyIsSplit(t *testing.T) {
	e := newEnv(t)
	e.startDispatcher()
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(nextMsgID(), customerID, "tell me everything"))
	tk, _ := e.waitMessages(1)
	var sb strings.Builder
	for sb.Len() < 4500 {
		sb.WriteString("This is a sentence of the long answer. ")
		if sb.Len()%400 < 40 {
			sb.WriteString("\n")
		}
	}
	body := strings.TrimSpace(sb.String()[:4500])
	e.reply(tk.ID, body)
	posts, _, _ := e.fake.snapshot()
	if len(posts) != 3 {
		t.Fatalf("posts = %d, want 3", len(posts))
	}
	var words []string
	for i, p := range posts {
		if n := len([]rune(p.Content)); n > 2000 || n == 0 {
			t.Errorf("part %d has %d characters", i, n)
		}
		if p.AllowedMentions == nil || len(p.AllowedMentions.Parse) != 0 || p.AllowedMentions.Parse == nil {
			t.Errorf("part %d allowed_mentions = %+v", i, p.AllowedMentions)
		}
		words = append(words, strings.Fields(p.Content)...)
	}
	if got, want := strings.Join(words, " "), strings.Join(strings.Fields(body), " "); got != want {
		t.Errorf("parts do not add up to the reply")
	}
}

func TestDuplicateAfterReconnect(t *testing.T) {
	e := newEnv(t)
	id := nextMsgID()
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(id, customerID, "first"))
	e.waitMessages(1)
	e.fake.drop()
	waitFor(t, "resumed", func() bool {
		e.fake.mu.Lock()
		defer e.fake.mu.Unlock()
		return e.fake.resumes == 1 && e.fake.conn != nil
	})
	e.waitConnected(e.inbox.ID)
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(id, customerID, "first")) // replayed
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(nextMsgID(), customerID, "second"))
	// Events are filed in gateway order, so once "second" is in, the replay was handled.
	_, msgs := e.waitMessages(2)
	if len(msgs) != 2 || msgs[0].Text != "first" || msgs[1].Text != "second" {
		t.Errorf("messages = %d", len(msgs))
	}
	e.fake.mu.Lock()
	identifies := e.fake.identifies
	e.fake.mu.Unlock()
	if identifies != 1 {
		t.Errorf("identifies = %d, want 1 (the session was resumed)", identifies)
	}
}

func TestRateLimitRetry(t *testing.T) {
	e := newEnv(t)
	e.startDispatcher()
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(nextMsgID(), customerID, "hi"))
	tk, _ := e.waitMessages(1)
	e.fake.mu.Lock()
	e.fake.rateLimits = 1
	e.fake.mu.Unlock()
	e.reply(tk.ID, "Thanks for waiting!")
	posts, _, _ := e.fake.snapshot()
	e.fake.mu.Lock()
	limited := e.fake.limited
	e.fake.mu.Unlock()
	if limited != 1 || len(posts) != 1 || posts[0].Content != "Thanks for waiting!" {
		t.Errorf("429s = %d, posts = %+v", limited, posts)
	}
}

func TestRateLimitTooLongIsRetryable(t *testing.T) {
	e := newEnv(t)
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(nextMsgID(), customerID, "hi"))
	tk, _ := e.waitMessages(1)
	e.fake.mu.Lock()
	e.fake.rateLimits = maxRateLimitRetries + 1
	e.fake.mu.Unlock()
	m, err := e.db.AddMessage(crm.AsSystem(context.Background()), &crm.NewMessage{TicketID: tk.ID, Body: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ch.Send(crm.AsSystem(context.Background()), &crm.Outbound{Message: m, Ticket: tk, Inbox: e.inbox})
	if err == nil || channels.IsPermanent(err) || !strings.Contains(err.Error(), "rate limit") {
		t.Errorf("err = %v, want a retryable rate limit error", err)
	}
}

func TestIgnoredMessages(t *testing.T) {
	e := newEnv(t)
	bot := dmMessage(nextMsgID(), "400000000000000002", "I am a bot")
	bot["author"].(map[string]any)["bot"] = true
	self := dmMessage(nextMsgID(), fakeBotID, "my own reply")
	hook := guildMessage(nextMsgID(), supportChannel, customerID, "from a webhook")
	hook["webhook_id"] = "600000000000000001"
	system := guildMessage(nextMsgID(), supportChannel, customerID, "")
	system["type"] = 18 // thread created
	for _, m := range []map[string]any{
		bot, self, hook, system,
		guildMessage(nextMsgID(), generalChannel, customerID, "chat in #general"),
		guildMessage(nextMsgID(), "299999999999999999", customerID, "a channel the fake does not know"),
		guildMessage(nextMsgID(), "not-a-snowflake", customerID, "garbage channel"),
	} {
		e.fake.dispatch("MESSAGE_CREATE", m)
	}
	other := guildMessage(nextMsgID(), "220000000000000001", customerID, "another guild")
	other["guild_id"] = "230000000000000001"
	e.fake.dispatch("MESSAGE_CREATE", other)
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(nextMsgID(), customerID, "sentinel"))
	_, msgs := e.waitMessages(1)
	if ts := e.tickets(); len(ts) != 1 || len(msgs) != 1 || msgs[0].Text != "sentinel" {
		t.Errorf("tickets = %d, messages = %d (%q)", len(ts), len(msgs), msgs[0].Text)
	}
	if _, threads, _ := e.fake.snapshot(); len(threads) != 0 {
		t.Errorf("threads = %+v", threads)
	}
}

func TestHostileText(t *testing.T) {
	e := newEnv(t)
	text := "@everyone look: [https://shop.example](https://evil.example) pay\u200b\u200bnow \u202egnp.exe\n" +
		strings.Repeat("x", 2500)
	m := dmMessage(nextMsgID(), customerID, "<@"+customerID+"> "+text)
	m["mentions"] = []any{map[string]any{"id": customerID, "username": "sam_shops"}}
	e.fake.dispatch("MESSAGE_CREATE", m)
	_, msgs := e.waitMessages(1)
	got := msgs[0].Text
	if !strings.HasPrefix(got, "@sam_shops @everyone look: [https://shop.example](https://evil.example) paynow gnp.exe\n") {
		t.Errorf("text = %q", crm.CutRunes(got, 120))
	}
	if msgs[0].HTML != "" {
		t.Errorf("html = %q, want none: Discord text is shown as text", msgs[0].HTML)
	}
	if len(got) < 2500 {
		t.Errorf("long text was cut to %d bytes", len(got))
	}
}

func TestEditAndDeleteRecorded(t *testing.T) {
	e := newEnv(t)
	id := nextMsgID()
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(id, customerID, "I want a refund"))
	e.waitMessages(1)
	edited := dmMessage(id, customerID, "I want a replacement")
	edited["edited_timestamp"] = time.Now().UTC().Format(time.RFC3339Nano)
	e.fake.dispatch("MESSAGE_UPDATE", edited)
	e.fake.dispatch("MESSAGE_UPDATE", edited) // the same edit again is one record
	unfurl := dmMessage(id, customerID, "I want a replacement")
	e.fake.dispatch("MESSAGE_UPDATE", unfurl) // no edited_timestamp: a link preview
	e.fake.dispatch("MESSAGE_DELETE", map[string]any{"id": id, "channel_id": "300000000000000001"})
	e.fake.dispatch("MESSAGE_DELETE", map[string]any{"id": "799999999999999999", "channel_id": "300000000000000001"})
	e.fake.dispatch("MESSAGE_CREATE", dmMessage(nextMsgID(), customerID, "sentinel"))
	_, msgs := e.waitMessages(4)
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	if len(msgs) != 4 || msgs[0].Text != "I want a refund" ||
		msgs[1].Text != "[Edited on Discord] The customer changed a message to:\n\nI want a replacement" ||
		!strings.HasPrefix(msgs[2].Text, "[Deleted on Discord]") || !strings.Contains(msgs[2].Text, "> I want a refund") ||
		msgs[3].Text != "sentinel" {
		t.Errorf("messages = %q", texts)
	}
}

func TestAttachments(t *testing.T) {
	e := newEnv(t)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 1000)...)
	e.fake.mu.Lock()
	e.fake.files["receipt.png"] = png
	e.fake.mu.Unlock()
	other := strings.Replace(e.fake.srv.URL, "127.0.0.1", "localhost", 1) // same server, another host
	m := dmMessage(nextMsgID(), customerID, "see attached")
	m["attachments"] = []any{
		map[string]any{"id": "1", "filename": "receipt.png", "size": len(png), "content_type": "image/png",
			"url": e.fake.srv.URL + "/cdn/attachments/receipt.png"},
		map[string]any{"id": "2", "filename": "evil.png", "size": len(png), "content_type": "image/png",
			"url": other + "/cdn/attachments/receipt.png"},
		map[string]any{"id": "3", "filename": "huge.zip", "size": 30 << 20,
			"url": e.fake.srv.URL + "/cdn/attachments/huge.zip"},
	}
	e.fake.dispatch("MESSAGE_CREATE", m)
	_, msgs := e.waitMessages(1)
	got := msgs[0]
	if len(got.Attachments) != 1 || got.Attachments[0].Filename != "receipt.png" || got.Attachments[0].Size != int64(len(png)) {
		t.Fatalf("attachments = %+v", got.Attachments)
	}
	_, f, err := e.db.Attachment(crm.AsSystem(context.Background()), got.Attachments[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(data, png) {
		t.Errorf("stored attachment differs")
	}
	for _, want := range []string{`"evil.png" was not stored: attachment host`, `"huge.zip" was not stored: larger than 25 MiB`} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("text %q does not say %q", got.Text, want)
		}
	}
}

func TestInboxChangesRestartBot(t *testing.T) {
	e := newEnv(t)
	second := e.createInbox("Second server", "second-token")
	e.bus.Publish(&crm.Event{Type: crm.EventInboxUpdated, InboxID: second.ID})
	waitFor(t, "second bot connected", func() bool {
		st := e.ch.InboxStatus(second.ID)
		return st != nil && st.State == "connected"
	})
	second.Config["bot_token"] = badToken
	if err := e.ch.PrepareInbox(crm.AsSystem(context.Background()), second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateInbox(crm.AsSystem(context.Background()), second); err != nil {
		t.Fatal(err)
	}
	e.bus.Publish(&crm.Event{Type: crm.EventInboxUpdated, InboxID: second.ID})
	var st *channels.InboxStatus
	waitFor(t, "bad token reported", func() bool {
		st = e.ch.InboxStatus(second.ID)
		return st != nil && st.State == "error"
	})
	if !strings.Contains(st.LastError, "rejected the bot token") {
		t.Errorf("last error = %q", st.LastError)
	}
	if st := e.ch.InboxStatus(e.inbox.ID); st.State != "connected" {
		t.Errorf("first inbox state = %s", st.State)
	}
}

func TestTestInbox(t *testing.T) {
	e := newEnv(t)
	if err := e.ch.TestInbox(crm.AsSystem(context.Background()), e.inbox); err != nil {
		t.Errorf("TestInbox = %v", err)
	}
	bad := *e.inbox
	bad.Secrets = map[string]string{"bot_token": badToken}
	if err := e.ch.TestInbox(crm.AsSystem(context.Background()), &bad); err == nil || !strings.Contains(err.Error(), "rejected the bot token") {
		t.Errorf("TestInbox(bad token) = %v", err)
	}
	unknown := *e.inbox
	unknown.Config = map[string]any{"support_channel_ids": []any{"299999999999999999"}, "api_base_url": e.fake.srv.URL}
	if err := e.ch.TestInbox(crm.AsSystem(context.Background()), &unknown); err == nil || !strings.Contains(err.Error(), "Unknown Channel") {
		t.Errorf("TestInbox(unknown channel) = %v", err)
	}
}

func TestPrepareInbox(t *testing.T) {
	c := New(nil, nil, Options{})
	tests := []struct {
		name    string
		config  map[string]any
		secrets map[string]string
		err     string
		token   string // the token the inbox ends up with
	}{
		{"ok", map[string]any{"bot_token": "Bot abc.def", "support_channel_ids": []any{"123", "123", "456"}}, nil, "", "abc.def"},
		{"stored token", map[string]any{"support_channel_ids": "123, 456"}, map[string]string{"bot_token": "abc"}, "", "abc"},
		{"new token replaces stored", map[string]any{"bot_token": "new.tok", "support_channel_ids": "123, 456"},
			map[string]string{"bot_token": "old.tok"}, "", "new.tok"},
		{"no token", map[string]any{}, nil, "bot_token is required", ""},
		{"token not string", map[string]any{"bot_token": 5}, nil, "must be a string", ""},
		{"token with space", map[string]any{"bot_token": "a b"}, nil, "invalid characters", ""},
		{"numeric ids", map[string]any{"bot_token": "x", "support_channel_ids": []any{123.0}}, nil, "list of strings", ""},
		{"bad id", map[string]any{"bot_token": "x", "support_channel_ids": []any{"general"}}, nil, "not a Discord channel id", ""},
		{"bad url", map[string]any{"bot_token": "x", "api_base_url": "ftp://x"}, nil, "api_base_url", ""},
		{"url with query", map[string]any{"bot_token": "x", "api_base_url": "https://x?y=1"}, nil, "api_base_url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &crm.Inbox{Kind: crm.KindDiscord, Config: tt.config, Secrets: tt.secrets}
			err := c.PrepareInbox(crm.AsSystem(context.Background()), in)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if in.Config["api_base_url"] != DefaultAPIBaseURL {
					t.Errorf("api_base_url = %v", in.Config["api_base_url"])
				}
				ids := in.Config["support_channel_ids"].([]any)
				if len(ids) != 2 || ids[0] != "123" || ids[1] != "456" {
					t.Errorf("support_channel_ids = %v", ids)
				}
				// A new token stays in the config for the store to seal; none keeps the stored one.
				token, _ := in.Config["bot_token"].(string)
				if token == "" {
					token = in.Secrets["bot_token"]
				}
				if token != tt.token {
					t.Errorf("bot_token in config %v, in secrets %q; want %q", in.Config["bot_token"], in.Secrets["bot_token"], tt.token)
				}
				return
			}
			if err == nil || crm.ErrorCode(err) != crm.EINVALID || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want invalid %q", err, tt.err)
			}
		})
	}
}

func TestSplitMessage(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  []string
	}{
		{"short", 10, []string{"short"}},
		{"one two three four", 10, []string{"one two", "three four"}},
		{"line one\nline two", 12, []string{"line one", "line two"}},
		{"abcdefghijkl", 5, []string{"abcde", "fghij", "kl"}},
		{"😀😀😀", 4, []string{"😀😀", "😀"}},
	}
	for _, tt := range tests {
		got := splitMessage(tt.in, tt.limit)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("splitMessage(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"he\u200bllo", "hello"},
		{"\u202eevil", "evil"},
		{"a\x00b\x1bc", "abc"},
		{"family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"},
		{"zw\u200dj", "zwj"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"  line\n\tindent  ", "line\n\tindent"},
	}
	for _, tt := range tests {
		if got := cleanText(tt.in); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func BenchmarkSplitMessage(b *testing.B) {
	s := strings.Repeat("A sentence of an agent's long answer.\n", 1700) // about 64 KiB
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		splitMessage(s, maxMessageLen)
	}
}

func BenchmarkCleanText(b *testing.B) {
	s := strings.Repeat("hello\u200b world @everyone ", 200)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		cleanText(s)
	}
}
