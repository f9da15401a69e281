package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAllowPrivateNetworkFlag starts the binary strict, with --allow-private-network and
// with PARLEY_ALLOW_PRIVATE_NETWORK=1, and saves a Shopify order source whose
// api_base_url is on loopback: the strict server refuses it with a 400 that names the
// flag, the other two store it.
func TestAllowPrivateNetworkFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want int
	}{
		{"strict", nil, "", http.StatusBadRequest},
		{"flag", []string{"--allow-private-network"}, "", http.StatusCreated},
		{"env", nil, "PARLEY_ALLOW_PRIVATE_NETWORK=1", http.StatusCreated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, tc.args...)
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "PARLEY_ADMIN_EMAIL=boss@shop.example", "PARLEY_ADMIN_PASSWORD=a long admin password",
				"PARLEY_ALLOW_PRIVATE_NETWORK=")
			if tc.env != "" {
				cmd.Env = append(cmd.Env, tc.env)
			}
			stdout, _ := cmd.StdoutPipe()
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			lines := bufio.NewScanner(stdout)
			urlRe := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)/`)
			var base string
			for base == "" && lines.Scan() {
				if m := urlRe.FindStringSubmatch(lines.Text()); m != nil {
					base = m[1]
				}
			}
			if base == "" {
				t.Fatalf("no URL printed; stderr:\n%s", stderr.String())
			}
			go io.Copy(io.Discard, stdout)

			jar, _ := cookiejar.New(nil)
			hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			resp, err := hc.Post(base+"/api/v1/login", "application/json",
				strings.NewReader(`{"email":"boss@shop.example","password":"a long admin password"}`))
			if err != nil {
				t.Fatal(err)
			}
			var login struct {
				CSRF string `json:"csrf_token"`
			}
			json.NewDecoder(resp.Body).Decode(&login)
			resp.Body.Close()
			req, _ := http.NewRequest("POST", base+"/api/v1/order-sources", strings.NewReader(`{"kind":"shopify","name":"Shop",
				"shop_domain":"x.myshopify.com","access_token":"shpat_x","api_base_url":"http://127.0.0.1:9"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-CSRF-Token", login.CSRF)
			resp, err = hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("create source: %d %s, want %d", resp.StatusCode, raw, tc.want)
			}
			if tc.want == http.StatusBadRequest && !strings.Contains(string(raw), "--allow-private-network") {
				t.Fatalf("refusal does not name the flag: %s", raw)
			}
		})
	}
}
