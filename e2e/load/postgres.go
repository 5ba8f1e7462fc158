package main

// A durable throwaway PostgreSQL cluster for measuring Gatehouse on the
// postgres backend side by side with bbolt (peer/run.sh).

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse-dev/gatehouse/store/pgstore/pgtest"
)

// servePostgres starts a cluster with Debian's initdb/pg_ctl (fsync and
// synchronous commits on, as in production, so the comparison with bbolt's
// fsynced commits is fair), creates a database, writes its connection
// string to *pgURLFile and keeps the cluster up until SIGINT or SIGTERM.
// Run it pinned to the server's core: the database is part of the server.
func servePostgres() {
	c, err := pgtest.Start(true)
	if err != nil {
		die("postgres: %v", err)
	}
	defer c.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	url, err := c.CreateDatabase(ctx, fmt.Sprintf("gh_load_%d", time.Now().Unix()))
	cancel()
	if err != nil {
		c.Stop()
		die("postgres: create database: %v", err)
	}
	if err := os.WriteFile(*pgURLFile, []byte(url), 0o600); err != nil {
		c.Stop()
		die("postgres: %v", err)
	}
	fmt.Fprintln(os.Stderr, "postgres ready:", url)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
