package main

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
)

// Catalog entries of the configuration file: operators add engine versions
// to dbplane's built-in catalog (or replace one of the same engine and
// version), for instance one whose packages include a .deb uploaded to the
// package store:
//
//	[[catalog_engines]]
//	engine     = "mysql"
//	version    = "10.11"
//	packages   = ["mariadb-server", "galera-4", "mariadb-backup", "socat", "my-plugin_1.0_amd64.deb"]
//	topologies = ["standalone", "replication", "galera"]

var errCatalogFileOnly = errors.New("can only be set in the config file, as [[catalog_engines]] tables")

// catalogEntryKeys are the keys a [[catalog_engines]] table may have.
var catalogEntryKeys = []string{"engine", "version", "packages", "topologies", "default"}

// decodeCatalogEngines reads the decoded TOML array of tables.
func decodeCatalogEngines(v any) ([]dbplane.EngineVersion, error) {
	tables, ok := v.([]any)
	if !ok {
		return nil, errors.New("must be an array of tables ([[catalog_engines]])")
	}
	out := make([]dbplane.EngineVersion, 0, len(tables))
	for i, t := range tables {
		m, ok := t.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("entry %d must be a table", i+1)
		}
		var ev dbplane.EngineVersion
		for key, val := range m {
			var err error
			switch key {
			case "engine":
				ev.Engine, err = tomlString(val)
			case "version":
				ev.Version, err = tomlString(val)
			case "packages":
				ev.Packages, err = tomlStrings(val)
			case "topologies":
				ev.Topologies, err = tomlStrings(val)
			case "default":
				var isBool bool
				if ev.Default, isBool = val.(bool); !isBool {
					err = errors.New("must be true or false")
				}
			default:
				err = fmt.Errorf("unknown key; valid: %s", strings.Join(catalogEntryKeys, ", "))
			}
			if err != nil {
				return nil, fmt.Errorf("entry %d, %s: %w", i+1, key, err)
			}
		}
		out = append(out, ev)
	}
	return out, nil
}

func tomlString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", errNotString
	}
	return s, nil
}

func tomlStrings(v any) ([]string, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, errors.New("must be an array of strings")
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, errors.New("must be an array of strings")
		}
		out = append(out, s)
	}
	return out, nil
}

// debianNameRE is Debian policy's package name syntax (§5.6.1); a catalog
// package is one, or the file name of an uploaded package.
var debianNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// validateCatalogEngines checks the configured entries against the
// engines and topologies dbplane has.
func validateCatalogEngines(evs []dbplane.EngineVersion) []dbplane.FieldError {
	topologies := map[string][]string{}
	for _, ev := range dbplane.DefaultCatalog().Engines {
		for _, t := range ev.Topologies {
			if !slices.Contains(topologies[ev.Engine], t) {
				topologies[ev.Engine] = append(topologies[ev.Engine], t)
			}
		}
	}
	var fields []dbplane.FieldError
	bad := func(i int, format string, args ...any) {
		fields = append(fields, dbplane.FieldError{Field: fmt.Sprintf("catalog_engines[%d]", i),
			Message: fmt.Sprintf(format, args...)})
	}
	for i, ev := range evs {
		valid, ok := topologies[ev.Engine]
		if !ok {
			bad(i, "engine %q is not one of %s", ev.Engine, strings.Join(slices.Sorted(maps.Keys(topologies)), ", "))
			continue
		}
		if ev.Version == "" || len(ev.Version) > 32 || strings.ContainsAny(ev.Version, " /\\") {
			bad(i, "version %q must be a short version such as 10.11", ev.Version)
		}
		if len(ev.Packages) == 0 {
			bad(i, "packages must not be empty")
		}
		for _, p := range ev.Packages {
			if !debianNameRE.MatchString(p) && !dbplane.ValidPackageFileName(p) {
				bad(i, "package %q is neither a Debian package name nor a .deb or .rpm file name", p)
			}
		}
		if len(ev.Topologies) == 0 {
			bad(i, "topologies must not be empty; %s has %s", ev.Engine, strings.Join(valid, ", "))
		}
		for _, t := range ev.Topologies {
			if !slices.Contains(valid, t) {
				bad(i, "topology %q is not one of %s's: %s", t, ev.Engine, strings.Join(valid, ", "))
			}
		}
	}
	return fields
}

// Catalog returns the built-in catalog with the configured entries: one of
// the same engine and version replaces the built-in one, others are added;
// an entry marked default takes that mark from the engine's others.
func (c *Config) Catalog() dbplane.Catalog {
	cat := dbplane.DefaultCatalog()
	for _, ev := range c.CatalogEngines {
		ev.Packages, ev.Topologies = slices.Clone(ev.Packages), slices.Clone(ev.Topologies)
		if ev.Default {
			for i := range cat.Engines {
				if cat.Engines[i].Engine == ev.Engine {
					cat.Engines[i].Default = false
				}
			}
		}
		i := slices.IndexFunc(cat.Engines, func(e dbplane.EngineVersion) bool {
			return e.Engine == ev.Engine && e.Version == ev.Version
		})
		if i < 0 {
			cat.Engines = append(cat.Engines, ev)
			continue
		}
		ev.Default = ev.Default || cat.Engines[i].Default
		cat.Engines[i] = ev
	}
	return cat
}
