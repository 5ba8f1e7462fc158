package cimd

import "github.com/gatehouse-dev/gatehouse/policy"

// KeySet is a parsed client key set: the usable public signing keys, and
// why any others were skipped (policy.ParseClientKeySet).
type KeySet = policy.ClientKeySet
