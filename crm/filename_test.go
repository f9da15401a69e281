package crm_test

import (
	"strings"
	"testing"

	"parley/crm"
)

func TestAttachmentName(t *testing.T) {
	for _, tc := range []struct{ name, ct, want string }{
		{"poly.html", "image/gif", "poly.gif"},
		{"poly.HTML", "image/png", "poly.png"},
		{"photo.JPG", "image/jpeg", "photo.JPG"},
		{"photo.jpeg", "image/jpeg", "photo.jpeg"},
		{"photo", "image/jpeg", "photo.jpg"},
		{"invoice.pdf", "application/pdf", "invoice.pdf"},
		{"invoice.pdf", "application/pdf; name=invoice.pdf", "invoice.pdf"},
		{"notes.txt", "text/plain; charset=utf-8", "notes.txt"},
		{"server.log", "text/plain", "server.log"},
		{"page.html", "application/octet-stream", "page.bin"},
		{"drawing.svg", "application/octet-stream", "drawing.bin"},
		{"report.docx", "application/octet-stream", "report.docx"},
		{"report.docx", "application/x-made-up", "report.docx"},
		{"data.zzq", "image/gif", "data.gif"},
		{"notes.zzq", "text/plain", "notes.zzq"},
		{"poly.html", "text/plain", "poly.txt"},
		{"feed.xml", "image/png", "feed.png"},
		{"script.js", "application/x-made-up", "script.bin"},
		{"../../etc/passwd", "text/plain", "passwd.txt"},
		{`C:\Users\me\evil.exe`, "application/octet-stream", "evil.exe"},
		{"invoice\u202Efdp.exe", "application/octet-stream", "invoicefdp.exe"},
		{"a\x00b\r\nc.pdf", "application/pdf", "abc.pdf"},
		{"\x80\xff.pdf", "application/pdf", "attachment.pdf"},
		{"", "image/gif", "attachment.gif"},
		{"..", "", "attachment"},
		{".pdf", "application/pdf", "attachment.pdf"},
		{"evil.exe  X-Header: 1", "application/octet-stream", "evil.exe  X-Header: 1"},
		{"a.b c", "image/png", "a.b c.png"},
		{".hidden.png", "image/png", "hidden.png"},
		{strings.Repeat("ü", 300) + ".pdf", "application/pdf", strings.Repeat("ü", 116) + ".pdf"},
	} {
		if got := crm.AttachmentName(tc.name, tc.ct); got != tc.want {
			t.Errorf("AttachmentName(%q, %q) = %q, want %q", tc.name, tc.ct, got, tc.want)
		}
	}
}
