package cimd

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/cache"
	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Resolver turns https client_ids into clients. It is safe for concurrent
// use; Close releases its caches.
type Resolver struct {
	// conf is the policy in force; Reconfigure swaps it atomically.
	conf    atomic.Pointer[Config]
	fetcher *Fetcher
	now     func() time.Time
	obs     observer
	log     *slog.Logger
	backoff *backoff
	refetch *refetchLimiter

	docs  *resourceStore[*clientDoc]
	keys  *resourceStore[*KeySet]
	logos *resourceStore[*Logo]
}

// clientDoc is a validated document as cached.
type clientDoc struct {
	client  *oauth.Client
	dropped []DroppedRedirect
	keys    *KeySet // inline jwks, parsed once
}

// Logo is a fetched logo_uri image: a sniffed raster type and its bytes.
type Logo struct {
	ContentType string
	Data        []byte
}

// docCost is the cache cost (bytes) of a validated document whose body
// had n bytes: the parsed client, its findings and the cache entry retain
// about 1-2x the body plus a fixed part (measured by
// TestDocumentCostCoversRetainedMemory), with headroom for ristretto's own
// bookkeeping. With the 256 MiB default this holds 100,000 documents of
// the largest real vendor document's size (1 KB), and more of smaller ones.
func docCost(n int64) int64 { return 2*n + 512 }

// NewResolver validates cfg and builds a resolver.
func NewResolver(cfg Config, deps Deps) (*Resolver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	deps = deps.withDefaults()
	r := &Resolver{
		fetcher: NewFetcher(cfg, deps),
		now:     deps.Now,
		obs:     observer{deps.Observer},
		log:     deps.Logger,
		backoff: newBackoff(cfg.Cache.FailureBackoff, cfg.Cache.FailureBackoffMax, retryAfterBound(cfg.Cache)),
		refetch: newRefetchLimiter(cfg.Cache.RedirectRefetchInterval),
	}
	r.conf.Store(&cfg)
	docCache, err := cache.New[*resource[*clientDoc]](cache.Config{MaxCost: cfg.Cache.MaxBytes, ExpectedEntries: cfg.Cache.MaxBytes / 1024})
	if err != nil {
		return nil, err
	}
	keyCache, err := cache.New[*resource[*KeySet]](cache.Config{MaxCost: cfg.Cache.KeysMaxBytes})
	if err != nil {
		docCache.Close()
		return nil, err
	}
	logoCache, err := cache.New[*resource[*Logo]](cache.Config{MaxCost: cfg.Cache.LogoMaxBytes, ExpectedEntries: cfg.Cache.LogoMaxBytes / 8192})
	if err != nil {
		docCache.Close()
		keyCache.Close()
		return nil, err
	}
	r.docs = &resourceStore[*clientDoc]{kind: KindDocument, cache: docCache, r: r, parse: r.parseDocument,
		cost: func(_ *clientDoc, n int64) int64 { return docCost(n) }}
	if notify := deps.OnDocumentChanged; notify != nil {
		r.docs.changed = func(id string, old, new *clientDoc) {
			if old.client.Fingerprint != new.client.Fingerprint {
				notify(id, old.client.Fingerprint, new.client.Fingerprint)
			}
		}
	}
	r.keys = &resourceStore[*KeySet]{kind: KindJWKS, cache: keyCache, r: r, parse: parseKeySetResponse,
		cost: func(_ *KeySet, n int64) int64 { return 2*n + 512 }}
	r.logos = &resourceStore[*Logo]{kind: KindLogo, cache: logoCache, r: r, parse: parseLogoResponse,
		cost: func(_ *Logo, n int64) int64 { return n + 128 }}
	return r, nil
}

// Close stops the caches and drops idle connections.
func (r *Resolver) Close() {
	r.docs.cache.Close()
	r.keys.cache.Close()
	r.logos.cache.Close()
	r.fetcher.CloseIdleConnections()
}

// Fetcher returns the resolver's SSRF-safe fetcher, for other outbound
// fetches that must follow the same rules.
func (r *Resolver) Fetcher() *Fetcher { return r.fetcher }

// Resolve returns the client for an https client_id (CIMD -02 §4, §5):
// client_id URL rules first, then the operator's host policy (both before
// any I/O), then the cache, then a fetch. Client-caused failures are
// *oauth.Error values with code invalid_client whose description names
// the rule; OutcomeOf classifies them.
func (r *Resolver) Resolve(ctx context.Context, clientID string) (*oauth.Client, error) {
	doc, err := r.resolveDoc(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return doc.client, nil
}

func (r *Resolver) resolveDoc(ctx context.Context, clientID string) (*clientDoc, error) {
	if err := r.admit(clientID); err != nil {
		return nil, err
	}
	res, err := r.docs.get(ctx, clientID)
	if err != nil {
		return nil, callerError("metadata document", err)
	}
	return res.value, nil
}

// admit applies the checks that need no I/O. A refusal is reported as a
// document fetch outcome (see refused).
func (r *Resolver) admit(clientID string) error {
	if !r.config().Enabled {
		return r.refused(oauth.InvalidClient("client_id metadata documents are not enabled on this server (cimd.enabled)"))
	}
	if err := policy.CheckClientIDURL(clientID); err != nil {
		return r.refused(clientError("client_id URL", err))
	}
	cfg := r.config()
	if err := policy.AdmitURL(cfg.Hosts, cfg.Profiles, clientID); err != nil {
		return r.refused(clientError("client_id host", err))
	}
	return nil
}

// refused reports a document fetch that Gatehouse decided against before
// any I/O and returns err. The operator's policy (cimd.enabled, the host
// allow and deny lists) and the client_id URL rules are policy_denied; a
// host spelled as an ambiguous IP literal is blocked_address, as OutcomeOf
// classifies it. The duration is zero: nothing was sent. Addresses
// refused after DNS (private, loopback, metadata; cimd.trusted_private_urls
// and cimd.allow_private_addresses) are refused by the fetcher's dialer
// and reported there as blocked_address, with their latency.
func (r *Resolver) refused(err error) error {
	r.obs.fetchDone(KindDocument, OutcomeOf(err), 0)
	return err
}

// parseDocument validates a fetched document for clientID. The URL
// fetched is resp.URL, which the fetcher never changes (no redirects).
func (r *Resolver) parseDocument(clientID string, resp *Response) (*clientDoc, error) {
	val, err := ValidateDocument(resp.Body, clientID, resp.URL, r.config().redirectMode(clientID))
	if err != nil {
		return nil, err
	}
	return &clientDoc{client: val.Client, dropped: val.DroppedRedirects, keys: val.Keys}, nil
}

// ResolveForRedirect resolves clientID and checks that redirectURI is one
// of its registered redirect URIs (policy.MatchRedirectURI: exact, or a
// loopback port variation). When the cached document does not list it,
// Gatehouse refetches the document once (conditionally, at most once per
// cimd.cache.redirect_refetch_interval per client_id) before refusing, so
// a newly added redirect works without waiting for the cache TTL
// (decision §6.5).
//
// A mismatch is an *oauth.Error with code invalid_request (the client is
// fine; the request is not). The caller must not redirect to redirectURI.
func (r *Resolver) ResolveForRedirect(ctx context.Context, clientID, redirectURI string) (*oauth.Client, error) {
	doc, err := r.resolveDoc(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if _, ok := policy.MatchRedirectURI(doc.client.Metadata.RedirectURIs, redirectURI); ok {
		return doc.client, nil
	}
	if r.refetch.allow("redirect "+clientID, r.now()) {
		res, err := r.docs.load(ctx, clientID, true)
		if err != nil {
			return nil, callerError("metadata document", err)
		}
		doc = res.value
		if _, ok := policy.MatchRedirectURI(doc.client.Metadata.RedirectURIs, redirectURI); ok {
			return doc.client, nil
		}
	}
	return nil, redirectMismatch(doc, redirectURI)
}

func redirectMismatch(doc *clientDoc, redirectURI string) error {
	for _, d := range doc.dropped {
		if d.URI == redirectURI {
			return oauth.InvalidRequest("redirect_uri %q is listed in the client's metadata document but refused by "+
				"Gatehouse's redirect policy: %s", redirectURI, d.Reason)
		}
	}
	return oauth.InvalidRequest("redirect_uri %q is not registered in the metadata document of %s",
		redirectURI, doc.client.ID)
}
