package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// AdminConfig enables the operator API and /metrics on their own
// listener.
type AdminConfig struct {
	Listen    string `yaml:"listen" help:"host:port of the admin API and Prometheus /metrics (e.g. 127.0.0.1:9090; a bare :9090 binds loopback only). Empty: no admin listener. Never the public listener; keep it on loopback or a private network."`
	TokenFile string `yaml:"token_file" help:"File holding the admin bearer token (at least 32 characters). Every admin request, /metrics included, must send Authorization: Bearer <token>."`
	Token     string `yaml:"token" secret:"true" help:"The admin bearer token itself, instead of token_file; best given as GATEHOUSE_ADMIN_TOKEN."`
	Pprof     bool   `yaml:"pprof" help:"Serve Go runtime profiles (CPU, heap, goroutines, traces) at /debug/pprof/ on the admin listener, behind the admin token. For diagnosing performance; off by default."`
}

// token returns the admin token from token or token_file.
func (a AdminConfig) token() (string, error) {
	if a.Token != "" {
		return a.Token, nil
	}
	if a.TokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(a.TokenFile)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// url is where CLI commands reach the admin API.
func (a AdminConfig) url() string {
	host, port, err := net.SplitHostPort(a.Listen)
	if err != nil {
		return ""
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (c *Config) validateAdmin() []Problem {
	a := c.Admin
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: "admin." + key, Msg: fmt.Sprintf(format, args...)})
	}
	if a.Token != "" && a.TokenFile != "" {
		bad("token_file", "set admin.token or admin.token_file, not both")
	}
	if a.Listen == "" {
		if a.Pprof {
			bad("pprof", "profiles are served on the admin listener: set admin.listen too")
		}
		return ps
	}
	if _, _, err := net.SplitHostPort(a.Listen); err != nil {
		bad("listen", "%q is not host:port", a.Listen)
	} else if a.Listen == c.Listen {
		bad("listen", "must differ from listen: the admin API is never on the public listener")
	}
	tok, err := a.token()
	switch {
	case err != nil:
		bad("token_file", "cannot read: %v", err)
	case tok == "":
		bad("token_file", "admin.listen is set: give the admin token in admin.token_file or GATEHOUSE_ADMIN_TOKEN")
	case len(tok) < 32:
		bad("token_file", "the admin token must be at least 32 characters (e.g. openssl rand -base64 32)")
	}
	return ps
}

// adminIsLoopback reports whether the admin listener stays on this host.
func adminIsLoopback(listen string) bool {
	host, _, _ := net.SplitHostPort(listen)
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || (err == nil && ip.IsLoopback())
}
