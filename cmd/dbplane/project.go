package main

import (
	"context"

	"github.com/dbplane/dbplane"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// projectCmd returns `dbplane project`.
func (c *cli) projectCmd() *cobra.Command {
	return groupCmd("project", "Manage projects (tenants), their quotas and their members",
		c.projectCreateCmd(), c.projectListCmd(), c.projectShowCmd(), c.projectUpdateCmd(),
		c.projectDeleteCmd(), c.projectBindCmd(), c.projectUnbindCmd())
}

// quotaFlags binds the quota flags of create and update.
type quotaFlags struct{ clusters, nodes, storageGB int }

func (q *quotaFlags) bind(fs *pflag.FlagSet) {
	fs.IntVar(&q.clusters, "max-clusters", 0, "most clusters the project may hold (0: unlimited)")
	fs.IntVar(&q.nodes, "max-nodes", 0, "most nodes the project may hold (0: unlimited)")
	fs.IntVar(&q.storageGB, "max-storage-gb", 0, "most volume GB the project's nodes may hold (0: unlimited)")
}

// apply sets the quota limits whose flags were given.
func (q *quotaFlags) apply(fs *pflag.FlagSet, quota *dbplane.Quota) {
	if fs.Changed("max-clusters") {
		quota.Clusters = q.clusters
	}
	if fs.Changed("max-nodes") {
		quota.Nodes = q.nodes
	}
	if fs.Changed("max-storage-gb") {
		quota.StorageGB = q.storageGB
	}
}

func (c *cli) projectCreateCmd() *cobra.Command {
	var description string
	var q quotaFlags
	var cmd *cobra.Command
	cmd = newVerb(verb{Use: "create NAME", Short: "Create a project", Args: exactArgs(1),
		Example: "  dbplane project create payments --max-clusters 10 --max-nodes 30 --max-storage-gb 2000"},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			p := &dbplane.Project{Name: args[0], Description: description}
			q.apply(cmd.Flags(), &p.Quota)
			if err := id.CreateProject(ctx, p); err != nil {
				return err
			}
			c.infof("project %s created with id %d", p.Name, p.ID)
			return c.printProject(p)
		})
	cmd.Flags().StringVar(&description, "description", "", "what the project is for")
	q.bind(cmd.Flags())
	return cmd
}

// projectPage is the JSON form of a page of projects.
type projectPage struct {
	Projects []*dbplane.Project `json:"projects"`
	Total    int                `json:"total"`
	Offset   int                `json:"offset"`
	Limit    int                `json:"limit"`
}

func (c *cli) projectListCmd() *cobra.Command {
	var offset, limit int
	cmd := newVerb(verb{Use: "list", Short: "List the projects you can see"},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, _ []string) error {
			ps, total, err := id.FindProjects(ctx, dbplane.ProjectFilter{Offset: offset, Limit: limit})
			if err != nil {
				return err
			}
			return c.print(projectPage{Projects: nonNil(ps), Total: total, Offset: offset, Limit: pageLimit(limit)}, func() error {
				tw := newTable(c.stdout)
				row(tw, "ID", "NAME", "MAX_CLUSTERS", "MAX_NODES", "MAX_STORAGE_GB", "CREATED", "DESCRIPTION")
				for _, p := range ps {
					row(tw, itoa(p.ID), p.Name, quotaText(p.Quota.Clusters), quotaText(p.Quota.Nodes),
						quotaText(p.Quota.StorageGB), fmtTime(p.CreatedAt), orDash(p.Description))
				}
				tw.Flush()
				c.pageNote(offset, len(ps), total)
				return nil
			})
		})
	cmd.Flags().IntVar(&offset, "offset", 0, "skip this many projects")
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many projects (default 50)")
	return cmd
}

func (c *cli) projectShowCmd() *cobra.Command {
	return newVerb(verb{Use: "show PROJECT", Short: "Show a project (by id or name) with its quota and usage", Args: exactArgs(1)},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			p, err := findProject(ctx, id, args[0])
			if err != nil {
				return err
			}
			return c.printProject(p)
		})
}

// findProject returns the project arg names, by id or name.
func findProject(ctx context.Context, id dbplane.IdentityService, arg string) (*dbplane.Project, error) {
	pid, err := resolveProject(ctx, id, arg, false)
	if err != nil {
		return nil, err
	}
	return id.FindProjectByID(ctx, pid)
}

// printProject prints one project, as JSON or as a key-value table.
func (c *cli) printProject(p *dbplane.Project) error {
	if c.jsonOut() {
		return writeJSON(c.stdout, p)
	}
	tw := newTable(c.stdout)
	row(tw, "ID:", itoa(p.ID))
	row(tw, "Name:", p.Name)
	row(tw, "Description:", orDash(p.Description))
	usage := func(used int) string { return itoa(used) }
	if p.Usage == nil {
		usage = func(int) string { return "-" }
		p.Usage = &dbplane.QuotaUsage{}
	}
	row(tw, "Clusters:", usage(p.Usage.Clusters)+" of "+quotaText(p.Quota.Clusters))
	row(tw, "Nodes:", usage(p.Usage.Nodes)+" of "+quotaText(p.Quota.Nodes))
	row(tw, "Storage GB:", usage(p.Usage.StorageGB)+" of "+quotaText(p.Quota.StorageGB))
	row(tw, "Created:", fmtTime(p.CreatedAt))
	return tw.Flush()
}

func (c *cli) projectUpdateCmd() *cobra.Command {
	var description string
	var q quotaFlags
	var cmd *cobra.Command
	cmd = newVerb(verb{Use: "update PROJECT", Short: "Change a project's description or quota (only the flags given)",
		Example: "  dbplane project update payments --max-nodes 40", Args: exactArgs(1)},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			p, err := findProject(ctx, id, args[0])
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("description") {
				p.Description = description
			}
			q.apply(cmd.Flags(), &p.Quota)
			if err := id.UpdateProject(ctx, p); err != nil {
				return err
			}
			return c.printProject(p)
		})
	cmd.Flags().StringVar(&description, "description", "", "what the project is for")
	q.bind(cmd.Flags())
	return cmd
}

func (c *cli) projectDeleteCmd() *cobra.Command {
	return newVerb(verb{Use: "delete PROJECT", Short: "Delete a project that owns no clusters", Args: exactArgs(1)},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			pid, err := resolveProject(ctx, id, args[0], false)
			if err != nil {
				return err
			}
			if err := id.DeleteProject(ctx, pid); err != nil {
				return err
			}
			c.infof("project %s deleted", args[0])
			return nil
		})
}

// projectMember resolves the PROJECT ('*': every project) and USER
// arguments of bind and unbind.
func projectMember(ctx context.Context, id dbplane.IdentityService, args []string) (pid, uid int64, err error) {
	if pid, err = resolveProject(ctx, id, args[0], true); err != nil {
		return 0, 0, err
	}
	uid, err = resolveUser(ctx, id, args[1])
	return pid, uid, err
}

func (c *cli) projectBindCmd() *cobra.Command {
	return newVerb(verb{Use: "bind PROJECT USER ROLE", Args: exactArgs(3),
		Short: "Grant a user a role (viewer, operator, admin) on a project, or on every project with PROJECT '*'",
		Example: `  dbplane project bind payments alice operator
  dbplane project bind '*' ops-bot viewer`},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			pid, uid, err := projectMember(ctx, id, args)
			if err != nil {
				return err
			}
			b := &dbplane.RoleBinding{UserID: uid, ProjectID: pid, Role: args[2]}
			if err := id.BindRole(ctx, b); err != nil {
				return err
			}
			c.infof("%s is now %s of %s", args[1], args[2], args[0])
			return c.print(b, func() error { return nil })
		})
}

func (c *cli) projectUnbindCmd() *cobra.Command {
	return newVerb(verb{Use: "unbind PROJECT USER", Short: "Remove a user's role on a project ('*': its global role)", Args: exactArgs(2)},
		c.identity, func(ctx context.Context, id dbplane.IdentityService, args []string) error {
			pid, uid, err := projectMember(ctx, id, args)
			if err != nil {
				return err
			}
			if err := id.UnbindRole(ctx, uid, pid); err != nil {
				return err
			}
			c.infof("%s has no role on %s any more", args[1], args[0])
			return nil
		})
}
