package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/oauth"
	"github.com/gatehouse-dev/gatehouse/policy"
)

func newCIMDCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "cimd", Short: "Client ID Metadata Documents"}
	var redirect string
	check := &cobra.Command{
		Use:   "check URL",
		Short: "Fetch and validate a client metadata document exactly as the server would, rule by rule",
		Long: `Fetches the document at URL through the server's own SSRF-safe fetcher and
validates it under the configured policy (host lists, redirect policy, cache
bounds), then prints every rule as passed, failed or narrowed, the effective
client, and how long it would be cached. With --redirect-uri it also checks
that redirect URI the way /authorize would.

Exit status 0 only if the server would accept the client.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			// The check works whether or not cimd.enabled is set: it
			// answers "would this document be accepted under this policy".
			resolver, err := metadataResolver(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
			if err != nil {
				return err
			}
			defer resolver.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), cfg.CIMD.Fetch.Timeout+5*time.Second)
			defer cancel()
			report := resolver.Check(ctx, args[0], redirect)
			if err := report.WriteText(env.stdout); err != nil {
				return err
			}
			if report.Client != nil && report.Client.AllowsGrant(oauth.GrantClientCredentials) &&
				!report.Profile.AllowsClientCredentials(policy.ProfileClient{ID: report.ClientID, URL: true}, profileDefaults(cfg)) {
				fmt.Fprintf(env.stdout, "\nNote: the document lists client_credentials, but client profile %s refuses it\n"+
					"(its allow_client_credentials, else cimd.allow_client_credentials):\n"+
					"/token refuses that grant for this client (authorization_code is unaffected).\n", report.Profile.Name)
			}
			if !report.Accepted() {
				return &exitError{code: 1, err: errRefusedSilently}
			}
			return nil
		},
	}
	check.Flags().StringVar(&redirect, "redirect-uri", "", "also check this redirect URI as /authorize would")
	cmd.AddCommand(check)
	return cmd
}
