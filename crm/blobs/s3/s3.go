// Package s3 keeps the content of attachments in S3-compatible object storage
// (github.com/minio/minio-go/v7), where every node of a cluster reads them:
// `parley serve --blobs s3://bucket/prefix?endpoint=...`.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"parley/crm/blobs"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Store is a blob store in one bucket, each content under prefix/ab/<sha256>.
type Store struct {
	client *minio.Client
	bucket string
	prefix string
}

var _ blobs.Store = (*Store)(nil)

// timeout bounds each request to the storage.
const timeout = time.Minute

// Open connects to the bucket that rawURL names, s3://bucket[/prefix], with the query
// parameters endpoint (host[:port]; default s3.amazonaws.com), region and insecure=1
// (plain HTTP, for a server on a private network). The keys come from accessKey and
// secretKey (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY). It checks that the bucket
// exists, so that a wrong name or key stops the start instead of the first upload.
func Open(ctx context.Context, rawURL, accessKey, secretKey string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("--blobs %q: want s3://bucket[/prefix]?endpoint=host:port&region=name", rawURL)
	}
	q := u.Query()
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	if accessKey == "" || secretKey == "" {
		return nil, errors.New("--blobs s3://...: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(accessKey, secretKey, ""),
		Secure:       q.Get("insecure") != "1",
		Region:       q.Get("region"),
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", endpoint, err)
	}
	s := &Store{client: c, bucket: u.Host, prefix: strings.Trim(u.Path, "/")}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := c.BucketExists(ctx, s.bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s at %s: %w", s.bucket, endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3 bucket %s at %s does not exist: create it first", s.bucket, endpoint)
	}
	return s, nil
}

func (s *Store) key(sum string) string {
	k := sum[:2] + "/" + sum
	if s.prefix != "" {
		k = s.prefix + "/" + k
	}
	return k
}

// Write stores data once under its SHA-256; see blobs.Store. It returns once the storage
// has answered that the object is written.
func (s *Store) Write(data []byte) (string, error) {
	sum := blobs.Sum(data)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := s.client.StatObject(ctx, s.bucket, s.key(sum), minio.StatObjectOptions{}); err == nil {
		return sum, nil
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.key(sum), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", SendContentMd5: true})
	if err != nil {
		return "", fmt.Errorf("write attachment to s3: %w", err)
	}
	return sum, nil
}

// Open reads the content with the given SHA-256; see blobs.Store. A missing object is
// os.ErrNotExist in the error's chain.
func (s *Store) Open(sum string) (io.ReadSeekCloser, error) {
	if !blobs.ValidSum(sum) {
		return nil, fmt.Errorf("open attachment %.80q: not a sha256: %w", sum, os.ErrNotExist)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	obj, err := s.client.GetObject(ctx, s.bucket, s.key(sum), minio.GetObjectOptions{})
	if err == nil {
		var data []byte
		if data, err = io.ReadAll(obj); err == nil {
			obj.Close()
			return nopCloser{bytes.NewReader(data)}, nil
		}
		obj.Close()
	}
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil, fmt.Errorf("open attachment %s: %w", sum, os.ErrNotExist)
	}
	return nil, fmt.Errorf("read attachment from s3: %w", err)
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
