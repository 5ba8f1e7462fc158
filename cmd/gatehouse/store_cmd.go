package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/store"
	"github.com/gatehouse-dev/gatehouse/store/boltstore"
	"github.com/gatehouse-dev/gatehouse/store/pgstore"
)

func newStoreCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "store", Short: "The data store: PostgreSQL schema migrations, moving from bbolt to PostgreSQL"}
	cmd.AddCommand(&cobra.Command{
		Use:   "migrate",
		Short: "Apply pending PostgreSQL schema migrations (serve does this at start, under an advisory lock)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			if cfg.Store.Postgres.URL == "" {
				return usageError("store migrate needs store.postgres.url (or GATEHOUSE_STORE_POSTGRES_URL)")
			}
			opts, err := pgOptions(cfg)
			if err != nil {
				return err
			}
			res, err := pgstore.Migrate(cmd.Context(), opts)
			for _, m := range res.Applied {
				fmt.Fprintln(env.stdout, "applied", m)
			}
			if err != nil {
				return err
			}
			if len(res.Applied) == 0 {
				fmt.Fprintf(env.stdout, "schema is current (version %d)\n", res.To)
				return nil
			}
			fmt.Fprintf(env.stdout, "schema migrated from version %d to %d\n", res.From, res.To)
			return nil
		},
	}, newStoreCopyCommand(env))
	return cmd
}

func newStoreCopyCommand(env *cliEnv) *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "copy --from-data-dir DIR --to-postgres URL",
		Short: "Copy a stopped bbolt installation into an empty PostgreSQL database and verify the counts",
		Long: `Copies every live record of a bbolt data directory (users, signing keys,
registered clients, initial access tokens, grants, refresh tokens, codes,
consents, sessions, revoked tokens, installation secrets) into a new
PostgreSQL database, in one transaction, then counts each table again.
The server using the data directory must be stopped. The password comes
from the URL or store.postgres.password_file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return usageError("--from-data-dir and --to-postgres are both required")
			}
			cfg, _, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			return copyStore(cmd.Context(), env, cfg, from, to)
		},
	}
	c.Flags().StringVar(&from, "from-data-dir", "", "the bbolt data directory to copy (its server stopped)")
	c.Flags().StringVar(&to, "to-postgres", "", "libpq URL or DSN of the empty destination database")
	return c
}

func copyStore(ctx context.Context, env *cliEnv, cfg Config, from, to string) error {
	src, err := boltstore.Open(from, boltstore.Options{})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w\n  Stop the server using %s first: a copy of a running installation would miss what it writes meanwhile", err, from)
	}
	if err != nil {
		return err
	}
	defer src.Close()
	cfg.Store.Postgres.URL = to
	opts, err := pgOptions(cfg)
	if err != nil {
		return err
	}
	dst, err := pgstore.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer dst.Close()
	counts, err := dst.Import(ctx, func(emit func(store.Record) error) error { return src.Export(ctx, emit) })
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RECORDS\tCOPIED")
	for _, k := range store.RecordKinds {
		fmt.Fprintf(w, "%s\t%d\n", k, counts[k])
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "copied %s into %s; every count verified\n", from, pgstore.RedactURL(to))
	return nil
}
