package server

import (
	"slices"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// grantScopes decides which of the requested scopes a token may carry
// (RFC 6749 §3.3: the authorization server "MAY fully or partially
// ignore the scope requested by the client"):
//
//   - a malformed scope token is invalid_scope;
//   - a scope none of the requested resources accepts is dropped, and so
//     is one outside an operator-configured client's clients[].scope, the
//     only per-client ceiling. The scope a client declares for itself (DCR
//     registration, CIMD document) is what it can use (RFC 7591 §2), not a
//     ceiling: MCP clients register with the scope of their first challenge
//     and step up later under the same client_id (MCP 2025-11-25 "Scope
//     Challenge Handling");
//   - offline_access, the authorization server's own scope, needs no
//     resource;
//   - if scopes were requested and none is left, invalid_scope.
//
// It returns what is granted, in request order, and what was dropped. The
// token response's scope tells the client what it got.
func grantScopes(requested []string, entries []*Resource, client *oauth.Client) (granted, dropped []string, err error) {
	var ceiling []string
	if client.Kind == oauth.ClientStatic {
		ceiling = client.ScopeList()
	}
	for _, sc := range requested {
		if !validScopeToken(sc) {
			return nil, nil, oauth.InvalidScope("%q is not a valid scope token (RFC 6749 §3.3)", truncate(sc, 100))
		}
		if slices.Contains(granted, sc) || slices.Contains(dropped, sc) {
			continue
		}
		if acceptedScope(sc, entries) && (len(ceiling) == 0 || slices.Contains(ceiling, sc)) {
			granted = append(granted, sc)
		} else {
			dropped = append(dropped, sc)
		}
	}
	if len(requested) > 0 && len(granted) == 0 {
		if len(ceiling) > 0 {
			return nil, dropped, oauth.InvalidScope("none of the requested scopes is both accepted by the requested resource and allowed for this client")
		}
		return nil, dropped, oauth.InvalidScope("none of the requested scopes is accepted by the requested resource")
	}
	return granted, dropped, nil
}

// acceptedScope reports whether one of the resources accepts sc.
func acceptedScope(sc string, entries []*Resource) bool {
	if sc == oauth.ScopeOfflineAccess || oidcScopes[sc] {
		return true // the authorization server's own scopes
	}
	for _, r := range entries {
		if slices.Contains(r.Scopes, sc) {
			return true
		}
	}
	return false
}

// narrowToGrant is the scope of a refresh (RFC 6749 §6): the grant's
// scopes, or those of the requested ones the grant holds. Requested
// scopes the grant does not hold are dropped (§3.3), as at the
// authorization endpoint; if none is left, invalid_scope.
func narrowToGrant(requested, grant []string) ([]string, error) {
	var out []string
	for _, sc := range requested {
		if !validScopeToken(sc) {
			return nil, oauth.InvalidScope("%q is not a valid scope token (RFC 6749 §3.3)", truncate(sc, 100))
		}
		if slices.Contains(grant, sc) && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 && len(requested) > 0 {
		return nil, oauth.InvalidScope("none of the requested scopes was granted; a refresh can narrow the scope, not widen it")
	}
	return out, nil
}
