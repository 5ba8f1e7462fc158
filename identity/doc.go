// Package identity signs users in through upstream identity providers:
// any OpenID Connect provider (oidc.go) and GitHub (github.go), one file
// per provider type behind the small Provider interface, as dex's
// connector package does.
//
// A provider only authenticates: it turns the browser's return from the
// upstream into an Identity (provider id, stable upstream subject and the
// claims Gatehouse uses) and applies the operator's admission rules. It
// never approves an MCP client; consent stays the server's own, per client
// (MCP security best practices, confused deputy).
//
// The package keeps the protocol details out of server, which only routes
// /login/{id} and /login/{id}/callback to a Provider, and out of store,
// which persists the linked identities. Upstreams are the operator's own
// choice, so they are reached through an ordinary HTTP client with
// timeouts (plus an optional private CA bundle), not the SSRF-safe
// fetcher used for client-supplied URLs.
package identity
