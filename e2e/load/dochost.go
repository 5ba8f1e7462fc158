package main

// The dochost mode: a Client ID Metadata Document served over TLS on
// loopback, for authorize_cimd.

import (
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
)

// serveDocument serves one client metadata document over TLS until killed.
func serveDocument() {
	ln, err := net.Listen("tcp", *docAddr)
	if err != nil {
		die("listen: %v", err)
	}
	url := "https://" + *docAddr + "/oauth/client.json"
	doc := fmt.Sprintf(`{"client_id":%q,"client_name":"Load CIMD client","redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none"}`, url)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=3600")
		io.WriteString(w, doc)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.StartTLS()
	if err := os.MkdirAll(filepath.Dir(*caFile), 0o755); err != nil {
		die("%v", err)
	}
	if err := os.WriteFile(*caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		die("%v", err)
	}
	fmt.Fprintf(os.Stderr, "serving %s (certificate in %s)\n", url, *caFile)
	select {}
}
