package resource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Introspection defaults and bounds.
const (
	// DefaultIntrospectionCacheTTL is how long an introspection answer is
	// reused: a revoked token is refused at most this long after the
	// revocation, and a busy client costs the authorization server one
	// request per token per interval.
	DefaultIntrospectionCacheTTL = 5 * time.Second
	// MaxIntrospectionCacheTTL bounds Introspection.CacheTTL: longer, and
	// introspection would see revocation no sooner than short-lived
	// tokens expire anyway.
	MaxIntrospectionCacheTTL = 5 * time.Minute
	// DefaultIntrospectionCacheEntries bounds the answers kept.
	DefaultIntrospectionCacheEntries = 10_000
	// maxIntrospectionBytes caps an introspection response body.
	maxIntrospectionBytes = 64 << 10
)

// Introspection configures the optional RFC 7662 mode of a Verifier. With
// it, a token that passes the offline checks is also looked up at the
// authorization server's introspection endpoint, so a revoked token (or
// one whose client or user was removed) is refused within CacheTTL instead
// of working until it expires. It costs one request to the authorization
// server per token per CacheTTL and makes the resource depend on the
// authorization server being reachable: when it is not, requests get 503
// (fail closed), never a pass.
type Introspection struct {
	// Endpoint is the RFC 7662 endpoint. Empty: the issuer's RFC 8414
	// introspection_endpoint, discovered on first use.
	Endpoint string
	// ClientID and ClientSecret authenticate this resource server to the
	// endpoint with HTTP Basic (RFC 7662 §2.1, RFC 6749 §2.3.1). In
	// Gatehouse, a clients[] entry with a secret and allow_introspection:
	// true (other clients learn only about their own tokens).
	ClientID     string
	ClientSecret string
	// CacheTTL is how long an answer is reused, never past the token's
	// exp (default DefaultIntrospectionCacheTTL, at most
	// MaxIntrospectionCacheTTL; negative: ask for every request).
	CacheTTL time.Duration
	// MaxCacheEntries bounds the cache (default
	// DefaultIntrospectionCacheEntries). When it is full of live answers,
	// new answers are simply not cached.
	MaxCacheEntries int
}

func (c *Introspection) withDefaults() *Introspection {
	if c == nil {
		return nil
	}
	out := *c
	if out.CacheTTL == 0 {
		out.CacheTTL = DefaultIntrospectionCacheTTL
	}
	if out.MaxCacheEntries == 0 {
		out.MaxCacheEntries = DefaultIntrospectionCacheEntries
	}
	return &out
}

func (c *Introspection) validate() []error {
	var errs []error
	if c.Endpoint != "" {
		if err := checkURL(c.Endpoint, false); err != nil {
			errs = append(errs, fmt.Errorf("resource: Introspection.Endpoint: %w", err))
		}
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		errs = append(errs, errors.New("resource: Introspection needs ClientID and ClientSecret (RFC 7662 §2.1: the endpoint authenticates its callers)"))
	}
	if c.CacheTTL > MaxIntrospectionCacheTTL {
		errs = append(errs, fmt.Errorf("resource: Introspection.CacheTTL %v must be at most %v", c.CacheTTL, MaxIntrospectionCacheTTL))
	}
	if c.MaxCacheEntries < 0 {
		errs = append(errs, fmt.Errorf("resource: Introspection.MaxCacheEntries %d must not be negative", c.MaxCacheEntries))
	}
	return errs
}

// introspector asks the authorization server whether tokens are active.
type introspector struct {
	cfg   *Config
	ic    *Introspection
	group singleflight.Group
	cache *answerCache

	mu       sync.Mutex
	endpoint string // ic.Endpoint or the discovered one

	requests, failures, cacheHits atomic.Int64
}

func newIntrospector(cfg *Config) *introspector {
	if cfg.Introspection == nil {
		return nil
	}
	return &introspector{cfg: cfg, ic: cfg.Introspection, endpoint: cfg.Introspection.Endpoint,
		cache: newAnswerCache(cfg.Introspection.MaxCacheEntries)}
}

// check refuses a token the authorization server no longer reports as
// active (ErrInactive), and answers ErrIntrospectionUnavailable when it
// cannot be asked. claims are the token's verified claims.
func (in *introspector) check(ctx context.Context, token string, claims *Claims) error {
	key := sha256.Sum256([]byte(token))
	now := in.cfg.Now()
	if active, ok := in.cache.get(key, now); ok {
		in.cacheHits.Add(1)
		return inactiveError(active)
	}
	ch := in.group.DoChan(string(key[:]), func() (any, error) {
		// Detached from the request: a client giving up must not fail the
		// lookup others are waiting for.
		ctx, cancel := context.WithTimeout(context.Background(), DefaultFetchTimeout)
		defer cancel()
		active, err := in.ask(ctx, token)
		if err != nil {
			return nil, err
		}
		if ttl := in.ic.CacheTTL; ttl > 0 {
			until := now.Add(ttl)
			if active && claims.ExpiresAt.Before(until) {
				until = claims.ExpiresAt
			}
			in.cache.put(key, active, until, now)
		}
		return active, nil
	})
	select {
	case <-ctx.Done():
		return newError(ErrIntrospectionUnavailable, ctx.Err(), "the authorization server could not be asked about the token; retry later")
	case res := <-ch:
		if res.Err != nil {
			return newError(ErrIntrospectionUnavailable, res.Err, "the authorization server could not be asked about the token; retry later")
		}
		return inactiveError(res.Val.(bool))
	}
}

func inactiveError(active bool) error {
	if active {
		return nil
	}
	return newError(ErrInactive, nil, "the token has been revoked or is no longer active")
}

// ask performs one RFC 7662 §2.1 request.
func (in *introspector) ask(ctx context.Context, token string) (bool, error) {
	in.requests.Add(1)
	active, err := in.post(ctx, token)
	if err != nil {
		in.failures.Add(1)
		in.cfg.Logger.Warn("resource: token introspection failed", "issuer", in.cfg.Issuer, "err", err)
	}
	return active, err
}

func (in *introspector) post(ctx context.Context, token string) (bool, error) {
	endpoint, err := in.endpointURL(ctx)
	if err != nil {
		return false, err
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the client_id and secret are form-encoded first.
	req.SetBasicAuth(url.QueryEscape(in.ic.ClientID), url.QueryEscape(in.ic.ClientSecret))
	resp, err := in.cfg.HTTPClient.Do(req)
	if err != nil {
		return false, fmt.Errorf("introspection %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBytes+1))
	if err != nil {
		return false, fmt.Errorf("introspection %s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		if in.ic.Endpoint == "" {
			in.forgetEndpoint() // the issuer may have moved it: discover again
		}
		return false, fmt.Errorf("introspection %s: status %d (check Introspection.ClientID and ClientSecret)", endpoint, resp.StatusCode)
	}
	return parseIntrospection(body)
}

// parseIntrospection reads an RFC 7662 §2.2 response: a JSON object whose
// "active" is the boolean true for an active token. Anything else that is
// a JSON object means inactive; a body that is not one is an error (the
// endpoint is broken, not the token).
func parseIntrospection(body []byte) (bool, error) {
	if len(body) > maxIntrospectionBytes {
		return false, fmt.Errorf("introspection response larger than %d bytes", maxIntrospectionBytes)
	}
	var resp map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&resp); err != nil || resp == nil {
		return false, errors.New("introspection response is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return false, errors.New("introspection response has data after the JSON object")
	}
	return string(resp["active"]) == "true", nil
}

func (in *introspector) endpointURL(ctx context.Context) (string, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.endpoint != "" {
		return in.endpoint, nil
	}
	u, err := discoverIntrospectionEndpoint(ctx, in.cfg)
	if err != nil {
		return "", err
	}
	in.endpoint = u
	return u, nil
}

func (in *introspector) forgetEndpoint() {
	in.mu.Lock()
	in.endpoint = ""
	in.mu.Unlock()
}
