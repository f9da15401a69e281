// Package s3test is an S3-compatible object server for tests: path-style buckets, PUT,
// GET and HEAD of objects, HEAD of a bucket, as the S3 REST API answers them, with
// requests signed (AWS Signature Version 4) by the one access key it knows and
// payloads that match their x-amz-content-sha256.
package s3test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a running fake with the buckets it was given.
type Server struct {
	*httptest.Server
	AccessKey, SecretKey string

	mu      sync.Mutex
	objects map[string][]byte // "bucket/key" -> content
	buckets map[string]bool
	puts    int
}

// Start runs a fake with the given buckets on a loopback port.
func Start(buckets ...string) *Server {
	s := &Server{AccessKey: "PARLEYTESTKEY", SecretKey: "parley-test-secret", objects: map[string][]byte{}, buckets: map[string]bool{}}
	for _, b := range buckets {
		s.buckets[b] = true
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Endpoint is host:port, for the endpoint parameter of an s3:// URL.
func (s *Server) Endpoint() string { return strings.TrimPrefix(s.URL, "http://") }

// Object returns the content stored under bucket/key, if any.
func (s *Server) Object(bucket, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objects[bucket+"/"+key]
	return b, ok
}

// Puts counts the objects written.
func (s *Server) Puts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}

func s3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>test</RequestId></Error>`,
			code, msg, r.URL.Path)
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+s.AccessKey+"/") {
		s3Error(w, r, http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.mu.Lock()
	known := s.buckets[bucket]
	s.mu.Unlock()
	if !known {
		s3Error(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	if key == "" {
		if r.Method == http.MethodHead || r.URL.Query().Has("location") {
			w.Header().Set("Content-Type", "application/xml")
			if r.Method != http.MethodHead {
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`)
			}
			return
		}
		s3Error(w, r, http.StatusNotImplemented, "NotImplemented", "only objects are served here")
		return
	}
	switch r.Method {
	case http.MethodPut:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			s3Error(w, r, http.StatusBadRequest, "IncompleteBody", err.Error())
			return
		}
		want := r.Header.Get("X-Amz-Content-Sha256")
		if strings.HasPrefix(want, "STREAMING-") {
			if body, err = unchunk(body); err != nil || strconv.Itoa(len(body)) != r.Header.Get("X-Amz-Decoded-Content-Length") {
				s3Error(w, r, http.StatusBadRequest, "IncompleteBody", fmt.Sprintf("aws-chunked body: %v", err))
				return
			}
		} else if want != "UNSIGNED-PAYLOAD" {
			sum := sha256.Sum256(body)
			if want != hex.EncodeToString(sum[:]) {
				s3Error(w, r, http.StatusBadRequest, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
				return
			}
		}
		s.mu.Lock()
		s.objects[bucket+"/"+key] = body
		s.puts++
		s.mu.Unlock()
		sum := sha256.Sum256(body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	case http.MethodGet, http.MethodHead:
		s.mu.Lock()
		body, ok := s.objects[bucket+"/"+key]
		s.mu.Unlock()
		if !ok {
			s3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		sum := sha256.Sum256(body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, key, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), bytes.NewReader(body))
	default:
		s3Error(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
}

// unchunk decodes an aws-chunked body: chunks of "<hex size>;chunk-signature=...\r\n<data>\r\n"
// up to one of size 0, then optional trailers.
func unchunk(b []byte) ([]byte, error) {
	var out []byte
	for {
		line, rest, ok := bytes.Cut(b, []byte("\r\n"))
		if !ok {
			return nil, fmt.Errorf("a chunk without its header line")
		}
		sizeHex, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(sizeHex), 16, 64)
		if err != nil || n < 0 || int64(len(rest)) < n {
			return nil, fmt.Errorf("bad chunk size %q", sizeHex)
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, rest[:n]...)
		b = bytes.TrimPrefix(rest[n:], []byte("\r\n"))
	}
}
