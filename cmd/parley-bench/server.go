package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The admin the bench's servers create on their empty databases.
const (
	adminEmail    = "bench-admin@bench.parley.test"
	adminPassword = "bench-password-not-secret"
)

// server is a running `parley serve` child process and an API client of it.
type server struct {
	url       string // http://127.0.0.1:port, also its --public-url
	dir       string
	database  string // the --database URL, when not SQLite in dir
	logPath   string
	parley    string
	cmd       *exec.Cmd
	exited    chan struct{}
	started   time.Time
	startTook time.Duration // process start to the first healthy /healthz
	rssIdle   int64         // bytes, right after it became healthy
	token     string        // bearer token of the admin
	session   string        // session cookie of the admin
	hc        *http.Client
}

// startServer starts `parley serve` on a free loopback port with dir as its data dir and
// the extra flags, and waits until it is healthy. The port is picked first because
// webhooks are signed for the public URL, which must be known when the server starts.
func startServer(ctx context.Context, cfg config, dir string, extra ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &server{url: "http://" + addr, dir: dir, logPath: dir + ".log", parley: cfg.parley,
		exited: make(chan struct{}), hc: newHTTPClient(256)}
	for i, a := range extra {
		if a == "--database" && i+1 < len(extra) {
			s.database = extra[i+1]
		}
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, fmt.Errorf("create server log: %w", err)
	}
	// The fake mail servers and Twilio of the channel scenarios listen on loopback.
	s.cmd = exec.Command(cfg.parley, append([]string{"serve", "--addr", addr, "--data", dir, "--public-url", s.url,
		"--allow-private-network"}, extra...)...)
	s.cmd.Env = childEnv()
	s.cmd.Stderr = logf
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("server stdout: %w", err)
	}
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", cfg.parley, err)
	}
	announced := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, "stdout:", line)
			if _, rest, ok := strings.Cut(line, "Parley is running: open "); ok {
				select {
				case announced <- strings.TrimRight(strings.TrimSpace(rest), "/"):
				default:
				}
			}
		}
	}()
	go func() {
		s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()

	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	select {
	case u := <-announced:
		if u != s.url {
			s.stop()
			return nil, fmt.Errorf("server announced %s, want %s", u, s.url)
		}
	case <-s.exited:
		return nil, fmt.Errorf("server exited at start; see %s", s.logPath)
	case <-deadline.C:
		s.stop()
		return nil, errors.New("server did not announce its URL within 60s")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	if err := s.waitHealthy(ctx, start.Add(60*time.Second)); err != nil {
		s.stop()
		return nil, err
	}
	s.started, s.startTook = start, time.Since(start)
	if s.rssIdle, err = s.settledRSS(); err != nil {
		s.stop()
		return nil, err
	}
	if err := s.login(ctx); err != nil {
		s.stop()
		return nil, err
	}
	slog.Info("server started", "url", s.url, "pid", s.cmd.Process.Pid, "start_ms", s.startTook.Milliseconds(),
		"rss_mb", s.rssIdle>>20, "files", fileLimit())
	return s, nil
}

// waitHealthy polls /healthz until it answers 200.
func (s *server) waitHealthy(ctx context.Context, deadline time.Time) error {
	for {
		resp, err := s.hc.Get(s.url + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("server exited; see %s", s.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not healthy within 60s: %v", err)
		}
	}
}

// login logs the admin in (its session drives the agent sockets, as a console's would)
// and creates a bearer token with `parley token create` for everything else.
func (s *server) login(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"email": adminEmail, "password": adminPassword})
	req, _ := http.NewRequestWithContext(ctx, "POST", s.url+"/api/v1/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	var csrf struct {
		Token string `json:"csrf_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&csrf)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("login: status %d", resp.StatusCode)
	} else if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "parley_session" {
			s.session = c.Value
		}
	}
	if s.session == "" {
		return errors.New("login set no session cookie")
	}
	if s.database != "" {
		return s.createToken(ctx, csrf.Token)
	}
	cmd := exec.CommandContext(ctx, s.parley, "token", "create", "--email", adminEmail, "--name", "bench", "--data", s.dir)
	cmd.Env = childEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("parley token create: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	s.token = strings.TrimSpace(string(out))
	return nil
}

// createToken creates the bench's bearer token through the API with the admin's
// session, for a server on PostgreSQL, whose database `parley token create --data` would
// not find.
func (s *server) createToken(ctx context.Context, csrf string) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", s.url+"/api/v1/tokens", strings.NewReader(`{"name":"bench"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	req.AddCookie(&http.Cookie{Name: "parley_session", Value: s.session})
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("create token: %w", &apiError{resp.StatusCode, string(b)})
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return fmt.Errorf("create token: no token in the answer (%v)", err)
	}
	s.token = out.Token
	return nil
}

// stop ends the server with SIGTERM, and kills it if it has not exited 15 s later.
func (s *server) stop() {
	if s.cmd.Process == nil {
		return
	}
	s.hc.CloseIdleConnections()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		slog.Warn("server did not stop; killing it", "pid", s.cmd.Process.Pid)
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// rss returns the server's resident memory from /proc/<pid>/status.
func (s *server) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read server memory: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// settledRSS reads the server's RSS every 500 ms until two readings differ by less than
// half a percent, for at most 10 s. After a garbage collection the Go runtime returns
// freed memory to the system gradually, and a single reading would catch it midway.
func (s *server) settledRSS() (int64, error) {
	prev, err := s.rss()
	if err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		cur, err := s.rss()
		if err != nil {
			return 0, err
		}
		slog.Debug("server rss", "mb", float64(cur)/(1<<20))
		if d := cur - prev; d < prev/200 && -d < prev/200 {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// gcCount returns how many garbage collections the server's Go runtime has run, from
// go_gc_duration_seconds_count of its /metrics.
func (s *server) gcCount(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.url+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_gc_duration_seconds_count "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return 0, fmt.Errorf("metrics: go_gc_duration_seconds_count %q: %w", v, err)
			}
			return int64(n), nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	return 0, fmt.Errorf("metrics (status %d) have no go_gc_duration_seconds_count", resp.StatusCode)
}

// apiError is a non-expected answer of the API.
type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("status %d: %.300s", e.status, e.body) }

// statusOf returns the HTTP status of an apiError, else 0.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	return 0
}

// api sends a JSON request with the bearer token and decodes a 2xx answer into out.
func (s *server) api(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %w", method, path, &apiError{resp.StatusCode, string(b)})
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// get sends an authenticated GET and reads the whole answer, which must be 200.
func (s *server) get(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", s.url+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &apiError{status: resp.StatusCode}
	}
	return nil
}

// createInbox creates an inbox and returns its id.
func (s *server) createInbox(ctx context.Context, kind, name string, config map[string]any) (int64, error) {
	var out struct {
		ID int64 `json:"id"`
	}
	err := s.api(ctx, "POST", "/api/v1/inboxes", map[string]any{"kind": kind, "name": name, "config": config}, &out)
	if err != nil {
		return 0, fmt.Errorf("create %s inbox: %w", kind, err)
	}
	return out.ID, nil
}

// newHTTPClient returns a client that keeps up to conns connections alive, so that load
// measures requests rather than TCP handshakes.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only, whatever the environment says
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// childEnv is the environment of parley child processes: ours without PARLEY_ settings,
// which would override the bench's, plus the admin login.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			env = append(env, kv)
		}
	}
	return append(env, "PARLEY_ADMIN_EMAIL="+adminEmail, "PARLEY_ADMIN_PASSWORD="+adminPassword)
}

func numCPU() int { return runtime.NumCPU() }
