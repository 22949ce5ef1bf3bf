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
// talk to it: serve, dev, agent, and secrets, which works on the server's
// data directory and store.
func addServerCommands(root *cobra.Command, cfg *Config) {
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run the control plane",
		Long: `Run the control plane: the REST API, the task engine and the metadata store.

The API speaks HTTPS only: with the certificate and key of --tls-cert-file and
--tls-key-file, else with a certificate of the control plane's own CA, which
is written to <data-dir>/ca.pem for clients (--ca-file, DBPLANE_CA_FILE).

The admin user's password comes from DBPLANE_ADMIN_PASSWORD (or admin_password
in the config file). When the admin user does not exist yet and no password is
set, one is generated and printed once.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd.Context(), cfg, cmd.ErrOrStderr())
		},
	}
	bindConfigFlags(serve.Flags(), serverFlagKeys...)

	var hosts int
	dev := &cobra.Command{
		Use:   "dev",
		Short: "Run a control plane and local agents for development on this machine",
		Long: `Run a development control plane with its agents in one process: SQLite
metadata in a data directory (default ` + devDataDir + `), the API on
127.0.0.1:8080, and one agent on 127.0.0.1 — or, with --hosts N, N agents on
127.0.0.11, 127.0.0.12, … in zones zone-1, zone-2, …, each with its own data
root, so that a replicated cluster spans "hosts" on one machine.

It prints the URL, the CA file clients verify the API with, and the admin
credentials. Without DBPLANE_ADMIN_PASSWORD
the password is generated once and kept in <data-dir>/admin.password, so
restarts keep the same credentials. Database processes keep running when dev
stops; the next dev re-adopts them. Run it as root: agents run databases as
their own OS users.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if hosts < 1 || hosts > 50 {
				return usageErrorf("--hosts must be 1 to 50, not %d", hosts)
			}
			if cfg.DataDir == DefaultConfig().DataDir {
				cfg.DataDir = devDataDir
			}
			return runDev(cmd.Context(), cfg, cmd.ErrOrStderr(), hosts)
		},
	}
	bindConfigFlags(dev.Flags(), serverFlagKeys...)
	dev.Flags().IntVar(&hosts, "hosts", 1, "number of local agents (hosts) to start")
	root.AddCommand(serve, dev, newAgentCmd(cfg), newSecretsCmd(cfg))
}

// devDataDir is dev's data directory. It lies outside any home directory
// because the database processes, which run as their own OS users, must be
// able to reach their data under it.
const devDataDir = "/var/lib/dbplane-dev"

// runServer runs a control plane until ctx ends. A generated admin
// password is printed only once.
func runServer(ctx context.Context, cfg *Config, out io.Writer) error {
	log := cfg.NewLogger(out)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("while creating data dir %s: %w", cfg.DataDir, err)
	}
	cp, err := openControlPlane(ctx, cfg, log)
	if err != nil {
		return err
	}
	if cp.GeneratedAdminPassword != "" {
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
