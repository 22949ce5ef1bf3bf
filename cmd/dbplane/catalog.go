package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// catalogCmd returns `dbplane catalog`.
func (c *cli) catalogCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "catalog",
		Short: "List the engine versions and flavors clusters can be created with",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := c.client(cmd.Context())
			if err != nil {
				return err
			}
			cat, err := a.Catalog(cmd.Context())
			if err != nil {
				return err
			}
			if c.jsonOut() {
				return writeJSON(c.stdout, cat)
			}
			tw := newTable(c.stdout)
			row(tw, "ENGINE", "VERSION", "TOPOLOGIES", "DEFAULT")
			for _, e := range cat.Engines {
				def := ""
				if e.Default {
					def = "yes"
				}
				row(tw, e.Engine, e.Version, strings.Join(e.Topologies, ","), def)
			}
			tw.Flush()
			fmt.Fprintln(c.stdout)
			tw = newTable(c.stdout)
			row(tw, "FLAVOR", "VCPUS", "MEMORY_GB")
			for _, f := range cat.Flavors {
				row(tw, f.Code, itoa(f.VCPUs), itoa(f.MemoryGB))
			}
			return tw.Flush()
		},
	}
}
