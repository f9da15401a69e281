package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"parley/channels"
	"parley/crm"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

var _ channels.InboxStepTester = (*Channel)(nil)

// checker runs the steps of a connection test and records each.
type checker struct {
	c     *Channel
	steps []channels.TestStep
}

func (k *checker) ok(step, format string, args ...any) {
	k.steps = append(k.steps, channels.TestStep{Step: step, OK: true, Detail: fmt.Sprintf(format, args...)})
}

// fail records a failed step; the test stops there.
func (k *checker) fail(step string, err error) []channels.TestStep {
	k.steps = append(k.steps, channels.TestStep{Step: step, Detail: err.Error()})
	return k.steps
}

// TestInboxSteps checks an email inbox's settings against its servers step by step, each
// with what the server answered: for IMAP the name lookup, the TCP connection, TLS, the
// greeting and login, and the mailbox; then the same for SMTP, ending with its login.
// It stops at the first step that fails.
func (c *Channel) TestInboxSteps(ctx context.Context, in *crm.Inbox) []channels.TestStep {
	c.defaults()
	cfg := ConfigOf(in)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	k := &checker{c: c}

	conn, err := k.connect(ctx, "IMAP", cfg.IMAPHost, cfg.IMAPPort)
	if err != nil {
		return k.steps
	}
	defer conn.Close()
	var state *tls.ConnectionState
	opts := &imapclient.Options{TLSConfig: c.watchedTLS(cfg.IMAPHost, &state)}
	var client *imapclient.Client
	switch cfg.IMAPSecurity {
	case SecurityTLS:
		tc := tls.Client(conn, opts.TLSConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return k.fail("IMAP TLS", explainTLS(err))
		}
		k.ok("IMAP TLS", "%s", describeTLS(state))
		client = imapclient.New(tc, opts)
	case SecurityStartTLS:
		if client, err = imapclient.NewStartTLS(conn, opts); err != nil {
			return k.fail("IMAP TLS", fmt.Errorf("STARTTLS: %w", explainTLS(err)))
		}
		k.ok("IMAP TLS", "STARTTLS: %s", describeTLS(state))
	default:
		k.ok("IMAP TLS", "none: the connection is not encrypted, use this only on a trusted network")
		client = imapclient.New(conn, opts)
	}
	defer client.Close()
	if err := client.WaitGreeting(); err != nil {
		return k.fail("IMAP login", fmt.Errorf("no greeting from the server: %w", err))
	}
	if cfg.OAuth() {
		// The sign-in with Google or Microsoft: XOAUTH2 with a fresh access token.
		user, err := c.imapLogin(ctx, client, cfg)
		if err != nil {
			return k.fail("IMAP login", err)
		}
		k.ok("IMAP login", "logged in as %s with XOAUTH2 (the sign-in with %s)", user, providerLabel(cfg.Auth))
	} else {
		if err := client.Login(cfg.IMAPUsername, cfg.IMAPPassword).Wait(); err != nil {
			return k.fail("IMAP login", fmt.Errorf("login as %s refused: %w", cfg.IMAPUsername, err))
		}
		k.ok("IMAP login", "logged in as %s", cfg.IMAPUsername)
	}
	sel, err := client.Select(cfg.IMAPMailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return k.fail("Mailbox", fmt.Errorf("mailbox %s cannot be opened: %w", cfg.IMAPMailbox, err))
	}
	k.ok("Mailbox", "%s holds %d messages", cfg.IMAPMailbox, sel.NumMessages)
	client.Logout().Wait()

	sconn, err := k.connect(ctx, "SMTP", cfg.SMTPHost, cfg.SMTPPort)
	if err != nil {
		return k.steps
	}
	defer sconn.Close()
	state = nil
	tcfg := c.watchedTLS(cfg.SMTPHost, &state)
	var sc *smtp.Client
	switch cfg.SMTPSecurity {
	case SecurityTLS:
		tc := tls.Client(sconn, tcfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return k.fail("SMTP TLS", explainTLS(err))
		}
		k.ok("SMTP TLS", "%s", describeTLS(state))
		sc = smtp.NewClient(tc)
		err = sc.Hello(helloName(cfg))
	case SecurityStartTLS:
		sc, err = smtp.NewClientStartTLS(sconn, tcfg)
		if err != nil {
			return k.fail("SMTP TLS", fmt.Errorf("STARTTLS: %w", explainTLS(err)))
		}
		k.ok("SMTP TLS", "STARTTLS: %s", describeTLS(state))
	default:
		k.ok("SMTP TLS", "none: the connection is not encrypted, use this only on a trusted network")
		sc = smtp.NewClient(sconn)
		err = sc.Hello(helloName(cfg))
	}
	if err != nil {
		return k.fail("SMTP login", fmt.Errorf("the server refused the greeting: %w", err))
	}
	defer sc.Close()
	if cfg.OAuth() {
		user, err := c.smtpLogin(ctx, sc, cfg)
		if err != nil {
			return k.fail("SMTP login", err)
		}
		k.ok("SMTP login", "logged in as %s with XOAUTH2 (the sign-in with %s)", user, providerLabel(cfg.Auth))
	} else if ok, _ := sc.Extension("AUTH"); !ok {
		k.ok("SMTP login", "the server asks for no login: mail is sent without one")
	} else if cfg.SMTPUsername == "" || cfg.SMTPPassword == "" {
		return k.fail("SMTP login", fmt.Errorf("the server asks for a login, and no SMTP user name and password are set"))
	} else if err := sc.Auth(sasl.NewPlainClient("", cfg.SMTPUsername, cfg.SMTPPassword)); err != nil {
		return k.fail("SMTP login", fmt.Errorf("login as %s refused: %w", cfg.SMTPUsername, err))
	} else {
		k.ok("SMTP login", "logged in as %s", cfg.SMTPUsername)
	}
	sc.Quit()
	return k.steps
}

// connect runs the lookup and connection steps of a server and returns the connection,
// with ctx's deadline; an error means the failed step is recorded.
func (k *checker) connect(ctx context.Context, proto, host string, port int) (net.Conn, error) {
	if !validHost(host) || port < 1 || port > 65535 {
		err := fmt.Errorf("%q port %d is not a server address", host, port)
		k.fail(proto+" server", err)
		return nil, err
	}
	if a, err := netip.ParseAddr(host); err == nil {
		k.ok(proto+" DNS", "%s is an IP address", a)
	} else {
		addrs, err := k.c.Outbound.Lookup(ctx, host)
		if err != nil {
			k.fail(proto+" DNS", fmt.Errorf("%s cannot be found: %w", host, err))
			return nil, err
		}
		list := make([]string, len(addrs))
		for i, a := range addrs {
			list[i] = a.String()
		}
		k.ok(proto+" DNS", "%s is %s", host, strings.Join(list, ", "))
	}
	dctx, cancel := context.WithTimeout(ctx, k.c.DialTimeout)
	defer cancel()
	conn, err := k.c.Outbound.DialContext(dctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		k.fail(proto+" connection", fmt.Errorf("port %d: %w", port, err))
		return nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	k.ok(proto+" connection", "connected to %s", conn.RemoteAddr())
	return conn, nil
}

// watchedTLS is the channel's TLS config for host that records the connection's state
// once the handshake is done, for the test to show.
func (c *Channel) watchedTLS(host string, state **tls.ConnectionState) *tls.Config {
	cfg := c.tlsConfig(host)
	next := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		*state = &cs
		if next != nil {
			return next(cs)
		}
		return nil
	}
	return cfg
}

// describeTLS names the TLS version and the server's certificate.
func describeTLS(cs *tls.ConnectionState) string {
	if cs == nil {
		return "encrypted"
	}
	s := tls.VersionName(cs.Version)
	if len(cs.PeerCertificates) > 0 {
		cert := cs.PeerCertificates[0]
		name := cert.Subject.CommonName
		if len(cert.DNSNames) > 0 {
			name = cert.DNSNames[0]
		}
		s += fmt.Sprintf(", certificate for %s issued by %s, valid until %s", name, cert.Issuer.CommonName,
			cert.NotAfter.UTC().Format("2006-01-02"))
	}
	return s
}

// explainTLS adds what an admin can do to the usual TLS failures.
func explainTLS(err error) error {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var inv x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("the server's certificate is not signed by a known authority (self-signed?): %w", err)
	case errors.As(err, &host):
		return fmt.Errorf("the server's certificate is for another name; use the host name it names: %w", err)
	case errors.As(err, &inv):
		return fmt.Errorf("the server's certificate is not valid (expired?): %w", err)
	case strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return fmt.Errorf("the server does not speak TLS on this port: try STARTTLS or the other port: %w", err)
	}
	return err
}
