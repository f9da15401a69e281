// Package agentui is the agent console: static HTML, CSS and JavaScript modules embedded
// in the binary and served at "/". There is no build step.
package agentui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// csp is the console's Content-Security-Policy: no inline script, no framing, and email
// HTML only inside sandboxed frames. An email's srcdoc frame inherits this policy on top
// of its own, so https: images are allowed here for the remote images an agent chooses to
// load; the frame's own policy blocks them until then, and the console itself never
// builds an image from data.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
	"connect-src 'self'; frame-src 'self' blob: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

// Handler serves the console.
func Handler() http.Handler {
	sub, _ := fs.Sub(static, "static")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
