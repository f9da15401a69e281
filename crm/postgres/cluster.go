package postgres

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"parley/crm"
	"parley/crm/blobs"
)

var _ crm.LeaseService = (*DB)(nil)

// AcquireLease takes or renews a lease; see crm.LeaseService. Expiry is by the
// database's clock, so the nodes' clocks need not agree. Returns conflict when another
// holder has the lease and it has not run out.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (crm.Lease, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return crm.Lease{}, crm.Errorf(crm.EINVALID, "a lease needs a name, a holder and a time to live")
	}
	l := crm.Lease{Name: name}
	err := db.pool.QueryRow(ctx, `INSERT INTO leases (name, holder, token, expires_at)
		VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
			token = CASE WHEN leases.holder = excluded.holder THEN leases.token ELSE leases.token + 1 END
		WHERE leases.holder = excluded.holder OR leases.expires_at < clock_timestamp()
		RETURNING token`, name, holder, ttl.Milliseconds()).Scan(&l.Token)
	if isNoRows(err) {
		return crm.Lease{}, crm.Errorf(crm.ECONFLICT, "lease %s is another node's", name)
	}
	if err != nil {
		return crm.Lease{}, unavailable(fmt.Errorf("acquire lease %s: %w", name, err))
	}
	return l, nil
}

// ReleaseLease ends holder's lease at once; see crm.LeaseService.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := db.pool.Exec(ctx, `UPDATE leases SET expires_at = clock_timestamp() - interval '1 millisecond'
		WHERE name = $1 AND holder = $2`, name, holder)
	if err != nil {
		return unavailable(fmt.Errorf("release lease %s: %w", name, err))
	}
	return nil
}

// fence checks, first in the unit's transaction, that the lease that fences the unit's
// writes still has the token its holder took: once another node took the lease, the
// writes of a holder that was paused past its end are refused (conflict). The row stays
// share-locked until the commit, so the lease cannot change hands between the check and
// the commit.
func (tx *Tx) fence(l crm.Lease) error {
	var token int64
	err := tx.QueryRowContext(context.Background(), `SELECT token FROM leases WHERE name = ? FOR SHARE`, l.Name).Scan(&token)
	if isNoRows(err) || (err == nil && token != l.Token) {
		return crm.Errorf(crm.ECONFLICT, "lease %s was taken by another node: this node no longer does its work", l.Name)
	}
	if err != nil {
		return fmt.Errorf("check lease %s: %w", l.Name, err)
	}
	return nil
}

// Remote applies to this node's caches a change that another node committed (or a live
// event it sent), as the cluster relay hands it over: the versions of the ticket lists
// and threads the event touches, and the cached sessions, tokens and inboxes when it is
// about agents, sessions, tokens or inboxes.
func (db *DB) Remote(e *crm.Event) {
	if e.ID != 0 {
		db.Versions.Bump([]*crm.Event{e})
	}
	switch e.Type {
	case crm.EventAgentUpdated, crm.EventInboxUpdated, crm.EventSessionEnded, crm.EventTokenRevoked:
		db.cache.Drop()
	}
}

// Blobs is a blob store in the database's blobs table, which every node reads: the
// attachments of a cluster (--blobs postgres). Open it on a DB and hand it to the
// store that uses it through Options.Blobs, or use DB.UseDatabaseBlobs.
type Blobs struct{ db *DB }

var _ blobs.Store = Blobs{}

// UseDatabaseBlobs makes the store keep attachments in the database from now on. Call
// it right after Open, before anything is written.
func (db *DB) UseDatabaseBlobs() { db.blobs, db.sharedBlobs = Blobs{db}, true }

// Write stores data once under its SHA-256; see blobs.Store. The row is committed when
// Write returns.
func (b Blobs) Write(data []byte) (string, error) {
	sum := blobs.Sum(data)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := b.db.pool.Exec(ctx, `INSERT INTO blobs (sum, data) VALUES ($1, $2) ON CONFLICT (sum) DO NOTHING`,
		sum, data); err != nil {
		return "", unavailable(fmt.Errorf("write attachment to the database: %w", err))
	}
	return sum, nil
}

// Open reads the content with the given SHA-256; see blobs.Store.
func (b Blobs) Open(sum string) (io.ReadSeekCloser, error) {
	if !blobs.ValidSum(sum) {
		return nil, fmt.Errorf("open attachment %.80q: not a sha256: %w", sum, os.ErrNotExist)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var data []byte
	err := b.db.pool.QueryRow(ctx, `SELECT data FROM blobs WHERE sum = $1`, sum).Scan(&data)
	if isNoRows(err) {
		return nil, fmt.Errorf("open attachment %s: %w", sum, os.ErrNotExist)
	} else if err != nil {
		return nil, unavailable(fmt.Errorf("read attachment from the database: %w", err))
	}
	return nopCloser{bytes.NewReader(data)}, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// readBlob returns the whole content with the given SHA-256.
func (db *DB) readBlob(sum string) ([]byte, error) {
	f, err := db.blobs.Open(sum)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// ClusterID returns the name of the cluster that the nodes of this database form, made
// once by the migration that added it.
func (db *DB) ClusterID(ctx context.Context) (string, error) {
	var id string
	if err := db.pool.QueryRow(ctx, `SELECT id FROM cluster`).Scan(&id); err != nil {
		return "", fmt.Errorf("read the cluster id: %w", err)
	}
	return id, nil
}

// checkKey makes sure this process seals secrets with the key the database's secrets
// were sealed with: the first process records a check value of its key, and every
// later one (another node, a restart) must have the same key.
func (db *DB) checkKey(ctx context.Context) error {
	mac := hmac.New(sha256.New, db.opt.SecretKey)
	mac.Write([]byte("parley: the secret key of this database"))
	mine := hex.EncodeToString(mac.Sum(nil))
	var have string
	err := db.pool.QueryRow(ctx, `UPDATE cluster SET key_check = coalesce(key_check, $1) RETURNING key_check`, mine).Scan(&have)
	if err != nil {
		return fmt.Errorf("check the secret key: %w", err)
	}
	if have != mine {
		return errors.New("the secret key (PARLEY_SECRET_KEY or secret.key in the data directory) is not the one " +
			"this database's secrets were sealed with: give every node the same key")
	}
	return nil
}

// TakeToken takes one token from the bucket key, which refills at perSecond up to
// burst, and reports whether there was one. Every node shares the bucket: rate limits
// hold for a cluster as a whole. It is one statement, outside the group commit, timed
// by the database's clock.
func (db *DB) TakeToken(ctx context.Context, key string, perSecond float64, burst int) (bool, error) {
	var left float64
	err := db.pool.QueryRow(ctx, `INSERT INTO rate_buckets AS b (key, tokens, at) VALUES ($1, $3::float8 - 1, clock_timestamp())
		ON CONFLICT (key) DO UPDATE SET at = clock_timestamp(),
			tokens = least($3::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.at) * $2::float8) - 1
		WHERE least($3::float8, b.tokens + extract(epoch FROM clock_timestamp() - b.at) * $2::float8) >= 1
		RETURNING tokens`, key, perSecond, burst).Scan(&left)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, unavailable(fmt.Errorf("take a token of %s: %w", key, err))
	}
	return true, nil
}

// SweepTokens forgets the buckets untouched since before: full again, they are what a
// missing row means.
func (db *DB) SweepTokens(ctx context.Context, before time.Time) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM rate_buckets WHERE at < $1`, before); err != nil {
		return unavailable(fmt.Errorf("sweep rate buckets: %w", err))
	}
	return nil
}
