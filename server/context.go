package server

import (
	"context"

	"parley/crm"
)

type csrfKey struct{}

func withCSRF(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, csrfKey{}, token)
}

func csrfFrom(ctx context.Context) string {
	s, _ := ctx.Value(csrfKey{}).(string)
	return s
}

type tokenKey struct{}

// withToken records the API token a request authenticated with.
func withToken(ctx context.Context, t *crm.APIToken) context.Context {
	return context.WithValue(ctx, tokenKey{}, t)
}

// tokenFrom returns the API token of a bearer request; nil for a browser session.
func tokenFrom(ctx context.Context) *crm.APIToken {
	t, _ := ctx.Value(tokenKey{}).(*crm.APIToken)
	return t
}
