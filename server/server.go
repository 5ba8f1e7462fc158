package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse-dev/gatehouse/dcr"
	"github.com/gatehouse-dev/gatehouse/identity"
	"github.com/gatehouse-dev/gatehouse/policy"
	"github.com/gatehouse-dev/gatehouse/store"
)

// Config is the server's typed configuration, built by cmd/gatehouse from
// the operator's settings (already validated).
type Config struct {
	// Issuer is the issuer identifier exactly as configured.
	Issuer string
	// HSTSMaxAge, when positive, puts Strict-Transport-Security with this
	// max-age on every response (RFC 6797); set only when Gatehouse
	// terminates TLS itself.
	HSTSMaxAge time.Duration
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// AccessTokenTTL is the lifetime of access tokens; retired signing keys
	// stay published at least this long (plus clock leeway).
	AccessTokenTTL time.Duration
	// KeyPublishAhead is how long a rotated-in signing key is published
	// before it signs (0: it signs at once). With several instances on one
	// store it must exceed the time every instance needs to learn of the
	// key (an announcement, or keyRefreshInterval at worst).
	KeyPublishAhead time.Duration
	// RefreshIdleTTL ends a refresh token not used for this long;
	// RefreshMaxTTL ends every grant this long after it began.
	RefreshIdleTTL time.Duration
	RefreshMaxTTL  time.Duration
	// RefreshGrace is how long after a rotation the rotated-out refresh
	// token may be presented again by its client and still be exchanged;
	// 0 revokes the grant on any reuse.
	RefreshGrace time.Duration
	// Resources are the resource servers tokens may be issued for.
	Resources []Resource
	// SessionTTL is how long a sign-in lasts.
	SessionTTL time.Duration
	// Login throttles failed sign-ins.
	Login LoginLimits
	// BodyLimit caps every request body, in bytes.
	BodyLimit int64
	// Register bounds the registration endpoint (reloadable: SetPolicy).
	Register RegisterLimits
	// CIMD says whether https client IDs are accepted (discovery advertises
	// client_id_metadata_document_supported; reloadable: SetPolicy).
	CIMD bool
	// ClientCredentials opens client_credentials to self-registered
	// clients (reloadable: SetPolicy).
	ClientCredentials ClientCredentialsPolicy
	// Providers are the upstream identity providers users may sign in
	// with (login.providers), in the order of their buttons.
	Providers []identity.Provider
	// PasswordLoginDisabled turns the built-in password accounts off
	// (login.password.enabled: false).
	PasswordLoginDisabled bool
	// IdentityAssertions are the enterprise IdPs whose ID-JAGs /token
	// accepts (identity_assertions.issuers); none: the grant is off.
	IdentityAssertions []AssertionIssuer
	// Profiles are the client profiles (reloadable: SetPolicy); nil: the
	// built-in default for every client.
	Profiles *policy.Profiles
}

// LoginLimits bounds failed sign-ins. Per (account, client address) and
// per address, failures past the limit are refused (429) for the rest of
// the window; per account across all addresses, failures past the far
// higher MaxFailuresAccount only slow the account's sign-ins (one check
// per AccountSlowdown), so no guesser can lock the real user out.
type LoginLimits struct {
	// MaxFailuresAccountIP is the allowance of one address for one account.
	MaxFailuresAccountIP int
	// MaxFailuresIP is the allowance of one address for all accounts.
	MaxFailuresIP int
	// MaxFailuresAccount is the level, over every address (and every
	// instance sharing the store), past which the account is slowed.
	MaxFailuresAccount int
	// Window is the time over which each allowance refills.
	Window time.Duration
	// AccountSlowdown spaces the checks of a slowed account, on one
	// schedule for every instance sharing the store.
	AccountSlowdown time.Duration
	// TrustedDeviceTTL is the life of the trusted-device cookie a browser
	// gets when it signs in with a password (0: none are issued). Such a
	// browser's later sign-ins to that account skip the per-address
	// limits and the slowdown, within an allowance of its own.
	TrustedDeviceTTL time.Duration
}

// leak is how long one recorded account failure takes to drain.
func (l LoginLimits) leak() time.Duration {
	if l.MaxFailuresAccount < 1 {
		return l.Window
	}
	return l.Window / time.Duration(l.MaxFailuresAccount)
}

// deviceLeak is the drain of a trusted device's failure count: its
// allowance is one address's, MaxFailuresAccountIP per Window.
func (l LoginLimits) deviceLeak() time.Duration {
	return l.Window / time.Duration(max(l.MaxFailuresAccountIP, 1))
}

// Deps are the server's collaborators. Only Store is required.
type Deps struct {
	Store  store.Store
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand is the source of randomness for keys and tokens
	// (default crypto/rand.Reader).
	Rand io.Reader
	// Passwords hashes and verifies user passwords (default
	// DefaultPasswordParams).
	Passwords *PasswordHasher
	// Clients resolves client IDs (default: no clients).
	Clients ClientResolver
	// ClientKeys provides private_key_jwt verification keys (default: the
	// client's inline jwks only).
	ClientKeys ClientKeySource
	// Registration enables RFC 7591/7592 at /register (nil: no DCR).
	Registration *dcr.Service
	// Logos serves client logos from Gatehouse's origin (nil: no logos).
	Logos LogoSource
	// LogoWait bounds how long a consent page waits for a logo that is not
	// cached yet (default 1.5 s); tests whose subject is not that wait
	// raise it, so that a slow machine cannot drop a usable logo.
	LogoWait time.Duration
	// Metrics records Prometheus metrics (nil: none).
	Metrics *Metrics
	// LoginFailures counts failed sign-ins per account (default: the
	// Store when it implements store.LoginFailureStore, as a backend
	// shared by several instances must; else an in-memory count).
	LoginFailures store.LoginFailureStore
	// Sleep waits d or until ctx ends (default: a real timer); tests
	// inject one that advances their clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// IssuerKeys loads the key sets of trusted ID-JAG issuers (required
	// when Config.IdentityAssertions is set).
	IssuerKeys IssuerKeySource
	// Approvals is told about clients newly waiting for approval (nil:
	// nobody is).
	Approvals ApprovalNotifier
}

// Server is a configured Gatehouse HTTP server.
type Server struct {
	cfg        Config
	issuer     *url.URL
	base       string // the issuer's path, "" for a bare origin
	store      store.Store
	log        *slog.Logger
	now        func() time.Time
	rand       io.Reader
	keys       *KeySet
	passwords  *PasswordHasher
	clients    ClientResolver
	clientKeys ClientKeySource
	logos      LogoSource
	logoWait   time.Duration
	metrics    *Metrics
	issuerKeys IssuerKeySource
	notifier   ApprovalNotifier
	// state is the reloadable policy (SetPolicy swaps it atomically).
	state atomic.Pointer[policyState]
	// registration is nil when DCR is off; regLimiter throttles it.
	registration *dcr.Service
	regLimiter   *registrationLimiter
	// pendingLimiter bounds how fast pending authorization requests are
	// stored (authorize_pending.go).
	pendingLimiter *registrationLimiter
	limiter        *loginLimiter
	// loginFailures is the per-account limit (it slows): the failure
	// count and the slowed accounts' check schedule.
	loginFailures store.LoginFailureStore
	memFailures   *memoryLoginFailures // nil when the store counts
	sleep         func(ctx context.Context, d time.Duration) error
	pages         *pages
	csrfKey       []byte
	deviceKey     []byte // MACs trusted-device cookies
	echo          *echo.Echo
	draining      atomic.Bool
	secure        bool // the issuer is https: cookies get Secure
	// events is the store's broadcaster when several instances share it
	// (nil on the embedded store); origin names this process in them.
	events store.Broadcaster
	origin string
	// keysChanged wakes the key refresher early.
	keysChanged chan struct{}
	// approvals keeps approval records in memory when the store is shared
	// (nil otherwise): approval_cache.go.
	approvals *approvalCache
}

// New builds a server: it loads (or, on first start, creates) the signing
// key and registers every route.
func New(ctx context.Context, cfg Config, deps Deps) (*Server, error) {
	if deps.Store == nil {
		return nil, errors.New("server: a store is required")
	}
	issuer, err := url.Parse(cfg.Issuer)
	if err != nil || issuer.Host == "" {
		return nil, fmt.Errorf("server: issuer %q is not an absolute URL", cfg.Issuer)
	}
	if issuer.EscapedPath() != issuer.Path || strings.Contains(cfg.Issuer, "%") {
		// Routes and return URLs are built from the path as written.
		return nil, fmt.Errorf("server: issuer %q: the path must not need percent-encoding", cfg.Issuer)
	}
	s := &Server{
		cfg:          cfg,
		issuer:       issuer,
		base:         strings.TrimSuffix(issuer.Path, "/"),
		store:        deps.Store,
		log:          deps.Logger,
		now:          deps.Now,
		rand:         deps.Rand,
		passwords:    deps.Passwords,
		clientKeys:   deps.ClientKeys,
		logos:        deps.Logos,
		logoWait:     cmp.Or(deps.LogoWait, defaultLogoWait),
		metrics:      deps.Metrics,
		issuerKeys:   deps.IssuerKeys,
		notifier:     deps.Approvals,
		secure:       issuer.Scheme == "https",
		registration: deps.Registration,
	}
	if len(cfg.IdentityAssertions) > 0 && s.issuerKeys == nil {
		return nil, errors.New("server: identity assertion issuers need an IssuerKeys source")
	}
	if s.clientKeys == nil {
		s.clientKeys = inlineKeys{}
	}
	if err := s.SetPolicy(Policy{Clients: deps.Clients, Resources: cfg.Resources, Register: cfg.Register, CIMD: cfg.CIMD,
		ClientCredentials: cfg.ClientCredentials, Profiles: cfg.Profiles}); err != nil {
		return nil, err
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.passwords == nil {
		s.passwords = NewPasswordHasher(DefaultPasswordParams)
	}
	if b, ok := s.store.(store.Broadcaster); ok {
		s.events = b
		s.approvals = newApprovalCache(s.now)
	}
	s.keysChanged = make(chan struct{}, 1)
	origin, err := s.randomBytes32()
	if err != nil {
		return nil, err
	}
	s.origin = fmt.Sprintf("%x", origin[:8])
	if s.keys, err = LoadKeySet(ctx, s.store, s.now, s.rand); err != nil {
		return nil, err
	}
	if s.csrfKey, err = s.store.Secret(ctx, "csrf", s.randomBytes32); err != nil {
		return nil, fmt.Errorf("server: csrf secret: %w", err)
	}
	if s.deviceKey, err = s.store.Secret(ctx, "trusted_device", s.randomBytes32); err != nil {
		return nil, fmt.Errorf("server: trusted-device secret: %w", err)
	}
	if s.pages, err = loadPages(); err != nil {
		return nil, err
	}
	s.limiter = newLoginLimiter(cfg.Login)
	s.pendingLimiter = newRegistrationLimiter(pendingLimits)
	s.loginFailures, s.sleep = deps.LoginFailures, deps.Sleep
	if s.loginFailures == nil {
		if lf, ok := deps.Store.(store.LoginFailureStore); ok {
			s.loginFailures = lf
		} else {
			s.memFailures = newMemoryLoginFailures()
			s.loginFailures = s.memFailures
		}
	}
	if s.sleep == nil {
		s.sleep = sleepContext
	}
	s.echo = s.routes()
	return s, nil
}

// sleepContext waits d, or less if ctx ends first.
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Keys is the server's signing key set.
func (s *Server) Keys() *KeySet { return s.keys }

// url joins the issuer with an endpoint path.
func (s *Server) url(path string) string {
	return strings.TrimSuffix(s.cfg.Issuer, "/") + path
}

func (s *Server) randomBytes32() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return nil, err
	}
	return b, nil
}

// routes registers every endpoint. Paths are under the issuer's path, so an
// issuer of https://example.com/tenant serves /tenant/login.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(s.cfg.TrustedProxies)
	if s.cfg.HSTSMaxAge > 0 {
		e.Pre(strictTransportSecurity(s.cfg.HSTSMaxAge)) // before routing: 404s and 405s carry it too
	}
	e.Use(s.requestContext, s.accessLog, s.recoverPanics, s.limitBody)

	for _, p := range s.metadataPaths() {
		e.GET(p, s.handleMetadata, corsPublic)
		e.OPTIONS(p, s.handleMetadata, corsPublic)
	}
	e.GET(s.base+jwksPath, s.handleJWKS, corsPublic)
	e.OPTIONS(s.base+jwksPath, s.handleJWKS, corsPublic)
	for _, p := range []string{tokenPath, revokePath, introspectPath} {
		e.OPTIONS(s.base+p, preflight, corsAPI)
	}
	e.POST(s.base+tokenPath, s.handleToken, corsAPI)
	e.POST(s.base+revokePath, s.handleRevoke, corsAPI)
	e.POST(s.base+introspectPath, s.handleIntrospect, corsAPI)
	e.OPTIONS(s.base+userinfoPath, preflight, corsAPI)
	e.GET(s.base+userinfoPath, s.handleUserInfo, corsAPI)
	e.POST(s.base+userinfoPath, s.handleUserInfo, corsAPI)
	if s.registration != nil {
		e.OPTIONS(s.base+registerPath, preflight, corsAPI)
		e.OPTIONS(s.base+registerPath+"/:client_id", preflight, corsAPI)
		e.POST(s.base+registerPath, s.handleRegister, corsAPI)
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			e.Add(m, s.base+registerPath+"/:client_id", s.handleRegistration, corsAPI)
		}
	}
	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)

	// Pages get their middleware per route: echo's Group.Use would add
	// catch-all routes that turn every unknown path into an HTML 404.
	e.GET(s.base+loginPath, s.handleLoginForm, s.pageHeaders)
	e.POST(s.base+loginPath, s.handleLoginSubmit, s.pageHeaders, s.crossOriginProtection)
	e.POST(s.base+logoutPath, s.handleLogout, s.pageHeaders, s.crossOriginProtection)
	// Upstream sign-in: a cross-site navigation comes back to the callback,
	// bound to this browser by the state cookie, not by origin checks.
	e.GET(s.base+loginPath+"/:provider", s.handleUpstreamStart, s.pageHeaders)
	e.GET(s.base+loginPath+"/:provider/callback", s.handleUpstreamCallback, s.pageHeaders)
	// The authorization endpoint accepts cross-site navigations (that is
	// how clients start a flow), so no CrossOriginProtection there; the
	// consent decision and account changes are same-origin only.
	e.GET(s.base+authorizePath, s.handleAuthorize, s.pageHeaders)
	e.POST(s.base+authorizePath, s.handleAuthorize, s.pageHeaders)
	e.POST(s.base+consentPath, s.handleConsent, s.pageHeaders, s.crossOriginProtection)
	e.GET(s.base+accountPath, s.handleAccount, s.pageHeaders)
	e.POST(s.base+accountRevokePath, s.handleAccountRevoke, s.pageHeaders, s.crossOriginProtection)
	e.GET(s.base+staticPath+"*", s.handleStatic)
	e.GET(s.base+logoPath, s.handleLogo)
	return e
}
