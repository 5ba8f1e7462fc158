// Package cimd resolves OAuth Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document-02, "CIMD -02"): an https
// client_id names a JSON document that the client publishes, and Gatehouse
// fetches, validates and caches it instead of asking the client to register.
//
// The package owns four things:
//
//   - the SSRF-safe Fetcher (fetcher.go, dial.go, addr.go, body.go): it
//     resolves a host once, refuses every special-use address, dials the
//     very IP it checked, follows no redirects and caps time and bytes. It
//     also fetches jwks_uri key sets and logo_uri images (CIMD -02 §8.6);
//   - document validation (validate*.go, jwks.go, jsoncheck.go): the
//     rules of CIMD -02 §4 and Gatehouse's decisions (requirements §6):
//     refuse what is unsafe, narrow what is merely unsupported;
//   - the Resolver (resolver.go, store.go, freshness.go, backoff.go):
//     client_id rules and the operator's host policy before any I/O, then a
//     ristretto cache of valid documents only, HTTP freshness within
//     operator bounds, ETag revalidation, singleflight, a bounded
//     stale-if-error window and a per-URL failure backoff;
//   - the check report (check.go, report.go) behind `gatehouse cimd check`.
//
// Pure URL and host rules live in package policy and the ristretto wrapper in
// package cache; neither imports this package. Every error a client can cause
// surfaces as an *oauth.Error with code invalid_client whose description
// names the rule; OutcomeOf maps any error onto the fetch-outcome labels used
// for metrics.
package cimd
