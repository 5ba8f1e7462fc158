package server

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// CheckProfileResources verifies every client_profiles[].resources entry
// against the configured resources: each must be a valid resource URI
// naming at least one of them (an entry ending in "/" names everything
// under it). A ceiling that names no configured resource would refuse
// every request of its profile; it is a configuration conflict, reported
// with every other one.
func CheckProfileResources(resources []Resource, profiles []policy.Profile) error {
	rs, err := NewResources(resources)
	if err != nil {
		return nil // reported on its own
	}
	var errs []error
	for i, p := range profiles {
		for j, entry := range p.Ceilings.Resources {
			key := fmt.Sprintf("client_profiles[%d].resources[%d]", i, j)
			n, err := checkResourceURI(entry)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("%s: %q: %v", key, entry, err))
			case !rs.overlaps(n, strings.HasSuffix(n, "/")):
				errs = append(errs, fmt.Errorf("%s: %q names no resource under resources:, so every request of this profile would be refused", key, entry))
			}
		}
	}
	return errors.Join(errs...)
}

// overlaps reports whether a ceiling entry in normal form n names at least
// one configured resource: equal to one (or under a prefix one), or, for
// an entry ending in "/", a prefix of one.
func (rs *Resources) overlaps(n string, isPrefix bool) bool {
	if _, _, ok := rs.match(n); ok {
		return true
	}
	if !isPrefix {
		return false
	}
	for _, r := range rs.list {
		if strings.HasPrefix(r.key, n) || strings.HasPrefix(n, r.key) && r.Prefix != "" {
			return true
		}
	}
	return false
}

// resourceAllowed reports whether the audience aud (a configured spelling)
// is within a resources ceiling (nil: no ceiling). Entries and aud are
// compared in normal form; an entry ending in "/" covers everything under
// it.
func resourceAllowed(ceiling []string, aud string) bool {
	if ceiling == nil {
		return true
	}
	n, err := oauth.NormalizeResource(aud)
	if err != nil {
		return false
	}
	for _, entry := range ceiling {
		e, err := oauth.NormalizeResource(entry)
		if err != nil {
			continue
		}
		if e == n || strings.HasSuffix(e, "/") && strings.HasPrefix(n, e) {
			return true
		}
	}
	return false
}
