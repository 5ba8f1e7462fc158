package boltstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Check runs bbolt's own consistency check (page structure, freelist) and
// then Gatehouse's: every record decodes, every record with an expiry is
// in the expiry index (or the sweeper would never remove it), every
// expiry index entry names a record that carries that expiry, and the
// secondary indexes (users by name, sessions by user, grants by user and
// by client) match their records both ways. Every write keeps these in one
// transaction, so a violation means a write half-happened. Consents are
// checked against consents_by_client too. It returns
// every problem found, joined, or nil.
func (s *Store) Check() error {
	return s.db.View(checkTx)
}

// CheckFile runs Check on the database file at path without changing it:
// it opens the file read-only, waiting up to a second for a writer's lock
// (a process killed with SIGKILL holds none).
func CheckFile(path string) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	return db.View(checkTx)
}

// maxProblems bounds the report: past this many, the file is broken
// enough.
const maxProblems = 50

type checker struct {
	tx       *bolt.Tx
	problems []error
}

func (c *checker) fail(format string, args ...any) {
	if len(c.problems) < maxProblems {
		c.problems = append(c.problems, fmt.Errorf(format, args...))
	}
}

func checkTx(tx *bolt.Tx) error {
	c := &checker{tx: tx}
	for e := range tx.Check() {
		c.fail("bbolt: %w", e)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			c.fail("bucket %s is missing", name)
		}
	}
	if len(c.problems) > 0 {
		return errors.Join(c.problems...)
	}
	if tx.Bucket(bucketMeta).Get(keySchemaVersion) == nil {
		c.fail("meta: no schema version")
	}
	for _, t := range tables {
		c.records(t)
	}
	c.expiryIndex()
	c.indexes()
	return errors.Join(c.problems...)
}

// records checks that every record of t decodes and is indexed by expiry.
func (c *checker) records(t *table) {
	idx := c.tx.Bucket(bucketExpiry)
	_ = c.tx.Bucket(t.name).ForEach(func(k, v []byte) error {
		exp, body, err := split(v)
		if err != nil {
			c.fail("%s %q: %v", t.name, k, err)
			return nil
		}
		if !json.Valid(body) {
			c.fail("%s %q: the record is not valid JSON", t.name, k)
		}
		if exp != 0 && idx.Get(expiryKey(exp, t.name, k)) == nil {
			c.fail("%s %q: expires but is missing from the expiry index", t.name, k)
		}
		return nil
	})
}

// expiryIndex checks that every entry names a record with that expiry.
func (c *checker) expiryIndex() {
	_ = c.tx.Bucket(bucketExpiry).ForEach(func(k, _ []byte) error {
		rest := k[min(8, len(k)):]
		bucket, key, ok := bytes.Cut(rest, []byte{0})
		if len(k) < 9 || !ok || tables[string(bucket)] == nil {
			c.fail("expiry index: malformed entry %q", k)
			return nil
		}
		raw := c.tx.Bucket(bucket).Get(key)
		if len(raw) < 8 || binary.BigEndian.Uint64(raw[:8]) != binary.BigEndian.Uint64(k[:8]) {
			c.fail("expiry index: entry for %s %q has no record with that expiry", bucket, key)
		}
		return nil
	})
}

// index is a secondary index whose keys are owner\0id over a table keyed
// by id.
type index struct {
	bucket []byte
	table  *table
	owner  func(json.RawMessage) (string, error) // the owner field of a record
}

func ownerField(field string) func(json.RawMessage) (string, error) {
	return func(body json.RawMessage) (string, error) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return "", err
		}
		var owner string
		if raw, ok := m[field]; ok {
			if err := json.Unmarshal(raw, &owner); err != nil {
				return "", err
			}
		}
		return owner, nil
	}
}

func (c *checker) indexes() {
	c.consentIndex()
	for _, ix := range []index{
		{bucketSessionByUser, sessionsTable, ownerField("user_id")},
		{bucketGrantByUser, grantsTable, ownerField("user_id")},
		{bucketGrantByClient, grantsTable, ownerField("client_id")},
	} {
		c.ownerIndex(ix)
	}
	// users_by_name maps a name to the user's ID.
	names := c.tx.Bucket(bucketUsersByName)
	_ = names.ForEach(func(name, id []byte) error {
		raw := c.tx.Bucket(bucketUsers).Get(id)
		if raw == nil {
			c.fail("users_by_name %q: user %q is missing", name, id)
		}
		return nil
	})
	name := ownerField("name")
	_ = c.tx.Bucket(bucketUsers).ForEach(func(id, v []byte) error {
		_, body, err := split(v)
		if err != nil {
			return nil // reported by records
		}
		n, err := name(body)
		if err != nil || !bytes.Equal(names.Get([]byte(n)), id) {
			c.fail("users %q: not in users_by_name", id)
		}
		return nil
	})
}

// ownerIndex checks both directions: every entry names a record of that
// owner, and every record has its entry.
func (c *checker) ownerIndex(ix index) {
	records := c.tx.Bucket(ix.table.name)
	entries := c.tx.Bucket(ix.bucket)
	_ = entries.ForEach(func(k, _ []byte) error {
		owner, id, ok := bytes.Cut(k, []byte{0})
		raw := records.Get(id)
		if !ok || raw == nil {
			c.fail("%s %q: no %s record", ix.bucket, k, ix.table.name)
			return nil
		}
		if _, body, err := split(raw); err == nil {
			if got, err := ix.owner(body); err != nil || got != string(owner) {
				c.fail("%s %q: the record's owner is %q", ix.bucket, k, got)
			}
		}
		return nil
	})
	_ = records.ForEach(func(id, v []byte) error {
		_, body, err := split(v)
		if err != nil {
			return nil // reported by records
		}
		owner, err := ix.owner(body)
		if err != nil {
			c.fail("%s %q: %v", ix.table.name, id, err)
			return nil
		}
		if entries.Get(indexKey(owner, string(id))) == nil {
			c.fail("%s %q: missing from %s", ix.table.name, id, ix.bucket)
		}
		return nil
	})
}

// consentIndex checks consents (user\0client) against consents_by_client
// (client\0user), both ways.
func (c *checker) consentIndex() {
	consents, idx := c.tx.Bucket(bucketConsents), c.tx.Bucket(bucketConsentByClnt)
	swap := func(k []byte) []byte {
		a, b, _ := bytes.Cut(k, []byte{0})
		return indexKey(string(b), string(a))
	}
	_ = consents.ForEach(func(k, _ []byte) error {
		if idx.Get(swap(k)) == nil {
			c.fail("consents %q: missing from consents_by_client", k)
		}
		return nil
	})
	_ = idx.ForEach(func(k, _ []byte) error {
		if consents.Get(swap(k)) == nil {
			c.fail("consents_by_client %q: no consent", k)
		}
		return nil
	})
}
