//go:build chaos

package main

import (
	"context"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCrash is the short form of `chaos crash` (CHAOS_KILLS, default 5),
// on both backends: every acknowledged write survives SIGKILL, every write
// in flight is whole, and the database passes its check after every kill.
func TestCrash(t *testing.T) {
	for _, backend := range []string{"bolt", "postgres"} {
		t.Run(backend, func(t *testing.T) { crashOn(t, backend) })
	}
}

func crashOn(t *testing.T, backend string) {
	kills := envInt(t, "CHAOS_KILLS", 5)
	ctx := context.Background()
	cfg := crashConfig{Bin: gatehouseBin, Dir: t.TempDir(), Kills: kills, Workers: 16,
		MinDelay: 300 * time.Millisecond, MaxDelay: 2500 * time.Millisecond, Seed: uint64(time.Now().UnixNano()), Log: t.Logf}
	stop, err := applyBackend(ctx, &cfg, backend)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := runCrash(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Line(backend))
	t.Logf("acknowledged writes by kind: %s", res.Breakdown)
	for _, p := range res.Problems {
		t.Log(p)
	}
	if !res.OK() || res.Kills != kills {
		t.Fatalf("%s", res.Line(backend))
	}
	if res.Checked < res.Writes/2 {
		t.Fatalf("only %d checks for %d acknowledged writes", res.Checked, res.Writes)
	}
}

// The harness must see a loss when there is one: after the first kill,
// refresh tokens and registrations are deleted from the file behind the
// server's back, and verification must report them lost.
func TestCrashDetectsLoss(t *testing.T) {
	tampered := false
	res, err := runCrash(context.Background(), crashConfig{Bin: gatehouseBin, Dir: t.TempDir(), Kills: 1, Workers: 4,
		MinDelay: 1500 * time.Millisecond, MaxDelay: 1500 * time.Millisecond, Seed: 1, Log: t.Logf,
		CheckStore: func(g *gatehouse) error {
			db, err := bolt.Open(g.dbPath(), 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				return err
			}
			defer db.Close()
			return db.Update(func(tx *bolt.Tx) error {
				for _, name := range []string{"refresh_tokens", "dcr_clients"} {
					b := tx.Bucket([]byte(name))
					var keys [][]byte
					_ = b.ForEach(func(k, _ []byte) error { keys = append(keys, append([]byte(nil), k...)); return nil })
					for _, k := range keys {
						if err := b.Delete(k); err != nil {
							return err
						}
						tampered = true
					}
				}
				return nil
			})
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Line("bolt"))
	if !tampered {
		t.Fatal("nothing was written before the kill, so nothing could be removed")
	}
	if res.Lost == 0 {
		t.Fatalf("records were deleted behind the server's back, yet nothing was reported lost: %s", res.Line("bolt"))
	}
}
