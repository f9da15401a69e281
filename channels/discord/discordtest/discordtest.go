// Package discordtest is a fake Discord for the tests of other packages (the console's
// setup form) and of the setup checks: the REST routes a bot's setup and start-up use
// (the bot user, its application and flags, its servers and their channels, the gateway
// URL, channel history) and a gateway that says Hello, answers Identify with READY and
// acknowledges heartbeats. It speaks Discord's wire format under /api/v{n}/ on a
// loopback httptest server. The channel package's own tests have a fuller fake.
package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The bot and application of the fake.
const (
	BotID         = "100000000000000001"
	ApplicationID = "100000000000000001"
	BotName       = "parley-bot"
)

// Application flags that turn on the Message Content intent: for bots in 100 servers or
// more, and for smaller ones (the switch on the Bot page).
const (
	FlagMessageContent        = 1 << 18
	FlagMessageContentLimited = 1 << 19
)

// Channel is a channel of a server.
type Channel struct {
	ID   string `json:"id"`
	Type int    `json:"type"`
	Name string `json:"name"`
}

// Guild is a server the bot is in.
type Guild struct {
	ID       string
	Name     string
	Channels []Channel
}

// Fake is a running fake Discord.
type Fake struct {
	*httptest.Server
	Token string

	mu             sync.Mutex
	guilds         []Guild
	messageContent bool
	identified     int
	connected      bool
}

// New starts a fake Discord that accepts the bot token, with the Message Content intent
// on and the bot in no server. Close stops it.
func New(token string) *Fake {
	f := &Fake{Token: token, messageContent: true}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /gateway", f.gatewayURL)
	mux.HandleFunc("GET /gateway/bot", f.auth(f.gatewayURL))
	mux.HandleFunc("GET /users/@me", f.auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"id": BotID, "username": BotName, "bot": true})
	}))
	mux.HandleFunc("GET /applications/@me", f.auth(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		flags := 0
		if f.messageContent {
			flags = FlagMessageContentLimited
		}
		f.mu.Unlock()
		writeJSON(w, map[string]any{"id": ApplicationID, "name": "Parley support", "flags": flags,
			"bot": map[string]any{"id": BotID, "username": BotName, "bot": true}})
	}))
	mux.HandleFunc("GET /users/@me/guilds", f.auth(func(w http.ResponseWriter, r *http.Request) {
		out := []any{}
		f.mu.Lock()
		for _, g := range f.guilds {
			out = append(out, map[string]any{"id": g.ID, "name": g.Name, "owner": false, "permissions": "0", "features": []any{}})
		}
		f.mu.Unlock()
		writeJSON(w, out)
	}))
	mux.HandleFunc("GET /guilds/{id}/channels", f.auth(func(w http.ResponseWriter, r *http.Request) {
		if g, ok := f.guild(r.PathValue("id")); ok {
			out := []any{}
			for _, c := range g.Channels {
				out = append(out, map[string]any{"id": c.ID, "type": c.Type, "name": c.Name, "guild_id": g.ID})
			}
			writeJSON(w, out)
			return
		}
		apiErr(w, http.StatusNotFound, 10004, "Unknown Guild")
	}))
	mux.HandleFunc("GET /channels/{id}", f.auth(func(w http.ResponseWriter, r *http.Request) {
		if c, g, ok := f.channel(r.PathValue("id")); ok {
			writeJSON(w, map[string]any{"id": c.ID, "type": c.Type, "name": c.Name, "guild_id": g})
			return
		}
		apiErr(w, http.StatusNotFound, 10003, "Unknown Channel")
	}))
	mux.HandleFunc("GET /channels/{id}/messages", f.auth(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []any{})
	}))
	mux.HandleFunc("GET /ws/", f.gateway)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiErr(w, http.StatusNotFound, 0, "404: Not Found")
	})
	version := regexp.MustCompile(`^/api/v\d+/`)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loc := version.FindStringIndex(r.URL.Path); loc != nil {
			r.URL.Path = "/" + r.URL.Path[loc[1]:]
			r.URL.RawPath = ""
		}
		mux.ServeHTTP(w, r)
	}))
	return f
}

// AddGuild puts the bot in a server with channels.
func (f *Fake) AddGuild(g Guild) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.guilds = append(f.guilds, g)
}

// SetMessageContent turns the application's Message Content intent on or off. Off, the
// gateway closes an Identify that asks for it with 4014, as Discord does.
func (f *Fake) SetMessageContent(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.messageContent = on
}

// Connected reports whether a bot holds a gateway session now.
func (f *Fake) Connected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected
}

func (f *Fake) guild(id string) (Guild, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.guilds {
		if g.ID == id {
			return g, true
		}
	}
	return Guild{}, false
}

func (f *Fake) channel(id string) (Channel, string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.guilds {
		for _, c := range g.Channels {
			if c.ID == id {
				return c, g.ID, true
			}
		}
	}
	return Channel{}, "", false
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

func (f *Fake) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bot "+f.Token {
			apiErr(w, http.StatusUnauthorized, 0, "401: Unauthorized")
			return
		}
		h(w, r)
	}
}

func (f *Fake) gatewayURL(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"url": "ws://" + strings.TrimPrefix(f.URL, "http://") + "/ws", "shards": 1})
}

var upgrader = websocket.Upgrader{}

// gateway says Hello, answers Identify with READY (or closes with 4004 for a wrong
// token, 4014 when Message Content is asked for and off) and acknowledges heartbeats.
func (f *Fake) gateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	defer func() {
		f.mu.Lock()
		f.connected = false
		f.mu.Unlock()
	}()
	closeWith := func(code int, text string) {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	}
	if ws.WriteJSON(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 45000}}) != nil {
		return
	}
	seq := 0
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
			ws.WriteJSON(map[string]any{"op": 11})
		case 2, 6:
			var id struct {
				Token   string `json:"token"`
				Intents int    `json:"intents"`
			}
			json.Unmarshal(p.D, &id)
			if id.Token != "Bot "+f.Token {
				closeWith(4004, "Authentication failed.")
				return
			}
			f.mu.Lock()
			mc := f.messageContent
			f.mu.Unlock()
			if id.Intents&(1<<15) != 0 && !mc {
				closeWith(4014, "Disallowed intent(s).")
				return
			}
			f.mu.Lock()
			f.identified++
			f.connected = true
			session := fmt.Sprintf("session-%d", f.identified)
			f.mu.Unlock()
			seq++
			ws.WriteJSON(map[string]any{"op": 0, "t": "READY", "s": seq, "d": map[string]any{"v": 10, "session_id": session,
				"user": map[string]any{"id": BotID, "username": BotName, "bot": true}, "guilds": []any{}, "private_channels": []any{}}})
		}
	}
}
