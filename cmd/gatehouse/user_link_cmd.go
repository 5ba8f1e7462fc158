package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/store"
)

// identityList is a user's linked identities as provider/subject.
func identityList(ctx context.Context, st store.IdentityStore, userID string) ([]string, error) {
	ids, err := st.IdentitiesByUser(ctx, userID)
	var out []string
	for _, id := range ids {
		out = append(out, id.Provider+"/"+id.Subject)
	}
	return out, err
}

// addLinkCommands adds `user link` and `user unlink`: an operator joins an
// upstream identity (login provider id + the upstream's subject) to an
// existing user, or takes it away. Gatehouse never links by name or email
// on its own.
func addLinkCommands(parent *cobra.Command, with func(func(*cobra.Command, userManager, []string) error) func(*cobra.Command, []string) error) {
	var provider, subject string
	flags := func(c *cobra.Command) {
		c.Flags().StringVar(&provider, "provider", "", "the login provider's id (login.providers[].id)")
		c.Flags().StringVar(&subject, "subject", "", "the user's subject at that provider (OIDC sub, GitHub numeric user id)")
		_ = c.MarkFlagRequired("provider")
		_ = c.MarkFlagRequired("subject")
	}
	link := &cobra.Command{
		Use:   "link NAME --provider ID --subject SUB",
		Short: "Link an upstream identity to a user: signing in through that provider then signs in as this user",
		Args:  cobra.ExactArgs(1),
		RunE: with(func(cmd *cobra.Command, m userManager, args []string) error {
			if err := m.link(cmd.Context(), args[0], provider, subject); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "linked %s/%s to user %s\n", provider, subject, strings.ToLower(args[0]))
			return nil
		}),
	}
	flags(link)
	unlink := &cobra.Command{
		Use:   "unlink NAME --provider ID --subject SUB",
		Short: "Remove a linked upstream identity from a user",
		Args:  cobra.ExactArgs(1),
		RunE: with(func(cmd *cobra.Command, m userManager, args []string) error {
			if err := m.unlink(cmd.Context(), args[0], provider, subject); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "unlinked %s/%s from user %s\n", provider, subject, strings.ToLower(args[0]))
			return nil
		}),
	}
	flags(unlink)
	parent.AddCommand(link, unlink)
}
