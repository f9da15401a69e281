package chat

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"parley/channels"
	"parley/crm"
	"parley/httpjson"
	"parley/i18n"
)

//go:embed assets/widget.js assets/demo.html
var assets embed.FS

// maxUpload is the largest file a shopper may upload.
const maxUpload = 10 << 20

// uploadTypes are the sniffed content types a shopper may upload.
var uploadTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"application/pdf": true}

// compiledScript is widget.js as served: plain, gzipped once at start, and its ETag.
type compiledScript struct {
	plain, gz []byte
	etag      string
}

var script = compileScript()

func compileScript() compiledScript {
	b, err := assets.ReadFile("assets/widget.js")
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	sum := sha256.Sum256(b)
	return compiledScript{plain: b, gz: buf.Bytes(), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// widgetStrings are the widget's texts by language, taken once from the catalogues.
var widgetStrings = func() map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, l := range i18n.Languages {
		m[l] = i18n.Strings(l, "widget.")
	}
	return m
}()

var demoPage = template.Must(template.ParseFS(assets, "assets/demo.html"))

// handleScript serves widget.js, gzipped when the browser accepts it. Shops embed a
// fixed URL, so the cache lifetime is short and revalidation cheap (ETag).
func (ch *Channel) handleScript(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", script.etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if r.Header.Get("If-None-Match") == script.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := script.plain
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = script.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// handleConfig returns the public settings of a chat inbox for the widget: color,
// greeting, position, require_email, whether an agent is online, and the language of
// the widget's texts with those texts ("language", "strings"): ?lang= is the script
// tag's data-lang, which wins, and ?prefer= the page's and the browser's languages in
// order, which count when the inbox's language setting is auto. Only the chosen
// language's strings travel, so the script stays one size for everyone. A page of a
// foreign origin gets 403; an unknown inbox 404.
func (ch *Channel) handleConfig(w http.ResponseWriter, r *http.Request) {
	s, err := ch.inboxOf(r)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if !ch.originAllowed(r, s, origin) {
			httpjson.WriteError(w, crm.Errorf(crm.EFORBIDDEN, "this page's origin may not open chat inbox %d", s.InboxID))
			return
		}
		cors(w, origin)
	}
	q := r.URL.Query()
	var prefer []string
	if p := q.Get("prefer"); p != "" && len(p) <= 512 {
		prefer = strings.Split(p, ",")
	}
	lang := s.language(q.Get("lang"), prefer)
	// The greeting the shop typed is shown as typed; the default one, which nobody typed,
	// is the widget's language's.
	greeting := s.Greeting
	if greeting == defaultGreeting {
		greeting = i18n.Text(lang, "widget.greeting")
	}
	httpjson.Write(w, http.StatusOK, map[string]any{
		"inbox_id": s.InboxID, "name": s.Name, "color": s.Color, "greeting": greeting,
		"position": s.Position, "require_email": s.RequireEmail, "online": ch.online(s.InboxID),
		"language": lang, "strings": widgetStrings[lang],
	})
}

// widgetInbox returns the chat inbox of a widget request and the page's Origin, which
// must be one the inbox allows. Returns not_found or forbidden.
func (ch *Channel) widgetInbox(r *http.Request) (*settings, string, error) {
	s, err := ch.inboxOf(r)
	if err != nil {
		return nil, "", err
	}
	origin := r.Header.Get("Origin")
	if !ch.originAllowed(r, s, origin) {
		ch.log.Info("widget origin refused", "inbox", s.InboxID, "origin", origin)
		return nil, "", crm.Errorf(crm.EFORBIDDEN, "this page's origin may not open chat inbox %d", s.InboxID)
	}
	return s, origin, nil
}

// handlePreflight answers a CORS preflight of an allowed origin.
func (ch *Channel) handlePreflight(w http.ResponseWriter, r *http.Request) {
	_, origin, err := ch.widgetInbox(r)
	if err != nil {
		httpjson.WriteError(w, err)
		return
	}
	cors(w, origin)
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type, X-Parley-Visitor")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// handleUpload stores a file the shopper attaches: the body is the file, ?name= its name
// and X-Parley-Visitor the visitor token. Only PNG, JPEG, GIF, WebP and PDF (by
// content, not by name) up to 10 MiB, within the upload rates of the visitor and its
// IP address and the caps on bytes no message has used yet (a visitor's: too_large;
// everyone's: rate_limited). It answers 201 {"upload_id", "filename", "content_type",
// "size"}; errors are unauthorized, forbidden, invalid, too_large and rate_limited.
func (ch *Channel) handleUpload(w http.ResponseWriter, r *http.Request) {
	err := ch.upload(w, r)
	if err != nil {
		if crm.ErrorCode(err) == crm.EINTERNAL {
			ch.log.Error("widget upload", "err", err)
		}
		httpjson.WriteError(w, err)
	}
}

func (ch *Channel) upload(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, origin, err := ch.widgetInbox(r)
	if err != nil {
		return err
	}
	cors(w, origin)
	// The address's limit comes before the store is asked about the token.
	ip := clientIP(r)
	if !ch.uploadPerIP.allow(ip) {
		return crm.Errorf(crm.ERATELIMITED, "too many files from your network; please try again in a few minutes")
	}
	token := r.Header.Get("X-Parley-Visitor")
	if token == "" || len(token) > 128 {
		return crm.Errorf(crm.EUNAUTHORIZED, "X-Parley-Visitor must carry the visitor token")
	}
	v, err := ch.visitorByToken(ctx, s.InboxID, token)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return crm.Errorf(crm.EUNAUTHORIZED, "unknown visitor token")
	} else if err != nil {
		return err
	}
	if !ch.uploadPerUser.allow(v.ID) {
		return crm.Errorf(crm.ERATELIMITED, "you are sending files too fast; please try again in a few minutes")
	}
	if r.ContentLength > maxUpload {
		return crm.Errorf(crm.ETOOLARGE, "files are limited to %d MiB", maxUpload>>20)
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpload))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return crm.Errorf(crm.ETOOLARGE, "files are limited to %d MiB", maxUpload>>20)
	} else if err != nil {
		return crm.Errorf(crm.EINVALID, "could not read the upload")
	}
	if len(data) == 0 {
		return crm.Errorf(crm.EINVALID, "empty file")
	}
	ct, _, _ := strings.Cut(http.DetectContentType(data), ";")
	if !uploadTypes[ct] {
		return crm.Errorf(crm.EINVALID, "only images (PNG, JPEG, GIF, WebP) and PDF files can be sent")
	}
	// The name follows the sniffed type: a GIF named poly.html is poly.gif.
	name := crm.AttachmentName(r.URL.Query().Get("name"), ct)
	u := &crm.ChatUpload{ID: "u" + randomHex(16), InboxID: s.InboxID, VisitorID: v.ID, Filename: name,
		ContentType: ct, Data: data}
	lim := crm.ChatUploadLimits{PerVisitor: ch.opt.Limits.PendingUploadBytesPerVisitor, Total: ch.opt.Limits.PendingUploadBytes}
	if err := ch.visitors.SaveChatUpload(ctx, u, lim); err != nil {
		if crm.ErrorCode(err) == crm.ERATELIMITED {
			ch.log.Warn("pending chat uploads capped", "inbox", s.InboxID, "visitor", v.ID, "ip", ip)
		}
		return err
	}
	httpjson.Write(w, http.StatusCreated, map[string]any{"upload_id": u.ID, "filename": u.Filename,
		"content_type": u.ContentType, "size": len(data)})
	return nil
}

// handleDemo serves the demo shop: a few products and the widget of the first chat
// inbox whose config has "demo": true.
func (ch *Channel) handleDemo(w http.ResponseWriter, r *http.Request) {
	var inboxID int64
	list, err := ch.store.Inboxes(r.Context())
	if err != nil {
		ch.log.Error("list inboxes for the demo page", "err", err)
		httpjson.WriteError(w, err)
		return
	}
	for _, in := range list {
		if in.Kind == crm.KindChat && channels.IsDemo(in) {
			inboxID = in.ID
			break
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
		"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	var buf bytes.Buffer
	if err := demoPage.Execute(&buf, map[string]any{"InboxID": inboxID}); err != nil {
		ch.log.Error("render demo page", "err", err)
		httpjson.WriteError(w, err)
		return
	}
	w.Write(buf.Bytes())
}

// inboxOf returns the settings of the chat inbox named by ?inbox=. Returns invalid or
// not_found.
func (ch *Channel) inboxOf(r *http.Request) (*settings, error) {
	id, err := strconv.ParseInt(r.URL.Query().Get("inbox"), 10, 64)
	if err != nil || id <= 0 {
		return nil, crm.Errorf(crm.EINVALID, "inbox must be the id of a chat inbox")
	}
	return ch.settings(r.Context(), id)
}

// originAllowed reports whether a page of origin may use the inbox's widget: one of its
// allowed_origins, or Parley's own origin (the /demo page) for a demo inbox.
func (ch *Channel) originAllowed(r *http.Request, s *settings, origin string) bool {
	if origin == "" {
		return false
	}
	if s.allowsOrigin(origin) {
		return true
	}
	return s.Demo && ch.ownOrigin(r, origin)
}

// ownOrigin reports whether origin is Parley's: the public URL's, else the request's host.
func (ch *Channel) ownOrigin(r *http.Request, origin string) bool {
	o, err := normalizeOrigin(origin)
	if err != nil {
		return false
	}
	if p := ch.opt.PublicURL; p != nil {
		own, err := normalizeOrigin(p.Scheme + "://" + p.Host)
		return err == nil && own == o
	}
	u, _ := url.Parse(o)
	return strings.EqualFold(u.Host, r.Host)
}

func cors(w http.ResponseWriter, origin string) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
}

// Connected reports how many widget sockets this process holds, for metrics.
func (ch *Channel) Connected() int { return ch.hub.count() }
