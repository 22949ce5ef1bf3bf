package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/dbplane/dbplane"
)

// clusterChangeCmds returns `dbplane cluster password` and `params`.
func (c *cli) clusterChangeCmds() []*cobra.Command {
	return []*cobra.Command{c.clusterPasswordCmd(), c.clusterParamsCmd()}
}

// clusterPasswordCmd returns `dbplane cluster password`.
func (c *cli) clusterPasswordCmd() *cobra.Command {
	var dryRun, wait bool
	cmd := &cobra.Command{
		Use:   "password ID|NAME",
		Short: "Change a cluster's admin password",
		Long: `Change the admin password of a running, degraded or abnormal cluster:
start the task that sets it on the cluster (MariaDB: on the primary, from
which replication or Galera carries it to every node) and then stores it.
The new password is read from stdin (its first line) or, when stdin is a
terminal, typed twice at a prompt: never from a flag, which other users
would see in the process list. It follows the rules of cluster creation.`,
		Example: `  dbplane cluster password orders
  dbplane cluster password orders --wait <new-password.txt`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runClusterTask(cmd.Context(), args[0], dryRun, wait, func(a api, id int64) (*dbplane.Task, error) {
				pw, err := c.newClusterPassword()
				if err != nil {
					return nil, err
				}
				return a.ChangePassword(cmd.Context(), id, pw, dryRun)
			})
		},
	}
	taskFlags(cmd, &dryRun, &wait)
	return cmd
}

// newClusterPassword reads a new cluster password: typed twice at a
// terminal, else the first line of stdin.
func (c *cli) newClusterPassword() (string, error) {
	f, ok := c.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return readSecret(c.stdin)
	}
	var typed [2]string
	for i, prompt := range []string{"New admin password: ", "Repeat it: "} {
		fmt.Fprint(c.stderr, prompt)
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", fmt.Errorf("while reading the password: %w", err)
		}
		typed[i] = string(pw)
	}
	if typed[0] != typed[1] {
		return "", usageErrorf("the passwords differ")
	}
	if typed[0] == "" {
		return "", usageErrorf("no password typed")
	}
	return typed[0], nil
}

// clusterParamsCmd returns `dbplane cluster params`.
func (c *cli) clusterParamsCmd() *cobra.Command {
	var dryRun, wait bool
	cmd := &cobra.Command{
		Use:   "params ID|NAME [NAME=VALUE ...]",
		Short: "Show or change a cluster's parameters",
		Long: `Without NAME=VALUE arguments, show the parameters of a cluster's spec.
With them, start the task that changes them on a running, degraded or
abnormal cluster: the engine checks them against the running primary, the
spec records them, then each node's configuration file is rewritten and
the change applied live where the engine allows (MariaDB SET GLOBAL), else
by restarting the nodes one at a time. NAME= (an empty value) removes a
parameter; the others stay as they are.`,
		Example: `  dbplane cluster params orders
  dbplane cluster params orders max_connections=300 wait_timeout= --wait`,
		Args: rangeArgs(1, 1+256),
		RunE: func(cmd *cobra.Command, args []string) error {
			change, err := parseParams(args[1:])
			if err != nil {
				return err
			}
			if len(change) == 0 && !(dryRun && wait) {
				return c.showParams(cmd.Context(), args[0])
			}
			return c.runClusterTask(cmd.Context(), args[0], dryRun, wait, func(a api, id int64) (*dbplane.Task, error) {
				return a.UpdateParameters(cmd.Context(), id, change, dryRun)
			})
		},
	}
	taskFlags(cmd, &dryRun, &wait)
	return cmd
}

// parseParams parses NAME=VALUE arguments.
func parseParams(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, usageErrorf("%s: want NAME=VALUE (NAME= removes a parameter)", quote(a))
		}
		if _, dup := out[k]; dup {
			return nil, usageErrorf("parameter %s given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// showParams prints the parameters of the spec of the cluster arg names.
func (c *cli) showParams(ctx context.Context, arg string) error {
	a, err := c.client(ctx)
	if err != nil {
		return err
	}
	id, err := resolveCluster(ctx, a, arg)
	if err != nil {
		return err
	}
	cl, err := a.FindClusterByID(ctx, id)
	if err != nil {
		return err
	}
	params := cl.Spec.Parameters
	if c.jsonOut() {
		if params == nil {
			params = map[string]string{}
		}
		return writeJSON(c.stdout, params)
	}
	tw := newTable(c.stdout)
	row(tw, "NAME", "VALUE")
	for _, k := range slices.Sorted(maps.Keys(params)) {
		row(tw, k, params[k])
	}
	return tw.Flush()
}
