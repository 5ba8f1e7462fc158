package boltstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Bucket names. Secondary indexes hold only keys (values are empty).
var (
	bucketMeta          = []byte("meta")
	bucketExpiry        = []byte("expiry")
	bucketKeys          = []byte("signing_keys")
	bucketUsers         = []byte("users")
	bucketUsersByName   = []byte("users_by_name")
	bucketSessions      = []byte("sessions")
	bucketSessionByUser = []byte("sessions_by_user")
	bucketCodes         = []byte("auth_codes")
	bucketGrants        = []byte("grants")
	bucketGrantByUser   = []byte("grants_by_user")
	bucketGrantByClient = []byte("grants_by_client")
	bucketRefresh       = []byte("refresh_tokens")
	bucketRevokedAT     = []byte("revoked_access_tokens")
	bucketConsents      = []byte("consents")
	bucketConsentByClnt = []byte("consents_by_client")
	bucketAssertions    = []byte("assertion_ids")
	bucketClients       = []byte("dcr_clients")
	// bucketClientDedupLog lists the unused clients that hold a
	// DedupKey: client ID → DedupKey (dedup.go).
	bucketClientDedupLog = []byte("dcr_client_dedup_log")
	// bucketClientDedupV1 is the DedupKey → client ID index that earlier
	// versions kept; Open migrates it into the log.
	bucketClientDedupV1 = []byte("dcr_client_dedup")
	bucketIATs          = []byte("dcr_initial_tokens")
	bucketIdentities    = []byte("identities")
	bucketIdentByUser   = []byte("identities_by_user")
	bucketApprovals     = []byte("client_approvals")
	bucketPending       = []byte("pending_requests")
	bucketLoginFailures = []byte("login_failures")

	keySchemaVersion = []byte("schema_version")
)

var allBuckets = [][]byte{
	bucketMeta, bucketExpiry, bucketKeys, bucketUsers, bucketUsersByName,
	bucketSessions, bucketSessionByUser, bucketCodes, bucketGrants,
	bucketGrantByUser, bucketGrantByClient, bucketRefresh, bucketRevokedAT,
	bucketConsents, bucketConsentByClnt, bucketAssertions, bucketClients, bucketClientDedupLog, bucketIATs,
	bucketIdentities, bucketIdentByUser,
	bucketApprovals, bucketPending, bucketLoginFailures,
}

// table is one entity bucket whose values carry an expiry prefix.
type table struct {
	name []byte
	// appendOnly tables get time-ordered keys: new records land at the end
	// of the B-tree, so pages are filled instead of split in half.
	appendOnly bool
	// onDelete removes secondary-index entries for a record that is being
	// deleted (by the caller or by the sweeper). value is the stored JSON.
	onDelete func(tx *bolt.Tx, now time.Time, key, value []byte) error
}

// tables lists every table, so the sweeper can find a table's onDelete
// hook from the bucket name in an expiry index key.
var tables = map[string]*table{}

func newTable(name []byte, onDelete func(tx *bolt.Tx, now time.Time, key, value []byte) error) *table {
	t := &table{name: name, onDelete: onDelete}
	tables[string(name)] = t
	return t
}

func encodeValue(exp time.Time, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint64(out, expNanos(exp))
	return append(out, body...), nil
}

func expNanos(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

// split separates a stored value into expiry and JSON body.
func split(v []byte) (uint64, []byte, error) {
	if len(v) < 8 {
		return 0, nil, fmt.Errorf("corrupt value of %d bytes", len(v))
	}
	return binary.BigEndian.Uint64(v[:8]), v[8:], nil
}

func expired(exp uint64, now time.Time) bool {
	return exp != 0 && exp <= uint64(now.UnixNano())
}

func expiryKey(exp uint64, bucket, key []byte) []byte {
	k := make([]byte, 8, 8+len(bucket)+1+len(key))
	binary.BigEndian.PutUint64(k, exp)
	k = append(k, bucket...)
	k = append(k, 0)
	return append(k, key...)
}

// get decodes the live record at key into out. The JSON decoding copies the
// data out of bbolt's memory-mapped page.
func (t *table) get(tx *bolt.Tx, now time.Time, key []byte, out any) (bool, error) {
	raw := tx.Bucket(t.name).Get(key)
	if raw == nil {
		return false, nil
	}
	exp, body, err := split(raw)
	if err != nil {
		return false, fmt.Errorf("%s: %w", t.name, err)
	}
	if expired(exp, now) {
		return false, nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return false, fmt.Errorf("%s: decode: %w", t.name, err)
	}
	return true, nil
}

// load reads the live record at key into out in a read transaction of its
// own; a missing or expired record is store.ErrNotFound, named by what.
func (s *Store) load(t *table, key []byte, out any, what string) error {
	return s.db.View(func(tx *bolt.Tx) error {
		ok, err := t.get(tx, s.now(), key, out)
		if err == nil && !ok {
			err = fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return err
	})
}

// exists reports whether a live record is stored at key.
func (t *table) exists(tx *bolt.Tx, now time.Time, key []byte) bool {
	raw := tx.Bucket(t.name).Get(key)
	if raw == nil {
		return false
	}
	exp, _, err := split(raw)
	return err == nil && !expired(exp, now)
}

// put stores v at key with the given expiry (zero: none), replacing any
// previous record and its expiry index entry.
func (t *table) put(tx *bolt.Tx, key []byte, exp time.Time, v any) error {
	data, err := encodeValue(exp, v)
	if err != nil {
		return err
	}
	b := tx.Bucket(t.name)
	if t.appendOnly {
		b.FillPercent = 0.95
	}
	e := expNanos(exp)
	indexed := false // the index already holds (e, key): an update in place
	if old := b.Get(key); old != nil {
		if oldExp, _, err := split(old); err == nil && oldExp != 0 {
			if oldExp == e {
				indexed = true
			} else if err := tx.Bucket(bucketExpiry).Delete(expiryKey(oldExp, t.name, key)); err != nil {
				return err
			}
		}
	}
	if err := b.Put(key, data); err != nil {
		return err
	}
	if e != 0 && !indexed {
		idx := tx.Bucket(bucketExpiry)
		idx.FillPercent = 0.95 // keyed by expiry time: mostly appended
		return idx.Put(expiryKey(e, t.name, key), nil)
	}
	return nil
}

// del removes the record at key, its expiry entry and (through onDelete)
// its secondary-index entries. Deleting a missing key is no error.
func (t *table) del(tx *bolt.Tx, now time.Time, key []byte) error {
	b := tx.Bucket(t.name)
	old := b.Get(key)
	if old == nil {
		return nil
	}
	exp, body, err := split(old)
	if err != nil {
		return b.Delete(key)
	}
	if t.onDelete != nil {
		// body points into the page; the hook must finish with it before
		// the Delete below.
		if err := t.onDelete(tx, now, key, bytes.Clone(body)); err != nil {
			return err
		}
	}
	if exp != 0 {
		if err := tx.Bucket(bucketExpiry).Delete(expiryKey(exp, t.name, key)); err != nil {
			return err
		}
	}
	return b.Delete(key)
}

// indexKey joins parts with a 0 byte, for secondary indexes.
func indexKey(parts ...string) []byte {
	return []byte(joinParts(parts))
}

func joinParts(parts []string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	buf := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			buf = append(buf, 0)
		}
		buf = append(buf, p...)
	}
	return string(buf)
}

// prefixKeys returns copies of the keys in bucket that start with prefix.
func prefixKeys(tx *bolt.Tx, bucket, prefix []byte) [][]byte {
	var out [][]byte
	c := tx.Bucket(bucket).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, bytes.Clone(k))
	}
	return out
}

// appendOnly marks a table whose keys are time-ordered.
func appendOnly(t *table) *table {
	t.appendOnly = true
	return t
}
