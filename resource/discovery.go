package resource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// wellKnownAuthorizationServer is the RFC 8414 §3 well-known suffix.
const wellKnownAuthorizationServer = "/.well-known/oauth-authorization-server"

// authorizationServerMetadataURL places the well-known suffix between the
// issuer's host and path (RFC 8414 §3.1): https://as.example.com/tenant
// becomes https://as.example.com/.well-known/oauth-authorization-server/tenant.
func authorizationServerMetadataURL(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return "", err
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + wellKnownAuthorizationServer + path, nil
}

// asMetadata is the part of the issuer's RFC 8414 metadata the verifier
// uses.
type asMetadata struct {
	Issuer                string `json:"issuer"`
	JWKSURI               string `json:"jwks_uri"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// fetchASMetadata reads the issuer's RFC 8414 metadata. The document's
// issuer must be the configured one exactly (RFC 8414 §3.3): otherwise
// another server's keys or endpoints could be trusted for our issuer. It
// returns the metadata URL too, for error messages.
func fetchASMetadata(ctx context.Context, cfg *Config) (asMetadata, string, error) {
	var md asMetadata
	metaURL, err := authorizationServerMetadataURL(cfg.Issuer)
	if err != nil {
		return md, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metaURL, nil)
	if err != nil {
		return md, metaURL, err
	}
	req.Header.Set("Accept", "application/json")
	body, resp, err := readDocument(cfg.HTTPClient, req)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	if err != nil {
		return md, metaURL, fmt.Errorf("authorization server metadata %s: %w", metaURL, err)
	}
	if err := json.Unmarshal(body, &md); err != nil {
		return md, metaURL, fmt.Errorf("authorization server metadata %s: %w", metaURL, err)
	}
	if md.Issuer != cfg.Issuer {
		return md, metaURL, fmt.Errorf("authorization server metadata %s names issuer %q, not %q (RFC 8414 §3.3)", metaURL, md.Issuer, cfg.Issuer)
	}
	return md, metaURL, nil
}

// discoveredURL checks an endpoint URL found in the metadata: absolute,
// and https when the issuer is.
func discoveredURL(cfg *Config, metaURL, name, u string) error {
	if u == "" {
		return fmt.Errorf("authorization server metadata %s has no %s", metaURL, name)
	}
	if err := checkURL(u, false); err != nil {
		return fmt.Errorf("authorization server metadata %s: %s: %w", metaURL, name, err)
	}
	if strings.HasPrefix(cfg.Issuer, "https:") && !strings.HasPrefix(u, "https:") {
		return fmt.Errorf("authorization server metadata %s: %s %q is not https", metaURL, name, u)
	}
	return nil
}

// discoverJWKSURL reads jwks_uri from the issuer's RFC 8414 metadata.
func discoverJWKSURL(ctx context.Context, cfg *Config) (string, error) {
	md, metaURL, err := fetchASMetadata(ctx, cfg)
	if err != nil {
		return "", err
	}
	if err := discoveredURL(cfg, metaURL, "jwks_uri", md.JWKSURI); err != nil {
		return "", err
	}
	return md.JWKSURI, nil
}

// discoverIntrospectionEndpoint reads introspection_endpoint from the
// issuer's RFC 8414 metadata.
func discoverIntrospectionEndpoint(ctx context.Context, cfg *Config) (string, error) {
	md, metaURL, err := fetchASMetadata(ctx, cfg)
	if err != nil {
		return "", err
	}
	if err := discoveredURL(cfg, metaURL, "introspection_endpoint", md.IntrospectionEndpoint); err != nil {
		return "", err
	}
	return md.IntrospectionEndpoint, nil
}

// readDocument performs req and reads a 200 body of at most
// maxDocumentBytes; a 304 returns no body and no error.
func readDocument(client *http.Client, req *http.Request) ([]byte, *http.Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		return nil, resp, nil
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
		return nil, resp, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return nil, resp, err
	}
	if len(body) > maxDocumentBytes {
		return nil, resp, errors.New("document larger than 1 MiB")
	}
	return body, resp, nil
}
