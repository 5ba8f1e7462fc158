package cimd

import (
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/policy"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !cfg.Enabled || cfg.AllowPrivateAddresses || cfg.RedirectPolicy != "same-site" ||
		cfg.Fetch.Timeout != 5*time.Second || cfg.Fetch.MaxBytes != 5120 ||
		cfg.Cache.MinTTL != 30*time.Second || cfg.Cache.MaxTTL != 24*time.Hour || cfg.Cache.DefaultTTL != 5*time.Minute {
		t.Fatalf("defaults drifted from requirements §6.4: %+v", cfg)
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RedirectPolicy = "off"
	cfg.Hosts.Allow = []string{"https://claude.ai"}
	cfg.TrustedPrivateURLs = []string{"http://internal.example/x"}
	cfg.Fetch.Timeout = 0
	cfg.Fetch.MaxPerHost = 1000
	cfg.Cache.MinTTL = 48 * time.Hour
	cfg.Cache.StaleIfError = -time.Second
	err := cfg.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, key := range []string{"cimd.redirect_policy", "cimd.hosts.allow", "cimd.trusted_private_urls",
		"cimd.fetch.timeout", "cimd.fetch.max_per_host", "cimd.cache.min_ttl", "cimd.cache.default_ttl",
		"cimd.cache.stale_if_error"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not mention %s:\n%v", key, err)
		}
	}
	if _, err := NewResolver(cfg, Deps{}); err == nil {
		t.Fatal("NewResolver accepted an invalid config")
	}
}

func TestParseCertificates(t *testing.T) {
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testCA().ca.Raw})
	keyBlock := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("ignored")})
	certs, err := ParseCertificates(append(keyBlock, pemData...))
	if err != nil || len(certs) != 1 || !certs[0].Equal(testCA().ca) {
		t.Fatalf("ParseCertificates = %v, %v", certs, err)
	}
	if _, err := ParseCertificates([]byte("not pem")); err == nil {
		t.Fatal("accepted a file without certificates")
	}
	bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")})
	if _, err := ParseCertificates(bad); err == nil {
		t.Fatal("accepted a malformed certificate")
	}
}

func TestOutcomeOf(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, OutcomeOK},
		{&FetchError{Outcome: OutcomeTooLarge}, OutcomeTooLarge},
		{clientError("metadata document", &FetchError{Outcome: OutcomeTimeout, Detail: "x"}), OutcomeTimeout},
		{clientError("metadata document", &ValidationError{Rule: "json", Detail: "x"}), OutcomeInvalidDocument},
		{clientError("client_id URL", checkURL("https://a.example/")), OutcomePolicyDenied},
		{clientError("client_id URL", checkURL("https://127.1/x")), OutcomeBlockedAddress},
		{&backoffError{err: &FetchError{Outcome: OutcomeNetworkError}}, OutcomeNetworkError},
		{errString("boom"), OutcomeInternalError},
	}
	for _, tt := range tests {
		if got := OutcomeOf(tt.err); got != tt.want {
			t.Errorf("OutcomeOf(%v) = %q; want %q", tt.err, got, tt.want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func checkURL(u string) error {
	return policy.CheckClientIDURL(u)
}
