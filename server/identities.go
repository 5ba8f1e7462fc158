package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/store"
)

// AuditUserProvisioned: a first sign-in through an upstream provider
// created a user (just in time).
const AuditUserProvisioned = "user_provisioned"

// userForIdentity returns the user an upstream identity is linked to,
// refreshing the stored claims, or provisions a new user with a fresh
// usr_… subject at the identity's first sign-in. Users are matched by
// (provider, subject) only, never by name or email, so an upstream account
// cannot take over an existing account that merely shares its name. A
// concurrent first sign-in of the same account loses the race in the store
// and picks up the winner's user.
func (s *Server) userForIdentity(ctx context.Context, log *slog.Logger, id identity.Identity) (store.User, error) {
	now := s.now()
	rec := StoredIdentity(id)
	rec.LastLoginAt = now
	for attempt := range 8 {
		linked, err := s.store.Identity(ctx, id.Provider, id.Subject)
		if err == nil {
			if err := s.store.UpdateIdentity(ctx, rec); err != nil {
				return store.User{}, err
			}
			return s.store.UserByID(ctx, linked.UserID)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.User{}, err
		}
		u := store.User{ID: newUserID(), Name: provisionedName(id, attempt), CreatedAt: now, UpdatedAt: now}
		rec.UserID, rec.LinkedAt = u.ID, now
		err = s.store.ProvisionUser(ctx, u, rec)
		if err == nil {
			Audit(ctx, log, AuditUserProvisioned, "user_id", u.ID, "username", u.Name, "provider", id.Provider, "subject", id.Subject)
			return u, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return store.User{}, err
		}
		// The identity was linked meanwhile (the loop finds it) or the
		// name is taken (the next attempt tries another).
	}
	return store.User{}, fmt.Errorf("provisioning a user for %s/%s: no free name", id.Provider, id.Subject)
}

// StoredIdentity is the store record of an upstream identity.
func StoredIdentity(id identity.Identity) store.Identity {
	return store.Identity{Provider: id.Provider, Subject: id.Subject, Username: id.Username, Email: id.Email,
		EmailVerified: id.EmailVerified, Name: id.Name, Groups: id.Groups}
}

func identityFromStore(r store.Identity) identity.Identity {
	return identity.Identity{Provider: r.Provider, Subject: r.Subject, Username: r.Username, Email: r.Email,
		EmailVerified: r.EmailVerified, Name: r.Name, Groups: r.Groups}
}

// provisionedName is the login name of a provisioned user: the provider id
// and the upstream username (or email's local part, or subject), reduced
// to the characters login names allow; later attempts add a suffix.
func provisionedName(id identity.Identity, attempt int) string {
	base := id.Username
	if base == "" {
		base, _, _ = strings.Cut(id.Email, "@")
	}
	if base == "" {
		base = id.Subject
	}
	var b strings.Builder
	b.WriteString(id.Provider)
	b.WriteByte('-')
	for _, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("._@+-", r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name := b.String()
	suffix := ""
	switch {
	case attempt > 0 && attempt < 4:
		suffix = fmt.Sprintf("-%d", attempt+1)
	case attempt >= 4:
		suffix = "-" + strings.TrimPrefix(newUserID(), "usr_")[:8]
	}
	if len(name)+len(suffix) > MaxUsernameLen {
		name = name[:MaxUsernameLen-len(suffix)]
	}
	return name + suffix
}

// errNotAdmitted: one of the user's identities is refused by its
// provider's admission rules as they stand now.
var errNotAdmitted = errors.New("not admitted")

// checkAdmission re-applies the admission rules of every configured
// provider to the user's linked identities, as last seen at sign-in. A
// refusal by any of them refuses the user (strict: an operator who
// tightens a rule, or a user removed from a group who signed in since,
// loses access at the next refresh). Identities of providers no longer
// configured are ignored.
func (s *Server) checkAdmission(ctx context.Context, userID string) error {
	if len(s.cfg.Providers) == 0 || userID == "" {
		return nil
	}
	ids, err := s.store.IdentitiesByUser(ctx, userID)
	if err != nil {
		return err
	}
	for _, rec := range ids {
		if p := s.provider(rec.Provider); p != nil {
			if err := p.Admit(identityFromStore(rec)); err != nil {
				return fmt.Errorf("%w: %w", errNotAdmitted, err)
			}
		}
	}
	return nil
}
