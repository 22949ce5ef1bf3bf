package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
)

// catalogCmd returns `dbplane catalog`: both lists at once, and the
// engines and flavors subcommands that browse one each.
func (c *cli) catalogCmd() *cobra.Command {
	cmd := newVerb(verb{Use: "catalog", Short: "List the engine versions and flavors clusters can be created with"},
		c.client, func(ctx context.Context, a api, _ []string) error {
			cat, err := a.Catalog(ctx)
			if err != nil {
				return err
			}
			return c.print(cat, func() error {
				if err := engineTable(c.stdout, cat.Engines, false); err != nil {
					return err
				}
				fmt.Fprintln(c.stdout)
				tw := newTable(c.stdout)
				row(tw, "FLAVOR", "VCPUS", "MEMORY_GB")
				for _, f := range cat.Flavors {
					row(tw, f.Code, itoa(f.VCPUs), itoa(f.MemoryGB))
				}
				return tw.Flush()
			})
		})
	cmd.AddCommand(c.catalogEnginesCmd(), c.catalogFlavorsCmd())
	return cmd
}

// catalogEnginesCmd returns `dbplane catalog engines`.
func (c *cli) catalogEnginesCmd() *cobra.Command {
	var engine string
	cmd := newVerb(verb{Use: "engines", Short: "List the engine versions, with their topologies and OS packages"},
		c.client, func(ctx context.Context, a api, _ []string) error {
			engines, err := a.CatalogEngines(ctx, engine)
			if err != nil {
				return err
			}
			return c.print(map[string]any{"engines": engines}, func() error { return engineTable(c.stdout, engines, true) })
		})
	cmd.Flags().StringVar(&engine, "engine", "", "only the versions of this engine")
	return cmd
}

// catalogFlavorsCmd returns `dbplane catalog flavors [CODE]`.
func (c *cli) catalogFlavorsCmd() *cobra.Command {
	var engine string
	cmd := newVerb(verb{Use: "flavors [CODE]", Args: rangeArgs(0, 1),
		Short: "List the flavors with the settings each engine configures nodes of that size with"},
		c.client, func(ctx context.Context, a api, args []string) error {
			if len(args) == 0 {
				flavors, err := a.CatalogFlavors(ctx, engine)
				if err != nil {
					return err
				}
				return c.print(map[string]any{"flavors": flavors}, func() error { return flavorTable(c.stdout, flavors) })
			}
			f, err := a.CatalogFlavor(ctx, args[0])
			if err != nil {
				return err
			}
			if engine != "" {
				s, ok := f.Settings[engine]
				if !ok {
					return dbplane.Invalid(dbplane.FieldError{Field: "engine",
						Message: fmt.Sprintf("the catalog has no engine %q", engine)})
				}
				f.Settings = map[string]map[string]string{engine: s}
			}
			return c.print(f, func() error { return flavorTable(c.stdout, []httpapi.FlavorInfo{*f}) })
		})
	cmd.Flags().StringVar(&engine, "engine", "", "only the settings of this engine")
	return cmd
}

// engineTable prints engine versions, with their OS packages if asked.
func engineTable(w io.Writer, engines []dbplane.EngineVersion, packages bool) error {
	tw := newTable(w)
	head := []string{"ENGINE", "VERSION", "TOPOLOGIES", "DEFAULT"}
	if packages {
		head = append(head, "PACKAGES")
	}
	row(tw, head...)
	for _, e := range engines {
		def := ""
		if e.Default {
			def = "yes"
		}
		cells := []string{e.Engine, e.Version, strings.Join(e.Topologies, ","), def}
		if packages {
			// A column follows: a dash keeps the row splittable on blanks.
			cells[3] = orDash(def)
			cells = append(cells, strings.Join(e.Packages, ","))
		}
		row(tw, cells...)
	}
	return tw.Flush()
}

// flavorTable prints flavors, one row per engine with that engine's
// settings as name=value pairs; a flavor's size is on its first row only,
// so each flavor reads as a block.
func flavorTable(w io.Writer, flavors []httpapi.FlavorInfo) error {
	tw := newTable(w)
	row(tw, "FLAVOR", "VCPUS", "MEMORY_GB", "ENGINE", "SETTINGS")
	for _, f := range flavors {
		size := []string{f.Code, itoa(f.VCPUs), itoa(f.MemoryGB)}
		engines := slices.Sorted(maps.Keys(f.Settings))
		if len(engines) == 0 {
			row(tw, append(size, "-", "-")...)
		}
		for i, e := range engines {
			if i == 1 {
				size = []string{"", "", ""}
			}
			row(tw, append(size, e, settingsText(f.Settings[e]))...)
		}
	}
	return tw.Flush()
}

// settingsText renders settings as name=value pairs in name order.
func settingsText(s map[string]string) string {
	parts := make([]string, 0, len(s))
	for _, k := range slices.Sorted(maps.Keys(s)) {
		parts = append(parts, k+"="+s[k])
	}
	return orDash(strings.Join(parts, " "))
}
