package dcr

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Store is what registration needs from persistence.
type Store interface {
	CreateClient(ctx context.Context, c store.RegisteredClient, iatID string) (store.RegisteredClient, bool, error)
	Client(ctx context.Context, id string) (store.RegisteredClient, error)
	UpdateClient(ctx context.Context, c store.RegisteredClient) error
	DeleteClient(ctx context.Context, id string) error
	TouchClient(ctx context.Context, id string, now time.Time, idle time.Duration) error
	CreateInitialAccessToken(ctx context.Context, t store.InitialAccessToken) error
}

// Token prefixes make Gatehouse's secrets recognisable to secret scanners.
const (
	clientIDPrefix     = "dcr_"
	secretPrefix       = "ghs_"
	managementPrefix   = "ghm_"
	initialTokenPrefix = "ghi_"
)

// Service registers and manages clients.
type Service struct {
	// cfg is the policy in force; SetConfig swaps it on a reload.
	cfg   atomic.Pointer[Config]
	store Store
	now   func() time.Time
	rand  io.Reader
	stats Stats
}

// Stats count registrations for metrics: how many arrived, how many were
// merged into an identical unused one, and how many led to a first token.
type Stats struct {
	Registrations atomic.Int64
	Deduplicated  atomic.Int64
	Converted     atomic.Int64
	// Forked counts updates of shared clients that moved their caller to
	// a registration of its own.
	Forked atomic.Int64
}

// New returns a registration service. now and rnd default to the real
// clock and crypto/rand.
func New(cfg Config, st Store, now func() time.Time, rnd io.Reader) *Service {
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	s := &Service{store: st, now: now, rand: rnd}
	s.cfg.Store(&cfg)
	return s
}

// SetConfig swaps in a new policy (a hot reload). Registrations already
// stored keep their expiry; new ones follow the new policy. The counters
// carry on.
func (s *Service) SetConfig(cfg Config) { s.cfg.Store(&cfg) }

// Config returns the policy in force.
func (s *Service) Config() Config { return *s.cfg.Load() }

// Stats returns the service's counters.
func (s *Service) Stats() *Stats { return &s.stats }

// ClientInformation is the registration response (RFC 7591 §3.2.1,
// RFC 7592 §3): the registered metadata and the client's credentials.
type ClientInformation struct {
	ClientID                string `json:"client_id"`
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri,omitempty"`
	oauth.ClientMetadata
	// Narrowed are the requested values Gatehouse dropped (the response's
	// metadata is what is in force, RFC 7591 §3.2.1); the server logs them.
	Narrowed []policy.Narrowing `json:"-"`
}

// Register handles a registration request body from ip; bearer is the
// initial access token (may be empty).
func (s *Service) Register(ctx context.Context, body []byte, ip, bearer string) (*ClientInformation, error) {
	cfg := s.cfg.Load()
	switch cfg.Mode {
	case ModeClosed:
		return nil, oauth.New(oauth.ErrCodeAccessDenied, http.StatusForbidden, "dynamic client registration is closed on this server")
	case ModeToken:
		if bearer == "" {
			return nil, oauth.InvalidToken("registration requires an initial access token (Authorization: Bearer ...)")
		}
	}
	meta, statementIssuer, narrowed, err := s.validate(cfg, body)
	if err != nil {
		return nil, err
	}
	rec, rat, secret, err := s.newRecord(cfg, meta, ip, statementIssuer)
	if err != nil {
		return nil, err
	}
	if secret == "" && statementIssuer == "" {
		rec.DedupKey = dedupKey(meta, ip)
	}
	iat := ""
	if cfg.Mode == ModeToken {
		iat = hashHex(bearer)
	}
	stored, created, err := s.store.CreateClient(ctx, rec, iat)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauth.InvalidToken("the initial access token is invalid, expired or used up")
	}
	if err != nil {
		return nil, err
	}
	s.stats.Registrations.Add(1)
	if !created {
		s.stats.Deduplicated.Add(1)
	}
	info := s.information(stored, rat)
	info.ClientSecret = secret
	info.Narrowed = narrowed
	return info, nil
}

// validate decodes, applies a trusted software statement, and normalizes;
// it returns the issuer of the verified statement ("" without one) and
// the values it dropped.
func (s *Service) validate(cfg *Config, body []byte) (oauth.ClientMetadata, string, []policy.Narrowing, error) {
	members, err := decodeMembers(body)
	if err != nil {
		return oauth.ClientMetadata{}, "", nil, err
	}
	issuer, err := cfg.Statements.applyStatement(members, s.now())
	if err != nil {
		return oauth.ClientMetadata{}, "", nil, err
	}
	meta, err := typedMetadata(members)
	if err != nil {
		return meta, "", nil, err
	}
	meta, narrowed, err := normalize(meta, cfg.MaxRedirectURIs)
	if err == nil && !cfg.AllowClientCredentials {
		meta, err = withoutClientCredentials(meta)
	}
	return meta, issuer, narrowed, err
}

// information renders a stored client; rat is the registration access
// token to return (the stored copy is only a hash).
func (s *Service) information(c store.RegisteredClient, rat string) *ClientInformation {
	info := &ClientInformation{ClientID: c.ID, ClientIDIssuedAt: c.IssuedAt.Unix(), ClientMetadata: c.Metadata,
		RegistrationAccessToken: rat}
	if u := s.cfg.Load().RegistrationURL; u != nil {
		info.RegistrationClientURI = u(c.ID)
	}
	if c.SecretHash != "" {
		var exp int64 // 0: never (RFC 7591 §3.2.1)
		if !c.SecretExpiresAt.IsZero() {
			exp = c.SecretExpiresAt.Unix()
		}
		info.ClientSecretExpiresAt = &exp
	}
	return info
}

func confidential(m oauth.ClientMetadata) bool {
	return m.TokenEndpointAuthMethod == oauth.AuthMethodClientSecretBasic || m.TokenEndpointAuthMethod == oauth.AuthMethodClientSecretPost
}

// dedupKey identifies a public registration by its metadata and the
// address it came from: the same software re-registering from one place
// maps to one record while that record is unused.
//
// "One place" is policy.AddressKey(ip), the IPv6 /64 rather than the
// address: a host holds its whole /64 (RFC 4291 §2.5.4) and its temporary
// addresses rotate within it (RFC 8981), so keyed on the address a CLI
// re-registering on each start, or a flood from one host, would leave a
// record per address. The cost is that registrants in one /64 sending
// the same normalized public metadata share one unused record; that
// already holds for everyone behind one IPv4 address, a NAT far larger
// than a /64, and ends with the first token. A shared record is marked
// so (store.RegisteredClient.Shared), and no registrant may then change
// or delete it for the others (fork, Delete).
func dedupKey(m oauth.ClientMetadata, ip string) string {
	b, _ := json.Marshal(m)
	sum := sha256.Sum256(append(append(b, 0), policy.AddressKey(ip)...))
	return hex.EncodeToString(sum[:])
}

// random returns prefix and n random bytes, base64url-encoded.
func (s *Service) random(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// sortableBase32 is base32 with the "extended hex" alphabet in lower case:
// encoded strings sort in the same order as the bytes they encode.
var sortableBase32 = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newClientID returns "dcr_" and 32 characters: 64 bits of registration
// time (Unix nanoseconds) then 96 random bits. A client_id is public (RFC
// 7591 section 3.2.1), so the time in it reveals nothing that
// client_id_issued_at does not; ordering by time makes new records land at
// the end of the store's B-tree instead of dirtying a random page each.
func (s *Service) newClientID(now time.Time) (string, error) {
	var b [20]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixNano()))
	if _, err := io.ReadFull(s.rand, b[8:]); err != nil {
		return "", err
	}
	return clientIDPrefix + sortableBase32.EncodeToString(b[:]), nil
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// tokenMatches compares a presented token with a stored hash in constant
// time.
func tokenMatches(token, storedHash string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(hashHex(token)), []byte(storedHash)) == 1
}
