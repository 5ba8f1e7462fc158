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
	// URI matches a requested resource that is the same URI after RFC 3986
	// normalization (oauth.NormalizeResource): "https://mcp.example.com"
	// matches "https://mcp.example.com/" and "HTTPS://MCP.example.com:443".
	// Tokens name it in aud exactly as configured. Set URI or Prefix.
	URI string
	// Prefix matches any resource under it, compared after the same
	// normalization; it must end with "/" so that https://mcp.example.com/t/
	// cannot match https://mcp.example.com/tx.
	Prefix string
	// Scopes are the scopes this resource accepts.
	Scopes []string
	// Default is used when a request names no resource.
	Default bool
	// Claims are the user claims (email, name, groups, preferred_username)
	// copied into this resource's access tokens; nothing else is.
	Claims []string
	// ScopeAccess restricts scopes to some users: a scope named in any
	// entry is granted only to users matching one of the entries naming
	// it; every other scope stays open to every user.
	ScopeAccess []ScopeAccess
	// key is the normal form of URI or Prefix.
	key string
}

// ScopeAccess is one resources[].scope_access entry.
type ScopeAccess struct {
	Scopes []string
	// Groups match the user's upstream groups; Users match the user's
	// name, usr_ subject, or an upstream username or verified email.
	Groups []string
	Users  []string
}

// Resources is the configured set of resource servers.
type Resources struct {
	list []Resource
}

// NewResources validates the resource list. Two entries that normalize to
// the same URI or prefix are refused: a request could not tell them apart.
func NewResources(list []Resource) (*Resources, error) {
	list = slices.Clone(list)
	defaults := 0
	for i := range list {
		r := &list[i]
		switch {
		case (r.URI == "") == (r.Prefix == ""):
			return nil, fmt.Errorf("resources[%d]: set exactly one of uri and prefix", i)
		case r.URI != "":
			key, err := checkResourceURI(r.URI)
			if err != nil {
				return nil, fmt.Errorf("resources[%d].uri: %w", i, err)
			}
			r.key = key
		default:
			key, err := checkResourceURI(r.Prefix)
			if err != nil {
				return nil, fmt.Errorf("resources[%d].prefix: %w", i, err)
			}
			if !strings.HasSuffix(r.Prefix, "/") {
				return nil, fmt.Errorf("resources[%d].prefix: must end with /", i)
			}
			if r.Default {
				return nil, fmt.Errorf("resources[%d]: only an exact uri can be the default", i)
			}
			r.key = key
		}
		for j := range i {
			if list[j].key == r.key && (list[j].URI == "") == (r.URI == "") {
				return nil, fmt.Errorf("resources[%d]: names the same resource as resources[%d] (%s)", i, j, r.key)
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
		if err := checkResourceUserRules(*r); err != nil {
			return nil, fmt.Errorf("resources[%d].%w", i, err)
		}
	}
	if defaults > 1 {
		return nil, fmt.Errorf("resources: at most one resource can be the default")
	}
	return &Resources{list: list}, nil
}

// checkResourceURI applies RFC 8707 §2 (an absolute URI without a
// fragment) and returns the URI's normal form (oauth.NormalizeResource,
// the one place resource spellings are compared). Gatehouse also requires
// https (or http on loopback, for development) and refuses queries, dot
// segments and encoded slashes, which would make prefix matching
// ambiguous, and hosts that are not a name or a canonical IP literal.
func checkResourceURI(raw string) (string, error) {
	n, err := oauth.NormalizeResource(raw)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(n)
	switch {
	case err != nil || u.Host == "":
		return "", fmt.Errorf("%q is not an absolute URI", truncate(raw, 200))
	case strings.Contains(n, "?"):
		return "", fmt.Errorf("must not contain a query")
	case policy.CheckHost(bracketed(u.Hostname())) != nil:
		// Found by fuzzing: "https://../" parsed with host "..".
		return "", fmt.Errorf("host: %v", policy.CheckHost(bracketed(u.Hostname())))
	case ambiguousPath(u.EscapedPath()):
		return "", fmt.Errorf("must not contain . or .. segments or encoded slashes")
	case u.Scheme == "https":
		return n, nil
	case u.Scheme == "http" && (u.Hostname() == "localhost" || policy.IsLoopbackIP(u.Hostname())):
		return n, nil
	}
	return "", fmt.Errorf("must be https (http only on loopback)")
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

// match finds the resource entry for a requested resource indicator in
// normal form and returns the audience a token for it names: an exact
// entry's URI as configured, or, under a prefix, the configured prefix
// followed by the rest of the request's normal form.
func (rs *Resources) match(key string) (string, *Resource, bool) {
	for i := range rs.list {
		if r := &rs.list[i]; r.URI != "" && r.key == key {
			return r.URI, r, true
		}
	}
	for i := range rs.list {
		r := &rs.list[i]
		if r.Prefix != "" && strings.HasPrefix(key, r.key) && len(key) > len(r.key) {
			return r.Prefix + key[len(r.key):], r, true
		}
	}
	return "", nil, false
}

// resolve checks requested resource indicators (defaulting when none is
// given) and returns the audiences they name, deduplicated, with the
// entries they matched. Whatever spelling the client sent, an audience is
// the resource as the operator configured it (see match), so a resource
// server comparing aud with its own string accepts the token.
func (rs *Resources) resolve(requested []string) ([]string, []*Resource, error) {
	if len(requested) == 0 {
		for i := range rs.list {
			if rs.list[i].Default {
				return []string{rs.list[i].URI}, []*Resource{&rs.list[i]}, nil
			}
		}
		return nil, nil, oauth.InvalidTarget("a resource parameter is required (RFC 8707): name the resource server the token is for")
	}
	var auds []string
	var entries []*Resource
	for _, raw := range requested {
		key, err := checkResourceURI(raw)
		if err != nil {
			return nil, nil, oauth.InvalidTarget("resource %q is not a valid resource indicator: %v", truncate(raw, 200), err)
		}
		aud, r, ok := rs.match(key)
		if !ok {
			return nil, nil, oauth.InvalidTarget("resource %q is not a resource server this authorization server issues tokens for", truncate(raw, 200))
		}
		if slices.Contains(auds, aud) {
			continue
		}
		auds = append(auds, aud)
		entries = append(entries, r)
	}
	return auds, entries, nil
}

// sameResources reports whether a and b name the same resources, each
// compared as a URI (oauth.SameResource), whatever the order or
// repetition: "https://mcp.example.com/" in a resource parameter repeats
// an ID-JAG's "https://mcp.example.com".
func sameResources(a, b []string) bool {
	covers := func(x, y []string) bool {
		return !slices.ContainsFunc(x, func(r string) bool {
			return !slices.ContainsFunc(y, func(s string) bool { return oauth.SameResource(r, s) })
		})
	}
	return covers(a, b) && covers(b, a)
}

// ScopesSupported lists every scope any resource accepts, plus
// offline_access, for the discovery document.
func (rs *Resources) ScopesSupported() []string {
	set := map[string]bool{oauth.ScopeOfflineAccess: true, ScopeOpenID: true, "profile": true, "email": true}
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
