package cimd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// readResponse checks status, encoding, type and size, and reads the body
// under the kind's byte cap (CIMD -02 §5, §5.1).
func (f *Fetcher) readResponse(ctx context.Context, req Request, r *http.Response) (*Response, error) {
	resp := &Response{URL: req.URL, Status: r.StatusCode, Header: r.Header}
	switch {
	case r.StatusCode == http.StatusOK:
	case r.StatusCode == http.StatusNotModified && (req.ETag != "" || req.LastModified != ""):
		return resp, nil
	case r.StatusCode >= 300 && r.StatusCode < 400:
		return nil, &FetchError{Outcome: OutcomeBadStatus, URL: req.URL, Status: r.StatusCode, Spec: specStatus,
			Detail: "server answered " + r.Status + " (redirects are never followed; publish the document at the client_id URL itself)"}
	case throttled(r):
		return nil, &FetchError{Outcome: OutcomeThrottled, URL: req.URL, Status: r.StatusCode, Spec: specStatus,
			Detail:     "server answered " + r.Status + " (the host is rate limiting or challenging automated requests)",
			RetryAfter: parseRetryAfter(r.Header.Get("Retry-After"), f.now())}
	default:
		return nil, &FetchError{Outcome: OutcomeBadStatus, URL: req.URL, Status: r.StatusCode, Spec: specStatus,
			Detail: "server answered " + r.Status + " (only 200 OK is accepted)"}
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, fetchErr(OutcomeInvalidDocument, req.URL, specFetch, nil,
			"response has Content-Encoding %q; Gatehouse asks for identity and does not decompress", enc)
	}
	limit := f.maxBytes(req.Kind)
	if r.ContentLength > limit {
		return nil, fetchErr(OutcomeTooLarge, req.URL, sizeSpec(req.Kind), nil,
			"response is %d bytes; the limit is %d", r.ContentLength, limit)
	}
	if req.Kind != KindLogo {
		ct := r.Header.Get("Content-Type")
		if !isJSONMediaType(ct) {
			return nil, fetchErr(OutcomeInvalidDocument, req.URL, specFetch, nil,
				"Content-Type %q is not application/json or application/*+json", ct)
		}
		resp.ContentType, _, _ = mime.ParseMediaType(ct)
	}
	body, err := readCapped(r.Body, limit)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, fetchErr(OutcomeTooLarge, req.URL, sizeSpec(req.Kind), nil,
			"response is larger than the %d byte limit", limit)
	case err != nil && (ctx.Err() != nil || isTimeout(err)):
		return nil, fetchErr(OutcomeTimeout, req.URL, specFetch, err, "reading the response timed out")
	case err != nil:
		return nil, fetchErr(OutcomeNetworkError, req.URL, specFetch, err, "reading the response failed")
	}
	resp.Body = body
	if req.Kind == KindLogo {
		if resp.ContentType = sniffRasterImage(body); resp.ContentType == "" {
			return nil, fetchErr(OutcomeInvalidDocument, req.URL, "Gatehouse §6.8", nil,
				"logo is not a PNG, JPEG, GIF or WebP image (SVG and other formats are refused)")
		}
	}
	return resp, nil
}

func sizeSpec(kind Kind) string {
	if kind == KindDocument {
		return specSize
	}
	return "Gatehouse limit"
}

var errTooLarge = errors.New("body exceeds the limit")

// readCapped reads at most limit bytes; one byte more is errTooLarge. The
// cap applies while reading, so an endless body costs limit+1 bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, errTooLarge
	}
	return body, nil
}

// isJSONMediaType accepts application/json and application/<x>+json, with
// any parameters (CIMD -02 §5).
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// sniffRasterImage recognises PNG, JPEG, GIF and WebP by their magic bytes
// and returns the media type, or "" for anything else (SVG can carry
// script, so only raster formats are served; decision §6.8).
func sniffRasterImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")):
		return "image/webp"
	}
	return ""
}
