package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/server"
)

// reloadConfig reads the configuration the way the command was started:
// the same file, environment and flags.
func (env *cliEnv) reloadConfig(cmd *cobra.Command) (Config, map[string]string, []Problem) {
	file := env.configFile
	if file == "" {
		for _, kv := range env.environ {
			if v, ok := strings.CutPrefix(kv, envConfigFile+"="); ok {
				file = v
			}
		}
	}
	return LoadConfig(file, env.environ, cmd.Flags())
}

// loadConfig reads the configuration for a command, failing with every
// problem listed.
func (env *cliEnv) loadConfig(cmd *cobra.Command) (Config, map[string]string, error) {
	cfg, sources, problems := env.reloadConfig(cmd)
	if len(problems) > 0 {
		var b strings.Builder
		noun := "problems"
		if len(problems) == 1 {
			noun = "problem"
		}
		fmt.Fprintf(&b, "the configuration has %d %s:", len(problems), noun)
		for _, p := range problems {
			b.WriteString("\n  - " + p.String())
		}
		return cfg, sources, usageError("%s", b.String())
	}
	return cfg, sources, nil
}

func newConfigCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect the configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print the effective settings (secrets masked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, sources, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			for _, f := range []string{cfg.TLS.CertFile, cfg.TLS.KeyFile} {
				if f == "" {
					continue
				}
				if _, err := os.Stat(f); err != nil {
					return usageError("tls: %v", err)
				}
			}
			if err := PrintConfig(env.stdout, cfg, sources); err != nil {
				return err
			}
			for i, p := range cfg.Login.Providers {
				fmt.Fprintf(env.stdout, "# login.providers[%d] %s (%s): register this callback (redirect URI) upstream: %s\n",
					i, p.ID, p.Type, server.UpstreamCallbackURL(cfg.Issuer, p.ID))
			}
			fmt.Fprintln(env.stderr, "configuration OK")
			return nil
		},
	}, &cobra.Command{
		Use:   "reference",
		Short: "Print the table of every setting (Markdown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			WriteReference(env.stdout)
			return nil
		},
	})
	return cmd
}
