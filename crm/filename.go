package crm

import (
	"mime"
	"path"
	"regexp"
	"strings"
	"unicode"
)

// extRe is what counts as a file name extension.
var extRe = regexp.MustCompile(`^\.[A-Za-z0-9_+-]{1,15}$`)

// maxFilename is the longest attachment name kept, in runes, extension included.
const maxFilename = 120

// canonicalExt is the extension given to a type whose extensions mime lists in an
// order that puts a rare one first.
var canonicalExt = map[string]string{
	"image/jpeg": ".jpg", "text/plain": ".txt", "audio/mpeg": ".mp3", "video/mp4": ".mp4",
	"application/octet-stream": ".bin", "message/rfc822": ".eml", "image/tiff": ".tif",
}

// AttachmentName returns the name an attachment of contentType is stored and served
// under: the base name of name without control, format (bidi) or path characters,
// at most 120 characters, with an extension that matches the content type. A file
// whose bytes are a GIF is never downloaded as poly.html, which a browser opened from
// the downloads folder would run as a page: an extension that names another type is
// replaced by the type's own (poly.gif), and so is one of no known type, except for
// plain text (server.log). Content of an unknown type (application/octet-stream, or a
// type without a known extension) keeps its extension unless that names a type a
// browser renders (HTML, SVG, XML, JavaScript), which becomes .bin.
func AttachmentName(name, contentType string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	ext := path.Ext(name)
	if !extRe.MatchString(ext) { // "x. y" or "a.exe  X-Header: 1" has none
		ext = ""
	}
	// No hidden files, and no name that is only an extension.
	base := strings.Trim(strings.TrimSuffix(name, ext), ". \t")
	if base == "" {
		base = "attachment"
	}
	extType := mime.TypeByExtension(strings.ToLower(ext))
	if want := typeExt(contentType); want != "" {
		if ext == "" || !compatible(extType, contentType) {
			ext = want
		}
	} else if rendered(extType) {
		ext = ".bin"
	}
	return CutRunes(base, maxFilename-len([]rune(ext))) + ext
}

// typeExt returns the extension of a known content type, or "" for an unknown one and
// for application/octet-stream, which says nothing about the content.
func typeExt(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt == "application/octet-stream" {
		return ""
	}
	if ext, ok := canonicalExt[mt]; ok {
		return ext
	}
	exts, _ := mime.ExtensionsByType(mt)
	if len(exts) == 0 {
		return ""
	}
	return exts[0]
}

// compatible reports whether a file named for type extType ("" for an extension of no
// known type) may hold content of type contentType: the same media type, or text that
// no browser renders in a file named for text or for nothing known (server.log, which
// some systems call text/x-log, holding text/plain).
func compatible(extType, contentType string) bool {
	x, _, _ := mime.ParseMediaType(extType)
	y, _, _ := mime.ParseMediaType(contentType)
	if x == y {
		return x != ""
	}
	plain := strings.HasPrefix(y, "text/") && !rendered(y)
	return plain && (x == "" || strings.HasPrefix(x, "text/") && !rendered(x))
}

// rendered reports whether a browser shows or runs content of the type instead of
// saving it.
func rendered(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "text/html" || strings.HasSuffix(mt, "/xml") || strings.HasSuffix(mt, "+xml") ||
		strings.Contains(mt, "javascript") || strings.Contains(mt, "ecmascript")
}
