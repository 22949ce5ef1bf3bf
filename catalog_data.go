package dbplane

import (
	"slices"
	"strings"
)

// DefaultCatalog returns what dbplane installs: the engine versions Debian 12
// (bookworm) ships, so the agent can install them from the OS archive without
// third-party repositories, and the flavor sizes offered to users. Every call
// returns fresh slices, so callers may modify the result.
//
// Versions are the ones users type ("15", not "15.18"): the agent installs
// whatever patch release the archive carries, which keeps security updates
// flowing without catalog changes.
func DefaultCatalog() Catalog {
	return Catalog{
		Engines: []EngineVersion{
			{
				Engine:     EnginePostgreSQL,
				Version:    "15",
				Packages:   []string{"postgresql-15", "postgresql-client-15"},
				Topologies: []string{TopologyStandalone, TopologyReplication},
				Default:    true,
			},
			{
				Engine:  EngineMySQL,
				Version: "10.11",
				// galera-4 is the wsrep provider MariaDB loads for the galera
				// topology; mariadb-backup takes physical backups and copies
				// galera members (state transfers), which stream over socat.
				Packages:   []string{"mariadb-server", "mariadb-client", "galera-4", "mariadb-backup", "socat"},
				Topologies: []string{TopologyStandalone, TopologyReplication, TopologyGalera},
				Default:    true,
			},
			{
				Engine:     EngineRedis,
				Version:    "7.0",
				Packages:   []string{"redis-server", "redis-tools"},
				Topologies: []string{TopologyStandalone, TopologyReplication, TopologyRedisCluster},
				Default:    true,
			},
		},
		Flavors: []Flavor{
			{Code: "dbp.c1.m2", VCPUs: 1, MemoryGB: 2},
			{Code: "dbp.c2.m4", VCPUs: 2, MemoryGB: 4},
			{Code: "dbp.c2.m8", VCPUs: 2, MemoryGB: 8},
			{Code: "dbp.c4.m8", VCPUs: 4, MemoryGB: 8},
			{Code: "dbp.c4.m16", VCPUs: 4, MemoryGB: 16},
			{Code: "dbp.c8.m32", VCPUs: 8, MemoryGB: 32},
			{Code: "dbp.c16.m64", VCPUs: 16, MemoryGB: 64},
		},
	}
}

// Version returns the catalog entry of an engine version. An empty version
// selects the engine's default, so specs may leave the version out.
func (c Catalog) Version(engine, version string) (EngineVersion, bool) {
	for _, ev := range c.Engines {
		if ev.Engine != engine {
			continue
		}
		if version == "" && ev.Default || version != "" && ev.Version == version {
			return ev, true
		}
	}
	return EngineVersion{}, false
}

// Versions returns the versions of an engine in catalog order, for messages
// that tell users what they may choose.
func (c Catalog) Versions(engine string) []string {
	var vs []string
	for _, ev := range c.Engines {
		if ev.Engine == engine {
			vs = append(vs, ev.Version)
		}
	}
	return vs
}

// Flavor returns the flavor with the given code.
func (c Catalog) Flavor(code string) (Flavor, bool) {
	for _, f := range c.Flavors {
		if f.Code == code {
			return f, true
		}
	}
	return Flavor{}, false
}

// EngineNames returns the distinct engines of the catalog, sorted. (It is not
// called Engines because that is the name of the field.)
func (c Catalog) EngineNames() []string {
	names := make([]string, 0, len(c.Engines))
	for _, ev := range c.Engines {
		names = append(names, ev.Engine)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// hasEngine reports whether the catalog offers any version of engine.
func (c Catalog) hasEngine(engine string) bool {
	return slices.ContainsFunc(c.Engines, func(ev EngineVersion) bool { return ev.Engine == engine })
}

// flavorSample lists up to n flavor codes for messages: enough to show the
// naming scheme without dumping the whole catalog.
func (c Catalog) flavorSample(n int) string {
	codes := make([]string, 0, n)
	for _, f := range c.Flavors {
		if len(codes) == n {
			codes = append(codes, "…")
			break
		}
		codes = append(codes, f.Code)
	}
	return strings.Join(codes, ", ")
}
