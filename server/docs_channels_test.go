package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"parley/channels"
	"parley/channels/chat"
	"parley/channels/discord"
	"parley/channels/email"
	"parley/channels/phone"
	"parley/crm"
	"parley/server"
)

// Every example of docs/channels.md that creates an inbox works as written: each is sent
// to a server with every channel registered, as `parley serve` has them, and makes an
// inbox of the kind it names, its secrets sealed.
func TestDocsChannelInboxExamples(t *testing.T) {
	b, err := os.ReadFile("../docs/channels.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```sh\n(.*?)```")
	var examples []string
	for _, m := range block.FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], "/api/v1/inboxes ") && strings.Contains(m[1], `"kind"`) {
			examples = append(examples, m[1])
		}
	}
	if len(examples) < 3 {
		t.Fatalf("docs/channels.md has %d inbox examples; the email, phone and Discord ones are missing", len(examples))
	}

	reg := channels.NewRegistry()
	e := newHubEnvWith(t, server.Options{Channels: reg})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg.Register(crm.KindAPI, channels.APIConnector)
	reg.Register(crm.KindEmail, email.New(e.db, e.bus, logger))
	reg.Register(crm.KindPhone, phone.New(e.db, phone.Options{Logger: logger}))
	reg.Register(crm.KindChat, chat.New(e.db, e.bus, chat.Options{Logger: logger, Connectors: reg}))
	reg.Register(crm.KindDiscord, discord.New(e.db, e.bus, discord.Options{Logger: logger}))
	token := e.bearer("admin@test.example").token

	// The docs name the server as the reader's own: desk.example with https.
	host := regexp.MustCompile(`https://desk\.example(\.com)?/`)
	kind := regexp.MustCompile(`"kind": ?"(\w+)"`)
	for _, ex := range examples {
		cmd := host.ReplaceAllString(ex, "http://127.0.0.1:8080/")
		status, body := runCurl(t, cmd, map[string]string{"TOKEN": token}, e.srv.URL, nil)
		if status != 201 {
			t.Fatalf("%s\n= %d %s", ex, status, body)
		}
		var in struct {
			Kind       string         `json:"kind"`
			Config     map[string]any `json:"config"`
			SecretsSet []string       `json:"secrets_set"`
		}
		json.Unmarshal(body, &in)
		if want := kind.FindStringSubmatch(ex)[1]; in.Kind != want || len(in.SecretsSet) == 0 {
			t.Fatalf("%s\n= %s", ex, body)
		}
		for k := range in.Config {
			if strings.HasSuffix(k, "password") || strings.HasSuffix(k, "token") || strings.HasSuffix(k, "secret") {
				t.Fatalf("the secret %s is shown: %s", k, body)
			}
		}
	}
}
