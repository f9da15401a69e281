package main_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeMetricsAddr starts the binary with /metrics on a listener of its own behind
// a token, and with the opt-out of durable commits: /metrics is gone from the main
// address and answers only with the token on its own. Bad --sync values and a data dir
// that cannot be made are refused with clear errors.
func TestServeMetricsAddr(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()

	out, err := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--sync", "off").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `--sync: sync mode "off": want full or normal`) {
		t.Errorf("serve --sync off: %v\n%s", err, out)
	}
	// A data dir that cannot be made: the error names it and the cause, as root too.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(file, "data")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), file) || !strings.Contains(string(out), "not a directory") {
		t.Errorf("serve on a data dir under a file: %v\n%s", err, out)
	}

	const token = "metrics-token-for-the-test-0123456789"
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--sync", "normal",
		"--metrics-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "PARLEY_ADMIN_EMAIL=boss@shop.example", "PARLEY_ADMIN_PASSWORD=a long admin password",
		"PARLEY_METRICS_TOKEN="+token)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	baseRe := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)/`)
	metricsRe := regexp.MustCompile(`^Metrics: (http://127\.0\.0\.1:\d+/metrics)$`)
	var base, metrics string
	for (base == "" || metrics == "") && lines.Scan() {
		if m := baseRe.FindStringSubmatch(lines.Text()); m != nil {
			base = m[1]
		}
		if m := metricsRe.FindStringSubmatch(lines.Text()); m != nil {
			metrics = m[1]
		}
	}
	if base == "" || metrics == "" {
		t.Fatalf("printed URL %q, metrics %q; stderr:\n%s", base, metrics, stderr.String())
	}
	go io.Copy(io.Discard, stdout)

	get := func(url, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get(base+"/healthz", ""); status != 200 {
		t.Errorf("healthz: %d %s", status, body)
	}
	if status, body := get(base+"/metrics", "Bearer "+token); status != 404 {
		t.Errorf("/metrics on --addr: %d %.200s", status, body)
	}
	if status, _ := get(metrics, ""); status != 401 {
		t.Errorf("/metrics without the token: %d", status)
	}
	if status, body := get(metrics, "Bearer "+token); status != 200 || !strings.Contains(body, "parley_http_requests_total") {
		t.Errorf("/metrics with the token: %d %.200s", status, body)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
}

// TestServePublicURL starts the binary with a public URL: a bad one is refused before
// anything is opened, and a good one is printed in its plain form and makes the session
// cookie Secure.
func TestServePublicURL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	for _, tc := range []struct{ url, says string }{
		{"desk.example.com", "not an http or https URL"},
		{"ftp://desk.example.com", "not an http or https URL"},
		{"https://", "no host"},
		{"https://admin:secret@desk.example.com", "a user name does not belong in it"},
		{"https://desk.example.com/helpdesk", "without a path, query or fragment"},
		{"https://desk.example.com/?x=1", "without a path, query or fragment"},
		{"https://desk.example.com:port", "invalid port"},
	} {
		data := t.TempDir()
		// A value that is not refused would serve until the timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		out, err := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--public-url", tc.url).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "--public-url") || !strings.Contains(string(out), tc.says) {
			t.Errorf("--public-url %s: %v\n%s", tc.url, err, out)
		}
		if files, _ := os.ReadDir(data); len(files) != 0 {
			t.Errorf("--public-url %s: the data dir was used: %v", tc.url, files)
		}
	}

	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir())
	cmd.Env = append(os.Environ(), "PARLEY_ADMIN_EMAIL=boss@shop.example", "PARLEY_ADMIN_PASSWORD=a long admin password",
		"PARLEY_PUBLIC_URL=HTTPS://Desk.Example.com:443/")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "Parley is running: open https://desk.example.com/" {
		t.Fatalf("printed %q", lines.Text())
	}
	go io.Copy(io.Discard, stdout)
	logs := bufio.NewScanner(stderr)
	addrRe := regexp.MustCompile(`msg=started addr=(127\.0\.0\.1:\d+)`)
	var addr string
	for addr == "" && logs.Scan() {
		if m := addrRe.FindStringSubmatch(logs.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatal("no listen address logged")
	}
	go io.Copy(io.Discard, stderr)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Post("http://"+addr+"/api/v1/login", "application/json",
		strings.NewReader(`{"email":"boss@shop.example","password":"a long admin password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Cookies(); resp.StatusCode != 200 || len(c) != 1 || !c[0].Secure {
		t.Errorf("login: %d, cookies %v", resp.StatusCode, c)
	}
}
