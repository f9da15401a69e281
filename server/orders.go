package server

import (
	"io"
	"net/http"
	"strings"

	"parley/crm"
	"parley/orders"
)

// maxWebhookBody caps a shop's webhook: Shopify's order JSON of a large order is big.
const maxWebhookBody = 2 << 20

// handleOrders lists orders. The first page of a customer's, email's, phone's or number's
// orders is refreshed from the Shopify sources first (at most once a minute per query).
func (s *Server) handleOrders(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := page(r)
	if err != nil {
		return err
	}
	f := crm.OrderFilter{Page: p, Query: q.Get("q")}
	if f.CustomerID, err = queryID(r, "customer_id"); err != nil {
		return err
	}
	o := crm.Order{Email: q.Get("email"), Phone: q.Get("phone")}
	if err := s.orders.Normalize(&o); err != nil {
		return err
	}
	f.Email, f.Phone = o.Email, o.Phone
	if f.CustomerID == 0 && f.Email == "" && f.Phone == "" && f.Query == "" {
		return crm.Errorf(crm.EINVALID, "give customer_id, email, phone or q")
	}
	if len(f.Query) > 320 {
		return crm.Errorf(crm.EINVALID, "q is longer than 320 characters")
	}
	if f.Cursor == "" {
		s.orders.Refresh(r.Context(), f)
	}
	list, next, err := s.store.Orders(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": nonNil(list), "next_cursor": next})
	return nil
}

// handleOrder returns one order; a number not stored yet is looked up in the Shopify sources.
func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) error {
	number := r.PathValue("number")
	o, err := s.store.Order(r.Context(), number)
	if crm.ErrorCode(err) == crm.ENOTFOUND && len(number) <= 64 {
		s.orders.RefreshNumber(r.Context(), number)
		o, err = s.store.Order(r.Context(), number)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// handlePutOrder inserts or replaces an order; the number in the path wins over the body.
// An order put through the API is local: source_id and external_id belong to sources.
func (s *Server) handlePutOrder(w http.ResponseWriter, r *http.Request) error {
	var o crm.Order
	if err := decode(w, r, maxBody, &o); err != nil {
		return err
	}
	o.Number = r.PathValue("number")
	if err := s.orders.Normalize(&o); err != nil {
		return err
	}
	if o.Source == "" {
		o.Source = "api"
	}
	o.SourceID, o.ExternalID = 0, ""
	saved, err := s.store.PutOrder(r.Context(), &o)
	if err != nil {
		return err
	}
	writeOrder(w, saved, crm.StaleOrder(&o, saved))
	return nil
}

// publicURL is where shops reach Parley: the configured public URL, else this request's host.
func (s *Server) publicURL(r *http.Request) string {
	if p := s.opt.PublicURL; p != nil {
		return p.Scheme + "://" + p.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) handleOrderSources(w http.ResponseWriter, r *http.Request) error {
	list, err := s.store.OrderSources(r.Context())
	if err != nil {
		return err
	}
	out := make([]orders.SourceView, len(list))
	for i, src := range list {
		out[i] = orders.View(src, s.publicURL(r))
	}
	writeJSON(w, http.StatusOK, map[string]any{"order_sources": out})
	return nil
}

func (s *Server) handleCreateOrderSource(w http.ResponseWriter, r *http.Request) error {
	var in orders.SourceInput
	if err := decode(w, r, 64<<10, &in); err != nil {
		return err
	}
	generate := in.Kind == crm.OrderSourceWebhook && in.Secret == nil
	src, err := s.orders.CreateSource(r.Context(), in)
	if err != nil {
		return err
	}
	v := orders.View(src, s.publicURL(r))
	if !generate {
		writeJSON(w, http.StatusCreated, v)
		return nil
	}
	// A generated secret is shown this once, with a request signed by it, since the
	// shop's developer must copy it; it is never returned again.
	secret := src.Secrets["secret"]
	writeJSON(w, http.StatusCreated, struct {
		orders.SourceView
		GeneratedSecret string         `json:"generated_secret"`
		Example         orders.Example `json:"example"`
	}{v, secret, orders.ExampleWebhook(secret, v.WebhookURL)})
	return nil
}

func (s *Server) handleUpdateOrderSource(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in orders.SourceInput
	if err := decode(w, r, 64<<10, &in); err != nil {
		return err
	}
	src, err := s.orders.UpdateSource(r.Context(), id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, orders.View(src, s.publicURL(r)))
	return nil
}

// handleOrderAction cancels, refunds or resends an order's confirmation in its shop.
func (s *Server) handleOrderAction(w http.ResponseWriter, r *http.Request) error {
	var req orders.ActionRequest
	if err := decode(w, r, 64<<10, &req); err != nil {
		return err
	}
	req.Number = r.PathValue("number")
	a, o, err := s.orders.Act(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"action": a, "order": o})
	return nil
}

func (s *Server) handleOrderActions(w http.ResponseWriter, r *http.Request) error {
	number := r.PathValue("number")
	if _, err := s.store.Order(r.Context(), number); err != nil {
		return err
	}
	list, err := s.store.OrderActions(r.Context(), number)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"actions": nonNil(list)})
	return nil
}

// readWebhook reads a webhook's raw body, which its signature covers. Returns too_large.
func readWebhook(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		return nil, crm.Errorf(crm.ETOOLARGE, "webhook body is larger than %d bytes", maxWebhookBody)
	}
	return body, nil
}

// webhook serves a shop's webhook: no session, the signature is the authentication.
func (s *Server) webhook(fn func(w http.ResponseWriter, r *http.Request, sourceID int64, body []byte) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := func() error {
			id, err := pathID(r, "source_id")
			if err != nil {
				return crm.Errorf(crm.EUNAUTHORIZED, "missing or wrong signature")
			}
			body, err := readWebhook(w, r)
			if err != nil {
				return err
			}
			// The shop acts, not an agent: fn checks the source's signature before it
			// reads the body, and stores as the system.
			return fn(w, r.WithContext(crm.AsSystem(r.Context())), id, body)
		}()
		if err != nil {
			if crm.ErrorCode(err) == crm.EINTERNAL {
				s.log.Error("order webhook failed", "path", r.URL.Path, "err", err)
			}
			writeError(w, err)
		}
	}
}

// handleOrderWebhook stores an order pushed by a webhook source, signed with
// X-Parley-Signature: sha256=<hex HMAC-SHA256 of the body>.
func (s *Server) handleOrderWebhook(w http.ResponseWriter, r *http.Request, id int64, body []byte) error {
	o, stale, err := s.orders.ReceiveWebhook(r.Context(), id, body, r.Header.Get("X-Parley-Signature"))
	if err != nil {
		return err
	}
	writeOrder(w, o, stale)
	return nil
}

// writeOrder answers an order update with the stored order, or with {"stale": true,
// "order": ...} when the update was older than the stored order and changed nothing.
func writeOrder(w http.ResponseWriter, o *crm.Order, stale bool) {
	if stale {
		writeJSON(w, http.StatusOK, map[string]any{"stale": true, "order": o})
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// handleShopifyWebhook stores the order of a Shopify orders/* webhook.
func (s *Server) handleShopifyWebhook(w http.ResponseWriter, r *http.Request, id int64, body []byte) error {
	o, stale, err := s.orders.ReceiveShopify(r.Context(), id, orders.ShopifyWebhook{
		Topic: strings.TrimSpace(r.Header.Get("X-Shopify-Topic")), HMAC: r.Header.Get("X-Shopify-Hmac-Sha256"),
		WebhookID: strings.TrimSpace(r.Header.Get("X-Shopify-Webhook-Id")), Body: body})
	if err != nil {
		return err
	}
	if o == nil {
		writeJSON(w, http.StatusOK, map[string]any{"ignored": true})
		return nil
	}
	writeOrder(w, o, stale)
	return nil
}
