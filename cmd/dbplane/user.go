package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/dbplane/dbplane/service"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// userCmd returns `dbplane user`.
func (c *cli) userCmd() *cobra.Command {
	return groupCmd("user", "Manage users and their passwords",
		c.userCreateCmd(), c.userListCmd(), c.userShowCmd(), c.userPasswdCmd(), c.userDeleteCmd())
}

// newUserPassword returns the password for a new or changed user: from
// stdin with --password-stdin, else a generated one that the caller prints
// once.
func (c *cli) newUserPassword(fromStdin bool) (pw string, generated bool, err error) {
	if fromStdin {
		pw, err = readSecret(c.stdin)
		return pw, false, err
	}
	pw, err = service.GeneratePassword()
	return pw, true, err
}

func (c *cli) userCreateCmd() *cobra.Command {
	var passwordStdin bool
	var binds []string
	cmd := newVerb(verb{Use: "create NAME", Args: exactArgs(1),
		Short: "Create a user; without --password-stdin a password is generated and shown once",
		Example: `  dbplane user create alice --bind payments=operator
  dbplane user create ops-bot --bind '*=viewer' --password-stdin <pw.txt`},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			u := &dbplane.User{Name: args[0]}
			for _, b := range binds {
				project, role, ok := strings.Cut(b, "=")
				if !ok {
					return usageErrorf("--bind %q: want PROJECT=ROLE", b)
				}
				pid, err := resolveProject(ctx, id, project, true)
				if err != nil {
					return err
				}
				u.Bindings = append(u.Bindings, dbplane.RoleBinding{ProjectID: pid, Role: role})
			}
			pw, generated, err := c.newUserPassword(passwordStdin)
			if err != nil {
				return err
			}
			if err := id.CreateUser(ctx, u, pw); err != nil {
				return err
			}
			c.infof("user %s created with id %d", u.Name, u.ID)
			if generated {
				// stdout, not stderr: it is the command's result, and
				// scripts capture it.
				fmt.Fprintf(c.stdout, "password: %s\n", pw)
				c.infof("the password is shown only now")
			}
			return nil
		})
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	cmd.Flags().StringArrayVar(&binds, "bind", nil, "grant a role as PROJECT=ROLE ('*' for every project); repeatable")
	return cmd
}

// userPage is the JSON form of a page of users.
type userPage struct {
	Users  []*dbplane.User `json:"users"`
	Total  int             `json:"total"`
	Offset int             `json:"offset"`
	Limit  int             `json:"limit"`
}

func (c *cli) userListCmd() *cobra.Command {
	var offset, limit int
	cmd := newVerb(verb{Use: "list", Short: "List users with their roles"},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, _ []string) error {
			us, total, err := id.FindUsers(ctx, dbplane.UserFilter{Offset: offset, Limit: limit})
			if err != nil {
				return err
			}
			return c.print(userPage{Users: nonNil(us), Total: total, Offset: offset, Limit: pageLimit(limit)}, func() error {
				tw := newTable(c.stdout)
				row(tw, "ID", "NAME", "ROLES", "CREATED")
				for _, u := range us {
					row(tw, itoa(u.ID), u.Name, bindingsText(u.Bindings), fmtTime(u.CreatedAt))
				}
				tw.Flush()
				c.pageNote(offset, len(us), total)
				return nil
			})
		})
	cmd.Flags().IntVar(&offset, "offset", 0, "skip this many users")
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many users (default 50)")
	return cmd
}

// bindingsText renders bindings as "project=role" pairs.
func bindingsText(bs []dbplane.RoleBinding) string {
	if len(bs) == 0 {
		return "-"
	}
	parts := make([]string, len(bs))
	for i, b := range bs {
		project := b.ProjectName
		if project == "" {
			project = itoa(b.ProjectID)
			if b.ProjectID == dbplane.GlobalScope {
				project = "*"
			}
		}
		parts[i] = project + "=" + b.Role
	}
	return strings.Join(parts, ",")
}

func (c *cli) userShowCmd() *cobra.Command {
	return newVerb(verb{Use: "show USER", Short: "Show a user (by id or name) with its roles", Args: exactArgs(1)},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			uid, err := resolveUser(ctx, id, args[0])
			if err != nil {
				return err
			}
			u, err := id.FindUserByID(ctx, uid)
			if err != nil {
				return err
			}
			return c.print(u, func() error {
				tw := newTable(c.stdout)
				row(tw, "ID:", itoa(u.ID))
				row(tw, "Name:", u.Name)
				row(tw, "Roles:", bindingsText(u.Bindings))
				row(tw, "Created:", fmtTime(u.CreatedAt))
				return tw.Flush()
			})
		})
}

func (c *cli) userPasswdCmd() *cobra.Command {
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "passwd USER",
		Short: "Set a user's password and revoke its tokens; without --password-stdin one is generated",
		Long: `Set a user's password and revoke the user's tokens. Access keys are not
revoked: they are credentials of their own, and the command says how many
the user still has; delete them with dbplane access-key delete.

Changing your own password needs your current one, so that a stolen token
or access key cannot take your account over: it comes from
$DBPLANE_PASSWORD (or password in the config file), else a prompt when
stdin is a terminal. Global admins set other users' passwords without it.`,
		Example: `  dbplane user passwd alice
  DBPLANE_PASSWORD=… dbplane user passwd me --password-stdin <new-password.txt`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.userPasswd(cmd.Context(), args[0], passwordStdin)
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the new password from stdin")
	return cmd
}

// passwordChanger sets a password and says how many access keys the user
// keeps; the HTTP client offers it.
type passwordChanger interface {
	ChangeUserPassword(ctx context.Context, id int64, current, password string) (*httpapi.PasswordChange, error)
}

// userPasswd sets user's password, with the caller's current password when
// user is the caller.
func (c *cli) userPasswd(ctx context.Context, user string, passwordStdin bool) error {
	a, err := c.client(ctx)
	if err != nil {
		return err
	}
	id, ok1 := a.(dbplane.IdentityService)
	changer, ok2 := a.(passwordChanger)
	if !ok1 || !ok2 {
		return dbplane.Errorf(dbplane.KindInternal, "this client cannot manage identities")
	}
	me, err := a.Whoami(ctx)
	if err != nil {
		return err
	}
	// Users without a global role may not look users up, not even
	// themselves: the caller's own name or id needs no lookup.
	uid := me.ID
	if user != me.Name && user != itoa(me.ID) {
		if uid, err = resolveUser(ctx, id, user); err != nil {
			return err
		}
	}
	var current string
	if me.ID == uid {
		if current, err = c.currentPassword(me.Name, passwordStdin); err != nil {
			return err
		}
	}
	pw, generated, err := c.newUserPassword(passwordStdin)
	if err != nil {
		return err
	}
	ch, err := changer.ChangeUserPassword(ctx, uid, current, pw)
	if err != nil {
		return err
	}
	c.infof("password of %s changed; its tokens are revoked, its %s not (delete them with dbplane access-key delete)",
		user, accessKeysText(ch.AccessKeys))
	if me.ID == uid {
		c.infof("your tokens are revoked: log in again with the new password (dbplane login, or DBPLANE_PASSWORD)")
	}
	if generated {
		fmt.Fprintf(c.stdout, "password: %s\n", pw)
	}
	return nil
}

// currentPassword returns the caller's current password, to change its
// own: the configured password, else one typed at a terminal prompt.
// stdin is not a prompt when it holds the new password.
func (c *cli) currentPassword(user string, stdinTaken bool) (string, error) {
	if c.cfg.Password != "" {
		return c.cfg.Password, nil
	}
	f, ok := c.stdin.(*os.File)
	if stdinTaken || !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageErrorf("changing your own password needs your current one: " +
			"set DBPLANE_PASSWORD (or password in the config file), or run in a terminal to be prompted")
	}
	fmt.Fprintf(c.stderr, "Current password for %s: ", user)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", fmt.Errorf("while reading the current password: %w", err)
	}
	return string(pw), nil
}

// accessKeysText says how many access keys a user keeps.
func accessKeysText(n int) string {
	if n == 1 {
		return "1 access key is"
	}
	return fmt.Sprintf("%d access keys are", n)
}

func (c *cli) userDeleteCmd() *cobra.Command {
	return newVerb(verb{Use: "delete USER", Short: "Delete a user with its roles, tokens and access keys", Args: exactArgs(1)},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			uid, err := resolveUser(ctx, id, args[0])
			if err != nil {
				return err
			}
			if err := id.DeleteUser(ctx, uid); err != nil {
				return err
			}
			c.infof("user %s deleted", args[0])
			return nil
		})
}
