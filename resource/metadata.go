package resource

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// WellKnownProtectedResource is the RFC 9728 §3 well-known suffix.
const WellKnownProtectedResource = "/.well-known/oauth-protected-resource"

// ProtectedResourceMetadata is the RFC 9728 §2 document.
type ProtectedResourceMetadata struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	ResourceName           string   `json:"resource_name,omitempty"`
	ResourceDocumentation  string   `json:"resource_documentation,omitempty"`
}

// metadataDoc is the document, encoded once, and where it lives.
type metadataDoc struct {
	doc  ProtectedResourceMetadata
	json []byte
	etag string
	url  string // the path-inserted URL (RFC 9728 §3.1)
	path string // its path
}

func buildMetadata(cfg *Config) (*metadataDoc, error) {
	md := &metadataDoc{doc: ProtectedResourceMetadata{
		Resource:               cfg.Resource,
		AuthorizationServers:   []string{cfg.Issuer},
		ScopesSupported:        cfg.ScopesSupported,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           cfg.ResourceName,
		ResourceDocumentation:  cfg.ResourceDocumentation,
	}}
	var err error
	if md.json, err = json.Marshal(md.doc); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(md.json)
	md.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	// RFC 9728 §3.1: the well-known suffix goes between the host and the
	// path; a terminating slash right after the host is removed first.
	u, err := url.Parse(cfg.Resource)
	if err != nil {
		return nil, err
	}
	path := u.EscapedPath()
	if path == "/" {
		path = ""
	}
	md.path = WellKnownProtectedResource + path
	md.url = u.Scheme + "://" + u.Host + md.path
	return md, nil
}

// Metadata returns the RFC 9728 document this verifier serves.
func (v *Verifier) Metadata() ProtectedResourceMetadata {
	d := v.metadata.doc
	d.AuthorizationServers = append([]string(nil), d.AuthorizationServers...)
	d.ScopesSupported = append([]string(nil), d.ScopesSupported...)
	d.BearerMethodsSupported = append([]string(nil), d.BearerMethodsSupported...)
	return d
}

// MetadataURL is the metadata's URL for this resource, the path-inserted
// form of RFC 9728 §3.1 (https://mcp.example.com/.well-known/oauth-protected-resource/mcp
// for https://mcp.example.com/mcp). Challenges name it as resource_metadata
// (RFC 9728 §5.1).
func (v *Verifier) MetadataURL() string { return v.metadata.url }

// MetadataPaths are the paths the metadata should be served at: the
// path-inserted form, then the bare well-known path, which MCP clients
// try next (MCP 2025-11-25 "Protected Resource Metadata Discovery").
//
// Both serve the same document, whose resource is Config.Resource. Strictly,
// RFC 9728 §3.3 ties the root document to the origin as resource; but a
// client that followed it would ask for a token for the origin, which this
// server must refuse (MCP: the audience must be the server itself), so the
// root answers with the one resource the server accepts. A host serving
// several resources should mount only their path-inserted forms.
func (v *Verifier) MetadataPaths() []string {
	if v.metadata.path == WellKnownProtectedResource {
		return []string{WellKnownProtectedResource}
	}
	return []string{v.metadata.path, WellKnownProtectedResource}
}

// MetadataHandler serves the metadata document: JSON, public, cacheable
// for an hour with an ETag, and readable from any origin (RFC 9728 §3:
// metadata is public; browser-based MCP clients fetch it cross-origin).
func (v *Verifier) MetadataHandler() http.Handler {
	doc := v.metadata
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		switch r.Method {
		case http.MethodOptions:
			// CORS preflight: the TypeScript SDK sends MCP-Protocol-Version.
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "*")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		case http.MethodGet, http.MethodHead:
		default:
			h.Set("Allow", "GET, HEAD, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("ETag", doc.etag)
		if match := r.Header.Get("If-None-Match"); match != "" && (match == "*" || strings.Contains(match, doc.etag)) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(doc.json)
		}
	})
}

// MountMetadata serves the metadata on mux at every MetadataPaths path.
func (v *Verifier) MountMetadata(mux *http.ServeMux) {
	h := v.MetadataHandler()
	for _, p := range v.MetadataPaths() {
		if strings.HasSuffix(p, "/") {
			p += "{$}" // exactly this path, not the subtree
		}
		mux.Handle(p, h)
	}
}
