package main

import (
	"os"
	"testing"

	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
)

// TestMain makes argon2 cheap for the commands and servers run in this
// process, as the server package's tests do (the algorithm and the code
// paths are the same; the cost is what -race makes slow: most of this
// package's CPU time went to 64 MiB hashes), and stops the throwaway
// PostgreSQL cluster the tests of the postgres backend start. The binaries
// the tests build and start keep the real cost.
func TestMain(m *testing.M) {
	server.DefaultPasswordParams = server.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1}
	os.Exit(pgtest.Main(m))
}
