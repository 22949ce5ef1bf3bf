package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/dbplane/dbplane"
)

// clusterPowerCmds returns `dbplane cluster stop`, `start` and `restart`.
func (c *cli) clusterPowerCmds() []*cobra.Command {
	return []*cobra.Command{
		c.clusterTaskCmd(verb{Use: "stop ID|NAME", Short: "Stop every node of a cluster, keeping its data",
			Long: `Stop a running, degraded or abnormal cluster: start the task that stops
every node, replicas before their primary (a Galera cluster one member at a
time, so that it can be bootstrapped again from its most advanced member).
The cluster is stopped when the task succeeds; its data and ports are kept.`},
			api.StopCluster),
		c.clusterTaskCmd(verb{Use: "start ID|NAME", Short: "Start a stopped cluster",
			Long: `Start a stopped cluster: start the task that starts every node in the
engine's order (the primary first; a Galera cluster bootstrapped from its
most advanced member, then the others; Redis primaries before replicas) and
waits until each serves. The cluster is running when the task succeeds.`},
			api.StartCluster),
		c.clusterTaskCmd(verb{Use: "restart ID|NAME", Short: "Restart a cluster's nodes one at a time",
			Long: `Restart a running, degraded or abnormal cluster: start the task that
restarts its nodes one at a time, replicas before the primary, waiting until
each serves again (a Galera member until it is synced), so that the cluster
stays available.`},
			api.RestartCluster),
	}
}

// clusterTaskCmd returns the `cluster <verb> ID|NAME` command v describes:
// it starts the task call starts on the cluster, or with --dry-run prints
// its plan, and with --wait watches it until it ends.
func (c *cli) clusterTaskCmd(v verb, call func(api, context.Context, int64, bool) (*dbplane.Task, error)) *cobra.Command {
	var dryRun, wait bool
	cmd := &cobra.Command{
		Use: v.Use, Short: v.Short, Long: v.Long, Example: v.Example,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.runClusterTask(cmd.Context(), args[0], dryRun, wait, func(a api, id int64) (*dbplane.Task, error) {
				return call(a, cmd.Context(), id, dryRun)
			})
		},
	}
	taskFlags(cmd, &dryRun, &wait)
	return cmd
}
