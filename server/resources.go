package server

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Resource is a resource server Gatehouse issues tokens for (RFC 8707),
// named by an exact URI or by a URI prefix, with the scopes it accepts.
type Resource struct {
	// URI matches exactly (string comparison). Set URI or Prefix.
	URI string
	// Prefix matches any resource under it; it must end with "/" so that
	// https://mcp.example.com/t/ cannot match https://mcp.example.com/tx.
	Prefix string
	// Scopes are the scopes this resource accepts.
	Scopes []string
	// Default is used when a request names no resource.
	Default bool
}

// Resources is the configured set of resource servers.
type Resources struct {
	list []Resource
}

// NewResources validates the resource list.
func NewResources(list []Resource) (*Resources, error) {
	defaults := 0
	for i, r := range list {
		switch {
		case (r.URI == "") == (r.Prefix == ""):
			return nil, fmt.Errorf("resources[%d]: set exactly one of uri and prefix", i)
		case r.URI != "":
			if err := checkResourceURI(r.URI); err != nil {
				return nil, fmt.Errorf("resources[%d].uri: %w", i, err)
			}
		default:
			if err := checkResourceURI(r.Prefix); err != nil {
				return nil, fmt.Errorf("resources[%d].prefix: %w", i, err)
			}
			if !strings.HasSuffix(r.Prefix, "/") {
				return nil, fmt.Errorf("resources[%d].prefix: must end with /", i)
			}
			if r.Default {
				return nil, fmt.Errorf("resources[%d]: only an exact uri can be the default", i)
			}
		}
		if r.Default {
			defaults++
		}
		for _, sc := range r.Scopes {
			if !validScopeToken(sc) {
				return nil, fmt.Errorf("resources[%d].scopes: %q is not a valid scope token (RFC 6749 §3.3)", i, sc)
			}
		}
	}
	if defaults > 1 {
		return nil, fmt.Errorf("resources: at most one resource can be the default")
	}
	return &Resources{list: list}, nil
}

// checkResourceURI applies RFC 8707 §2: an absolute URI without a
// fragment. Gatehouse also requires https (or http on loopback, for
// development) and refuses queries and dot segments, which would make
// prefix matching ambiguous.
func checkResourceURI(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an absolute URI", raw)
	case strings.Contains(raw, "#"):
		return fmt.Errorf("must not contain a fragment (RFC 8707 §2)")
	case strings.Contains(raw, "?"):
		return fmt.Errorf("must not contain a query")
	case u.User != nil || strings.ContainsAny(raw, "\\ \t\r\n"):
		return fmt.Errorf("must not contain userinfo, backslashes or spaces")
	case policy.CheckHost(bracketed(u.Hostname())) != nil:
		// Found by fuzzing: "https://../" parsed with host "..".
		return fmt.Errorf("host: %v", policy.CheckHost(bracketed(u.Hostname())))
	case ambiguousPath(u.EscapedPath()):
		return fmt.Errorf("must not contain . or .. segments or encoded slashes")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && (u.Hostname() == "localhost" || policy.IsLoopbackIP(u.Hostname())):
		return nil
	}
	return fmt.Errorf("must be https (http only on loopback)")
}

// bracketed puts an IPv6 literal back in the brackets URL.Hostname strips.
func bracketed(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// ambiguousPath reports dot segments (plain or percent-encoded) and
// encoded slashes: paths a resource server might resolve differently from
// the string Gatehouse matched.
func ambiguousPath(escapedPath string) bool {
	for _, seg := range strings.Split(escapedPath, "/") {
		switch strings.ToLower(seg) {
		case ".", "..", "%2e", "%2e%2e", ".%2e", "%2e.":
			return true
		}
	}
	return strings.Contains(strings.ToLower(escapedPath), "%2f")
}

// match finds the resource entry for a requested resource indicator.
func (rs *Resources) match(uri string) (*Resource, bool) {
	for i := range rs.list {
		r := &rs.list[i]
		if r.URI != "" && r.URI == uri {
			return r, true
		}
	}
	if checkResourceURI(uri) != nil {
		return nil, false // prefixes only ever match well-formed URIs
	}
	for i := range rs.list {
		r := &rs.list[i]
		if r.Prefix != "" && strings.HasPrefix(uri, r.Prefix) && len(uri) > len(r.Prefix) {
			return r, true
		}
	}
	return nil, false
}

// resolve checks requested resource indicators (defaulting when none is
// given) and returns them deduplicated, with the entries they matched.
func (rs *Resources) resolve(requested []string) ([]string, []*Resource, error) {
	if len(requested) == 0 {
		for i := range rs.list {
			if rs.list[i].Default {
				return []string{rs.list[i].URI}, []*Resource{&rs.list[i]}, nil
			}
		}
		return nil, nil, oauth.InvalidTarget("a resource parameter is required (RFC 8707): name the resource server the token is for")
	}
	var uris []string
	var entries []*Resource
	for _, uri := range requested {
		if slices.Contains(uris, uri) {
			continue
		}
		r, ok := rs.match(uri)
		if !ok {
			return nil, nil, oauth.InvalidTarget("resource %q is not a resource server this authorization server issues tokens for", truncate(uri, 200))
		}
		uris = append(uris, uri)
		entries = append(entries, r)
	}
	return uris, entries, nil
}

// checkScopes verifies that every requested scope is accepted by at least
// one of the resources and allowed by the client's registration.
func checkScopes(scopes []string, entries []*Resource, client *oauth.Client) error {
	allowed := client.ScopeList()
	for _, sc := range scopes {
		if !validScopeToken(sc) {
			return oauth.InvalidScope("%q is not a valid scope token", truncate(sc, 100))
		}
		if len(allowed) > 0 && !slices.Contains(allowed, sc) {
			return oauth.InvalidScope("scope %q is not registered for this client", sc)
		}
		if sc == oauth.ScopeOfflineAccess {
			continue // the authorization server's own scope
		}
		ok := false
		for _, r := range entries {
			ok = ok || slices.Contains(r.Scopes, sc)
		}
		if !ok {
			return oauth.InvalidScope("scope %q is not accepted by the requested resource", sc)
		}
	}
	return nil
}

// ScopesSupported lists every scope any resource accepts, plus
// offline_access, for the discovery document.
func (rs *Resources) ScopesSupported() []string {
	set := map[string]bool{oauth.ScopeOfflineAccess: true}
	for _, r := range rs.list {
		for _, sc := range r.Scopes {
			set[sc] = true
		}
	}
	out := make([]string, 0, len(set))
	for sc := range set {
		out = append(out, sc)
	}
	sort.Strings(out)
	return out
}

// validScopeToken: RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}
