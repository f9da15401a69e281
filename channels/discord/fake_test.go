package discord

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The fake Discord speaks the real wire format of the parts of Discord the bot uses: the
// REST API (gateway discovery, users/@me, the bot's servers and application, channels, channel history, messages, threads, DM
// channels) under /api/v{n}/, the gateway WebSocket (Hello, Identify, Ready, Resume,
// heartbeats and dispatches) and a CDN serving attachment files.

const (
	fakeBotID   = "100000000000000001"
	fakeGuildID = "200000000000000001"
	badToken    = "bad-token"
)

type fakeChannel struct {
	ID       string `json:"id"`
	Type     int    `json:"type"`
	GuildID  string `json:"guild_id,omitempty"`
	ParentID string `json:"parent_id,omitempty"`
	Name     string `json:"name,omitempty"`
	// LastMessageID is filled in from the history when the channel is read.
	LastMessageID string `json:"last_message_id,omitempty"`
}

// fakePost is one accepted POST /channels/{id}/messages.
type fakePost struct {
	ChannelID       string
	Content         string `json:"content"`
	Nonce           string `json:"nonce"`
	AllowedMentions *struct {
		Parse []string `json:"parse"`
	} `json:"allowed_mentions"`
}

type fakeThread struct {
	ChannelID, MessageID, Name string
}

type fakeConn struct {
	ws  *websocket.Conn
	wmu sync.Mutex
}

func (c *fakeConn) send(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteJSON(v)
}

type fakeDiscord struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	channels    map[string]fakeChannel
	posts       []fakePost
	threads     []fakeThread
	dmOpens     []string
	nonces      map[string]string
	rateLimits  int // 429 answers still to give to message posts
	limited     int // 429 answers given
	nextID      int64
	identifies  int
	intents     int
	resumes     int
	sessionID   string
	seq         int64
	conn        *fakeConn
	files       map[string][]byte
	restUnknown int                         // REST requests to unknown routes
	history     map[string][]map[string]any // channel id -> messages, oldest first
	historyGets int                         // GET /channels/{id}/messages requests
	down        bool                        // the gateway refuses connections
}

func newFakeDiscord(t *testing.T) *fakeDiscord {
	f := &fakeDiscord{t: t, channels: map[string]fakeChannel{}, nonces: map[string]string{},
		nextID: 900000000000000000, files: map[string][]byte{},
		history: map[string][]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /gateway", f.handleGatewayURL)
	mux.HandleFunc("GET /gateway/bot", f.handleGatewayURL)
	mux.HandleFunc("GET /users/@me", f.auth(f.handleMe))
	mux.HandleFunc("POST /users/@me/channels", f.auth(f.handleOpenDM))
	mux.HandleFunc("GET /users/@me/guilds", f.auth(f.handleGuilds))
	mux.HandleFunc("GET /applications/@me", f.auth(f.handleApplication))
	mux.HandleFunc("GET /channels/{id}", f.auth(f.handleChannel))
	mux.HandleFunc("GET /channels/{id}/messages", f.auth(f.handleHistory))
	mux.HandleFunc("POST /channels/{id}/messages", f.auth(f.handlePost))
	mux.HandleFunc("POST /channels/{id}/messages/{mid}/threads", f.auth(f.handleThread))
	mux.HandleFunc("GET /cdn/attachments/{name}", f.handleFile)
	mux.HandleFunc("GET /ws/", f.handleGateway)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.restUnknown++
		f.mu.Unlock()
		apiErr(w, http.StatusNotFound, 0, "404: Not Found")
	})
	version := regexp.MustCompile(`^/api/v\d+/`)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loc := version.FindStringIndex(r.URL.Path); loc != nil {
			r.URL.Path = "/" + r.URL.Path[loc[1]:]
			r.URL.RawPath = ""
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.addChannel(fakeChannel{ID: supportChannel, Type: 0, GuildID: fakeGuildID, Name: "help"})
	f.addChannel(fakeChannel{ID: generalChannel, Type: 0, GuildID: fakeGuildID, Name: "general"})
	return f
}

// host is the fake's host:port, also its CDN host.
func (f *fakeDiscord) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeDiscord) addChannel(c fakeChannel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.channels[c.ID] = c
}

func (f *fakeDiscord) id() string {
	f.nextID++
	return fmt.Sprint(f.nextID)
}

func apiErr(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"message": msg, "code": code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (f *fakeDiscord) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		if !strings.HasPrefix(a, "Bot ") || a == "Bot "+badToken {
			apiErr(w, http.StatusUnauthorized, 0, "401: Unauthorized")
			return
		}
		h(w, r)
	}
}

func (f *fakeDiscord) handleGatewayURL(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"url": "ws://" + f.host() + "/ws", "shards": 1})
}

func (f *fakeDiscord) handleMe(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"id": fakeBotID, "username": "parley-bot", "bot": true})
}

// handleApplication answers the bot's application with the Message Content intent on
// (the flag of a bot in fewer than 100 servers).
func (f *fakeDiscord) handleApplication(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"id": fakeBotID, "name": "Parley support", "flags": 1 << 19,
		"bot": map[string]any{"id": fakeBotID, "username": "parley-bot", "bot": true}})
}

// handleGuilds lists the one server the bot is in.
func (f *fakeDiscord) handleGuilds(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, []map[string]any{{"id": fakeGuildID, "name": "Fake shop", "permissions": "0", "features": []string{}}})
}

func (f *fakeDiscord) handleOpenDM(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.RecipientID == "" {
		apiErr(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	f.mu.Lock()
	f.dmOpens = append(f.dmOpens, body.RecipientID)
	ch := fakeChannel{ID: "3" + body.RecipientID[1:], Type: 1}
	f.channels[ch.ID] = ch
	f.mu.Unlock()
	writeJSON(w, map[string]any{"id": ch.ID, "type": 1, "recipients": []any{map[string]any{"id": body.RecipientID}}})
}

func (f *fakeDiscord) handleChannel(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	ch, ok := f.channels[r.PathValue("id")]
	if h := f.history[ch.ID]; len(h) > 0 {
		ch.LastMessageID = h[len(h)-1]["id"].(string)
	}
	f.mu.Unlock()
	if !ok {
		apiErr(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	writeJSON(w, ch)
}

func (f *fakeDiscord) handlePost(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var p fakePost
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		apiErr(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	p.ChannelID = id
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rateLimits > 0 {
		f.rateLimits--
		f.limited++
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		json.NewEncoder(w).Encode(map[string]any{"message": "You are being rate limited.", "retry_after": 0.05, "global": false})
		return
	}
	if _, ok := f.channels[id]; !ok {
		apiErr(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	if len([]rune(p.Content)) > 2000 {
		apiErr(w, http.StatusBadRequest, 50035, "Invalid Form Body: content must be 2000 or fewer in length")
		return
	}
	msgID, dup := f.nonces[id+"|"+p.Nonce]
	if !dup || p.Nonce == "" {
		msgID = f.id()
		f.nonces[id+"|"+p.Nonce] = msgID
		f.posts = append(f.posts, p)
		f.history[id] = append(f.history[id], map[string]any{"id": msgID, "channel_id": id, "content": p.Content,
			"type": 0, "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
			"author": map[string]any{"id": fakeBotID, "username": "parley-bot", "bot": true}})
	}
	writeJSON(w, map[string]any{"id": msgID, "channel_id": id, "content": p.Content, "type": 0,
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"author":    map[string]any{"id": fakeBotID, "username": "parley-bot", "bot": true}})
}

func (f *fakeDiscord) handleThread(w http.ResponseWriter, r *http.Request) {
	chID, msgID := r.PathValue("id"), r.PathValue("mid")
	var body struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Name == "" || len([]rune(body.Name)) > 100 {
		apiErr(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	parent, ok := f.channels[chID]
	if !ok {
		apiErr(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	if _, ok := f.channels[msgID]; ok {
		apiErr(w, http.StatusBadRequest, 160004, "A thread has already been created for this message")
		return
	}
	// Like Discord, a thread started from a message takes the message's id.
	th := fakeChannel{ID: msgID, Type: 11, GuildID: parent.GuildID, ParentID: chID, Name: body.Name}
	f.channels[msgID] = th
	f.threads = append(f.threads, fakeThread{ChannelID: chID, MessageID: msgID, Name: body.Name})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(th)
}

func (f *fakeDiscord) handleFile(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	data, ok := f.files[r.PathValue("name")]
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(data)
}

// handleHistory lists a channel's messages like Discord: newest first, at most limit
// (default 50, at most 100); with after, the messages just after that id. Like Discord's
// REST answers, they carry no guild_id.
func (f *fakeDiscord) handleHistory(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiErr(w, http.StatusBadRequest, 50035, "Invalid Form Body")
			return
		}
		limit = n
	}
	after := r.URL.Query().Get("after")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.historyGets++
	if _, ok := f.channels[id]; !ok {
		apiErr(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	var page []map[string]any
	for _, m := range f.history[id] {
		if after == "" || idLess(after, m["id"].(string)) {
			page = append(page, m)
		}
	}
	if after != "" && len(page) > limit {
		page = page[:limit]
	} else if len(page) > limit {
		page = page[len(page)-limit:]
	}
	out := make([]map[string]any, 0, len(page))
	for i := len(page) - 1; i >= 0; i-- {
		m := maps.Clone(page[i])
		delete(m, "guild_id")
		out = append(out, m)
	}
	writeJSON(w, out)
}

func idLess(a, b string) bool { return len(a) < len(b) || (len(a) == len(b) && a < b) }

var upgrader = websocket.Upgrader{}

// handleGateway speaks the gateway protocol: Hello, then Identify -> READY or Resume ->
// RESUMED (op 9 for an unknown session), heartbeats acknowledged. An Identify with the
// bad token is closed with 4004 like Discord does.
func (f *fakeDiscord) handleGateway(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		http.Error(w, "gateway unavailable", http.StatusServiceUnavailable)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	c := &fakeConn{ws: ws}
	if c.send(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 45000}}) != nil {
		return
	}
	for {
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := ws.ReadJSON(&p); err != nil {
			return
		}
		switch p.Op {
		case 1:
			c.send(map[string]any{"op": 11})
		case 2:
			var id struct {
				Token   string `json:"token"`
				Intents int    `json:"intents"`
			}
			json.Unmarshal(p.D, &id)
			if id.Token == "Bot "+badToken {
				c.wmu.Lock()
				ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), time.Now().Add(time.Second))
				c.wmu.Unlock()
				return
			}
			f.mu.Lock()
			f.identifies++
			f.intents = id.Intents
			f.sessionID = fmt.Sprintf("session-%d", f.identifies)
			f.seq = 0
			f.mu.Unlock()
			f.dispatchOn(c, "READY", map[string]any{"v": 9, "session_id": f.session(),
				"user":   map[string]any{"id": fakeBotID, "username": "parley-bot", "bot": true},
				"guilds": []any{}, "private_channels": []any{}})
			f.setConn(c)
		case 6:
			var rs struct {
				SessionID string `json:"session_id"`
			}
			json.Unmarshal(p.D, &rs)
			if rs.SessionID != f.session() {
				c.send(map[string]any{"op": 9, "d": false})
				continue
			}
			f.mu.Lock()
			f.resumes++
			f.mu.Unlock()
			f.dispatchOn(c, "RESUMED", map[string]any{})
			f.setConn(c)
		}
	}
}

func (f *fakeDiscord) session() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sessionID
}

// setConn makes c the connection dispatches go to, after READY or RESUMED went out on it.
func (f *fakeDiscord) setConn(c *fakeConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conn = c
}

func (f *fakeDiscord) dispatchOn(c *fakeConn, typ string, d any) {
	f.mu.Lock()
	f.seq++
	seq := f.seq
	f.mu.Unlock()
	c.send(map[string]any{"op": 0, "t": typ, "s": seq, "d": d})
}

// dispatch sends an event to the bot on the live connection.
func (f *fakeDiscord) dispatch(typ string, d any) {
	f.t.Helper()
	f.mu.Lock()
	c := f.conn
	f.mu.Unlock()
	if c == nil {
		f.t.Fatalf("dispatch %s: no gateway connection", typ)
	}
	f.dispatchOn(c, typ, d)
}

// drop cuts the gateway connection, as a network failure would.
func (f *fakeDiscord) drop() {
	f.mu.Lock()
	c := f.conn
	f.conn = nil
	f.mu.Unlock()
	if c != nil {
		c.ws.Close()
	}
}

// post creates a customer's message in Discord: it joins the channel's history and, when
// the bot is connected, is dispatched as MESSAGE_CREATE. A message without a guild is a
// DM, whose channel the fake creates on first use.
func (f *fakeDiscord) post(m map[string]any) {
	f.t.Helper()
	chID := m["channel_id"].(string)
	f.mu.Lock()
	if _, ok := f.channels[chID]; !ok && m["guild_id"] == nil {
		f.channels[chID] = fakeChannel{ID: chID, Type: 1}
	}
	f.history[chID] = append(f.history[chID], m)
	c := f.conn
	f.mu.Unlock()
	if c != nil {
		f.dispatchOn(c, "MESSAGE_CREATE", m)
	}
}

// setDown makes the gateway refuse (or accept again) new connections.
func (f *fakeDiscord) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// expireSession forgets the gateway session, so that the next Resume is answered with
// op 9 (invalid session) and the bot has to identify afresh, as after a long outage.
func (f *fakeDiscord) expireSession() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessionID = ""
}

func (f *fakeDiscord) counts() (identifies, resumes, historyGets int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.identifies, f.resumes, f.historyGets
}

func (f *fakeDiscord) live() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conn != nil
}

func (f *fakeDiscord) snapshot() (posts []fakePost, threads []fakeThread, dms []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakePost(nil), f.posts...), append([]fakeThread(nil), f.threads...), append([]string(nil), f.dmOpens...)
}
