package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// addServerCommands adds the commands that run dbplane itself rather than
// talk to it: serve and dev.
func addServerCommands(root *cobra.Command, cfg *Config) {
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run the control plane",
		Long: `Run the control plane: the REST API, the task engine and the metadata store.

The admin user's password comes from DBPLANE_ADMIN_PASSWORD (or admin_password
in the config file). When the admin user does not exist yet and no password is
set, one is generated and printed once.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd.Context(), cfg, cmd.ErrOrStderr(), false)
		},
	}
	bindConfigFlags(serve.Flags(), serverFlagKeys...)

	dev := &cobra.Command{
		Use:   "dev",
		Short: "Run a control plane for development on this machine",
		Long: `Run a development control plane: SQLite metadata in a data directory
(default ` + "`~/.local/share/dbplane/dev`" + `), listening on 127.0.0.1:8080.

It prints the URL and the admin credentials. Without DBPLANE_ADMIN_PASSWORD
the password is generated once and kept in <data-dir>/admin.password, so
restarts keep the same credentials.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.DataDir == DefaultConfig().DataDir {
				home, err := os.UserHomeDir()
				if err != nil {
					return fmt.Errorf("while finding the home directory for the dev data dir: %w", err)
				}
				cfg.DataDir = filepath.Join(home, ".local", "share", "dbplane", "dev")
			}
			return runServer(cmd.Context(), cfg, cmd.ErrOrStderr(), true)
		},
	}
	bindConfigFlags(dev.Flags(), serverFlagKeys...)
	root.AddCommand(serve, dev)
}

// runServer runs a control plane until ctx ends. In dev mode the admin
// password persists in the data dir and the credentials are printed at
// every start; otherwise a generated password is printed only once.
func runServer(ctx context.Context, cfg *Config, out io.Writer, dev bool) error {
	log := cfg.NewLogger(out)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("while creating data dir %s: %w", cfg.DataDir, err)
	}
	if dev && cfg.AdminPassword == "" {
		pw, err := devAdminPassword(cfg.DataDir)
		if err != nil {
			return err
		}
		cfg.AdminPassword = pw
	}
	cp, err := openControlPlane(ctx, cfg, log)
	if err != nil {
		return err
	}
	switch {
	case dev:
		fmt.Fprintf(out, "\ndbplane dev is running at %s\n\n  export DBPLANE_SERVER=%s DBPLANE_USER=admin DBPLANE_PASSWORD='%s'\n\ndata dir: %s\n\n",
			cp.URL, cp.URL, cfg.AdminPassword, cfg.DataDir)
	case cp.GeneratedAdminPassword != "":
		fmt.Fprintf(out, "\nCreated user admin with the generated password %s\nIt is shown only this once; set DBPLANE_ADMIN_PASSWORD to change it.\n\n",
			cp.GeneratedAdminPassword)
	}
	return cp.run(ctx)
}

// devAdminPassword returns the dev admin password kept in dataDir, making
// one on first use.
func devAdminPassword(dataDir string) (string, error) {
	path := filepath.Join(dataDir, "admin.password")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("while reading %s: %w", path, err)
	}
	pw := "Dev-" + rand.Text()[:16]
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("while writing %s: %w", path, err)
	}
	return pw, nil
}
