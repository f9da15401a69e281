package main_test

import (
	"bufio"
	"bytes"
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
