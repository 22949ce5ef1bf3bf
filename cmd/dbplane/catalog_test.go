package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
)

// catalogFlavors are two flavors as the API describes them.
func catalogFlavors() []httpapi.FlavorInfo {
	return []httpapi.FlavorInfo{
		{Code: "dbp.c1.m2", VCPUs: 1, MemoryGB: 2, Settings: map[string]map[string]string{
			"redis":      {"maxmemory": "1433mb", "maxclients": "10000"},
			"postgresql": {"shared_buffers": "512MB", "max_connections": "100"},
		}},
		{Code: "dbp.c2.m4", VCPUs: 2, MemoryGB: 4, Settings: map[string]map[string]string{
			"postgresql": {"shared_buffers": "1024MB", "max_connections": "200"},
		}},
	}
}

func TestCatalogEnginesCmd(t *testing.T) {
	var asked []string
	f := &fakeAPI{CatalogEnginesFn: func(engine string) ([]dbplane.EngineVersion, error) {
		asked = append(asked, engine)
		return []dbplane.EngineVersion{
			{Engine: "postgresql", Version: "15", Packages: []string{"postgresql-15", "postgresql-client-15"},
				Topologies: []string{"standalone", "replication"}, Default: true},
			{Engine: "postgresql", Version: "16", Packages: []string{"postgresql-16"}, Topologies: []string{"standalone"}},
		}, nil
	}}
	r := runCLI(t, f, nil, "", "catalog", "engines", "--engine", "postgresql")
	r.check(t, exitOK)
	want := `ENGINE      VERSION  TOPOLOGIES              DEFAULT  PACKAGES
postgresql  15       standalone,replication  yes      postgresql-15,postgresql-client-15
postgresql  16       standalone              -        postgresql-16
`
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"postgresql"}, asked); diff != "" {
		t.Errorf("engine asked for (-want +got):\n%s", diff)
	}
	t.Run("JSON", func(t *testing.T) {
		r := runCLI(t, f, nil, "", "-o", "json", "catalog", "engines")
		r.check(t, exitOK)
		var out struct{ Engines []dbplane.EngineVersion }
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Engines) != 2 {
			t.Errorf("stdout = %s (%v), want {\"engines\": [two]}", r.stdout, err)
		}
	})
}

func TestCatalogFlavorsCmd(t *testing.T) {
	var asked []string
	f := &fakeAPI{
		CatalogFlavorsFn: func(engine string) ([]httpapi.FlavorInfo, error) {
			asked = append(asked, engine)
			return catalogFlavors(), nil
		},
		CatalogFlavorFn: func(code string) (*httpapi.FlavorInfo, error) {
			for _, fl := range catalogFlavors() {
				if fl.Code == code {
					return &fl, nil
				}
			}
			return nil, dbplane.Errorf(dbplane.KindNotFound, "flavor %q is not in the catalog", code)
		},
	}
	t.Run("All", func(t *testing.T) {
		r := runCLI(t, f, nil, "", "catalog", "flavors")
		r.check(t, exitOK)
		want := `FLAVOR     VCPUS  MEMORY_GB  ENGINE      SETTINGS
dbp.c1.m2  1      2          postgresql  max_connections=100 shared_buffers=512MB
                             redis       maxclients=10000 maxmemory=1433mb
dbp.c2.m4  2      4          postgresql  max_connections=200 shared_buffers=1024MB
`
		if diff := cmp.Diff(want, r.stdout); diff != "" {
			t.Errorf("stdout (-want +got):\n%s", diff)
		}
	})
	t.Run("EngineIsPassedOn", func(t *testing.T) {
		asked = nil
		runCLI(t, f, nil, "", "catalog", "flavors", "--engine", "redis").check(t, exitOK)
		if diff := cmp.Diff([]string{"redis"}, asked); diff != "" {
			t.Errorf("engine asked for (-want +got):\n%s", diff)
		}
	})
	t.Run("OneWithEngine", func(t *testing.T) {
		r := runCLI(t, f, nil, "", "catalog", "flavors", "dbp.c1.m2", "--engine", "redis")
		r.check(t, exitOK)
		want := `FLAVOR     VCPUS  MEMORY_GB  ENGINE  SETTINGS
dbp.c1.m2  1      2          redis   maxclients=10000 maxmemory=1433mb
`
		if diff := cmp.Diff(want, r.stdout); diff != "" {
			t.Errorf("stdout (-want +got):\n%s", diff)
		}
	})
	t.Run("OneJSON", func(t *testing.T) {
		r := runCLI(t, f, nil, "", "-o", "json", "catalog", "flavors", "dbp.c2.m4")
		r.check(t, exitOK)
		var got httpapi.FlavorInfo
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(catalogFlavors()[1], got); diff != "" {
			t.Errorf("flavor (-want +got):\n%s", diff)
		}
	})
	t.Run("UnknownEngineOfOne", func(t *testing.T) {
		r := runCLI(t, f, nil, "", "catalog", "flavors", "dbp.c2.m4", "--engine", "redis")
		r.check(t, exitError)
		if !strings.Contains(r.stderr, `no engine "redis"`) {
			t.Errorf("stderr = %q, want it to name the engine", r.stderr)
		}
	})
	t.Run("UnknownFlavor", func(t *testing.T) {
		r := runCLI(t, f, nil, "", "catalog", "flavors", "dbp.c3.m3")
		r.check(t, exitError)
		if !strings.Contains(r.stderr, "dbp.c3.m3") {
			t.Errorf("stderr = %q, want it to name the flavor", r.stderr)
		}
	})
	t.Run("TooManyArgs", func(t *testing.T) {
		runCLI(t, f, nil, "", "catalog", "flavors", "a", "b").check(t, exitUsage)
	})
	t.Run("UnknownSubcommand", func(t *testing.T) {
		runCLI(t, f, nil, "", "catalog", "bogus").check(t, exitUsage)
	})
}
