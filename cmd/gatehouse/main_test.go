package main

import (
	"os"
	"testing"

	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster the tests of the
// postgres backend start.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
