package orders

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"strings"

	"parley/crm"
)

// ShopifyWebhook is one delivery of a Shopify webhook: its headers and raw body.
type ShopifyWebhook struct {
	Topic     string // X-Shopify-Topic, e.g. "orders/updated"
	HMAC      string // X-Shopify-Hmac-Sha256: base64 HMAC-SHA256 of Body with the webhook secret
	WebhookID string // X-Shopify-Webhook-Id: the same for every retry of one delivery
	Body      []byte
}

// ReceiveShopify verifies a Shopify webhook and stores the order of an orders/* topic
// (orders/create, orders/updated, orders/paid, orders/cancelled, orders/fulfilled). A
// delivery id seen before, or another topic, is acknowledged without change; order is
// then nil. An order older than the stored one (by Shopify's updated_at: webhooks arrive
// out of order) changes nothing; stale is then true and order is the stored one.
// Returns unauthorized (unknown source, no webhook secret, forged) or invalid.
func (s *Service) ReceiveShopify(ctx context.Context, sourceID int64, wh ShopifyWebhook) (order *crm.Order, stale bool, err error) {
	_, secret, err := s.source(ctx, sourceID, crm.OrderSourceShopify, "webhook_secret")
	if err != nil {
		return nil, false, err
	}
	sum, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(wh.HMAC))
	if derr != nil || !hmac.Equal(sum, hmacSHA256(secret, wh.Body)) {
		s.log.Warn("shopify webhook with a wrong signature", "source", sourceID, "topic", wh.Topic)
		return nil, false, errForged
	}
	if !strings.HasPrefix(wh.Topic, "orders/") || wh.Topic == "orders/delete" {
		return nil, false, nil
	}
	if len(wh.WebhookID) > 200 {
		return nil, false, crm.Errorf(crm.EINVALID, "X-Shopify-Webhook-Id is too long")
	}
	if wh.WebhookID != "" {
		if seen, err := s.store.WebhookSeen(ctx, sourceID, wh.WebhookID); err != nil {
			return nil, false, err
		} else if seen {
			return nil, false, nil
		}
	}
	var so shopifyOrder
	if err := json.Unmarshal(wh.Body, &so); err != nil {
		return nil, false, crm.Errorf(crm.EINVALID, "invalid shopify order JSON: %s", cut(err.Error(), 200))
	}
	// Shopify sends one change under several topics (create, paid, updated), each with
	// its own webhook id: an order that says nothing new is not written again.
	saved, stale, err := s.storeShopify(ctx, &so, sourceID)
	if err != nil {
		return nil, false, err
	}
	// Recorded after the order is stored: a failure above makes Shopify retry, and the
	// retry must not be skipped as a duplicate.
	if wh.WebhookID != "" {
		if _, err := s.store.RecordWebhook(ctx, sourceID, wh.WebhookID); err != nil {
			return nil, false, err
		}
	}
	return saved, stale, nil
}
