// Package server is Gatehouse's HTTP face: the echo router, one file per
// endpoint or flow (discovery, JWKS, login, health), the one error handler
// that renders OAuth errors as JSON and page errors as HTML, and the
// middleware every request passes (request IDs, structured logs, client IP
// from trusted proxies only, body limit, security headers).
//
// The server holds no configuration parsing: cmd/gatehouse builds a Config
// of typed values and the Deps (store, clock, randomness, logger) and calls
// New. Everything that varies in tests (time, randomness, the store) comes
// in through Deps, so handlers never call time.Now or crypto/rand directly.
package server
