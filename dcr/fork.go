package dcr

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/store"
)

// fork applies an update to a shared client (store.RegisteredClient.Shared).
//
// Deduplication hands one client_id to every party that registers the
// same public metadata from one address (a NAT, an office, a VPN exit),
// and each keeps a registration access token. None of them may change the
// client the others use: an added redirect URI would send the others'
// authorization codes to it. So an update that changes the metadata
// leaves the shared client untouched and moves the caller to a new
// registration of its own: a new client_id with the new metadata and a
// new registration access token, returned as RFC 7592 §2.2's response
// (which may carry new credentials); the caller's old token stops working
// for the shared client. An update that changes nothing answers with the
// current registration.
func (s *Service) fork(ctx context.Context, cfg *Config, shared store.RegisteredClient, rat string, meta oauth.ClientMetadata, statementIssuer string) (*ClientInformation, error) {
	before, _ := json.Marshal(shared.Metadata)
	after, _ := json.Marshal(meta)
	if string(before) == string(after) {
		return s.information(shared, rat), nil
	}
	rec, newRAT, secret, err := s.newRecord(cfg, meta, shared.RegisteredFrom, statementIssuer)
	if err != nil {
		return nil, err
	}
	rec.ForkedFrom = shared.ID
	now := rec.IssuedAt
	if _, _, err := s.store.CreateClient(ctx, rec, ""); err != nil {
		return nil, err
	}
	shared.RemoveRegistrant(hashHex(rat))
	shared.UpdatedAt = now
	if err := s.store.UpdateClient(ctx, shared); err != nil {
		return nil, err
	}
	s.stats.Forked.Add(1)
	info := s.information(rec, newRAT)
	info.ClientSecret = secret
	return info, nil
}

// newRecord makes a new registration of meta, registered from the address
// key from: a fresh client_id and registration access token, and for a
// confidential client a secret (secret is "" for a public one). Nothing is
// stored yet.
func (s *Service) newRecord(cfg *Config, meta oauth.ClientMetadata, from, statementIssuer string) (rec store.RegisteredClient, rat, secret string, err error) {
	now := s.now()
	id, err := s.newClientID(now)
	if err != nil {
		return rec, "", "", err
	}
	if rat, err = s.random(managementPrefix, 32); err != nil {
		return rec, "", "", err
	}
	rec = store.RegisteredClient{
		ID: id, Metadata: meta, RegistrationTokenHash: hashHex(rat), IssuedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(cfg.UnusedClientTTL), RegisteredFrom: from, StatementIssuer: statementIssuer,
	}
	if confidential(meta) {
		if secret, err = s.random(secretPrefix, 32); err != nil {
			return rec, "", "", err
		}
		rec.SecretHash = hashHex(secret)
		if cfg.SecretTTL > 0 {
			rec.SecretExpiresAt = now.Add(cfg.SecretTTL)
		}
	}
	return rec, rat, secret, nil
}
