package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// approvalsTable holds one record per client ID; records never expire (a
// registered client's goes with the client, see clientsTable).
var approvalsTable = newTable(bucketApprovals, nil)

// ClientApproval returns a client's approval record.
func (s *Store) ClientApproval(ctx context.Context, clientID string) (store.ClientApproval, error) {
	var a store.ClientApproval
	err := s.load(approvalsTable, []byte(clientID), &a, "client approval")
	return a, err
}

// ClientApprovals lists every approval record, oldest request first.
func (s *Store) ClientApprovals(ctx context.Context) ([]store.ClientApproval, error) {
	var out []store.ClientApproval
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketApprovals).ForEach(func(_, v []byte) error {
			_, body, err := split(v)
			if err != nil {
				return err
			}
			var a store.ClientApproval
			if err := json.Unmarshal(body, &a); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].RequestedAt.Equal(out[j].RequestedAt) {
			return out[i].RequestedAt.Before(out[j].RequestedAt)
		}
		return out[i].ClientID < out[j].ClientID
	})
	return out, err
}

// RequestClientApproval records a client's appearance (see
// store.ApprovalStore). One commit, shared with concurrent requests.
func (s *Store) RequestClientApproval(ctx context.Context, a store.ClientApproval) (store.ClientApproval, bool, error) {
	if a.ClientID == "" || a.Fingerprint == "" {
		return store.ClientApproval{}, false, fmt.Errorf("request client approval: client ID and fingerprint are required")
	}
	var (
		stored store.ClientApproval
		queued bool
	)
	err := s.group.do(func(tx *bolt.Tx) error {
		stored, queued = store.ClientApproval{}, false
		var cur store.ClientApproval
		ok, err := approvalsTable.get(tx, s.now(), []byte(a.ClientID), &cur)
		if err != nil {
			return err
		}
		next, changed, q := store.NextApproval(cur, ok, a)
		stored, queued = next, q
		if !changed {
			return nil
		}
		return approvalsTable.put(tx, []byte(a.ClientID), time.Time{}, next)
	})
	return stored, queued, err
}

// DecideClientApproval applies an administrator's decision (see
// store.ApprovalStore): the record and, for a block, the revocation of the
// client's grants are one commit.
func (s *Store) DecideClientApproval(ctx context.Context, d store.ClientDecision) (store.ClientApproval, int, error) {
	var (
		stored  store.ClientApproval
		revoked int
		outcome error
	)
	err := s.update(func(tx *bolt.Tx) error {
		stored, revoked, outcome = store.ClientApproval{}, 0, nil
		now := s.now()
		var cur store.ClientApproval
		ok, err := approvalsTable.get(tx, now, []byte(d.ClientID), &cur)
		if err != nil {
			return err
		}
		next, err := store.Decide(cur, ok, d)
		if err != nil {
			outcome = err
			return nil
		}
		if err := approvalsTable.put(tx, []byte(d.ClientID), time.Time{}, next); err != nil {
			return err
		}
		stored = next
		if next.State == store.ApprovalBlocked {
			revoked, err = countRevokeClientGrants(tx, now, d.ClientID)
		}
		return err
	})
	if err == nil {
		err = outcome
	}
	return stored, revoked, err
}
