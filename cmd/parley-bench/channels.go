package main

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"parley/channels/email/imaptest"
	"parley/channels/phone"
	"parley/crm"

	"github.com/gorilla/websocket"
)

const (
	benchMailbox  = "support@bench.parley.test"
	benchIMAPPass = "bench-imap-password"
)

// benchEmail measures mail to tickets: an IMAP server in this process (go-imap's
// imapmemserver, with IDLE) holds the inbox's mailbox; once the server's email channel
// is connected, EmailMsgs mails are appended and timed until each is a ticket, as an
// agent socket sees them arrive (ticket.created of the inbox).
func benchEmail(ctx context.Context, s *server, sc scale, res *results) error {
	imapSrv, err := imaptest.Start(benchMailbox, benchIMAPPass, imaptest.Options{IdlePoll: 20 * time.Millisecond})
	if err != nil {
		return err
	}
	defer imapSrv.Close()
	smtpPort, err := freePort() // nothing listens: the bench sends no mail
	if err != nil {
		return err
	}
	id, err := s.createInbox(ctx, crm.KindEmail, "Bench Mail", map[string]any{
		"address": benchMailbox, "imap_host": "127.0.0.1", "imap_port": imapSrv.Port(),
		"imap_security": "none", "imap_password": benchIMAPPass,
		"smtp_host": "127.0.0.1", "smtp_port": smtpPort, "smtp_security": "none",
	})
	if err != nil {
		return err
	}
	if err := waitInboxConnected(ctx, s, id, 30*time.Second); err != nil {
		return err
	}
	counter, err := countTickets(ctx, s, id)
	if err != nil {
		return err
	}
	defer counter.close()

	start := time.Now()
	for i := range sc.EmailMsgs {
		raw := fmt.Sprintf("From: Shopper %d <mail-shopper-%d@bench.parley.test>\r\nTo: %s\r\nSubject: Question about order %d\r\n"+
			"Message-ID: <bench-%d@bench.parley.test>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
			"Hello, where is my order %d? It was due last week.\r\n", i, i, benchMailbox, 1000+i, i, time.Now().Format(time.RFC1123Z), 1000+i)
		if err := imapSrv.Deliver("INBOX", raw); err != nil {
			return fmt.Errorf("mail %d: %w", i, err)
		}
	}
	got := counter.wait(int64(sc.EmailMsgs), start.Add(sc.EmailLimit))
	elapsed := time.Since(start)
	if got == 0 {
		return fmt.Errorf("no mail became a ticket within %s", sc.EmailLimit)
	}
	if got < int64(sc.EmailMsgs) {
		res.note(fmt.Sprintf("email: %d of %d mails were tickets after its %s limit", got, sc.EmailMsgs, sc.EmailLimit))
	}
	res.set(keyEmailMsgsPerS, float64(got)/elapsed.Seconds())
	return nil
}

// waitInboxConnected polls the inbox until its channel reports it connected.
func waitInboxConnected(ctx context.Context, s *server, id int64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var out struct {
		Status *struct {
			State     string `json:"state"`
			LastError string `json:"last_error"`
		} `json:"status"`
	}
	for {
		if err := s.api(ctx, "GET", "/api/v1/inboxes/"+strconv.FormatInt(id, 10), nil, &out); err != nil {
			return err
		}
		if out.Status != nil && out.Status.State == "connected" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("inbox %d not connected within %s: %+v", id, limit, out.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ticketCounter is an agent socket counting ticket.created events of one inbox.
type ticketCounter struct {
	ws    *websocket.Conn
	n     atomic.Int64
	ended chan struct{}
}

func countTickets(ctx context.Context, s *server, inbox int64) (*ticketCounter, error) {
	u := "ws" + strings.TrimPrefix(s.url, "http") + "/api/v1/ws"
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, u, http.Header{"Origin": {s.url}, "Authorization": {"Bearer " + s.token}})
	if err != nil {
		return nil, fmt.Errorf("agent socket: %w", err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"presence","status":"online"}`)); err != nil {
		ws.Close()
		return nil, err
	}
	c := &ticketCounter{ws: ws, ended: make(chan struct{})}
	go func() {
		defer close(c.ended)
		for {
			var f struct {
				Type string `json:"type"`
				Data struct {
					InboxID int64 `json:"inbox_id"`
				} `json:"data"`
			}
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			if f.Type == crm.EventTicketCreated && f.Data.InboxID == inbox {
				c.n.Add(1)
			}
		}
	}()
	return c, nil
}

// wait polls the count until it reaches want or the deadline passes, and returns it.
func (c *ticketCounter) wait(want int64, deadline time.Time) int64 {
	for c.n.Load() < want && time.Now().Before(deadline) {
		select {
		case <-c.ended:
			return c.n.Load()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return c.n.Load()
}

func (c *ticketCounter) close() {
	c.ws.Close()
	<-c.ended
}

// benchSMS posts signed Twilio SMS webhooks at 32 concurrent clients. The inbox's REST
// base is a fake in this process, so nothing can reach Twilio.
func benchSMS(ctx context.Context, s *server, sc scale, res *results) error {
	fake := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid":"SM00000000000000000000000000000000","status":"queued"}`)
	}), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go fake.Serve(ln)
	defer fake.Close()

	token := randomHex(16)
	const number = "+14155550100"
	id, err := s.createInbox(ctx, crm.KindPhone, "Bench SMS", map[string]any{
		"account_sid": "AC" + randomHex(16), "auth_token": token, "phone_number": number,
		"api_base_url": "http://" + ln.Addr().String(),
	})
	if err != nil {
		return err
	}
	hookURL := s.url + "/webhooks/twilio/" + strconv.FormatInt(id, 10) + "/messages"
	lr, err := runLoad(ctx, 32, sc.SMSHooks, sc.SMSLimit, func(ctx context.Context, i int) error {
		form := url.Values{
			"MessageSid": {fmt.Sprintf("SM%032x", i+1)}, "AccountSid": {"AC" + strings.Repeat("0", 32)},
			"From": {fmt.Sprintf("+1415556%04d", i%10000)}, "To": {number}, "NumMedia": {"0"},
			"Body": {"Hi, my order " + strconv.Itoa(i) + " has not arrived"},
		}
		body := form.Encode()
		req, _ := http.NewRequestWithContext(ctx, "POST", hookURL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", phone.Signature(token, hookURL, form))
		resp, err := s.hc.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return &apiError{status: resp.StatusCode, body: string(b)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.set(keySMSPerS, lr.perSec())
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// benchReports times the manager reports on the filled database, if the server has
// them: GET /api/v1/reports/overview (median of ReportRepeat) and the rows per second
// of /api/v1/reports/tickets.csv, over the 91 days the fill covers. A 404 leaves both
// null.
func benchReports(ctx context.Context, s *server, sc scale, res *results) error {
	// The filled data spans the last 90 days.
	now := time.Now().UTC()
	rng := "?from=" + now.AddDate(0, 0, -91).Format(time.DateOnly) + "&to=" + now.Format(time.DateOnly)
	var lat latencies
	for range sc.ReportRepeat {
		t := time.Now()
		err := s.get(ctx, "/api/v1/reports/overview"+rng)
		if statusOf(err) == http.StatusNotFound {
			res.note("reports: GET /api/v1/reports/overview answered 404, so report_overview_ms is null")
			lat = nil
			break
		} else if err != nil {
			return fmt.Errorf("reports overview: %w", err)
		}
		lat = append(lat, time.Since(t))
	}
	if len(lat) > 0 {
		res.set(keyReportOverview, lat.pct(50))
	}

	req, err := http.NewRequestWithContext(ctx, "GET", s.url+"/api/v1/reports/tickets.csv"+rng, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	t := time.Now()
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("tickets.csv: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		res.note("reports: GET /api/v1/reports/tickets.csv answered 404, so csv_rows_per_s is null")
		return nil
	} else if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("tickets.csv: %w", &apiError{resp.StatusCode, string(b)})
	}
	rows := -1 // the header
	cr := csv.NewReader(resp.Body)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	for {
		_, err := cr.Read()
		if err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("read tickets.csv: %w", err)
		}
		rows++
	}
	if rows <= 0 {
		return errors.New("tickets.csv has no rows")
	}
	res.set(keyCSVRowsPerS, float64(rows)/time.Since(t).Seconds())
	return nil
}
