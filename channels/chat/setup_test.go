package chat_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"parley/channels/chat"
	"parley/crm"
)

// TestIdentitySnippets runs every identity-signing snippet the console shows, with the
// language's own interpreter where this machine has it: each must print the hash the
// widget checks, hex(HMAC-SHA256(secret, lower-cased email)).
func TestIdentitySnippets(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("alice@example.com"))
	want := hex.EncodeToString(mac.Sum(nil))
	run := map[string]struct {
		file string
		cmd  []string
	}{
		"Node.js": {"sign.js", []string{"node", "sign.js"}},
		"PHP":     {"sign.php", []string{"php", "sign.php"}},
		"Python":  {"sign.py", []string{"python3", "sign.py"}},
		"Ruby":    {"sign.rb", []string{"ruby", "sign.rb"}},
		"Go":      {"main.go", []string{"go", "run", "main.go"}},
	}
	if len(chat.IdentitySnippets) != len(run) {
		t.Fatalf("%d snippets, this test runs %d", len(chat.IdentitySnippets), len(run))
	}
	for _, s := range chat.IdentitySnippets {
		t.Run(s.Language, func(t *testing.T) {
			r, ok := run[s.Language]
			if !ok {
				t.Fatalf("no runner for %s", s.Language)
			}
			if _, err := exec.LookPath(r.cmd[0]); err != nil {
				t.Skipf("SKIPPED: %s is not installed, the %s snippet is not run", r.cmd[0], s.Language)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, r.file), []byte(s.Code), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(r.cmd[0], r.cmd[1:]...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PARLEY_IDENTITY_SECRET="+secret, "GOFLAGS=", "GO111MODULE=off")
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != want {
				t.Fatalf("%s printed %q (%v), want %s", s.Language, out, err, want)
			}
		})
	}
}

// TestSetupInbox: the embed snippet names the channel's public URL and the inbox.
func TestSetupInbox(t *testing.T) {
	pub, _ := url.Parse("https://desk.example")
	ch := chat.New(nil, nil, chat.Options{PublicURL: pub})
	v, err := ch.SetupInbox(context.Background(), &crm.Inbox{ID: 7, Kind: crm.KindChat}, "http://127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if m["embed"] != `<script src="https://desk.example/widget.js" data-inbox="7" async></script>` ||
		!strings.Contains(m["embed_signed_in"].(string), `data-identity-hash=`) {
		t.Fatalf("setup = %v", m)
	}
}
