package orders

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"parley/crm"
	"parley/identity"
)

// errForged is the one answer to a webhook whose source or signature is wrong, so that a
// forger learns nothing about which sources exist.
var errForged = crm.Errorf(crm.EUNAUTHORIZED, "missing or wrong signature")

// Normalize brings the email and phone of an order from outside to their canonical form
// (lower-cased email, E.164 phone) as identities use them. Returns invalid.
func (s *Service) Normalize(o *crm.Order) error {
	var err error
	if strings.TrimSpace(o.Email) != "" {
		if o.Email, err = identity.Normalize(crm.IdentityEmail, o.Email, s.region); err != nil {
			return err
		}
	}
	if strings.TrimSpace(o.Phone) != "" {
		if o.Phone, err = identity.Normalize(crm.IdentityPhone, o.Phone, s.region); err != nil {
			return err
		}
	}
	return nil
}

// source returns the source of a webhook if it is of kind and has the named secret, else
// errForged.
func (s *Service) source(ctx context.Context, id int64, kind, secretKey string) (*crm.OrderSource, string, error) {
	src, err := s.store.OrderSource(ctx, id)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil, "", errForged
	} else if err != nil {
		return nil, "", err
	}
	secret := src.Secrets[secretKey]
	if src.Kind != kind || secret == "" {
		return nil, "", errForged
	}
	return src, secret, nil
}

// ReceiveWebhook stores the order a shop pushed to its webhook source. The body is the
// order JSON of PUT /api/v1/orders/{number}, with "number"; signature is the
// X-Parley-Signature header, "sha256=" and the hex HMAC-SHA256 of the raw body keyed
// with the source's secret. Nothing is read from the body before the signature checks.
// An order whose updated_at is older than the stored one's changes nothing: stale is
// then true and order is the stored one. Returns unauthorized (unknown source, missing
// or wrong signature) or invalid.
func (s *Service) ReceiveWebhook(ctx context.Context, sourceID int64, body []byte, signature string) (order *crm.Order, stale bool, err error) {
	src, secret, err := s.source(ctx, sourceID, crm.OrderSourceWebhook, "secret")
	if err != nil {
		return nil, false, err
	}
	got, ok := strings.CutPrefix(strings.TrimSpace(signature), "sha256=")
	sum, herr := hex.DecodeString(got)
	if !ok || herr != nil || !hmac.Equal(sum, hmacSHA256(secret, body)) {
		s.log.Warn("order webhook with a wrong signature", "source", sourceID)
		return nil, false, errForged
	}
	var o crm.Order
	if err := decodeStrict(body, &o); err != nil {
		return nil, false, err
	}
	if err := s.Normalize(&o); err != nil {
		return nil, false, err
	}
	o.Source, o.SourceID, o.CustomerID = crm.OrderSourceWebhook, src.ID, 0
	saved, err := s.store.PutOrder(ctx, &o)
	if err != nil {
		return nil, false, err
	}
	return saved, crm.StaleOrder(&o, saved), nil
}

func hmacSHA256(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// decodeStrict decodes one JSON object, refusing unknown fields and trailing data, as the
// API does. Returns invalid.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, e := dec.Token(); e != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err != nil {
		return crm.Errorf(crm.EINVALID, "invalid order JSON: %s", cut(strings.TrimPrefix(err.Error(), "json: "), 200))
	}
	crm.StripNUL(v)
	return nil
}
