package email

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Ways an email inbox logs in to its IMAP and SMTP servers (config "auth").
const (
	AuthPassword  = "password"  // user name and password (the default)
	AuthGoogle    = "google"    // XOAUTH2 with a sign-in with Google
	AuthMicrosoft = "microsoft" // XOAUTH2 with a sign-in with Microsoft
)

// TokenSource hands out the access tokens of inboxes that sign in with Google or
// Microsoft (oauth.Service). An error that says the inbox must sign in again is shown
// on the inbox as it is.
type TokenSource interface {
	AccessToken(ctx context.Context, inboxID int64) (account, token string, err error)
}

// OAuth reports whether the inbox signs in with Google or Microsoft.
func (cfg *Config) OAuth() bool { return cfg.Auth == AuthGoogle || cfg.Auth == AuthMicrosoft }

// xoauth2 is the client side of Google's and Microsoft's XOAUTH2 SASL mechanism: the
// user name and bearer token in the initial response. A server that refuses sends a
// JSON challenge with the reason and expects an empty answer before it says no; the
// reason is kept for the error.
type xoauth2 struct {
	user, token string
	refusal     string
}

var _ sasl.Client = (*xoauth2)(nil)

func (x *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x *xoauth2) Next(challenge []byte) ([]byte, error) {
	var e struct {
		Status  string `json:"status"`
		Schemes string `json:"schemes"`
		Scope   string `json:"scope"`
	}
	if json.Unmarshal(challenge, &e) == nil && e.Status != "" {
		x.refusal = "status " + e.Status
	} else {
		x.refusal = strings.TrimSpace(string(challenge[:min(len(challenge), 200)]))
	}
	return []byte{}, nil // the empty answer after which the server reports the failure
}

func (x *xoauth2) explain(err error) error {
	if x.refusal != "" {
		return fmt.Errorf("%w (the server said %s)", err, x.refusal)
	}
	return err
}

// bearer returns the user name and access token an inbox logs in with by XOAUTH2: the
// account signed in as, else the configured user name.
func (c *Channel) bearer(ctx context.Context, cfg *Config, username string) (string, string, error) {
	if c.OAuth == nil {
		return "", "", errors.New("this server has no sign-in with Google or Microsoft set up")
	}
	account, token, err := c.OAuth.AccessToken(ctx, cfg.InboxID)
	if err != nil {
		return "", "", err
	}
	if account == "" {
		account = username
	}
	return account, token, nil
}

// imapLogin logs the client in the inbox's way: LOGIN with the password, or
// AUTHENTICATE XOAUTH2 with a fresh access token. It returns the user logged in as.
func (c *Channel) imapLogin(ctx context.Context, client *imapclient.Client, cfg *Config) (string, error) {
	if !cfg.OAuth() {
		if err := client.Login(cfg.IMAPUsername, cfg.IMAPPassword).Wait(); err != nil {
			return cfg.IMAPUsername, fmt.Errorf("imap login as %s: %w", cfg.IMAPUsername, err)
		}
		return cfg.IMAPUsername, nil
	}
	user, token, err := c.bearer(ctx, cfg, cfg.IMAPUsername)
	if err != nil {
		return cfg.IMAPUsername, err
	}
	x := &xoauth2{user: user, token: token}
	if err := client.Authenticate(x); err != nil {
		return user, x.explain(fmt.Errorf("imap login as %s with XOAUTH2: %w", user, err))
	}
	return user, nil
}

// smtpLogin logs the SMTP client in the inbox's way when the server asks for a login:
// PLAIN with the password, or XOAUTH2 with a fresh access token. It returns the user
// logged in as, "" when there was no login.
func (c *Channel) smtpLogin(ctx context.Context, sc *smtp.Client, cfg *Config) (string, error) {
	if ok, _ := sc.Extension("AUTH"); !ok {
		if cfg.OAuth() {
			return "", errors.New("the smtp server offers no login, so the sign-in cannot be used: check the SMTP server and port")
		}
		return "", nil
	}
	if !cfg.OAuth() {
		if cfg.SMTPUsername == "" || cfg.SMTPPassword == "" {
			return "", nil
		}
		if err := sc.Auth(sasl.NewPlainClient("", cfg.SMTPUsername, cfg.SMTPPassword)); err != nil {
			return cfg.SMTPUsername, fmt.Errorf("smtp login as %s: %w", cfg.SMTPUsername, err)
		}
		return cfg.SMTPUsername, nil
	}
	user, token, err := c.bearer(ctx, cfg, cfg.SMTPUsername)
	if err != nil {
		return cfg.SMTPUsername, err
	}
	x := &xoauth2{user: user, token: token}
	if err := sc.Auth(x); err != nil {
		return user, x.explain(fmt.Errorf("smtp login as %s with XOAUTH2: %w", user, err))
	}
	return user, nil
}

// providerLabel names a sign-in's provider as people write it.
func providerLabel(auth string) string {
	switch auth {
	case AuthGoogle:
		return "Google"
	case AuthMicrosoft:
		return "Microsoft"
	}
	return auth
}
