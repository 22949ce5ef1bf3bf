package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
)

func TestCatalogEnginesFromFile(t *testing.T) {
	c, err := LoadConfig(writeFile(t, "dbplane.toml", `
max_package_bytes = 4096

[[catalog_engines]]
engine     = "mysql"
version    = "10.11"
packages   = ["mariadb-server", "galera-4", "socat", "plugin_1.0_amd64.deb"]
topologies = ["galera"]

[[catalog_engines]]
engine     = "redis"
version    = "7.2-site"
packages   = ["redis-server", "redis-site_7.2_amd64.deb"]
topologies = ["standalone"]
default    = true
`))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.MaxPackageBytes != 4096 {
		t.Fatalf("max_package_bytes = %d", c.MaxPackageBytes)
	}
	cat := c.Catalog()
	maria, ok := cat.Version(dbplane.EngineMySQL, "10.11")
	if !ok || !slices.Contains(maria.Packages, "plugin_1.0_amd64.deb") || !maria.Default ||
		!slices.Equal(maria.Topologies, []string{"galera"}) {
		t.Fatalf("MariaDB 10.11 = %+v, %v: want the configured entry in place of the built-in, still the default", maria, ok)
	}
	if n := len(cat.Engines); n != len(dbplane.DefaultCatalog().Engines)+1 {
		t.Fatalf("catalog has %d entries, want the built-in ones and one more", n)
	}
	if def, _ := cat.Version(dbplane.EngineRedis, ""); def.Version != "7.2-site" {
		t.Fatalf("default Redis is %q, want the configured default 7.2-site", def.Version)
	}
	if len(dbplane.DefaultCatalog().Engines[1].Packages) != 5 {
		t.Fatal("Catalog changed the built-in catalog")
	}
}

func TestCatalogEnginesRefused(t *testing.T) {
	for _, tc := range []struct {
		name, toml, field, msg string
	}{
		{"UnknownKey", `[[catalog_engines]]
engine = "mysql"
color = "red"`, "catalog_engines", "unknown key"},
		{"NotTables", `catalog_engines = "mysql"`, "catalog_engines", "array of tables"},
		{"UnknownEngine", `[[catalog_engines]]
engine = "oceanbase"
version = "4.2"
packages = ["oceanbase"]
topologies = ["galera"]`, "catalog_engines[0]", "oceanbase"},
		{"BadPackage", `[[catalog_engines]]
engine = "redis"
version = "7.0"
packages = ["redis-server", "evil; rm -rf /.deb"]
topologies = ["standalone"]`, "catalog_engines[0]", "evil"},
		{"BadTopology", `[[catalog_engines]]
engine = "redis"
version = "7.0"
packages = ["redis-server"]
topologies = ["galera"]`, "catalog_engines[0]", "galera"},
		{"NoPackages", `[[catalog_engines]]
engine = "redis"
version = "7.0"
packages = []
topologies = ["standalone"]`, "catalog_engines[0]", "packages must not be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(writeFile(t, "dbplane.toml", tc.toml))
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatal("accepted")
			}
			fields := dbplane.ErrorFields(err)
			if len(fields) == 0 || fields[0].Field != tc.field || !strings.Contains(fields[0].Message, tc.msg) {
				t.Fatalf("error %v with fields %+v, want %s: …%s…", err, fields, tc.field, tc.msg)
			}
		})
	}
	t.Run("NotFromEnvironment", func(t *testing.T) {
		c := DefaultConfig()
		k := keyByName("catalog_engines")
		if err := k.parse(c, "x"); err == nil {
			t.Fatal("catalog_engines parsed from text")
		}
	})
}
