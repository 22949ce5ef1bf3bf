package main

import (
	"github.com/dbplane/dbplane"
	"github.com/spf13/cobra"
)

// hostCmd returns `dbplane host`.
func (c *cli) hostCmd() *cobra.Command {
	return groupCmd("host", "List the hosts that run database nodes", c.hostListCmd())
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
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List hosts",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := dbplane.HostFilter{Offset: offset, Limit: limit}
			if status != "" {
				s := dbplane.HostStatus(status)
				f.Status = &s
			}
			if zone != "" {
				f.Zone = &zone
			}
			a, err := c.client(cmd.Context())
			if err != nil {
				return err
			}
			hosts, total, err := a.FindHosts(cmd.Context(), f)
			if err != nil {
				return err
			}
			if c.jsonOut() {
				return writeJSON(c.stdout, hostPage{Hosts: nonNil(hosts), Total: total, Offset: offset, Limit: pageLimit(limit)})
			}
			tw := newTable(c.stdout)
			row(tw, "ID", "NAME", "ADDRESS", "ZONE", "STATUS", "CPUS", "MEMORY_MB", "DISK_GB", "LAST_SEEN")
			for _, h := range hosts {
				row(tw, itoa(h.ID), h.Name, h.Address, orDash(h.Zone), string(h.Status), itoa(h.CPUs),
					itoa(h.MemoryMB), itoa(h.DiskGB), fmtTimePtr(h.LastSeenAt))
			}
			tw.Flush()
			c.pageNote(offset, len(hosts), total)
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only hosts in this status: NEW, ONLINE, OFFLINE or DELETING")
	cmd.Flags().StringVar(&zone, "zone", "", "only hosts in this zone")
	pageFlags(cmd, &offset, &limit)
	return cmd
}
