package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"parley/channels"
	"parley/crm"
	"parley/crm/storetest/teststore"
	"parley/server"
)

// TestInboxThroughAPI creates a Discord inbox the way an admin does, through the HTTP
// API, and checks what the admin sees: the token sealed, the bot connected without a
// restart, bad configs refused, and a DM filed and answered.
func TestInboxThroughAPI(t *testing.T) {
	st := teststore.Open(t, teststore.Options{})
	db, bus := st.Store, st.Bus
	fake := newFakeDiscord(t)
	ch := New(db, bus, Options{AllowedCDNHosts: []string{fake.host()}, ReconnectDelay: 10 * time.Millisecond,
		Outbound: allowPrivate})
	reg := channels.NewRegistry()
	reg.Register(crm.KindDiscord, ch)
	ctx, cancel := context.WithCancel(crm.AsSystem(context.Background()))
	done := make(chan struct{}, 2)
	go func() { ch.Run(ctx); done <- struct{}{} }()
	disp := &channels.Dispatcher{Outbox: db, Bus: bus, Connectors: reg, Poll: 20 * time.Millisecond}
	go func() { disp.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	srv := httptest.NewServer(server.New(db, server.Options{Channels: reg, Bus: bus,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(srv.Close)
	admin, err := db.CreateAgent(crm.AsSystem(context.Background()), &crm.NewAgent{Email: "admin@test.example", Name: "Ada", Role: crm.RoleAdmin, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := db.CreateToken(crm.AsSystem(context.Background()), admin.ID, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string, wantStatus int, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, data, wantStatus)
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, data)
			}
		}
	}

	for _, bad := range []string{
		`{"kind":"discord","name":"x","config":{}}`,
		`{"kind":"discord","name":"x","config":{"bot_token":"t","support_channel_ids":[210000000000000001]}}`,
		`{"kind":"discord","name":"x","config":{"bot_token":"t","api_base_url":"javascript:alert(1)"}}`,
	} {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		call("POST", "/api/v1/inboxes", bad, http.StatusBadRequest, &e)
		if e.Error.Code != crm.EINVALID {
			t.Errorf("%s: code %q", bad, e.Error.Code)
		}
	}

	type inboxJSON struct {
		ID         int64                 `json:"id"`
		Config     map[string]any        `json:"config"`
		SecretsSet []string              `json:"secrets_set"`
		Status     *channels.InboxStatus `json:"status"`
	}
	var in inboxJSON
	call("POST", "/api/v1/inboxes", fmt.Sprintf(`{"kind":"discord","name":"Community","config":
		{"bot_token":"Bot %s","support_channel_ids":["%s"],"api_base_url":%q}}`, goodToken, supportChannel, fake.srv.URL),
		http.StatusCreated, &in)
	if _, ok := in.Config["bot_token"]; ok || len(in.SecretsSet) != 1 || in.SecretsSet[0] != "bot_token" {
		t.Errorf("config = %v, secrets_set = %v", in.Config, in.SecretsSet)
	}
	waitFor(t, "inbox status connected", func() bool {
		var got inboxJSON
		call("GET", fmt.Sprintf("/api/v1/inboxes/%d", in.ID), "", http.StatusOK, &got)
		return got.Status != nil && got.Status.State == "connected" && fake.live()
	})
	var test struct {
		OK    bool                `json:"ok"`
		Error string              `json:"error"`
		Steps []channels.TestStep `json:"steps"`
	}
	call("POST", fmt.Sprintf("/api/v1/inboxes/%d/test", in.ID), "", http.StatusOK, &test)
	// The test runs in steps, each with what Discord answered, and all of them pass.
	var steps []string
	for _, st := range test.Steps {
		if !st.OK {
			t.Errorf("step %s failed: %s", st.Step, st.Detail)
		}
		steps = append(steps, st.Step)
	}
	if !test.OK || test.Error != "" || strings.Join(steps, ", ") != "Bot token, Message Content intent, Servers, Support channels" {
		t.Errorf("connection test = %+v", test)
	}

	fake.dispatch("MESSAGE_CREATE", dmMessage(nextMsgID(), customerID, "Is the blue one back in stock?"))
	var list struct {
		Tickets []crm.Ticket `json:"tickets"`
	}
	waitFor(t, "ticket listed", func() bool {
		call("GET", fmt.Sprintf("/api/v1/tickets?inbox=%d", in.ID), "", http.StatusOK, &list)
		return len(list.Tickets) == 1
	})
	call("POST", fmt.Sprintf("/api/v1/tickets/%d/messages", list.Tickets[0].ID), `{"body":"Yes, since today @everyone"}`, http.StatusCreated, nil)
	waitFor(t, "reply posted", func() bool {
		posts, _, _ := fake.snapshot()
		return len(posts) == 1
	})
	posts, _, _ := fake.snapshot()
	if posts[0].Content != "Yes, since today @everyone" || posts[0].AllowedMentions == nil || len(posts[0].AllowedMentions.Parse) != 0 {
		t.Errorf("post = %+v", posts[0])
	}
}
