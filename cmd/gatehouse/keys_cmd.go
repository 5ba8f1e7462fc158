package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/server"
	"github.com/gatehouse-dev/gatehouse/store"
)

func newKeysCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the token signing keys"}
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key active; old keys stay published until their tokens expire",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			st, err := openStore(cfg)
			if errors.Is(err, store.ErrLocked) {
				// The server is running: rotate there, so its JWKS and
				// signer change at once.
				if a, aerr := newAdminClient(cfg); aerr == nil {
					var out struct {
						KID string `json:"kid"`
					}
					if err := a.call(cmd.Context(), http.MethodPost, "/keys/rotate", nil, nil, &out); err != nil {
						return err
					}
					fmt.Fprintf(env.stdout, "new signing key %s is active (rotated in the running server)\n", out.KID)
					return nil
				}
			}
			if err != nil {
				return err
			}
			defer st.Close()
			key, err := server.RotateKey(cmd.Context(), st, time.Now(), cfg.Tokens.AccessTokenTTL, keyPublishAhead(cfg), rand.Reader)
			if err != nil {
				return err
			}
			announceFromCLI(cmd.Context(), st, store.Event{Kind: store.EventKeys, Key: key.ID})
			if !key.ActivatesAt.IsZero() {
				fmt.Fprintf(env.stdout, "new signing key %s is published; every instance signs with it from %s\n", key.ID, key.ActivatesAt.UTC().Format(time.RFC3339))
				return nil
			}
			fmt.Fprintf(env.stdout, "new signing key %s is active\n", key.ID)
			return nil
		},
	}, &cobra.Command{
		Use:   "list",
		Short: "List the signing keys and how long each stays published",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := env.loadConfig(cmd)
			if err != nil {
				return err
			}
			st, err := openStore(cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			keys, err := st.SigningKeys(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KID\tALG\tSTATE\tCREATED\tPUBLISHED UNTIL")
			for _, k := range keys {
				state, until := "active", "-"
				switch now := time.Now(); {
				case k.Active() && !k.SignsAt(now):
					state = "published, signs from " + k.Activation().UTC().Format(time.RFC3339)
				case !k.Active() && k.SignsAt(now):
					state, until = "active until "+k.RetiredAt.UTC().Format(time.RFC3339), k.PublishUntil.UTC().Format(time.RFC3339)
				case !k.Active():
					state, until = "retired", k.PublishUntil.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, state, k.CreatedAt.UTC().Format(time.RFC3339), until)
			}
			return w.Flush()
		},
	})
	return cmd
}
