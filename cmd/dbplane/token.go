package main

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
	"github.com/spf13/cobra"
)

// tokenCmd returns `dbplane token`.
func (c *cli) tokenCmd() *cobra.Command {
	return groupCmd("token", "List and revoke API tokens (dbplane login issues them)",
		c.tokenListCmd(), c.tokenRevokeCmd())
}

// targetUser returns the id of the --user argument, or of the caller when
// it is empty.
func (c *cli) targetUser(ctx context.Context, id dbplane.IdentityService, arg string) (int64, error) {
	if arg != "" {
		return resolveUser(ctx, id, arg)
	}
	a, err := c.client(ctx)
	if err != nil {
		return 0, err
	}
	me, err := a.Whoami(ctx)
	if err != nil {
		return 0, err
	}
	return me.ID, nil
}

func (c *cli) tokenListCmd() *cobra.Command {
	var user string
	cmd := newVerb(verb{Use: "list", Short: "List your unexpired tokens (admins: --user)"},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, _ []string) error {
			uid, err := c.targetUser(ctx, id, user)
			if err != nil {
				return err
			}
			ts, err := id.FindTokens(ctx, uid)
			if err != nil {
				return err
			}
			return c.print(nonNil(ts), func() error {
				tw := newTable(c.stdout)
				row(tw, "ID", "CREATED", "EXPIRES", "REVOKED")
				for _, t := range ts {
					row(tw, itoa(t.ID), fmtTime(t.CreatedAt), fmtTime(t.ExpiresAt), fmtTimePtr(t.RevokedAt))
				}
				return tw.Flush()
			})
		})
	cmd.Flags().StringVar(&user, "user", "", "list the tokens of this user (id or name) instead of yours")
	return cmd
}

func (c *cli) tokenRevokeCmd() *cobra.Command {
	return newVerb(verb{Use: "revoke ID", Short: "Revoke a token: it stops working at once", Args: exactArgs(1), IDs: []string{"token id"}},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			tid := argID(args[0])
			if err := id.RevokeToken(ctx, tid); err != nil {
				return err
			}
			c.infof("token %d revoked", tid)
			return nil
		})
}

// accessKeyCmd returns `dbplane access-key`.
func (c *cli) accessKeyCmd() *cobra.Command {
	return groupCmd("access-key", "Create, list and delete access keys (AK/SK pairs) for signed requests",
		c.accessKeyCreateCmd(), c.accessKeyListCmd(), c.accessKeyDeleteCmd())
}

func (c *cli) accessKeyCreateCmd() *cobra.Command {
	var user, description string
	cmd := newVerb(verb{Use: "create", Short: "Create an access key; its secret is shown only now",
		Example: `  dbplane access-key create --description "nightly backup job"
  curl --aws-sigv4 "aws:amz:dbplane:dbplane" --user "$AK:$SK" https://127.0.0.1:8080/v1/clusters`},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, _ []string) error {
			uid, err := c.targetUser(ctx, id, user)
			if err != nil {
				return err
			}
			k, err := id.CreateAccessKey(ctx, uid, description)
			if err != nil {
				return err
			}
			c.infof("access key %s created; the secret is shown only now", k.ID)
			return c.print(k, func() error {
				fmt.Fprintf(c.stdout, "access_key: %s\nsecret_key: %s\n", k.ID, k.Secret)
				return nil
			})
		})
	cmd.Flags().StringVar(&user, "user", "", "create the key for this user (id or name) instead of you")
	cmd.Flags().StringVar(&description, "description", "", "what the key is for")
	return cmd
}

func (c *cli) accessKeyListCmd() *cobra.Command {
	var user string
	cmd := newVerb(verb{Use: "list", Short: "List your access keys, without secrets (admins: --user)"},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, _ []string) error {
			uid, err := c.targetUser(ctx, id, user)
			if err != nil {
				return err
			}
			ks, err := id.FindAccessKeys(ctx, uid)
			if err != nil {
				return err
			}
			return c.print(nonNil(ks), func() error {
				tw := newTable(c.stdout)
				row(tw, "ACCESS_KEY", "CREATED", "LAST_USED", "DESCRIPTION")
				for _, k := range ks {
					row(tw, k.ID, fmtTime(k.CreatedAt), fmtTimePtr(k.LastUsedAt), orDash(k.Description))
				}
				return tw.Flush()
			})
		})
	cmd.Flags().StringVar(&user, "user", "", "list the keys of this user (id or name) instead of yours")
	return cmd
}

func (c *cli) accessKeyDeleteCmd() *cobra.Command {
	return newVerb(verb{Use: "delete ACCESS_KEY", Short: "Delete an access key: requests signed with it are refused at once", Args: exactArgs(1)},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			if err := id.DeleteAccessKey(ctx, args[0]); err != nil {
				return err
			}
			c.infof("access key %s deleted", args[0])
			return nil
		})
}
