package main

import (
	"context"
	"io"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/spf13/cobra"
)

// clusterCmd returns `dbplane cluster`.
func (c *cli) clusterCmd() *cobra.Command {
	cmds := append([]*cobra.Command{c.clusterCreateCmd(), c.clusterListCmd(), c.clusterShowCmd(), c.clusterDeleteCmd()},
		c.clusterPowerCmds()...)
	return groupCmd("cluster", "Create, list, show, stop, start, restart, change and delete database clusters",
		append(cmds, c.clusterChangeCmds()...)...)
}

// clusterListCmd returns `dbplane cluster list`.
func (c *cli) clusterListCmd() *cobra.Command {
	var name, engine, status, project string
	var offset, limit int
	cmd := newVerb(verb{Use: "list", Short: "List clusters"},
		c.client, func(ctx context.Context, a api, _ []string) error {
			f := dbplane.ClusterFilter{Offset: offset, Limit: limit}
			if name != "" {
				f.Name = &name
			}
			if engine != "" {
				f.Engine = &engine
			}
			if status != "" {
				s := dbplane.ClusterStatus(status)
				f.Status = &s
			}
			var err error
			if f.ProjectID, err = c.projectFilter(ctx, project); err != nil {
				return err
			}
			clusters, total, err := a.FindClusters(ctx, f)
			if err != nil {
				return err
			}
			return c.print(clusterPage{Clusters: nonNil(clusters), Total: total, Offset: offset, Limit: pageLimit(limit)}, func() error {
				printClusters(c.stdout, clusters)
				c.pageNote(offset, len(clusters), total)
				return nil
			})
		})
	cmd.Flags().StringVar(&name, "name", "", "only the cluster with this exact name")
	cmd.Flags().StringVar(&engine, "engine", "", "only clusters of this engine")
	cmd.Flags().StringVar(&status, "status", "", "only clusters in this status")
	cmd.Flags().StringVar(&project, "project", "", "only clusters of this project (id or name)")
	pageFlags(cmd, &offset, &limit)
	return cmd
}

// clusterPage is the JSON form of a page of clusters, as the API sends it.
type clusterPage struct {
	Clusters []*dbplane.Cluster `json:"clusters"`
	Total    int                `json:"total"`
	Offset   int                `json:"offset"`
	Limit    int                `json:"limit"`
}

// pageFlags adds --offset and --limit.
func pageFlags(cmd *cobra.Command, offset, limit *int) {
	cmd.Flags().IntVar(offset, "offset", 0, "skip this many results")
	cmd.Flags().IntVar(limit, "limit", 0, "return at most this many results (default: the server's page size)")
}

// pageLimit is the page size the server applies for a requested limit.
func pageLimit(limit int) int {
	switch {
	case limit <= 0:
		return dbplane.DefaultPageSize
	case limit > dbplane.MaxPageSize:
		return dbplane.MaxPageSize
	}
	return limit
}

// pageNote tells on stderr when a list shows only part of the results.
func (c *cli) pageNote(offset, n, total int) {
	if n < total {
		c.infof("showing %d-%d of %d; use --offset and --limit for more", offset+1, offset+n, total)
	}
}

// printClusters prints clusters as a table.
func printClusters(w io.Writer, clusters []*dbplane.Cluster) {
	tw := newTable(w)
	row(tw, "ID", "NAME", "PROJECT", "ENGINE", "VERSION", "TOPOLOGY", "NODES", "STATUS", "CREATED")
	for _, cl := range clusters {
		row(tw, itoa(cl.ID), cl.Name, orDash(cl.Project), cl.Engine, cl.Version, cl.Topology, itoa(len(cl.Nodes)), string(cl.Status), fmtTime(cl.CreatedAt))
	}
	tw.Flush()
}

// clusterShowCmd returns `dbplane cluster show`.
func (c *cli) clusterShowCmd() *cobra.Command {
	return newVerb(verb{Use: "show ID|NAME", Short: "Show a cluster and its nodes", Args: exactArgs(1)},
		c.client, func(ctx context.Context, a api, args []string) error {
			id, err := resolveCluster(ctx, a, args[0])
			if err != nil {
				return err
			}
			cl, err := a.FindClusterByID(ctx, id)
			if err != nil {
				return err
			}
			return c.print(cl, func() error { printCluster(c.stdout, cl); return nil })
		})
}

// printCluster prints the details of a cluster and a table of its nodes.
func printCluster(w io.Writer, cl *dbplane.Cluster) {
	tw := newTable(w)
	row(tw, "ID:", itoa(cl.ID))
	row(tw, "Name:", cl.Name)
	row(tw, "Project:", orDash(cl.Project))
	row(tw, "Engine:", cl.Engine+" "+cl.Version)
	row(tw, "Topology:", cl.Topology)
	row(tw, "Status:", string(cl.Status))
	row(tw, "Flavor:", orDash(cl.Spec.Flavor))
	row(tw, "Volume:", itoa(cl.Spec.VolumeGB)+" GB")
	row(tw, "Zones:", orDash(strings.Join(cl.Spec.Zones, ", ")))
	if cl.Spec.ReplicationMode != "" {
		row(tw, "Replication:", cl.Spec.ReplicationMode)
	}
	if e := cl.Endpoints; e != nil {
		row(tw, "Primary:", orDash(e.Primary))
		row(tw, "Replicas:", orDash(strings.Join(e.Replicas, ", ")))
		row(tw, "URI:", orDash(e.URI))
	}
	standbyRows(tw, cl)
	row(tw, "Created:", fmtTime(cl.CreatedAt))
	row(tw, "Updated:", fmtTime(cl.UpdatedAt))
	tw.Flush()
	if len(cl.Nodes) == 0 {
		return
	}
	w.Write([]byte("\n"))
	tw = newTable(w)
	row(tw, "NODE", "HOST", "ADDRESS", "ROLE", "PORT", "STATUS", "DATA_DIR")
	for _, n := range cl.Nodes {
		row(tw, itoa(n.ID), itoa(n.HostID), orDash(n.Address), n.Role, itoa(n.Port), orDash(n.Status), orDash(n.DataDir))
	}
	tw.Flush()
}

// resolveCluster returns the ID of the cluster named by arg: a numeric ID,
// or a cluster name.
func resolveCluster(ctx context.Context, a api, arg string) (int64, error) {
	if id, err := parseID("cluster ID", arg); err == nil {
		return id, nil
	}
	name := arg
	clusters, _, err := a.FindClusters(ctx, dbplane.ClusterFilter{Name: &name, Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(clusters) == 0 {
		return 0, dbplane.Errorf(dbplane.KindNotFound, "cluster %s not found", quote(arg))
	}
	return clusters[0].ID, nil
}

// runClusterTask is the body of the commands that start a task on one
// cluster: it resolves the cluster arg names, starts the task, and prints
// its plan (a dry run) or the started task, watched to its end with wait.
func (c *cli) runClusterTask(ctx context.Context, arg string, dryRun, wait bool,
	start func(a api, id int64) (*dbplane.Task, error)) error {
	if dryRun && wait {
		return usageErrorf("--dry-run and --wait cannot be used together")
	}
	a, err := c.client(ctx)
	if err != nil {
		return err
	}
	id, err := resolveCluster(ctx, a, arg)
	if err != nil {
		return err
	}
	task, err := start(a, id)
	if err != nil {
		return err
	}
	if dryRun {
		return c.printPlan(task)
	}
	return c.startedTask(ctx, a, task, wait)
}

// taskFlags adds the --dry-run and --wait flags of a command that starts a
// task.
func taskFlags(cmd *cobra.Command, dryRun, wait *bool) {
	cmd.Flags().BoolVar(dryRun, "dry-run", false, "print the planned task without running it")
	cmd.Flags().BoolVar(wait, "wait", false, "watch the task until it ends")
}

// clusterDeleteCmd returns `dbplane cluster delete`.
func (c *cli) clusterDeleteCmd() *cobra.Command {
	return c.clusterTaskCmd(verb{Use: "delete ID|NAME", Short: "Delete a cluster and its data",
		Long: `Delete a cluster: start the task that stops its nodes, removes their data
and then the cluster record. The data cannot be recovered.`}, api.DeleteCluster)
}
