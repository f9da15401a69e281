package server

import (
	"mime"
	"net/http"
	"strings"
	"time"
)

// handleAttachment serves a stored file as a download only: never rendered by the
// browser, never sniffed, sandboxed even if opened directly.
func (s *Server) handleAttachment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, f, err := s.store.Attachment(r.Context(), id)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	ct := a.ContentType
	if _, _, err := mime.ParseMediaType(ct); err != nil || strings.Contains(ct, "html") || strings.Contains(ct, "svg") || strings.Contains(ct, "xml") {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename})
	if cd == "" {
		cd = "attachment"
	}
	h.Set("Content-Disposition", cd)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, max-age=86400")
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}
