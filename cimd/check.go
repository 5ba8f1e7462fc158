package cimd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

// Report is the result of Check: every rule's verdict, the effective
// client and the cache lifetime it would get. It powers
// `gatehouse cimd check URL [--redirect-uri U]`.
type Report struct {
	ClientID       string
	RedirectURI    string // "" when none was given
	RedirectPolicy policy.RedirectMode
	Hosts          policy.HostPolicy
	// Profile is the client profile that would apply, MatchReason why,
	// and Effects what it does (approval, consent, redirects, ceilings).
	Profile     *policy.Profile
	MatchReason string
	Effects     []policy.ProfileEffect
	Findings    []Finding
	// Fetch describes the document fetch; nil when none happened.
	Fetch *FetchInfo
	// Client is the effective (narrowed) client; nil when refused.
	Client *oauth.Client
	// Cache is the lifetime the document would get; nil without a fetch.
	Cache *Freshness
	// Err is the error Resolve (or ResolveForRedirect) would return.
	Err error
	// CheckedAt is when the check ran (the resolver's clock).
	CheckedAt time.Time
}

// FetchInfo describes a fetch for the report.
type FetchInfo struct {
	URL          string
	Status       int
	ContentType  string
	Bytes        int
	Duration     time.Duration
	RemoteAddr   string
	CacheControl string
	ETag         string
	LastModified string
}

// Accepted reports whether Gatehouse would use the client (and, when a
// redirect URI was given, accept that redirect).
func (r *Report) Accepted() bool {
	if r.Err != nil {
		return false
	}
	for _, f := range r.Findings {
		if f.Status == StatusFailed {
			return false
		}
	}
	return r.Client != nil
}

// Check fetches and validates clientID through the same rules, policy and
// fetcher as Resolve, but bypasses the cache and the failure backoff and
// caches nothing. With a redirectURI it also checks that redirect as an
// authorization request would. It then checks what Resolve defers: the
// jwks_uri key set of a private_key_jwt client and the logo.
func (r *Resolver) Check(ctx context.Context, clientID, redirectURI string) *Report {
	cfg := r.config()
	rep := &Report{ClientID: clientID, RedirectURI: redirectURI, RedirectPolicy: cfg.redirectMode(clientID),
		Hosts: cfg.Hosts, CheckedAt: r.now()}
	rep.describeProfile(cfg)
	var f findings
	defer func() { rep.Findings = f }()
	if !r.config().Enabled {
		f.fail("enabled", "", "CIMD is disabled on this server (cimd.enabled: false)")
		rep.Err = r.admit(clientID)
		return rep
	}
	if err := policy.CheckClientIDURL(clientID); err != nil {
		f.fail("client-id-url", policy.SpecClientIDURL, ruleDetail(err))
		rep.Err = r.refused(clientError("client_id URL", err))
		return rep
	}
	f.pass("client-id-url", policy.SpecClientIDURL, "a valid Client Identifier URL")
	host := policy.ClientIDHost(clientID)
	if err := policy.AdmitURL(cfg.Hosts, cfg.Profiles, clientID); err != nil {
		f.fail("host-policy", policy.SpecTrustPolicy, ruleDetail(err))
		rep.Err = r.refused(clientError("client_id host", err))
		return rep
	}
	if rep.Profile.NamesURL(clientID) {
		f.pass("host-policy", policy.SpecTrustPolicy, fmt.Sprintf("%s is admitted by client profile %s (%s)", host, rep.Profile.Name, rep.MatchReason))
	} else {
		f.pass("host-policy", policy.SpecTrustPolicy, hostPolicySummary(host, cfg.Hosts))
	}

	var val *Validation
	var invalid error
	resp, err := r.fetcher.fetchValidated(ctx, Request{Kind: KindDocument, URL: clientID}, func(resp *Response) error {
		val, invalid = ValidateDocument(resp.Body, clientID, resp.URL, rep.RedirectPolicy)
		return invalid
	})
	if err != nil {
		f.fail("fetch", fetchSpec(err), fmt.Sprintf("%s [outcome: %s]", errDetail(err), OutcomeOf(err)))
		rep.Err = clientError("metadata document", err)
		return rep
	}
	rep.Fetch = fetchInfo(resp)
	f.pass("fetch", specFetch, rep.Fetch.summary())
	fr := freshness(resp.Header, r.now(), r.config().Cache)
	rep.Cache = &fr

	f = append(f, val.Findings...)
	if invalid != nil {
		rep.Err = clientError("metadata document", invalid)
		r.checkRedirect(&f, rep, nil, redirectURI)
		return rep
	}
	rep.Client = val.Client
	r.checkKeys(ctx, &f, val.Client)
	r.checkLogo(ctx, &f, val.Client)
	r.checkRedirect(&f, rep, val, redirectURI)
	return rep
}

// describeProfile fills in the client profile that would apply to the
// client and what it does.
func (rep *Report) describeProfile(cfg *Config) {
	c := policy.ProfileClient{ID: rep.ClientID, URL: true}
	rep.Profile = cfg.Profiles.For(c)
	rep.MatchReason = rep.Profile.MatchReason(c)
	d := policy.ProfileDefaults{RedirectPolicy: cfg.RedirectPolicy, Hosts: cfg.Hosts}
	if cfg.Profiles != nil {
		d = cfg.Profiles.Defaults()
	}
	rep.Effects = rep.Profile.Effects(c, d)
}

func ruleDetail(err error) string {
	var re *policy.RuleError
	if errors.As(err, &re) {
		return re.Detail
	}
	return err.Error()
}

// errDetail is an error's message without its spec suffix (the report
// prints the spec in its own column).
func errDetail(err error) string {
	var fe *FetchError
	if errors.As(err, &fe) {
		return fe.Detail
	}
	return ruleDetail(err)
}

func fetchSpec(err error) string {
	var fe *FetchError
	if errors.As(err, &fe) && fe.Spec != "" {
		return fe.Spec
	}
	return specFetch
}

func hostPolicySummary(host string, hp policy.HostPolicy) string {
	switch {
	case len(hp.Allow) == 0 && len(hp.Deny) == 0:
		return host + " may act as a client host (no allow or deny list)"
	case len(hp.Allow) == 0:
		return host + " is not on the deny list"
	}
	return host + " is on the allow list"
}

func fetchInfo(resp *Response) *FetchInfo {
	return &FetchInfo{
		URL: resp.URL, Status: resp.Status, ContentType: resp.ContentType, Bytes: len(resp.Body),
		Duration: resp.Duration, RemoteAddr: resp.RemoteAddr, CacheControl: resp.Header.Get("Cache-Control"),
		ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"),
	}
}

func (fi *FetchInfo) summary() string {
	parts := []string{fmt.Sprintf("%d %s", fi.Status, http.StatusText(fi.Status)), fi.ContentType,
		fmt.Sprintf("%d bytes", fi.Bytes), fi.Duration.Round(time.Millisecond).String()}
	if fi.RemoteAddr != "" {
		parts = append(parts, "from "+fi.RemoteAddr)
	}
	return strings.Join(parts, " · ")
}

// checkKeys fetches a private_key_jwt client's jwks_uri now, so that a
// broken key set shows up here rather than at the first token request.
func (r *Resolver) checkKeys(ctx context.Context, f *findings, c *oauth.Client) {
	if c.Metadata.JWKSURI == "" || c.AuthMethod() != oauth.AuthMethodPrivateKeyJWT {
		return
	}
	var ks *KeySet
	var invalid error
	_, err := r.fetcher.fetchValidated(ctx, Request{Kind: KindJWKS, URL: c.Metadata.JWKSURI}, func(resp *Response) error {
		ks, invalid = parseKeySetResponse(c.Metadata.JWKSURI, resp)
		return invalid
	})
	if err == nil {
		err = invalid
	}
	if err != nil {
		f.fail("jwks-uri-keys", specAuth, fmt.Sprintf("jwks_uri %s: %v; the client cannot authenticate", c.Metadata.JWKSURI, err))
		return
	}
	var ids []string
	for _, k := range ks.Keys {
		ids = append(ids, fmt.Sprintf("%s (%s)", orDash(k.KeyID), orDash(k.Algorithm)))
	}
	f.pass("jwks-uri-keys", specAuth, fmt.Sprintf("%d usable key(s): %s", len(ks.Keys), strings.Join(ids, ", ")))
	for _, s := range ks.Skipped {
		f.narrow("jwks-uri-keys", specJWK, s)
	}
}

// checkLogo fetches the logo: a broken one is narrowed (the consent page
// shows no logo), never fatal.
func (r *Resolver) checkLogo(ctx context.Context, f *findings, c *oauth.Client) {
	if c.Metadata.LogoURI == "" {
		return
	}
	resp, err := r.fetcher.Fetch(ctx, Request{Kind: KindLogo, URL: c.Metadata.LogoURI})
	if err != nil {
		f.narrow("logo", "CIMD -02 §8.8", fmt.Sprintf("logo_uri cannot be shown: %v", err))
		return
	}
	f.pass("logo", "CIMD -02 §8.8", fmt.Sprintf("%s, %d bytes; served from Gatehouse's origin", resp.ContentType, len(resp.Body)))
}

// checkRedirect judges the --redirect-uri the way ResolveForRedirect does.
func (r *Resolver) checkRedirect(f *findings, rep *Report, val *Validation, redirectURI string) {
	if redirectURI == "" {
		return
	}
	const rule = "redirect-uri"
	if val == nil || val.Client == nil {
		if err := policy.CheckRedirectURI(r.config().RedirectPolicy, rep.ClientID, redirectURI); err != nil {
			f.fail(rule, specRedirect, fmt.Sprintf("%s would be refused: %s", redirectURI, ruleDetail(err)))
		}
		return
	}
	if reg, ok := policy.MatchRedirectURI(val.Client.Metadata.RedirectURIs, redirectURI); ok {
		detail := redirectURI + " is registered"
		if reg != redirectURI {
			detail = fmt.Sprintf("%s matches %s (loopback: any port, RFC 8252 §7.3)", redirectURI, reg)
		}
		f.pass(rule, "OAuth 2.1 §4.1.1", detail)
		return
	}
	err := redirectMismatch(&clientDoc{client: val.Client, dropped: val.DroppedRedirects}, redirectURI)
	f.fail(rule, "OAuth 2.1 §4.1.1", err.(*oauth.Error).Description)
	rep.Err = err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
