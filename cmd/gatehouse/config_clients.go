package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/server"
)

// minSecretLen: operator-chosen secrets are hashed with SHA-256, which is
// only safe for secrets too long to guess.
const minSecretLen = 16

var supportedGrants = []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantClientCredentials}

// buildResources converts the resources list, reporting problems by key.
func buildResources(list []ResourceConfig) ([]server.Resource, []Problem) {
	out := make([]server.Resource, 0, len(list))
	for _, r := range list {
		res := server.Resource{URI: r.URI, Prefix: r.Prefix, Scopes: r.Scopes, Default: r.Default, Claims: r.Claims}
		for _, sa := range r.ScopeAccess {
			res.ScopeAccess = append(res.ScopeAccess, server.ScopeAccess{Scopes: sa.Scopes, Groups: sa.Groups, Users: sa.Users})
		}
		out = append(out, res)
	}
	if _, err := server.NewResources(out); err != nil {
		key, msg, _ := strings.Cut(err.Error(), ": ")
		return nil, []Problem{{Key: key, Msg: msg}}
	}
	return out, nil
}

// buildClients turns the clients list into resolved clients, reporting
// every problem by key (clients[2].redirect_uris[0], ...).
func buildClients(list []ClientConfig) ([]*oauth.Client, []Problem) {
	var (
		out      []*oauth.Client
		problems []Problem
		seen     = map[string]bool{}
	)
	for i, cc := range list {
		key := fmt.Sprintf("clients[%d]", i)
		bad := func(field, format string, args ...any) {
			problems = append(problems, Problem{Key: key + field, Msg: fmt.Sprintf(format, args...)})
		}
		c, ok := buildClient(cc, bad)
		if !ok {
			continue
		}
		if seen[c.ID] {
			bad(".client_id", "%q is configured twice", c.ID)
			continue
		}
		seen[c.ID] = true
		out = append(out, c)
	}
	return out, problems
}

func buildClient(cc ClientConfig, bad func(field, format string, args ...any)) (*oauth.Client, bool) {
	before := 0
	count := func(field, format string, args ...any) { before++; bad(field, format, args...) }
	switch id := cc.ClientID; {
	case id == "":
		count(".client_id", "is required")
	case len(id) > 255 || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		count(".client_id", "must be 1 to 255 characters without spaces or control characters")
	case strings.HasPrefix(strings.ToLower(id), "https://"):
		count(".client_id", "https:// client IDs name metadata documents (CIMD); allow their host under cimd.hosts instead")
	case strings.HasPrefix(id, "usr_") || strings.HasPrefix(id, "dcr_"):
		// A client_credentials token's sub is the client ID: it must never
		// read as a user's subject (RFC 9700 §4.15), nor shadow a
		// registered client.
		count(".client_id", "the usr_ and dcr_ prefixes are reserved for user subjects and registered clients")
	}
	secret := cc.ClientSecret
	if cc.ClientSecretFile != "" {
		if secret != "" {
			count(".client_secret_file", "set client_secret or client_secret_file, not both")
		}
		data, err := os.ReadFile(cc.ClientSecretFile)
		if err != nil {
			count(".client_secret_file", "cannot read: %v", err)
		}
		secret = strings.TrimRight(string(data), "\r\n")
	}
	method := cc.TokenEndpointAuthMethod
	if method == "" {
		switch {
		case secret != "":
			method = oauth.AuthMethodClientSecretBasic
		case len(cc.JWKS) > 0 || cc.JWKSURI != "":
			method = oauth.AuthMethodPrivateKeyJWT
		default:
			method = oauth.AuthMethodNone
		}
	}
	switch method {
	case oauth.AuthMethodClientSecretBasic, oauth.AuthMethodClientSecretPost:
		if len(secret) < minSecretLen {
			count(".client_secret", "%s needs a secret of at least %d characters", method, minSecretLen)
		}
	case oauth.AuthMethodNone, oauth.AuthMethodPrivateKeyJWT:
		if secret != "" {
			count(".client_secret", "a %s client must not have a secret", method)
		}
	default:
		count(".token_endpoint_auth_method", "%q is not one of none, client_secret_basic, client_secret_post, private_key_jwt", method)
	}
	if method == oauth.AuthMethodPrivateKeyJWT && (len(cc.JWKS) > 0) == (cc.JWKSURI != "") {
		count(".jwks", "private_key_jwt needs exactly one of jwks and jwks_uri")
	}
	if len(cc.JWKS) > 0 {
		if _, err := policy.ParseClientJWKS(cc.JWKS); err != nil {
			count(".jwks", "%v", err)
		}
	}
	if cc.JWKSURI != "" && !strings.HasPrefix(cc.JWKSURI, "https://") {
		count(".jwks_uri", "must be an https URL")
	}
	grants := cc.GrantTypes
	if len(grants) == 0 {
		grants = []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken}
	}
	for j, g := range grants {
		if !slices.Contains(supportedGrants, g) {
			count(fmt.Sprintf(".grant_types[%d]", j), "%q is not one of %s", g, strings.Join(supportedGrants, ", "))
		}
	}
	if slices.Contains(grants, oauth.GrantClientCredentials) && method == oauth.AuthMethodNone {
		count(".grant_types", "client_credentials needs a confidential client (a secret or keys)")
	}
	if slices.Contains(grants, oauth.GrantAuthorizationCode) && len(cc.RedirectURIs) == 0 {
		count(".redirect_uris", "the authorization_code grant needs at least one redirect URI")
	}
	for j, u := range cc.RedirectURIs {
		if err := policy.CheckRegisteredRedirectURI(u); err != nil {
			count(fmt.Sprintf(".redirect_uris[%d]", j), "%v", err)
		}
	}
	if cc.AllowIntrospection && method == oauth.AuthMethodNone {
		count(".allow_introspection", "introspection needs a confidential client (a secret or keys)")
	}
	if before > 0 {
		return nil, false
	}
	c := &oauth.Client{ID: cc.ClientID, Kind: oauth.ClientStatic, MayIntrospect: cc.AllowIntrospection, Metadata: oauth.ClientMetadata{
		RedirectURIs: cc.RedirectURIs, TokenEndpointAuthMethod: method, GrantTypes: grants,
		ResponseTypes: []string{oauth.ResponseTypeCode}, ClientName: cc.ClientName, Scope: cc.Scope,
		JWKS: cc.JWKS, JWKSURI: cc.JWKSURI,
	}}
	if secret != "" {
		sum := sha256.Sum256([]byte(secret))
		c.SecretHash = sum[:]
	}
	return c, true
}
