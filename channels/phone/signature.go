package phone

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"net/url"
	"sort"
)

// Signature is Twilio's X-Twilio-Signature of a form post to fullURL (scheme, host, path
// and query, as Twilio was given it): base64 of the HMAC-SHA1, keyed with the inbox's
// auth token, of the URL followed by each form key and its value, keys sorted. The
// channel checks webhooks with it; tests and the load generator sign with it as Twilio
// does.
func Signature(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, k := range keys {
		mac.Write([]byte(k))
		mac.Write([]byte(form.Get(k)))
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// validSignature checks sig, Twilio's signature of a form post to fullURL. Twilio signs
// the URL as its console holds it, which may name the scheme's default port or not, so
// the URL is tried with the port the request names and without one, or with the default
// port where it names none (as Twilio's own validator does). A form that repeats a key
// is refused: Twilio never sends one, and the signature covers only the first value.
func validSignature(token, fullURL string, form url.Values, sig string) bool {
	if sig == "" {
		return false
	}
	for _, v := range form {
		if len(v) > 1 {
			return false
		}
	}
	for _, u := range signedURLs(fullURL) {
		if hmac.Equal([]byte(Signature(token, u, form)), []byte(sig)) {
			return true
		}
	}
	return false
}

// signedURLs returns fullURL and its other spelling: without its port, or with the
// scheme's default port when it names none.
func signedURLs(fullURL string) []string {
	u, err := url.Parse(fullURL)
	if err != nil {
		return []string{fullURL}
	}
	other := *u
	switch {
	case u.Port() != "":
		other.Host = u.Hostname()
		if ip := net.ParseIP(other.Host); ip != nil && ip.To4() == nil {
			other.Host = "[" + other.Host + "]"
		}
	case u.Scheme == "https":
		other.Host = net.JoinHostPort(u.Hostname(), "443")
	case u.Scheme == "http":
		other.Host = net.JoinHostPort(u.Hostname(), "80")
	default:
		return []string{fullURL}
	}
	return []string{fullURL, other.String()}
}
