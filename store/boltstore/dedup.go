package boltstore

import (
	"bytes"
	"hash/maphash"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// The dedup lookup (store.RegisteredClient.DedupKey → the unused client
// that holds it) is a map in memory, rebuilt when the store opens from a
// log on disk that is keyed by client ID.
//
// Why not a bucket keyed by DedupKey, as before: a DedupKey is a SHA-256,
// so every registration's entry landed on a random page of a B-tree that
// grows with the number of unused clients. Each commit of N registrations
// then rewrote N random leaf pages and their branch pages - over 80 % of
// the pages a registration commit wrote, and two fifths of the CPU it
// cost. Client IDs are time-ordered (dcr.Service), so the log's entries
// are appended to the pages the clients bucket is appending to anyway.
//
// The map is a cache of the log and may be wrong in one direction only:
// an entry can name a client that is gone, used, or holds another key
// (a hash collision in the map); CreateClient reads the record and checks
// all three before merging into it. Entries are never missing while the
// log holds them, except past maxDedupEntries.
type dedupIndex struct {
	mu   sync.Mutex
	seed maphash.Seed
	ids  map[uint64]string
	// max bounds ids (maxDedupEntries; tests lower it).
	max int
	// pending holds the changes of the write transaction in progress
	// (bbolt runs one at a time): a second identical registration in the
	// same group commit must find the first, and a rolled-back
	// transaction must leave the map as it was (Store.write settles it).
	pending []dedupChange
}

type dedupChange struct {
	key    uint64
	id     string
	remove bool
}

// maxDedupEntries bounds the map (about 100 bytes an entry, so 100 MB at
// most) whatever the
// registration limits: past it, new unused registrations are still logged
// but deduplicate nothing until entries leave (a client's first token,
// deletion or expiry). At the default limits (50 registrations a second,
// unused clients kept 24 h) only a day-long flood gets there.
const maxDedupEntries = 1 << 20

func newDedupIndex() *dedupIndex {
	return &dedupIndex{seed: maphash.MakeSeed(), ids: map[uint64]string{}, max: maxDedupEntries}
}

// hash keys the map. The seed is random per process, so nobody can
// choose registrations whose keys collide.
func (d *dedupIndex) hash(key string) uint64 { return maphash.String(d.seed, key) }

// lookup returns the client the index names for key, if any, seeing the
// current transaction's own changes.
func (d *dedupIndex) lookup(key string) (string, bool) {
	h := d.hash(key)
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.pending) - 1; i >= 0; i-- {
		if p := d.pending[i]; p.key == h {
			return p.id, !p.remove
		}
	}
	id, ok := d.ids[h]
	return id, ok
}

// add records, for the current transaction, that client id holds key.
func (d *dedupIndex) add(key, id string) {
	d.change(dedupChange{key: d.hash(key), id: id})
}

// remove records, for the current transaction, that client id no longer
// holds key. An entry that names another client stays.
func (d *dedupIndex) remove(key, id string) {
	d.change(dedupChange{key: d.hash(key), id: id, remove: true})
}

func (d *dedupIndex) change(c dedupChange) {
	d.mu.Lock()
	d.pending = append(d.pending, c)
	d.mu.Unlock()
}

// finish applies the current transaction's changes if it committed and
// drops them if not.
func (d *dedupIndex) finish(committed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if committed {
		for _, c := range d.pending {
			d.apply(c)
		}
	}
	clear(d.pending)
	d.pending = d.pending[:0]
}

func (d *dedupIndex) apply(c dedupChange) {
	switch {
	case c.remove:
		if d.ids[c.key] == c.id {
			delete(d.ids, c.key)
		}
	case len(d.ids) < d.max:
		d.ids[c.key] = c.id
	default:
		if _, ok := d.ids[c.key]; ok {
			d.ids[c.key] = c.id // replacing costs nothing
		}
	}
}

// size is the number of entries (tests and the open-time load read it).
func (d *dedupIndex) size() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.ids)
}

// load fills the index from the log (client ID → DedupKey) when the store
// opens.
func (d *dedupIndex) load(tx *bolt.Tx) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return tx.Bucket(bucketClientDedupLog).ForEach(func(id, key []byte) error {
		d.apply(dedupChange{key: d.hash(string(key)), id: string(id)})
		return nil
	})
}

// migrateDedupBucket moves the entries of the index bucket that earlier
// versions kept (DedupKey → client ID) into the log, then drops it. An
// older binary opening the file again recreates the bucket empty and
// dedups only what it registers itself; entries it leaves stale in the
// log are harmless (see dedupIndex).
func migrateDedupBucket(tx *bolt.Tx) error {
	old := tx.Bucket(bucketClientDedupV1)
	if old == nil {
		return nil
	}
	log := tx.Bucket(bucketClientDedupLog)
	if err := old.ForEach(func(key, id []byte) error {
		return log.Put(id, key)
	}); err != nil {
		return err
	}
	return tx.DeleteBucket(bucketClientDedupV1)
}

// pruneDedupLog drops the log entries whose client is gone, used, or no
// longer holds the key, at open. This binary removes an entry in the
// transaction that changes its client, so such entries come only from an
// older binary that ran on the file in between (it knows nothing of the
// log); without this they would stay forever, as the sweeper reaches a
// log entry only through its client's expiry. The test reads the stored
// JSON without decoding it (open time grows with the unused clients):
// a record that holds the key has "dedup_key":"<key>" and, unused, no
// first_token_at. A mistake either way is harmless - a pruned live entry
// only stops absorbing identical registrations, and a kept stale one is
// checked against the record by CreateClient.
func pruneDedupLog(tx *bolt.Tx) error {
	log, clients := tx.Bucket(bucketClientDedupLog), tx.Bucket(bucketClients)
	var stale [][]byte
	err := log.ForEach(func(id, key []byte) error {
		raw := clients.Get(id)
		_, body, err := split(raw)
		if raw == nil || err != nil || bytes.Contains(body, []byte(`"first_token_at"`)) ||
			!bytes.Contains(body, append(append([]byte(`"dedup_key":"`), key...), '"')) {
			stale = append(stale, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range stale {
		if err := log.Delete(id); err != nil {
			return err
		}
	}
	return nil
}
