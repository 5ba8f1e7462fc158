package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	RegisterConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDefaultsAreValid(t *testing.T) {
	cfg, _, problems := LoadConfig("", nil, nil)
	if len(problems) > 0 {
		t.Fatalf("defaults have problems: %v", problems)
	}
	if cfg.Issuer != "http://localhost:8080" || cfg.Listen != "127.0.0.1:8080" || cfg.DataDir != "./gatehouse-data" {
		t.Fatalf("defaults = %+v", cfg)
	}
	if cfg.Tokens.AccessTokenTTL != 10*time.Minute || cfg.Tokens.RefreshGracePeriod != 10*time.Second || len(cfg.TrustedProxies) != 0 {
		t.Fatalf("defaults = %+v", cfg)
	}
}

// TestEveryProblemIsReported feeds many bad values at once from all three
// sources and expects each one named by its key.
func TestEveryProblemIsReported(t *testing.T) {
	file := writeFile(t, "bad.yaml", `
issuer: http://auth.example.com
listen: no-port
tls:
  cert_file: /etc/cert.pem
  kee_file: /etc/key.pem
trusted_proxies: [10.0.0.0/8, not-a-cidr]
log:
  level: chatty
  format: xml
login:
  max_failures_per_account: 0
tokens:
  access_token_ttl: 48h
  refresh_token_grace_period: -1s
surprise: true
`)
	env := []string{"GATEHOUSE_LOGIN_SESSION_TTL=soon", "GATEHOUSE_TYPO_KEY=1", "GATEHOUSE_ADMIN_PPROF=true", "HOME=/root"}
	_, _, problems := LoadConfig(file, env, flags(t, "--server-body-limit", "12"))
	want := map[string]string{
		"issuer":                            "http is accepted only for loopback hosts",
		"listen":                            "not host:port",
		"tls.kee_file":                      "unknown key",
		"tls":                               "must be set together",
		"trusted_proxies[1]":                "not a CIDR",
		"log.level":                         "not one of",
		"log.format":                        "not one of",
		"login.max_failures_per_account":    "at least 1",
		"tokens.access_token_ttl":           "longer than 24h",
		"tokens.refresh_token_grace_period": "outside 0s to 5m",
		"surprise":                          "unknown key",
		"login.session_ttl":                 "not a duration",
		"GATEHOUSE_TYPO_KEY":                "unknown variable",
		"server.body_limit":                 "at least 1024",
		"admin.pprof":                       "set admin.listen too",
	}
	got := map[string]string{}
	for _, p := range problems {
		got[p.Key] = p.String()
	}
	for key, msg := range want {
		if !strings.Contains(got[key], msg) {
			t.Errorf("problem for %s = %q, want it to mention %q", key, got[key], msg)
		}
	}
	if len(problems) != len(want) {
		t.Errorf("%d problems, want %d: %v", len(problems), len(want), problems)
	}
	// Problems name their source so the operator knows what to edit.
	if !strings.Contains(got["listen"], "bad.yaml:3") || !strings.Contains(got["login.session_ttl"], "GATEHOUSE_LOGIN_SESSION_TTL") ||
		!strings.Contains(got["server.body_limit"], "--server-body-limit") {
		t.Errorf("sources missing: %v", got)
	}
}

func TestHostileConfigFiles(t *testing.T) {
	tests := []struct{ name, yaml, wantKey string }{
		{"not a mapping", "- a\n- b\n", "config"},
		{"list where a value belongs", "issuer: [a, b]\n", "issuer"},
		{"mapping where a list belongs", "trusted_proxies: {a: b}\n", "trusted_proxies"},
		{"duplicate key", "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", "listen"},
		{"invalid yaml", "issuer: [unclosed\n", "config"},
		{"bool for a duration", "tokens: {access_token_ttl: true}\n", "tokens.access_token_ttl"},
		{"alias bomb", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, problems := LoadConfig(writeFile(t, "c.yaml", tt.yaml), nil, nil)
			found := false
			for _, p := range problems {
				found = found || p.Key == tt.wantKey
			}
			if !found {
				t.Fatalf("problems = %v, want one for %s", problems, tt.wantKey)
			}
		})
	}
	if _, _, problems := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml"), nil, nil); len(problems) != 1 || problems[0].Key != "config" {
		t.Fatalf("missing file: %v", problems)
	}
	if cfg, _, problems := LoadConfig(writeFile(t, "empty.yaml", ""), nil, nil); len(problems) != 0 || cfg.Listen != "127.0.0.1:8080" {
		t.Fatalf("empty file: %v", problems)
	}
}

func TestFlagsBeatEnvironmentBeatFile(t *testing.T) {
	file := writeFile(t, "c.yaml", "listen: 127.0.0.1:1001\ndata_dir: /from/file\nissuer: https://file.example\n")
	env := []string{"GATEHOUSE_LISTEN=127.0.0.1:1002", "GATEHOUSE_DATA_DIR=/from/env"}
	cfg, sources, problems := LoadConfig(file, env, flags(t, "--listen", "127.0.0.1:1003"))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if cfg.Listen != "127.0.0.1:1003" || cfg.DataDir != "/from/env" || cfg.Issuer != "https://file.example" {
		t.Fatalf("cfg = %+v", cfg)
	}
	if sources["listen"] != "flag --listen" || sources["data_dir"] != "env GATEHOUSE_DATA_DIR" || !strings.HasSuffix(sources["issuer"], "c.yaml:3") {
		t.Fatalf("sources = %v", sources)
	}
}

func TestListSettingsFromEnvAndFlags(t *testing.T) {
	cfg, _, problems := LoadConfig("", []string{"GATEHOUSE_TRUSTED_PROXIES=10.0.0.0/8, 192.168.0.0/16"}, nil)
	if len(problems) > 0 || len(cfg.TrustedProxies) != 2 || cfg.TrustedProxies[1] != "192.168.0.0/16" {
		t.Fatalf("env list = %v, %v", cfg.TrustedProxies, problems)
	}
	cfg, _, problems = LoadConfig("", nil, flags(t, "--trusted-proxies", "10.0.0.0/8", "--trusted-proxies", "::1/128"))
	if len(problems) > 0 || len(cfg.TrustedProxies) != 2 || cfg.TrustedProxies[1] != "::1/128" {
		t.Fatalf("repeated flag list = %v, %v", cfg.TrustedProxies, problems)
	}
}

func TestIssuerRules(t *testing.T) {
	tests := []struct {
		issuer string
		ok     bool
	}{
		{"https://auth.example.com", true},
		{"https://auth.example.com/tenant", true},
		{"http://localhost:8080", true},
		{"http://127.0.0.1:9000", true},
		{"http://[::1]:9000", true},
		{"http://auth.example.com", false},
		{"http://10.0.0.1", false},
		{"https://auth.example.com/", false},
		{"https://auth.example.com?x=1", false},
		{"https://auth.example.com#frag", false},
		{"https://user@auth.example.com", false},
		{"ftp://auth.example.com", false},
		{"https://auth.example.com/%00", false},
		{"https://auth.example.com/a%2Fb", false},
		{"https://auth.example.com/t%65nant", false},
		{"https://auth.example.com/a b", false},
		{"auth.example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if msg := checkIssuer(tt.issuer); (msg == "") != tt.ok {
			t.Errorf("checkIssuer(%q) = %q, want ok=%v", tt.issuer, msg, tt.ok)
		}
	}
}

func TestReferenceListsEverySetting(t *testing.T) {
	var buf bytes.Buffer
	WriteReference(&buf)
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings() {
		if !strings.Contains(buf.String(), "`"+s.Key+"`") {
			t.Errorf("reference lacks %s", s.Key)
		}
		if s.Help == "" {
			t.Errorf("setting %s has no help text", s.Key)
		}
	}
	if !bytes.Contains(doc, buf.Bytes()) {
		t.Error("docs/configuration.md is out of date: regenerate it with `make docs`")
	}
}

func TestClientsAndResourcesValidation(t *testing.T) {
	secretFile := writeFile(t, "secret", "file-secret-file-secret\n")
	file := writeFile(t, "c.yaml", `
resources:
  - uri: https://mcp.example.com/mcp
    scopes: [files:read]
    default: true
  - prefix: https://mcp.example.com/t
  - uri: http://mcp.example.com/x
clients:
  - client_id: good
    redirect_uris: [https://app.example.com/cb]
    client_secret_file: `+secretFile+`
  - client_id: https://app.example.com/client.json
    redirect_uris: [https://app.example.com/cb]
  - client_id: weak
    client_secret: short
    redirect_uris: [javascript:alert(1), http://app.example.com/cb]
  - client_id: keyless
    token_endpoint_auth_method: private_key_jwt
    redirect_uris: [https://a.example/cb]
  - client_id: cc
    grant_types: [client_credentials, password]
  - client_id: good
    redirect_uris: [https://b.example/cb]
  - client_id: usr_robot
    redirect_uris: [https://b.example/cb]
  - client_id: nosy-public
    redirect_uris: [https://b.example/cb]
    allow_introspection: true
  - client_id: planted-params
    redirect_uris: ["https://b.example/cb?tenant=1", "https://b.example/cb?state=x", "http://127.0.0.1/cb?error_uri"]
`)
	cfg, _, problems := LoadConfig(file, nil, nil)
	got := map[string]string{}
	for _, p := range problems {
		got[p.Key] = p.Msg
	}
	want := map[string]string{
		"resources[1].prefix":            "must end with /",
		"clients[1].client_id":           "CIMD",
		"clients[2].client_secret":       "at least 16",
		"clients[2].redirect_uris[0]":    "forbidden scheme",
		"clients[2].redirect_uris[1]":    "non-loopback",
		"clients[3].jwks":                "exactly one of jwks and jwks_uri",
		"clients[4].grant_types[1]":      `"password" is not one of`,
		"clients[4].grant_types":         "confidential client",
		"clients[5].client_id":           "configured twice",
		"clients[6].client_id":           "reserved",
		"clients[7].allow_introspection": "confidential client",
		"clients[8].redirect_uris[1]":    `already has "state"`,
		"clients[8].redirect_uris[2]":    `already has "error_uri"`,
		"clients[8].redirect_uris[0]":    "",
	}
	for k, msg := range want {
		if msg == "" && got[k] != "" {
			t.Errorf("%s: refused (%q), want it accepted", k, got[k])
		}
		if !strings.Contains(got[k], msg) {
			t.Errorf("%s: got %q, want it to mention %q", k, got[k], msg)
		}
	}
	// The first resource problem stops the resource list; the http one is
	// reported once the prefix is fixed.
	cfg.Resources[1].Prefix = "https://mcp.example.com/t/"
	if _, ps := buildResources(cfg.Resources); len(ps) != 1 || !strings.Contains(ps[0].Msg, "https") {
		t.Errorf("http resource: %v", ps)
	}
	clients, ps := buildClients(cfg.Clients[:1])
	if len(ps) != 0 || len(clients) != 1 || clients[0].AuthMethod() != "client_secret_basic" || len(clients[0].SecretHash) != 32 {
		t.Fatalf("good client = %+v %v", clients, ps)
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	// The example names a token file in /etc; point it at a real one.
	tok := writeFile(t, "admin.token", "example-admin-token-0123456789-abcdef\n")
	code, out, errOut := gh(t, "", "config", "check", "--config", "../../testdata/gatehouse.example.yaml", "--admin-token-file", tok)
	if code != 0 {
		t.Fatalf("config check of the example = %d\n%s", code, errOut)
	}
	if strings.Contains(out, "example-secret-change-me") || !strings.Contains(out, masked) {
		t.Fatalf("the secret is not masked:\n%s", out)
	}
}

func TestQuickstartConfigIsValid(t *testing.T) {
	if code, _, errOut := gh(t, "", "config", "check", "--config", "../../testdata/quickstart.yaml"); code != 0 {
		t.Fatalf("quickstart config = %d\n%s", code, errOut)
	}
}

// TestRefreshGracePeriodSetting: the key, its variable and flag reach the
// server's config; 0s (strict) and the 5m ceiling are accepted, more is not.
func TestRefreshGracePeriodSetting(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		env     []string
		args    []string
		want    time.Duration
		problem bool
	}{
		{"file", "tokens: {refresh_token_grace_period: 30s}\n", nil, nil, 30 * time.Second, false},
		{"strict", "tokens: {refresh_token_grace_period: 0s}\n", nil, nil, 0, false},
		{"ceiling", "", []string{"GATEHOUSE_TOKENS_REFRESH_TOKEN_GRACE_PERIOD=5m"}, nil, 5 * time.Minute, false},
		{"flag wins", "tokens: {refresh_token_grace_period: 30s}\n", nil, []string{"--tokens-refresh-token-grace-period", "2s"}, 2 * time.Second, false},
		{"too long", "tokens: {refresh_token_grace_period: 6m}\n", nil, nil, 0, true},
		{"negative", "", []string{"GATEHOUSE_TOKENS_REFRESH_TOKEN_GRACE_PERIOD=-5s"}, nil, 0, true},
		{"not a duration", "tokens: {refresh_token_grace_period: ten}\n", nil, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, problems := LoadConfig(writeFile(t, "c.yaml", tt.file), tt.env, flags(t, tt.args...))
			if tt.problem {
				if len(problems) != 1 || problems[0].Key != "tokens.refresh_token_grace_period" {
					t.Fatalf("problems = %v; want one for tokens.refresh_token_grace_period", problems)
				}
				return
			}
			if len(problems) != 0 || cfg.Tokens.RefreshGracePeriod != tt.want || serverConfig(cfg).RefreshGrace != tt.want {
				t.Fatalf("grace = %v (server %v), problems %v; want %v", cfg.Tokens.RefreshGracePeriod, serverConfig(cfg).RefreshGrace, problems, tt.want)
			}
		})
	}
}
