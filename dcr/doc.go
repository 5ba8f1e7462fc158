// Package dcr implements dynamic client registration: RFC 7591
// registration and RFC 7592 management (read, update, delete), software
// statements, initial access tokens, and the hygiene that keeps an open
// registration endpoint from filling with clients that never sign anyone
// in (identical unused registrations are merged, unused clients expire
// after a day, idle ones after months).
//
// The package holds the rules; the server package speaks HTTP for it and
// the store package persists what it decides. Client IDs minted here are
// opaque ("dcr_…") and never start with https://, so a registered client
// can never shadow a CIMD client (CIMD -02 §7.1).
package dcr
