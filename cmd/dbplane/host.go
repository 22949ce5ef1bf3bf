package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/spf13/cobra"
)

// hostCmd returns `dbplane host`.
func (c *cli) hostCmd() *cobra.Command {
	return groupCmd("host", "List, show, drain and delete the hosts that run database nodes; let agents join",
		c.hostListCmd(), c.hostShowCmd(), c.hostDeleteCmd(), c.hostDrainCmd(), c.hostJoinTokenCmd())
}

// hostAdmin returns the client as the host administration service. The
// HTTP client offers it; a client that does not is a programming error.
func (c *cli) hostAdmin(ctx context.Context) (dbplane.HostAdminService, error) {
	return serviceOf[dbplane.HostAdminService](ctx, c, "administer hosts")
}

// hostPage is the JSON form of a page of hosts.
type hostPage struct {
	Hosts  []*dbplane.Host `json:"hosts"`
	Total  int             `json:"total"`
	Offset int             `json:"offset"`
	Limit  int             `json:"limit"`
}

// hostListCmd returns `dbplane host list`.
func (c *cli) hostListCmd() *cobra.Command {
	var status, zone string
	var offset, limit int
	cmd := newVerb(verb{Use: "list", Short: "List hosts"},
		c.client, func(ctx context.Context, a api, _ []string) error {
			f := dbplane.HostFilter{Offset: offset, Limit: limit}
			if status != "" {
				s := dbplane.HostStatus(status)
				f.Status = &s
			}
			if zone != "" {
				f.Zone = &zone
			}
			hosts, total, err := a.FindHosts(ctx, f)
			if err != nil {
				return err
			}
			page := hostPage{Hosts: nonNil(hosts), Total: total, Offset: offset, Limit: pageLimit(limit)}
			return c.print(page, func() error {
				tw := newTable(c.stdout)
				row(tw, "ID", "NAME", "ADDRESS", "ZONE", "STATUS", "CPUS", "MEMORY_MB", "DISK_GB", "LAST_SEEN")
				for _, h := range hosts {
					status := string(h.Status)
					if h.Drained {
						status += ",DRAINED"
					}
					row(tw, itoa(h.ID), h.Name, h.Address, orDash(h.Zone), status, itoa(h.CPUs),
						itoa(h.MemoryMB), itoa(h.DiskGB), fmtTimePtr(h.LastSeenAt))
				}
				tw.Flush()
				c.pageNote(offset, len(hosts), total)
				return nil
			})
		})
	cmd.Flags().StringVar(&status, "status", "", "only hosts in this status: NEW, ONLINE, OFFLINE or DELETING")
	cmd.Flags().StringVar(&zone, "zone", "", "only hosts in this zone")
	pageFlags(cmd, &offset, &limit)
	return cmd
}

// hostShowCmd returns `dbplane host show`.
func (c *cli) hostShowCmd() *cobra.Command {
	return newVerb(verb{Use: "show HOST_ID", Short: "Show a host", Args: exactArgs(1), IDs: []string{"host ID"}},
		c.hostAdmin, func(ctx context.Context, admin dbplane.HostAdminService, args []string) error {
			h, err := admin.FindHostByID(ctx, argID(args[0]))
			if err != nil {
				return err
			}
			return c.print(h, func() error { printHost(c.stdout, h); return nil })
		})
}

// printHost prints the details of a host.
func printHost(w io.Writer, h *dbplane.Host) {
	tw := newTable(w)
	row(tw, "ID:", itoa(h.ID))
	row(tw, "Name:", h.Name)
	row(tw, "Address:", h.Address)
	row(tw, "Agent port:", itoa(h.AgentPort))
	row(tw, "Status:", string(h.Status))
	row(tw, "Drained:", yesNo(h.Drained))
	row(tw, "Region:", orDash(h.Region))
	row(tw, "Zone:", orDash(h.Zone))
	row(tw, "Rack:", orDash(h.Rack))
	row(tw, "OS:", orDash(h.OS)+" "+orDash(h.Arch))
	row(tw, "CPUs:", itoa(h.CPUs))
	row(tw, "Memory:", itoa(h.MemoryMB)+" MB")
	row(tw, "Free disk:", itoa(h.DiskGB)+" GB")
	row(tw, "Data root:", orDash(h.DataRoot))
	row(tw, "Last seen:", fmtTimePtr(h.LastSeenAt))
	row(tw, "Created:", fmtTime(h.CreatedAt))
	row(tw, "Updated:", fmtTime(h.UpdatedAt))
	tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// hostDeleteCmd returns `dbplane host delete`.
func (c *cli) hostDeleteCmd() *cobra.Command {
	return newVerb(verb{Use: "delete HOST_ID", Short: "Remove a host from the fleet", Args: exactArgs(1), IDs: []string{"host ID"},
		Long: `Remove a host's record. Refused while nodes of a cluster are placed on the
host: delete those clusters first. Nothing is done on the machine: its agent
keeps running but is no longer called, and its certificate names a host that
no longer exists. To bring the machine back, create a join token and join its
agent again after removing its state directory.`},
		c.hostAdmin, func(ctx context.Context, admin dbplane.HostAdminService, args []string) error {
			id := argID(args[0])
			if err := admin.DeleteHost(ctx, id); err != nil {
				return err
			}
			deleted := struct {
				ID      int64 `json:"id"`
				Deleted bool  `json:"deleted"`
			}{id, true}
			return c.print(deleted, func() error {
				fmt.Fprintf(c.stdout, "host %d deleted\n", id)
				return nil
			})
		})
}

// hostDrainCmd returns `dbplane host drain`.
func (c *cli) hostDrainCmd() *cobra.Command {
	var undo bool
	cmd := newVerb(verb{Use: "drain HOST_ID", Short: "Place no new nodes on a host (--undo to place them again)",
		Long: `Drain a host: placement stops putting new nodes on it. The nodes it carries
stay where they are. --undo reverses it. Both are idempotent.`,
		Args: exactArgs(1), IDs: []string{"host ID"}},
		c.hostAdmin, func(ctx context.Context, admin dbplane.HostAdminService, args []string) error {
			h, err := admin.DrainHost(ctx, argID(args[0]), !undo)
			if err != nil {
				return err
			}
			return c.print(h, func() error {
				if h.Drained {
					fmt.Fprintf(c.stdout, "host %d %s drained: it takes no new nodes\n", h.ID, quote(h.Name))
				} else {
					fmt.Fprintf(c.stdout, "host %d %s undrained: it takes new nodes\n", h.ID, quote(h.Name))
				}
				return nil
			})
		})
	cmd.Flags().BoolVar(&undo, "undo", false, "undrain: let the host take new nodes again")
	return cmd
}

// agentJoinCommand returns the command that joins an agent to the server,
// pinning the CA the CLI verifies the server with. Without exactly one CA
// certificate to pin (the system's roots verified the server), the agent
// is told to verify with a CA file instead.
func (c *cli) agentJoinCommand() string {
	trust := "--ca-file CA-BUNDLE.pem"
	if fp := c.caFingerprint(); fp != "" {
		trust = "--ca-sha256 " + fp
	}
	return fmt.Sprintf("dbplane agent --join %s %s --token TOKEN --listen IP:7070", c.cfg.Server, trust)
}

// hostJoinTokenCmd returns `dbplane host join-token`.
func (c *cli) hostJoinTokenCmd() *cobra.Command {
	return groupCmd("join-token", "Create tokens with which agents join", c.hostJoinTokenCreateCmd())
}

// hostJoinTokenCreateCmd returns `dbplane host join-token create`.
func (c *cli) hostJoinTokenCreateCmd() *cobra.Command {
	var ttl time.Duration
	checkTTL := func() error {
		if ttl < 0 || ttl > dbplane.MaxJoinTokenTTL || ttl > 0 && ttl < time.Second {
			return usageErrorf("--ttl must be between 1s and %s, got %s", dbplane.MaxJoinTokenTTL, ttl)
		}
		return nil
	}
	cmd := newVerb(verb{Use: "create", Short: "Create a one-time join token for an agent", Check: checkTTL,
		Long: `Create a one-time token with which one agent joins the control plane:

  dbplane agent --join URL --ca-sha256 FINGERPRINT --token TOKEN --listen IP:7070

The token is printed on stdout, once: the control plane keeps only its hash.
It expires after --ttl (at most 168h) and works for one join. The command is
printed on stderr, with the fingerprint of the CA this CLI verifies the
server with (--ca-file), which the agent pins to verify the control plane.`},
		c.hostAdmin, func(ctx context.Context, admin dbplane.HostAdminService, _ []string) error {
			tok, err := admin.CreateJoinToken(ctx, ttl)
			if err != nil {
				return err
			}
			return c.print(tok, func() error {
				fmt.Fprintln(c.stdout, tok.Secret)
				// The secret is not repeated here: stderr often ends up in logs.
				c.infof("join token %d, valid for one join until %s; on the host, run:\n  %s",
					tok.ID, fmtTime(tok.ExpiresAt), c.agentJoinCommand())
				return nil
			})
		})
	cmd.Flags().DurationVar(&ttl, "ttl", dbplane.DefaultJoinTokenTTL, "how long the token can be used")
	return cmd
}
