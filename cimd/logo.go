package cimd

import (
	"context"
	"errors"

	"github.com/gatehouse-dev/gatehouse/oauth"
)

// ErrNoLogo is returned by Logo for a client without logo_uri.
var ErrNoLogo = errors.New("cimd: the client has no logo_uri")

// Logo returns the client's logo_uri image for Gatehouse to serve from its
// own origin (CIMD -02 §8.8; decision §6.8): fetched through the SSRF-safe
// fetcher, raster formats only (PNG, JPEG, GIF, WebP, sniffed from the
// bytes, never SVG), capped at cimd.fetch.max_logo_bytes, and cached with
// the document freshness rules. Serve it with the returned content type
// and X-Content-Type-Options: nosniff. data is shared: do not modify it.
func (r *Resolver) Logo(ctx context.Context, c *oauth.Client) (contentType string, data []byte, err error) {
	if c.Metadata.LogoURI == "" {
		return "", nil, ErrNoLogo
	}
	res, err := r.logos.get(ctx, c.Metadata.LogoURI)
	if err != nil {
		return "", nil, callerError("logo_uri", err)
	}
	return res.value.ContentType, res.value.Data, nil
}

// parseLogoResponse keeps the sniffed type the fetcher checked.
func parseLogoResponse(_ string, resp *Response) (*Logo, error) {
	return &Logo{ContentType: resp.ContentType, Data: resp.Body}, nil
}
