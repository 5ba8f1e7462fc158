// Command gatehouse-demo-mcp is a small MCP server protected by Gatehouse:
// a streamable-HTTP endpoint with three tools (whoami, add, and write_note,
// which needs one more scope: MCP step-up authorization) that accepts only
// Gatehouse access tokens issued for it, and publishes the RFC 9728
// metadata that leads MCP clients to Gatehouse. It shows the resource
// package in use; see docs/resource-servers.md.
//
//	go run ./cmd/gatehouse-demo-mcp --issuer http://localhost:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/resource"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "gatehouse-demo-mcp:", err)
		os.Exit(1)
	}
}

// config is the demo's settings, from flags.
type config struct {
	Listen   string
	Issuer   string
	Resource string
	// Scopes are required on every MCP request, and advertised as the
	// metadata's scopes_supported.
	Scopes []string
	// WriteScope is what the write_note tool needs on top of Scopes; a
	// token without it gets the 403 insufficient_scope step-up challenge.
	// Empty: write_note needs nothing more.
	WriteScope string
	JWKSURL    string
	LogLevel   slog.Level
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration
	// Introspect turns on the resource package's RFC 7662 mode, with the
	// client credentials and cache lifetime below.
	Introspect              bool
	IntrospectionClientID   string
	IntrospectionSecret     string
	IntrospectionCacheTTL   time.Duration
	introspectionSecretFile string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	var scope string
	fs := flag.NewFlagSet("gatehouse-demo-mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:9000", "address to listen on")
	fs.StringVar(&cfg.Issuer, "issuer", "http://localhost:8080", "Gatehouse's issuer URL, exactly as Gatehouse is configured")
	fs.StringVar(&cfg.Resource, "resource", "http://127.0.0.1:9000/mcp",
		"this server's MCP endpoint URL: the audience tokens must carry; configure the same URI as a resources[].uri in Gatehouse")
	fs.StringVar(&scope, "scope", "mcp:tools", "space-separated scopes every MCP request needs (empty: a valid token suffices)")
	fs.StringVar(&cfg.WriteScope, "write-scope", "mcp:write",
		"the scope the write_note tool needs on top of --scope; calling it without answers 403 insufficient_scope, the step-up challenge (empty: no extra scope)")
	fs.StringVar(&cfg.JWKSURL, "jwks-url", "", "Gatehouse's JWKS URL (default: discovered from the issuer's metadata)")
	fs.TextVar(&cfg.LogLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fs.DurationVar(&cfg.Leeway, "leeway", resource.DefaultLeeway, "clock skew allowed on the token's exp, nbf and iat (0s: none; at most 5m)")
	fs.BoolVar(&cfg.Introspect, "introspect", false,
		"also ask Gatehouse's introspection endpoint (RFC 7662) whether each token is still active, so a revoked token stops working at once; "+
			"needs --introspection-client-id and --introspection-secret-file (a Gatehouse client with allow_introspection)")
	fs.StringVar(&cfg.IntrospectionClientID, "introspection-client-id", "", "with --introspect: this server's client_id at Gatehouse")
	fs.StringVar(&cfg.introspectionSecretFile, "introspection-secret-file", "", "with --introspect: a file holding that client's secret")
	fs.DurationVar(&cfg.IntrospectionCacheTTL, "introspection-cache", resource.DefaultIntrospectionCacheTTL,
		"with --introspect: how long an answer is reused (0s: ask for every request; at most 5m)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: gatehouse-demo-mcp [flags]\n\nA demo MCP server that accepts Gatehouse access tokens.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cfg.Scopes = strings.Fields(scope)
	if strings.ContainsAny(cfg.WriteScope, " \t\"\\") {
		return config{}, fmt.Errorf("--write-scope %q is not one scope token", cfg.WriteScope)
	}
	if cfg.Introspect {
		if cfg.IntrospectionClientID == "" || cfg.introspectionSecretFile == "" {
			return config{}, errors.New("--introspect needs --introspection-client-id and --introspection-secret-file")
		}
		secret, err := os.ReadFile(cfg.introspectionSecretFile)
		if err != nil {
			return config{}, fmt.Errorf("--introspection-secret-file: %w", err)
		}
		if cfg.IntrospectionSecret = strings.TrimSpace(string(secret)); cfg.IntrospectionSecret == "" {
			return config{}, errors.New("--introspection-secret-file: the file is empty")
		}
	}
	return cfg, nil
}

// run parses the flags, listens and serves until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	// Build first, so that a bad --resource fails before the port is taken.
	app, err := newApp(cfg, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	return app.serve(ctx, ln)
}

// scopesSupported is every scope the server uses, for its metadata.
func (c config) scopesSupported() []string {
	out := slices.Clone(c.Scopes)
	if c.WriteScope != "" && !slices.Contains(out, c.WriteScope) {
		out = append(out, c.WriteScope)
	}
	return out
}

// toolScopes are the scopes tools need on top of the endpoint's.
func (c config) toolScopes() resource.ToolScopes {
	if c.WriteScope == "" {
		return resource.ToolScopes{}
	}
	return resource.ToolScopes{writeNoteTool: {c.WriteScope}}
}

// verifierConfig maps the flags onto the resource package.
func verifierConfig(cfg config, logger *slog.Logger) resource.Config {
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = resource.NoLeeway // the flag's 0 means none; the package's 0 means its default
	}
	rc := resource.Config{
		Resource:        cfg.Resource,
		Issuer:          cfg.Issuer,
		JWKSURL:         cfg.JWKSURL,
		ScopesSupported: cfg.scopesSupported(),
		Leeway:          leeway,
		Logger:          logger,
		ResourceName:    "Gatehouse demo MCP server",
	}
	if cfg.Introspect {
		ttl := cfg.IntrospectionCacheTTL
		if ttl == 0 {
			ttl = -1 // the flag's 0 means no cache; the package's 0 means its default
		}
		rc.Introspection = &resource.Introspection{ClientID: cfg.IntrospectionClientID, ClientSecret: cfg.IntrospectionSecret, CacheTTL: ttl}
	}
	return rc
}
