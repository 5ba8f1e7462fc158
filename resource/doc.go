// Package resource is what a resource server (an MCP server) needs to
// accept Gatehouse's access tokens: it verifies RFC 9068 JWT access tokens
// offline against the authorization server's published keys, answers
// requests without a good token the way MCP clients expect (RFC 6750 §3
// challenges pointing at RFC 9728 metadata), and serves that RFC 9728
// Protected Resource Metadata.
//
// It owns:
//   - Config: the resource's canonical URL, the trusted issuer and the
//     verification policy (algorithms, leeway, key caching).
//   - Verifier.Verify: the RFC 9068 §4 validation of one token. Keys come
//     from the issuer's JWKS (found through RFC 8414 metadata unless given
//     explicitly), cached, and refetched when a token names an unknown kid,
//     at most once per Config.KeyRefreshInterval.
//   - optionally (Config.Introspection), an RFC 7662 lookup of each
//     verified token, with a short cache, so that revocation takes effect
//     at once; the verifier then fails closed when it cannot ask.
//   - Verifier.Middleware and Verifier.EchoMiddleware: the HTTP layer, with
//     the verified Claims in the request context (ClaimsFrom).
//   - Verifier.ToolMiddleware: the same for an MCP endpoint whose tools
//     need more scopes than the endpoint, answering a tools/call without
//     them with the 403 insufficient_scope step-up challenge.
//   - Verifier.MetadataHandler and the Mount helpers: the RFC 9728 document
//     at both well-known paths MCP clients probe.
//
// The package is a library for resource servers, separate from the
// authorization server's own packages: it depends only on the leaf package
// oauth (standard library only), whose oauth.SameResource is the one rule
// for when two spellings name the same resource, and it works with any
// authorization server that issues RFC 9068 tokens. Per the MCP
// authorization rules it only accepts tokens whose audience is this
// resource (compared as a URI, RFC 3986 §6.2.2-§6.2.3), and it never hands
// the raw token on: Claims carries what was verified, not the credential,
// so a handler has nothing to pass through to another service.
//
// A server protects a handler in a few lines:
//
//	v, err := resource.New(resource.Config{
//		Resource: "https://mcp.example.com/mcp",
//		Issuer:   "https://auth.example.com",
//	})
//	...
//	mux := http.NewServeMux()
//	v.MountMetadata(mux)
//	mux.Handle("/mcp", v.Middleware("mcp:tools")(mcpHandler))
package resource
