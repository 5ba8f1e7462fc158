package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/gatehouse-dev/gatehouse/store"
)

// FileName is the database file inside the data directory.
const FileName = "gatehouse.db"

// Options tune Open. The zero value is production-ready.
type Options struct {
	// LockTimeout bounds the wait for another process's file lock
	// (default 1 s).
	LockTimeout time.Duration
	// Now is the clock used to hide expired records (default time.Now).
	Now func() time.Time
	// NoSync skips fsync. Tests only: a crash can lose or corrupt data.
	NoSync bool
	// MaxBatchSize bounds how many concurrent writes share one commit
	// (default 256). Writes that arrive while a commit is in flight go
	// together in the next one; there is no batching delay.
	MaxBatchSize int
}

// Store is the bbolt implementation of store.Store.
type Store struct {
	db    *bolt.DB
	now   func() time.Time
	path  string
	group *groupCommitter
	// writeMu holds a write transaction and the settling of the dedup
	// index after it together (bbolt runs one writer at a time anyway).
	writeMu sync.Mutex
	dedup   *dedupIndex
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database in dir. If another process
// holds it, Open fails within LockTimeout with an error wrapping
// store.ErrLocked.
func Open(dir string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      opts.LockTimeout,
		FreelistType: bolt.FreelistMapType,
		// The freelist is rebuilt on open instead of written on every
		// commit: a persisted freelist grows with the file and made each
		// commit slower as the database grew (etcd runs the same way).
		NoFreelistSync: true,
		// Map a generous region up front: every remap while the file grows
		// stalls readers and writers alike. This is address space, not RAM.
		InitialMmapSize: 1 << 30,
		NoSync:          opts.NoSync,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is in use (is another gatehouse running?)", store.ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = 256
	}
	s := &Store{db: db, now: opts.Now, path: path, dedup: newDedupIndex()}
	s.group = &groupCommitter{write: s.write, maxSize: opts.MaxBatchSize}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.View(s.dedup.load); err != nil {
		db.Close()
		return nil, fmt.Errorf("load the registration dedup log: %w", err)
	}
	return s, nil
}

// write runs fn in a write transaction, then applies the transaction's
// changes to the in-memory dedup index if it committed or drops them if
// not, before the next write transaction can start.
func (s *Store) write(fn func(*bolt.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := s.db.Update(fn)
	s.dedup.finish(err == nil)
	return err
}

// init creates the buckets and checks or records the schema version.
func (s *Store) init() error {
	return s.update(func(tx *bolt.Tx) error {
		newConsentIndex := tx.Bucket(bucketConsentByClnt) == nil
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if err := migrateDedupBucket(tx); err != nil {
			return fmt.Errorf("migrate the registration dedup index: %w", err)
		}
		if err := pruneDedupLog(tx); err != nil {
			return fmt.Errorf("prune the registration dedup log: %w", err)
		}
		if newConsentIndex {
			if err := indexConsentsByClient(tx); err != nil {
				return fmt.Errorf("index consents by client: %w", err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		raw := meta.Get(keySchemaVersion)
		if raw == nil {
			return meta.Put(keySchemaVersion, []byte(strconv.Itoa(store.SchemaVersion)))
		}
		v, err := strconv.Atoi(string(raw))
		if err != nil {
			return fmt.Errorf("unreadable schema version %q", raw)
		}
		if v > store.SchemaVersion {
			return fmt.Errorf("%w: data has version %d, this binary reads up to %d", store.ErrSchemaTooNew, v, store.SchemaVersion)
		}
		// Older versions would be migrated here; version 1 is the first.
		return nil
	})
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Close releases the file lock.
func (s *Store) Close() error { return s.db.Close() }

// Ping runs an empty read transaction.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("meta bucket missing")
		}
		return nil
	})
}

// SchemaVersion returns the recorded schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = strconv.Atoi(string(tx.Bucket(bucketMeta).Get(keySchemaVersion)))
		return err
	})
	return v, err
}

// Secret returns the named installation secret, creating it if needed.
func (s *Store) Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	key := []byte("secret/" + name)
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		out = cloneBytes(tx.Bucket(bucketMeta).Get(key))
		return nil
	})
	if err != nil || out != nil {
		return out, err
	}
	fresh, err := generate()
	if err != nil {
		return nil, err
	}
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if existing := b.Get(key); existing != nil { // lost a race: keep theirs
			out = cloneBytes(existing)
			return nil
		}
		out = fresh
		return b.Put(key, fresh)
	})
	return out, err
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// Backend names this backend ("bbolt") for the readiness report.
func (s *Store) Backend() string { return "bbolt" }
