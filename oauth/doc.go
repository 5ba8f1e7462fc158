// Package oauth is Gatehouse's protocol vocabulary: the one OAuth error type
// and its constructors, the registered parameter values (grant types, client
// authentication methods, PKCE methods), and the client metadata structures of
// RFC 7591 §2 that CIMD documents, DCR registrations and operator-configured
// clients all share.
//
// It is a leaf package on purpose: it imports only the standard library, so
// every other package (server, cimd, dcr, store, policy) can speak the
// protocol without importing the server and without import cycles. Nothing in
// here performs I/O or reads the clock.
package oauth
