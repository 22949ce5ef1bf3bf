package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

// env is what the CLI takes from its process, so tests can run it whole
// with buffers, a fake environment and a fake control plane.
type env struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	getenv  func(string) string
	connect connectFunc
	now     func() time.Time
}

// cli holds what every client command needs: the process environment and
// the configuration, which the root resolves before any command runs.
type cli struct {
	env
	cfg *Config
}

// run runs the dbplane command line args and returns the exit code.
func run(ctx context.Context, args []string, e env) int {
	cfg := DefaultConfig()
	root := newRoot(cfg, e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && ctx.Err() != nil {
		// The client may report an interrupted call in its own words.
		err = context.Canceled
	}
	path := root.Name()
	if cmd != nil {
		path = cmd.CommandPath()
	}
	return exitCode(e.stderr, err, path)
}

// newRoot returns the root command. Before any command runs, it resolves
// the configuration into *cfg (defaults < file < environment < flags), so
// commands read cfg in RunE and never parse configuration themselves.
func newRoot(cfg *Config, e env) *cobra.Command {
	c := &cli{env: e, cfg: cfg}
	// Commands that add their own persistent hooks must not skip the
	// root's, which resolves the configuration.
	cobra.EnableTraverseRunHooks = true
	root := &cobra.Command{
		Use:   "dbplane",
		Short: "Run and manage database clusters",
		Long: `dbplane is a self-hosted database control plane.

Client commands are "dbplane <noun> <verb>" and talk to the control plane
at --server. Results go to stdout (text tables, or JSON with -o json);
progress and messages go to stderr.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		Args:              cobra.ArbitraryArgs,
		RunE:              groupRunE,
		PersistentPreRunE: c.resolveConfig,
	}
	root.PersistentFlags().String("config", "", "TOML config file (default: $DBPLANE_CONFIG, else $XDG_CONFIG_HOME/dbplane/config.toml if it exists)")
	bindConfigFlags(root.PersistentFlags(), globalFlagKeys...)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.AddCommand(c.clusterCmd(), c.taskCmd(), c.hostCmd(), c.catalogCmd(), c.loginCmd(),
		c.projectCmd(), c.userCmd(), c.tokenCmd(), c.accessKeyCmd(), c.auditCmd())
	addServerCommands(root, cfg)
	return root
}

// resolveConfig fills c.cfg from every configuration layer.
func (c *cli) resolveConfig(cmd *cobra.Command, _ []string) error {
	path, err := cmd.Flags().GetString("config")
	if err != nil {
		return usageError{err}
	}
	resolved, err := ResolveConfig(path, c.getenv, cmd.Flags())
	if err != nil {
		return usageError{err}
	}
	*c.cfg = *resolved
	return nil
}

// groupCmd returns a command that only groups subcommands.
func groupCmd(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs, RunE: groupRunE}
	cmd.AddCommand(subs...)
	return cmd
}

// groupRunE makes a missing or unknown subcommand a usage error (exit 2)
// rather than cobra's help with exit 0, so scripts notice the mistake.
func groupRunE(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(cmd.ErrOrStderr(), cmd.UsageString())
		return usageErrorf("%s needs a command", cmd.CommandPath())
	}
	return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
}

// exactArgs and rangeArgs are cobra's argument checks with usage errors.
func exactArgs(n int) cobra.PositionalArgs { return rangeArgs(n, n) }

func rangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			if min == max {
				return usageErrorf("%s takes %d argument(s), got %d", cmd.CommandPath(), min, len(args))
			}
			return usageErrorf("%s takes %d to %d arguments, got %d", cmd.CommandPath(), min, max, len(args))
		}
		return nil
	}
}
