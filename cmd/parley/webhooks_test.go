package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/webhooks"
)

// TestServeDeliversWebhooks starts the binary with --allow-private-network, adds a
// webhook to a receiver on loopback and files a message: the receiver gets its
// ticket.created, signed with the secret the API showed. After a restart on the same
// data the next ticket arrives too, and the first is not sent again.
func TestServeDeliversWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()

	var mu sync.Mutex
	var secret string
	var got []string // "<delivery> <subject> <signed>"
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct {
			Data struct{ Subject string }
		}
		json.Unmarshal(body, &ev)
		mu.Lock()
		defer mu.Unlock()
		signed := webhooks.Verify(secret, r.Header.Get("X-Parley-Signature"), body, time.Now(), 5*time.Minute) == nil
		got = append(got, r.Header.Get("X-Parley-Delivery")+" "+ev.Data.Subject+" "+map[bool]string{true: "signed", false: "unsigned"}[signed])
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	received := func(n int) []string {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			mu.Lock()
			out := append([]string(nil), got...)
			mu.Unlock()
			if len(out) >= n || time.Now().After(deadline) {
				return out
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	start := func() (base string, stop func()) {
		t.Helper()
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--allow-private-network")
		cmd.Env = append(os.Environ(), "PARLEY_ADMIN_EMAIL=boss@shop.example", "PARLEY_ADMIN_PASSWORD=a long admin password")
		stdout, _ := cmd.StdoutPipe()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		urlRe := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)/`)
		for base == "" && lines.Scan() {
			if m := urlRe.FindStringSubmatch(lines.Text()); m != nil {
				base = m[1]
			}
		}
		if base == "" {
			cmd.Process.Kill()
			t.Fatalf("no URL printed; stderr:\n%s", stderr.String())
		}
		go io.Copy(io.Discard, stdout)
		return base, func() {
			cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Errorf("serve exited with %v\n%s", err, stderr.String())
			}
		}
	}
	session := func(base string) func(method, path string, body any, want int) map[string]any {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		csrf := ""
		call := func(method, path string, body any, want int) map[string]any {
			t.Helper()
			b, _ := json.Marshal(body)
			req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-CSRF-Token", csrf)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != want {
				t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, raw)
			}
			var out map[string]any
			json.Unmarshal(raw, &out)
			return out
		}
		login := call("POST", "/api/v1/login", map[string]string{"email": "boss@shop.example", "password": "a long admin password"}, 200)
		csrf, _ = login["csrf_token"].(string)
		return call
	}

	base, stop := start()
	call := session(base)
	wh := call("POST", "/api/v1/webhooks", map[string]any{"url": rc.URL + "/parley", "events": []string{"ticket.created"}}, 201)
	mu.Lock()
	secret, _ = wh["secret"].(string)
	mu.Unlock()
	inbox := call("POST", "/api/v1/inboxes", map[string]any{"kind": "api", "name": "Backoffice"}, 201)
	call("POST", "/api/v1/inbound", map[string]any{"inbox": inbox["id"], "external_id": "ext-1",
		"from": map[string]string{"email": "zoe@x.example"}, "subject": "First parcel", "text": "Where is it?"}, 201)
	if r := received(1); len(r) != 1 || !strings.HasSuffix(r[0], " First parcel signed") {
		t.Fatalf("the receiver got %q", r)
	}
	stop()

	base, stop = start()
	defer stop()
	call = session(base)
	call("POST", "/api/v1/inbound", map[string]any{"inbox": inbox["id"], "external_id": "ext-2",
		"from": map[string]string{"email": "zoe@x.example"}, "subject": "Second parcel", "text": "And this one?"}, 201)
	r := received(2)
	if len(r) != 2 || !strings.HasSuffix(r[1], " Second parcel signed") || strings.Fields(r[0])[0] == strings.Fields(r[1])[0] {
		t.Fatalf("after the restart the receiver got %q", r)
	}
	log := call("GET", fmt.Sprintf("/api/v1/webhooks/%v/deliveries", wh["id"]), nil, 200)
	if ds, _ := log["deliveries"].([]any); len(ds) != 2 {
		t.Fatalf("delivery log %v", log)
	}
}
