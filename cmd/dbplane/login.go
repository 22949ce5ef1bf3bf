package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// loginCmd returns `dbplane login`.
func (c *cli) loginCmd() *cobra.Command {
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Exchange a user's password for a token and save it for later commands",
		Long: `Exchange a user's password for a bearer token and save the token in
$XDG_CONFIG_HOME/dbplane/token (mode 0600), where later commands find it
when no token is configured. The CA certificates that verified the server
(--ca-file) are saved beside it, in ca.pem, and later commands verify the
server with them when no CA file is configured. The password comes from
--password-stdin, else $DBPLANE_PASSWORD, else a prompt when stdin is a
terminal.`,
		Example: `  dbplane login --user admin --password-stdin <admin-password.txt`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			password, err := c.loginPassword(passwordStdin)
			if err != nil {
				return err
			}
			anon, err := c.dial("")
			if err != nil {
				return err
			}
			tok, err := anon.IssueToken(cmd.Context(), c.cfg.User, password)
			if err != nil {
				return err
			}
			path, err := c.saveToken(tok.Secret)
			if err != nil {
				return err
			}
			caPath, err := c.saveCA()
			if err != nil {
				return err
			}
			c.infof("logged in to %s as %s; token saved to %s, valid until %s",
				c.cfg.Server, c.cfg.User, path, fmtTime(tok.ExpiresAt))
			if caPath != "" {
				c.infof("the CA that verified the server is saved to %s for later commands", caPath)
			}
			if c.jsonOut() {
				shown := *tok
				shown.Secret = "" // saved to the file; stdout may be a log
				return writeJSON(c.stdout, shown)
			}
			return nil
		},
	}
	bindConfigFlags(cmd.Flags(), "user")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	return cmd
}

// loginPassword returns the password to log in with.
func (c *cli) loginPassword(fromStdin bool) (string, error) {
	if fromStdin {
		return readSecret(c.stdin)
	}
	if c.cfg.Password != "" {
		return c.cfg.Password, nil
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageErrorf("no password: use --password-stdin or set DBPLANE_PASSWORD")
	}
	fmt.Fprintf(c.stderr, "Password for %s: ", c.cfg.User)
	pw, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", fmt.Errorf("while reading the password: %w", err)
	}
	return string(pw), nil
}
