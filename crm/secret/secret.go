// Package secret keeps Parley's secret key and seals with it the secrets stores keep at
// rest (mailbox passwords, API tokens of inboxes and shops): AES-256-GCM over a JSON
// object, nonce first.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreateKey returns the secret key in dataDir/secret.key (64 hex characters),
// creating the file with a new random key and mode 0600 when it does not exist.
func LoadOrCreateKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, "secret.key")
	buf, err := os.ReadFile(path)
	if err == nil {
		key, err := ParseKey(string(buf))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		return key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	// O_EXCL: two processes starting at once must not each write their own key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(dataDir)
	} else if err != nil {
		return nil, fmt.Errorf("create secret key: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write secret key: %w", err)
	}
	return key, nil
}

// ParseKey decodes a secret key given as 64 hex characters or as the base64 of 32 bytes,
// as PARLEY_SECRET_KEY holds it.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) == 32 {
			return key, nil
		}
	}
	return nil, fmt.Errorf("secret key must be 64 hex characters or base64 of 32 bytes")
}

// Box seals and opens the secrets of inboxes and order sources with AES-256-GCM.
type Box struct{ aead cipher.AEAD }

// NewBox returns a Box sealing with key, which must be 32 bytes; a nil key gives a Box
// that refuses to seal or open anything.
func NewBox(key []byte) (*Box, error) {
	if key == nil {
		return &Box{}, nil
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return cipher.NewGCM(block)
}

// Seal encrypts secrets as one JSON object: nonce followed by the ciphertext. Empty
// secrets are stored as NULL.
func (b *Box) Seal(secrets map[string]string) ([]byte, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	if b.aead == nil {
		return nil, fmt.Errorf("seal secrets: no secret key configured")
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return nil, fmt.Errorf("marshal secrets: %w", err)
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal secrets: %w", err)
	}
	return b.aead.Seal(nonce, nonce, plain, []byte("parley inbox secrets")), nil
}

// Open decrypts what Seal produced.
func (b *Box) Open(sealed []byte) (map[string]string, error) {
	secrets := map[string]string{}
	if len(sealed) == 0 {
		return secrets, nil
	}
	if b.aead == nil {
		return nil, fmt.Errorf("open secrets: no secret key configured")
	}
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("open secrets: too short")
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte("parley inbox secrets"))
	if err != nil {
		return nil, fmt.Errorf("open secrets (wrong secret key?): %w", err)
	}
	if err := json.Unmarshal(plain, &secrets); err != nil {
		return nil, fmt.Errorf("unmarshal secrets: %w", err)
	}
	return secrets, nil
}
