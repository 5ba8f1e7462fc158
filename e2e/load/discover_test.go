package main

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// TestGetWhileStartingWaitsForTheServer: a server that starts listening
// after the load generator asked is waited for; an address that never
// listens fails once the wait is over.
func TestGetWhileStartingWaitsForTheServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens yet
	started := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })}
	defer srv.Close()
	go func() {
		<-started
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		srv.Serve(l)
	}()
	hc := &http.Client{Timeout: 5 * time.Second}
	if _, err := getWhileStarting(hc, "http://"+addr+"/", 0); err == nil {
		t.Fatal("nothing listens, no wait: want an error")
	}
	close(started)
	resp, err := getWhileStarting(hc, "http://"+addr+"/", time.Minute)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the server started: %v %v", resp, err)
	}
	resp.Body.Close()
}
