package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/store"
)

// withStore opens the data directory for an offline command.
func (env *cliEnv) withStore(fn func(cmd *cobra.Command, cfg Config, st store.Store, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, _, err := env.loadConfig(cmd)
		if err != nil {
			return err
		}
		st, err := openStore(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(cmd, cfg, st, args)
	}
}

// parseAge accepts Go durations and whole days ("30d"), which is how
// operators think about client ages.
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (e.g. 30d, 12h, 90m)", s)
	}
	return d, nil
}

func newDCRCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "dcr", Short: "Dynamic client registration: initial access tokens"}
	tokens := &cobra.Command{Use: "token", Short: "Initial access tokens for dcr.mode token"}
	var uses int
	var expires, note string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an initial access token (shown once)",
		Args:  cobra.NoArgs,
		RunE: env.withStore(func(cmd *cobra.Command, cfg Config, st store.Store, _ []string) error {
			ttl, err := parseAge(expires)
			if err != nil || ttl == 0 {
				return usageError("--expires: %v", orMsg(err, "must be positive"))
			}
			if uses < 1 {
				return usageError("--uses must be at least 1")
			}
			tok, rec, err := registrationService(cfg, st).CreateInitialAccessToken(cmd.Context(), uses, ttl, note)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.stdout, tok)
			fmt.Fprintf(env.stderr, "initial access token for %d registration(s), valid until %s (shown once; only its hash is stored)\n",
				rec.UsesLeft, rec.ExpiresAt.UTC().Format(time.RFC3339))
			if cfg.DCR.Mode != "token" {
				fmt.Fprintf(env.stderr, "note: dcr.mode is %q; the token is required only in mode token\n", cfg.DCR.Mode)
			}
			return nil
		}),
	}
	create.Flags().IntVar(&uses, "uses", 1, "how many registrations the token allows")
	create.Flags().StringVar(&expires, "expires", "24h", "how long the token is valid (e.g. 24h, 7d)")
	create.Flags().StringVar(&note, "note", "", "a reminder of who the token is for")
	list := &cobra.Command{
		Use:   "list",
		Short: "List live initial access tokens",
		Args:  cobra.NoArgs,
		RunE: env.withStore(func(cmd *cobra.Command, _ Config, st store.Store, _ []string) error {
			toks, err := st.InitialAccessTokens(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "HASH\tUSES LEFT\tEXPIRES\tNOTE")
			for _, t := range toks {
				fmt.Fprintf(w, "%s…\t%d\t%s\t%s\n", t.ID[:12], t.UsesLeft, t.ExpiresAt.UTC().Format(time.RFC3339), t.Note)
			}
			return w.Flush()
		}),
	}
	tokens.AddCommand(create, list)
	cmd.AddCommand(tokens)
	return cmd
}

func orMsg(err error, msg string) any {
	if err != nil {
		return err
	}
	return msg
}
