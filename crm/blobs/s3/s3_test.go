package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"parley/crm/blobs"
	"parley/crm/blobs/s3"
	"parley/crm/blobs/s3/s3test"
)

// TestStore writes a content to the S3 fake and reads it back, once per content, and
// refuses what it cannot use: a missing bucket, a wrong key, an unknown object.
func TestStore(t *testing.T) {
	srv := s3test.Start("parley")
	defer srv.Close()
	ctx := context.Background()
	url := "s3://parley/attachments?endpoint=" + srv.Endpoint() + "&insecure=1&region=us-east-1"
	st, err := s3.Open(ctx, url, srv.AccessKey, srv.SecretKey)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("%PDF-1.7 the invoice")
	sum, err := st.Write(data)
	if err != nil {
		t.Fatal(err)
	}
	if sum != blobs.Sum(data) {
		t.Fatalf("sum %s", sum)
	}
	if got, ok := srv.Object("parley", "attachments/"+sum[:2]+"/"+sum); !ok || !bytes.Equal(got, data) {
		t.Fatalf("object in the bucket: %q %v", got, ok)
	}
	if _, err := st.Write(data); err != nil || srv.Puts() != 1 {
		t.Fatalf("a second write of the same bytes: %v, %d puts", err, srv.Puts())
	}
	f, err := st.Open(sum)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %q", got)
	}
	if _, err := st.Open(blobs.Sum([]byte("never written"))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing object: %v", err)
	}
	if _, err := st.Open("../../etc/passwd"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a name that is no sum: %v", err)
	}

	for _, tc := range []struct{ url, key, says string }{
		{"s3://other?endpoint=" + srv.Endpoint() + "&insecure=1&region=us-east-1", srv.AccessKey, "does not exist"},
		{url, "WRONGKEY", "Access Denied"},
		{"http://parley", srv.AccessKey, "want s3://bucket"},
		{url, "", "AWS_ACCESS_KEY_ID"},
	} {
		if _, err := s3.Open(ctx, tc.url, tc.key, srv.SecretKey); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Open(%s, %s) = %v, want %q", tc.url, tc.key, err, tc.says)
		}
	}
}
