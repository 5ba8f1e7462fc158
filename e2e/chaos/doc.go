// Command chaos proves Gatehouse's reliability claims against the real
// binary, from outside, as docs/reliability.md describes:
//
//	go run ./e2e/chaos crash -kills 20      # SIGKILL under a mixed write load
//	go run ./e2e/chaos soak -d 30m          # long mixed load, resources sampled
//
// crash runs many concurrent clients that register (RFC 7591), sign in and
// consent through the real pages, redeem codes, refresh, revoke and update
// their registrations (RFC 7592), while the server is killed with SIGKILL
// at random moments and restarted. After each restart every acknowledged
// write is checked, every write in flight at the kill must be wholly there
// or wholly absent, and the database file must pass its consistency check.
// It prints one line: kills, acknowledged writes checked, lost.
//
// soak runs the same flows and CIMD clients whose hosts come and go for a
// given time, samples the server's RSS, heap, goroutines, descriptors and
// p99 latency into a CSV file and an SVG chart, and fails on any 5xx, any
// unexpected answer, or growth after warm-up (see growth.go for the rule).
//
// The fault tests (go test -tags chaos ./e2e/chaos) drive the same binary
// into a full disk, an unwritable data directory and a hanging metadata
// host.
package main
