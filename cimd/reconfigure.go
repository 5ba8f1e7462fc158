package cimd

import (
	"crypto/x509"
	"slices"
	"time"
)

// config is the policy in force. Callers read it once per operation, so
// one operation sees one consistent configuration.
func (r *Resolver) config() *Config { return r.conf.Load() }

// Reconfigure swaps in a new policy without dropping the caches: the
// enabled switch, host lists, trusted private URLs, redirect policy and
// cache bounds (lifetimes, stale window, backoff, refetch interval and the
// byte bounds, which resize the caches in place), and client profiles. It refuses an invalid cfg
// whole and changes nothing.
//
// Cached documents were validated under the old redirect policy, so a
// change of redirect policy empties the document cache; host lists are
// checked before the cache on every resolution and need no purge.
// Connection settings (timeouts, concurrency, private addresses, extra CAs)
// belong to open connections and take effect only on restart: they are
// returned as the keys that were not applied.
func (r *Resolver) Reconfigure(cfg Config) (restartNeeded []string, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	old := r.config()
	if old.Fetch != cfg.Fetch {
		restartNeeded = append(restartNeeded, "cimd.fetch")
	}
	if old.AllowPrivateAddresses != cfg.AllowPrivateAddresses {
		restartNeeded = append(restartNeeded, "cimd.allow_private_addresses")
	}
	if !slices.EqualFunc(old.ExtraRootCAs, cfg.ExtraRootCAs, func(a, b *x509.Certificate) bool { return a.Equal(b) }) {
		restartNeeded = append(restartNeeded, "cimd.extra_ca_file")
	}
	// Keep what cannot change live, so Config reflects what is in force.
	cfg.Fetch, cfg.AllowPrivateAddresses, cfg.ExtraRootCAs = old.Fetch, old.AllowPrivateAddresses, old.ExtraRootCAs

	r.backoff.set(cfg.Cache.FailureBackoff, cfg.Cache.FailureBackoffMax, retryAfterBound(cfg.Cache))
	r.refetch.setInterval(cfg.Cache.RedirectRefetchInterval)
	r.fetcher.setTrusted(cfg.TrustedPrivateURLs)
	r.docs.cache.SetMaxCost(cfg.Cache.MaxBytes)
	r.keys.cache.SetMaxCost(cfg.Cache.KeysMaxBytes)
	r.logos.cache.SetMaxCost(cfg.Cache.LogoMaxBytes)
	r.conf.Store(&cfg)
	// Documents are validated under their client's redirect policy: when
	// which client gets which policy may have changed, they are validated
	// again on their next use.
	if old.RedirectPolicy != cfg.RedirectPolicy || old.Profiles.RedirectKey() != cfg.Profiles.RedirectKey() {
		r.docs.cache.Clear()
	}
	return restartNeeded, nil
}

// Config returns the policy in force.
func (r *Resolver) Config() Config { return *r.config() }

// set changes the backoff bounds; URLs already backing off keep their
// current pause.
func (b *backoff) set(base, max, retryMax time.Duration) {
	b.mu.Lock()
	b.base, b.max, b.retryMax = base, max, retryMax
	b.mu.Unlock()
}

func (l *refetchLimiter) setInterval(d time.Duration) {
	l.mu.Lock()
	l.interval = d
	l.mu.Unlock()
}
