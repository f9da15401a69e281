package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"parley/crm"
	"parley/orders"
)

// maxImportBody caps an order file uploaded from the console.
const maxImportBody = 256 << 20

// handleTestOrderSource checks an order source against its shop and answers
// {ok, error, steps}: for Shopify the token and its scopes. Returns not_found.
func (s *Server) handleTestOrderSource(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	steps, err := s.orders.TestSource(r.Context(), id)
	if err != nil {
		return err
	}
	out := map[string]any{"ok": true, "steps": steps}
	for _, st := range steps {
		if !st.OK {
			out["ok"], out["error"] = false, st.Step+": "+st.Detail
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleImportOrders imports an order file sent as the request body
// (POST /api/v1/orders/import?format=csv|ndjson&source=NAME). The answer streams as
// NDJSON so that a large file shows its progress: {"rows": N} every orders.ProgressEvery
// rows, then {"done": true, "imported": N, "skipped": [{"line", "reason"}]}, or
// {"error": {"code", "message"}} when the import stopped (a bad header, a store failure).
// Returns invalid before anything is read for a bad format or source.
func (s *Server) handleImportOrders(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	format := strings.ToLower(q.Get("format"))
	if err := oneOf("format", format, "csv", "ndjson"); err != nil {
		return err
	}
	source := strings.TrimSpace(q.Get("source"))
	if source == "" {
		source = "import"
	}
	if len(source) > 50 {
		return crm.Errorf(crm.EINVALID, "source is longer than 50 characters")
	}
	body := http.MaxBytesReader(w, r.Body, maxImportBody)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	line := func(v any) {
		enc.Encode(v)
		if fl != nil {
			fl.Flush()
		}
	}
	res, err := s.orders.Import(r.Context(), body, orders.ImportOptions{Format: format, Source: source,
		Progress: func(rows int) { line(map[string]any{"rows": rows}) }})
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = crm.Errorf(crm.ETOOLARGE, "the file is larger than %d MiB", maxImportBody>>20)
		}
		code := crm.ErrorCode(err)
		if code == crm.EINTERNAL {
			s.log.Error("order import failed", "err", err)
		}
		line(map[string]any{"error": map[string]string{"code": code, "message": crm.ErrorMessage(err)}})
		return nil
	}
	s.audit(r, "orders.imported", map[string]any{"format": format, "source": source, "imported": res.Imported, "skipped": len(res.Skipped)})
	line(map[string]any{"done": true, "imported": res.Imported, "skipped": res.Skipped})
	return nil
}
