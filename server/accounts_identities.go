package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/store"
)

// Link links the upstream identity (provider, subject) to the named user,
// so that signing in through that provider signs in as this user. It is
// the operator's tool for joining an existing password account to its
// upstream account (Gatehouse never links by name or email by itself).
func (a *Accounts) Link(ctx context.Context, name, provider, subject string) (store.Identity, error) {
	norm, err := NormalizeUsername(name)
	if err != nil {
		return store.Identity{}, err
	}
	if provider == "" || subject == "" || len(subject) > 256 {
		return store.Identity{}, errors.New("provider and subject are required (subject: at most 256 bytes)")
	}
	u, err := a.Store.UserByName(ctx, norm)
	if err != nil {
		return store.Identity{}, notFoundAsUser(err, norm)
	}
	id := store.Identity{Provider: provider, Subject: subject, UserID: u.ID, LinkedAt: a.Now()}
	switch err := a.Store.LinkIdentity(ctx, id); {
	case errors.Is(err, store.ErrConflict):
		return id, fmt.Errorf("identity %s/%s is already linked to a user; unlink it first", provider, subject)
	case err != nil:
		return id, err
	}
	return id, nil
}

// Unlink removes the link of (provider, subject) from the named user.
func (a *Accounts) Unlink(ctx context.Context, name, provider, subject string) error {
	norm, err := NormalizeUsername(name)
	if err != nil {
		return err
	}
	u, err := a.Store.UserByName(ctx, norm)
	if err != nil {
		return notFoundAsUser(err, norm)
	}
	id, err := a.Store.Identity(ctx, provider, subject)
	if errors.Is(err, store.ErrNotFound) || (err == nil && id.UserID != u.ID) {
		return fmt.Errorf("user %q has no identity %s/%s", norm, provider, subject)
	}
	if err != nil {
		return err
	}
	return a.Store.UnlinkIdentity(ctx, provider, subject)
}
