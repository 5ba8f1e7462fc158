// Package identitytest runs local TLS servers that speak the upstream
// protocols Gatehouse's identity providers use: an OpenID Connect provider
// (discovery, JWKS, authorization code with PKCE, userinfo) and GitHub's
// OAuth and REST endpoints as GitHub documents them. Tests of the identity
// package and of the server's sign-in routes drive real HTTP and TLS
// against them; the e2e suite uses node-oidc-provider instead.
package identitytest
