package main

import "testing"

// The admin API is loopback unless the operator names another address.
func TestAdminBindAddr(t *testing.T) {
	for listen, want := range map[string]string{
		":9090":           "127.0.0.1:9090",
		"127.0.0.1:9090":  "127.0.0.1:9090",
		"[::1]:9090":      "[::1]:9090",
		"0.0.0.0:9090":    "0.0.0.0:9090", // explicit: everywhere, with a warning
		"10.0.0.5:9090":   "10.0.0.5:9090",
		"localhost:9090":  "localhost:9090",
		"not-a-host-port": "not-a-host-port", // refused by config validation first
	} {
		if got := adminBindAddr(listen); got != want {
			t.Errorf("adminBindAddr(%q) = %q, want %q", listen, got, want)
		}
	}
}
