// Package policy holds Gatehouse's pure decisions: which redirect URIs a
// request may use, which hosts may act as CIMD clients, and which
// registrations are acceptable. Nothing here performs I/O or reads the
// clock, so every rule is table-tested and fuzzed in isolation and the
// server, cimd and dcr packages share one implementation of each rule.
package policy
