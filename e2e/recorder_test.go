//go:build e2e

package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// exchange is one HTTP request a client made and what it got back.
type exchange struct {
	Method       string     `json:"method"`
	URL          string     `json:"url"`
	Status       int        `json:"status"`
	AuthScheme   string     `json:"auth_scheme,omitempty"` // Basic, Bearer, ...
	BasicUser    string     `json:"basic_user,omitempty"`  // decoded, for Basic
	BasicPass    *string    `json:"-"`
	Bearer       string     `json:"-"`
	Form         url.Values `json:"form,omitempty"` // form bodies (token endpoint), secrets elided in the artifact
	JSONBody     []byte     `json:"-"`
	CacheControl string     `json:"cache_control,omitempty"`
	ContentType  string     `json:"content_type,omitempty"`
	RespBody     []byte     `json:"-"`
	Err          string     `json:"err,omitempty"`
}

// recorder is an http.RoundTripper that keeps a copy of every exchange, so
// tests can assert what a third-party client really sent and received.
type recorder struct {
	name string
	mu   sync.Mutex
	log  []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	x := exchange{Method: req.Method, URL: req.URL.String()}
	if h := req.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		x.AuthScheme = scheme
		switch strings.ToLower(scheme) {
		case "basic":
			if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
				u, p, _ := strings.Cut(string(raw), ":")
				x.BasicUser = u
				x.BasicPass = &p
			}
		case "bearer":
			x.Bearer = cred
		}
	}
	if req.Body != nil && req.GetBody != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		switch ct := req.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
			x.Form, _ = url.ParseQuery(string(body))
		case strings.HasPrefix(ct, "application/json"):
			x.JSONBody = body
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		x.Err = err.Error()
		r.add(x)
		return nil, err
	}
	x.Status = resp.StatusCode
	x.CacheControl = resp.Header.Get("Cache-Control")
	x.ContentType = resp.Header.Get("Content-Type")
	// Keep bodies of OAuth endpoints (small JSON), not MCP streams.
	if !strings.HasPrefix(x.ContentType, "text/event-stream") {
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		x.RespBody = body
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.add(x)
	return resp, nil
}

func (r *recorder) add(x exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, x)
}

// matching returns the exchanges whose URL path is path (and, if
// grantType is set, whose form names that grant_type).
func (r *recorder) matching(path, grantType string) []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []exchange
	for _, x := range r.log {
		u, err := url.Parse(x.URL)
		if err != nil || u.Path != path {
			continue
		}
		if grantType != "" && x.Form.Get("grant_type") != grantType {
			continue
		}
		out = append(out, x)
	}
	return out
}

func (r *recorder) all() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.log...)
}

// save writes the exchange log, with codes, verifiers and tokens elided,
// to artifacts.
func (r *recorder) save(t testing.TB) {
	var b strings.Builder
	for _, x := range r.all() {
		f := url.Values{}
		for k, v := range x.Form {
			switch k {
			case "code", "code_verifier", "refresh_token", "client_secret":
				f[k] = []string{"…"}
			default:
				f[k] = v
			}
		}
		x.Form = f
		line, _ := json.Marshal(x)
		fmt.Fprintf(&b, "%s\n", line)
	}
	writeArtifact(t, artifactName(t)+"-"+r.name+".jsonl", []byte(b.String()))
}

// oauthError is the error code of an OAuth JSON error body, if any.
func oauthError(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error
}
