package email_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"parley/channels"
	"parley/crm"
	"parley/outbound"
)

// TestInboxSteps: the connection test of an email inbox shows each step with the
// server's answer, and stops at the step that fails: the name lookup, the connection,
// TLS on a port that speaks none, the login with the server's own refusal.
func TestInboxSteps(t *testing.T) {
	e := newEnv(t, nil)
	// The servers are on 127.0.0.1; a name is looked up by a stub that knows none, so
	// that no query leaves the machine.
	e.ch.Outbound = outbound.New(outbound.Options{AllowPrivateNetwork: true,
		Lookup: func(ctx context.Context, host string) ([]netip.Addr, error) { return nil, errors.New("no such host") }})
	names := func(steps []channels.TestStep) string {
		var s []string
		for _, st := range steps {
			mark := "ok"
			if !st.OK {
				mark = "FAIL"
			}
			s = append(s, st.Step+" "+mark)
		}
		return strings.Join(s, ", ")
	}
	steps := e.ch.TestInboxSteps(e.ctx, e.inbox)
	want := "IMAP DNS ok, IMAP connection ok, IMAP TLS ok, IMAP login ok, Mailbox ok, SMTP DNS ok, SMTP connection ok, SMTP TLS ok, SMTP login ok"
	if got := names(steps); got != want {
		t.Fatalf("steps of a working inbox = %s\nwant %s\n%+v", got, want, steps)
	}
	if !strings.Contains(steps[4].Detail, "INBOX holds 0 messages") || !strings.Contains(steps[8].Detail, "logged in as "+supportAddr) {
		t.Errorf("details = %+v", steps)
	}

	with := func(change func(in *crm.Inbox)) []channels.TestStep {
		in := *e.inbox
		in.Config = map[string]any{}
		for k, v := range e.inbox.Config {
			in.Config[k] = v
		}
		in.Secrets = map[string]string{}
		for k, v := range e.inbox.Secrets {
			in.Secrets[k] = v
		}
		change(&in)
		return e.ch.TestInboxSteps(e.ctx, &in)
	}
	for _, tc := range []struct {
		name, want, detail string
		change             func(in *crm.Inbox)
	}{
		{"wrong password", "IMAP DNS ok, IMAP connection ok, IMAP TLS ok, IMAP login FAIL", "login as " + supportAddr + " refused",
			func(in *crm.Inbox) { in.Secrets["imap_password"] = "wrong" }},
		{"unknown host", "IMAP DNS FAIL", "imap.nowhere.test cannot be found",
			func(in *crm.Inbox) { in.Config["imap_host"] = "imap.nowhere.test" }},
		{"TLS on a plain port", "IMAP DNS ok, IMAP connection ok, IMAP TLS FAIL", "does not speak TLS",
			func(in *crm.Inbox) { in.Config["imap_security"] = "tls" }},
		{"no mailbox", "IMAP DNS ok, IMAP connection ok, IMAP TLS ok, IMAP login ok, Mailbox FAIL", "Archive/2019 cannot be opened",
			func(in *crm.Inbox) { in.Config["imap_mailbox"] = "Archive/2019" }},
		{"wrong SMTP password", "SMTP login FAIL", "invalid credentials",
			func(in *crm.Inbox) { in.Secrets["smtp_password"] = "wrong" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := with(tc.change)
			got := names(steps)
			if !strings.HasSuffix(got, tc.want) || !strings.Contains(steps[len(steps)-1].Detail, tc.detail) {
				t.Fatalf("steps = %s (%+v), want them to end %s with %q", got, steps, tc.want, tc.detail)
			}
		})
	}

	// A closed port fails at the connection.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port := hostPort(t, ln.Addr().String())
	ln.Close()
	steps = with(func(in *crm.Inbox) { in.Config["imap_port"] = int(port) })
	if got := names(steps); got != "IMAP DNS ok, IMAP connection FAIL" {
		t.Fatalf("closed port: %s", got)
	}
}

// TestInboxStepsRefusesPrivate: with the strict outbound client, a host name that
// resolves to a private address fails at the connection step, before any packet is sent:
// the lookup is a stub that answers 10.0.0.7.
func TestInboxStepsRefusesPrivate(t *testing.T) {
	e := newEnv(t, nil)
	ch := e.newChannel()
	ch.Outbound = outbound.New(outbound.Options{Lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
		if host == "imap.inside.test" {
			return []netip.Addr{netip.MustParseAddr("10.0.0.7")}, nil
		}
		return nil, errors.New("no such host")
	}})
	in := *e.inbox
	in.Config = map[string]any{}
	for k, v := range e.inbox.Config {
		in.Config[k] = v
	}
	in.Config["imap_host"] = "imap.inside.test"
	steps := ch.TestInboxSteps(context.Background(), &in)
	last := steps[len(steps)-1]
	if len(steps) != 2 || last.Step != "IMAP connection" || last.OK || !strings.Contains(last.Detail, "10.0.0.7") {
		t.Fatalf("steps = %+v, want a refused connection to 10.0.0.7", steps)
	}
}
