package boltstore

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Concurrent writers share a commit, and a failing or panicking function
// in the group costs only its own write. Sharing is made certain rather
// than hoped for (one CPU may run each writer to completion before the
// next starts): a first write holds its commit open until every other
// writer waits in the queue, so the queued writers go together in one
// group.
func TestGroupCommitterIsolatesFailures(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	running, release, gateDone := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		gateDone <- s.group.do(func(tx *bolt.Tx) error {
			running <- struct{}{}
			<-release
			return tx.Bucket(bucketMeta).Put([]byte("gate"), []byte("v"))
		})
	}()
	<-running // the gate leads and is inside its commit
	boom := errors.New("boom")
	const n = 200 // fewer than MaxBatchSize (256): one group
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.group.do(func(tx *bolt.Tx) error {
				switch i {
				case 7:
					return boom
				case 13:
					panic("bad function")
				}
				return tx.Bucket(bucketMeta).Put([]byte(fmt.Sprintf("k%03d", i)), []byte("v"))
			})
		}()
	}
	for s.group.queued() < n {
		runtime.Gosched() // until every writer waits behind the gate's commit
	}
	close(release)
	wg.Wait()
	if err := <-gateDone; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		switch i {
		case 7:
			if !errors.Is(err, boom) {
				t.Errorf("call 7: %v, want its own error", err)
			}
		case 13:
			if !errors.Is(err, errPanic) {
				t.Errorf("call 13: %v, want errPanic", err)
			}
		default:
			if err != nil {
				t.Errorf("call %d failed with a neighbour: %v", i, err)
			}
		}
	}
	stored := 0
	s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMeta).Cursor()
		for k, _ := c.Seek([]byte("k")); k != nil && k[0] == 'k'; k, _ = c.Next() {
			stored++
		}
		return nil
	})
	if stored != n-2 {
		t.Fatalf("%d writes stored, want %d", stored, n-2)
	}
	// The gate's commit, then one shared commit for all n (its failure
	// reruns each function alone, which the counter does not count).
	if c := s.group.commits.Load(); c != 2 {
		t.Fatalf("%d commits for the gate and %d queued writes, want 2", c, n)
	}
}

// A caller returns as soon as its own commit lands: leadership passes to a
// waiting caller instead of the first caller committing for everyone who
// arrives after it.
func TestGroupCommitterHandsOffLeadership(t *testing.T) {
	s, err := Open(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blockingWrite := func(key string, running chan<- struct{}, release <-chan struct{}) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			running <- struct{}{}
			<-release
			return tx.Bucket(bucketMeta).Put([]byte(key), []byte("v"))
		}
	}
	aRunning, aRelease, aDone := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
	bRunning, bRelease, bDone := make(chan struct{}, 1), make(chan struct{}), make(chan error, 1)
	go func() { aDone <- s.group.do(blockingWrite("a", aRunning, aRelease)) }()
	<-aRunning // a leads and is inside its commit
	go func() { bDone <- s.group.do(blockingWrite("b", bRunning, bRelease)) }()
	for s.group.queued() == 0 {
		runtime.Gosched() // until b waits behind a's commit
	}
	close(aRelease)
	<-bRunning // b's commit has started and is held open
	select {
	case err := <-aDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a is held until bRelease if it waits for b
		close(bRelease) // let the store close
		t.Fatal("a's commit landed but a is still committing for b")
	}
	close(bRelease)
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
}
