package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/cmd/dbplane/internal/taskview"
	"github.com/spf13/cobra"
)

// specFlags maps the JSON fields of a ClusterSpec to the flags that set
// them, so the API's field errors can name the flag the user typed.
var specFlags = map[string]string{
	"name":               "name",
	"engine":             "engine",
	"version":            "version",
	"topology":           "topology",
	"nodes":              "nodes",
	"shards":             "shards",
	"replicas_per_shard": "replicas-per-shard",
	"flavor":             "flavor",
	"volume_gb":          "volume-gb",
	"zones":              "zones",
	"primary_zone":       "primary-zone",
	"replication_mode":   "replication-mode",
	"password":           "password-stdin",
	"parameters":         "param",
	"allowlist":          "allowlist",
	"labels":             "label",
	"project":            "project",
	"persistence":        "persistence",
	"ssl":                "ssl",
	"standby_of":         "standby-of",
}

// clusterPasswordEnv names the environment variable that may carry the new
// cluster's admin password, which is never accepted as a flag value
// (flags show in ps).
const clusterPasswordEnv = "DBPLANE_CLUSTER_PASSWORD"

// createResult is the JSON form of a created (or planned) cluster.
type createResult struct {
	Cluster *dbplane.Cluster `json:"cluster"`
	Task    *dbplane.Task    `json:"task"`
}

// clusterCreateCmd returns `dbplane cluster create`.
func (c *cli) clusterCreateCmd() *cobra.Command {
	var (
		spec          dbplane.ClusterSpec
		file          string
		passwordStdin bool
		dryRun, wait  bool
	)
	cmd := &cobra.Command{
		Use:   "create (-f SPEC.json | --name NAME --engine ENGINE ...)",
		Short: "Create a database cluster",
		Long: `Create a database cluster from a JSON spec (-f FILE, or -f - for stdin) or
from flags. The admin password comes from --password-stdin, the spec file,
or $` + clusterPasswordEnv + `; it is never a flag value.`,
		Example: `  dbplane cluster create --name orders --engine postgresql --version 16 \
      --topology replication --nodes 3 --flavor dbp.c2.m4 --volume-gb 100 \
      --zones z1,z2,z3 --replication-mode sync --password-stdin --wait <pw.txt
  dbplane cluster create -f orders.json --dry-run`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dryRun && wait {
				return usageErrorf("--dry-run and --wait cannot be used together")
			}
			fromFlags := file == ""
			if !fromFlags {
				if err := c.readSpecFile(cmd, file, passwordStdin, &spec); err != nil {
					return err
				}
			}
			if err := c.readClusterPassword(passwordStdin, &spec); err != nil {
				return err
			}
			a, err := c.client(cmd.Context())
			if err != nil {
				return err
			}
			cl, task, err := a.CreateCluster(cmd.Context(), spec, dryRun)
			if err != nil {
				if fromFlags {
					return withFlagNames(err)
				}
				return err
			}
			return c.created(cmd, a, cl, task, dryRun, wait)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&file, "file", "f", "", "JSON cluster spec file, - for stdin (excludes the spec flags)")
	fs.StringVar(&spec.Name, "name", "", "cluster name")
	fs.StringVar(&spec.Project, "project", "", "project that owns the cluster (default: default)")
	fs.StringVar(&spec.Persistence, "persistence", "", "redis persistence: rdb or aof")
	fs.BoolVar(&spec.SSL, "ssl", false, "serve clients over TLS with certificates of the control plane's CA")
	fs.StringVar(&spec.Engine, "engine", "", "engine: postgresql, mysql or redis (see dbplane catalog)")
	fs.StringVar(&spec.Version, "version", "", "engine version (see dbplane catalog)")
	fs.StringVar(&spec.Topology, "topology", "", "standalone, replication, galera or redis-cluster")
	fs.IntVar(&spec.Nodes, "nodes", 0, "number of nodes")
	fs.IntVar(&spec.Shards, "shards", 0, "number of shards (redis-cluster)")
	fs.IntVar(&spec.ReplicasPerShard, "replicas-per-shard", 0, "replicas of each shard (redis-cluster)")
	fs.StringVar(&spec.Flavor, "flavor", "", "compute flavor (see dbplane catalog)")
	fs.IntVar(&spec.VolumeGB, "volume-gb", 0, "data volume size in GB, a multiple of 10")
	fs.StringSliceVar(&spec.Zones, "zones", nil, "zones to spread the nodes over, comma-separated")
	fs.StringVar(&spec.PrimaryZone, "primary-zone", "", "zone of the primary")
	fs.Int64SliceVar(&spec.Hosts, "hosts", nil, "host ids to place the nodes on, one per node in order (the first is the primary)")
	fs.StringVar(&spec.ReplicationMode, "replication-mode", "", "async, sync or quorum")
	fs.StringToStringVar(&spec.Parameters, "param", nil, "engine parameter KEY=VALUE (repeatable)")
	fs.StringToStringVar(&spec.Labels, "label", nil, "label KEY=VALUE (repeatable)")
	fs.StringSliceVar(&spec.Allowlist, "allowlist", nil, "client addresses or CIDRs allowed to connect, comma-separated")
	fs.Int64Var(&spec.StandbyOf, "standby-of", 0, "make a standby that replicates from the MariaDB cluster with this id (its admin password)")
	fs.BoolVar(&passwordStdin, "password-stdin", false, "read the admin password from stdin")
	fs.BoolVar(&dryRun, "dry-run", false, "print the planned task without creating anything")
	fs.BoolVar(&wait, "wait", false, "watch the create task until it ends")
	return cmd
}

// readSpecFile decodes the spec in file ("-": stdin) into spec. The spec
// flags must not also be set: mixing the two would leave the user unsure
// which one won.
func (c *cli) readSpecFile(cmd *cobra.Command, file string, passwordStdin bool, spec *dbplane.ClusterSpec) error {
	for _, flag := range specFlags {
		if flag != "password-stdin" && cmd.Flags().Changed(flag) {
			return usageErrorf("-f and --%s cannot be used together: put %s in the spec file", flag, flag)
		}
	}
	var r io.Reader
	if file == "-" {
		if passwordStdin {
			return usageErrorf("-f - and --password-stdin both read stdin: put the password in the spec or in $%s", clusterPasswordEnv)
		}
		r = c.stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return dbplane.Errorf(dbplane.KindInvalid, "cannot read the spec: %v", err)
		}
		defer f.Close()
		r = f
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields() // a misspelled field must not be silently ignored
	if err := dec.Decode(spec); err != nil {
		return dbplane.Errorf(dbplane.KindInvalid, "cannot decode the spec in %s: %v", specSource(file), err)
	}
	if dec.More() {
		return dbplane.Errorf(dbplane.KindInvalid, "cannot decode the spec in %s: more than one JSON value", specSource(file))
	}
	return nil
}

// specSource names a spec file for messages.
func specSource(file string) string {
	if file == "-" {
		return "stdin"
	}
	return file
}

// readClusterPassword sets spec.Password from stdin (--password-stdin) or,
// when the spec has none, from the environment.
func (c *cli) readClusterPassword(fromStdin bool, spec *dbplane.ClusterSpec) error {
	if fromStdin {
		pw, err := readSecret(c.stdin)
		if err != nil {
			return err
		}
		spec.Password = pw
		return nil
	}
	if spec.Password == "" {
		spec.Password = c.getenv(clusterPasswordEnv)
	}
	return nil
}

// readSecret reads a secret from the first line of r, as `docker login
// --password-stdin` does.
func readSecret(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return "", fmt.Errorf("while reading the password from stdin: %w", err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	pw := strings.TrimSuffix(string(line), "\r")
	if pw == "" {
		return "", usageErrorf("--password-stdin: stdin holds no password")
	}
	return pw, nil
}

// withFlagNames renames the fields of an API validation error after the
// flags that set them, e.g. "volume_gb (--volume-gb)".
func withFlagNames(err error) error {
	var de *dbplane.Error
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		return err
	}
	cp := *de
	cp.Fields = make([]dbplane.FieldError, len(de.Fields))
	for i, f := range de.Fields {
		base, _, _ := strings.Cut(f.Field, "[")
		base, _, _ = strings.Cut(base, ".")
		if flag, ok := specFlags[base]; ok {
			f.Field = fmt.Sprintf("%s (--%s)", f.Field, flag)
		}
		cp.Fields[i] = f
	}
	return &cp
}

// created reports a created or planned cluster and, with wait, watches its
// task to the end.
func (c *cli) created(cmd *cobra.Command, a api, cl *dbplane.Cluster, task *dbplane.Task, dryRun, wait bool) error {
	ctx := cmd.Context()
	if dryRun {
		if c.jsonOut() {
			return writeJSON(c.stdout, createResult{Cluster: cl, Task: task})
		}
		return c.printPlan(task)
	}
	if wait {
		final, err := taskview.New(a, c.stderr, c.now).Watch(ctx, task.ID)
		if err != nil {
			return err
		}
		task = final
		// The task changed the cluster's status; show the cluster as it is
		// now, or as created if it is gone (a rolled-back create).
		if now, err := a.FindClusterByID(ctx, cl.ID); err == nil {
			cl = now
		}
	}
	if c.jsonOut() {
		if err := writeJSON(c.stdout, createResult{Cluster: cl, Task: task}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "cluster %d %s %s\n", cl.ID, quote(cl.Name), cl.Status)
		fmt.Fprintln(c.stdout, taskLine(task))
	}
	if !wait {
		c.infof("follow it with 'dbplane task watch %d'", task.ID)
		return nil
	}
	return taskOutcome(task)
}
