package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"parley/crm"

	"github.com/gorilla/websocket"
)

// shopOrigin is the shop page the bench's widgets pretend to be on.
const shopOrigin = "http://bench.local"

// Each simulated shopper connects from a loopback address of its own (all of 127/8 is
// local on Linux), as real shoppers come from addresses of their own. From one address,
// the widget's per-IP abuse limits (20 new conversations, then one every 6 s) would cap
// the figure at the limiter instead of measuring the server.
const (
	chatAddrs = 1 << 20 // new chats use 127.16.0.1 and up
	idleAddrs = 2 << 20 // idle sockets use 127.32.0.1 and up
)

// shopperAddr returns the i-th loopback source address of a range.
func shopperAddr(base, i int) *net.TCPAddr {
	n := base + i + 1
	return &net.TCPAddr{IP: net.IPv4(127, byte(n>>16), byte(n>>8), byte(n))}
}

// widgetDialer dials the widget socket from the given loopback address.
func widgetDialer(from *net.TCPAddr) *websocket.Dialer {
	return &websocket.Dialer{HandshakeTimeout: 10 * time.Second,
		NetDialContext: (&net.Dialer{LocalAddr: from, Timeout: 10 * time.Second}).DialContext}
}

// widgetFrame is what the bench reads of a widget frame.
type widgetFrame struct {
	Type  string `json:"type"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// readUntil reads frames until one of type want, failing on an error frame.
func readUntil(ws *websocket.Conn, want string) error {
	ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var f widgetFrame
		if err := ws.ReadJSON(&f); err != nil {
			return fmt.Errorf("waiting for %s: %w", want, err)
		}
		if f.Type == want {
			return nil
		}
		if f.Type == "error" && f.Error != nil {
			return fmt.Errorf("waiting for %s: error %s: %s", want, f.Error.Code, f.Error.Message)
		}
	}
}

// openWidget connects a new shopper and says hello; it returns once welcomed.
func openWidget(ctx context.Context, url string, from *net.TCPAddr) (*websocket.Conn, error) {
	ws, resp, err := widgetDialer(from).DialContext(ctx, url, http.Header{"Origin": {shopOrigin}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial widget: %w (status %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial widget: %w", err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","visitor_token":null,"page_url":"http://bench.local/mugs"}`)); err != nil {
		ws.Close()
		return nil, err
	}
	if err := readUntil(ws, "welcome"); err != nil {
		ws.Close()
		return nil, err
	}
	return ws, nil
}

// benchWidgetIdle measures the server's memory per idle widget socket: its RSS before
// and after IdleSockets welcomed widgets connect, over their number. Warm-up sockets
// connect first, 50 at a time, until the server's Go runtime has run a garbage
// collection (its /metrics count): the garbage of start-up is otherwise freed and
// returned to the system during the measurement, which hides the sockets' cost or even
// turns it negative.
func benchWidgetIdle(ctx context.Context, s *server, sc scale, res *results) error {
	url, err := chatInbox(ctx, s, "Bench Idle Chat")
	if err != nil {
		return err
	}
	maxWarm := max(100, sc.IdleSockets/2)
	if need := uint64(maxWarm + sc.IdleSockets + 200); fileLimit() < need {
		return fmt.Errorf("open-file limit %d is below the %d this scale needs; raise ulimit -Hn", fileLimit(), need)
	}
	var socks []*websocket.Conn
	defer func() {
		for _, ws := range socks {
			ws.Close()
		}
	}()
	open := func(n int) error {
		batch := make([]*websocket.Conn, n)
		from := len(socks)
		_, err := runLoad(ctx, 32, n, 5*time.Minute, func(ctx context.Context, i int) error {
			ws, err := openWidget(ctx, url, shopperAddr(idleAddrs, from+i))
			batch[i] = ws
			return err
		})
		for _, ws := range batch {
			if ws != nil {
				socks = append(socks, ws)
			}
		}
		return err
	}
	gcs, err := s.gcCount(ctx)
	if err != nil {
		return err
	}
	for warm := 0; ; warm += 50 {
		n, err := s.gcCount(ctx)
		if err != nil {
			return err
		}
		if n > gcs {
			break
		}
		if warm >= maxWarm {
			res.note(fmt.Sprintf("widget memory: the server ran no garbage collection during %d warm-up sockets; start-up garbage may distort the figure", warm))
			break
		}
		if err := open(50); err != nil {
			return err
		}
	}
	warm := len(socks)
	before, err := s.settledRSS()
	if err != nil {
		return err
	}
	if err := open(sc.IdleSockets); err != nil {
		return err
	}
	after, err := s.settledRSS()
	if err != nil {
		return err
	}
	res.set(keyWidgetBytes, float64(after-before)/float64(sc.IdleSockets))
	note := fmt.Sprintf("widget memory: %.1f MB RSS delta over %d idle sockets, after %d warm-up sockets", float64(after-before)/(1<<20), sc.IdleSockets, warm)
	if sc.IdleSockets < 2000 {
		note += "; with this few sockets the figure is close to the noise of the Go runtime's memory"
	}
	res.note(note)
	return nil
}

// benchWidget measures new chats per second: a shopper connects, says hello, sends a
// first message and gets its ack, which comes only once the message is committed.
// Beside it, the same exchange with the bare gorilla server, which only echoes.
func benchWidget(ctx context.Context, s *server, sc scale, res *results) error {
	url, err := chatInbox(ctx, s, "Bench Chat")
	if err != nil {
		return err
	}
	lr, err := runLoad(ctx, sc.WidgetConc, sc.WidgetChats, sc.WidgetLimit, func(ctx context.Context, i int) error {
		ws, err := openWidget(ctx, url, shopperAddr(chatAddrs, i))
		if err != nil {
			return err
		}
		defer ws.Close()
		msg, _ := json.Marshal(map[string]string{"type": "message", "client_id": "bench-" + strconv.Itoa(i), "text": "Hello, do you ship to Canada?"})
		if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
			return err
		}
		return readUntil(ws, "ack")
	})
	if err != nil {
		return err
	}
	res.set(keyWidgetChats, lr.perSec())

	bare, err := newBareServer()
	if err != nil {
		return err
	}
	defer bare.close()
	blr, err := runLoad(ctx, sc.WidgetConc, sc.WidgetChats, sc.WidgetLimit, func(ctx context.Context, i int) error {
		ws, _, err := widgetDialer(shopperAddr(chatAddrs, i)).DialContext(ctx, bare.url, nil)
		if err != nil {
			return err
		}
		defer ws.Close()
		for _, m := range []string{`{"type":"hello"}`, `{"type":"message","text":"Hello, do you ship to Canada?"}`} {
			if err := ws.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
				return err
			}
			if _, _, err := ws.ReadMessage(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bare chats: %w", err)
	}
	res.set(keyBareChats, blr.perSec())
	return nil
}

// chatInbox creates a chat inbox open to shopOrigin and returns its socket URL.
func chatInbox(ctx context.Context, s *server, name string) (string, error) {
	id, err := s.createInbox(ctx, crm.KindChat, name, map[string]any{"allowed_origins": []string{shopOrigin}})
	if err != nil {
		return "", err
	}
	return "ws" + strings.TrimPrefix(s.url, "http") + "/widget/ws?inbox=" + strconv.FormatInt(id, 10), nil
}
