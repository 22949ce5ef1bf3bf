package dbplane_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/google/go-cmp/cmp"
)

func TestDefaultCatalog_Version(t *testing.T) {
	cat := dbplane.DefaultCatalog()
	tests := []struct {
		engine, version string
		want            string // "" when not found
		packages        []string
		topologies      []string
	}{
		{dbplane.EnginePostgreSQL, "", "15", []string{"postgresql-15", "postgresql-client-15"}, []string{"standalone", "replication"}},
		{dbplane.EnginePostgreSQL, "15", "15", []string{"postgresql-15", "postgresql-client-15"}, []string{"standalone", "replication"}},
		{dbplane.EngineMySQL, "", "10.11", []string{"mariadb-server", "mariadb-client", "galera-4", "mariadb-backup", "socat"}, []string{"standalone", "replication", "galera"}},
		{dbplane.EngineRedis, "7.0", "7.0", []string{"redis-server", "redis-tools"}, []string{"standalone", "replication", "redis-cluster"}},
		{dbplane.EnginePostgreSQL, "14", "", nil, nil},
		{dbplane.EngineRedis, "7", "", nil, nil},
		{"oracle", "", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.engine+"/"+tt.version, func(t *testing.T) {
			ev, ok := cat.Version(tt.engine, tt.version)
			if ok != (tt.want != "") {
				t.Fatalf("Version(%q, %q) ok=%v, want %v", tt.engine, tt.version, ok, tt.want != "")
			}
			if !ok {
				return
			}
			if ev.Engine != tt.engine || ev.Version != tt.want {
				t.Errorf("got %s %s, want %s %s", ev.Engine, ev.Version, tt.engine, tt.want)
			}
			if diff := cmp.Diff(tt.packages, ev.Packages); diff != "" {
				t.Errorf("packages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.topologies, ev.Topologies); diff != "" {
				t.Errorf("topologies (-want +got):\n%s", diff)
			}
		})
	}
}

// Each engine has exactly one default, or specs without a version would be
// ambiguous.
func TestDefaultCatalog_OneDefaultPerEngine(t *testing.T) {
	cat := dbplane.DefaultCatalog()
	defaults := map[string]int{}
	for _, ev := range cat.Engines {
		if ev.Default {
			defaults[ev.Engine]++
		}
	}
	for _, e := range cat.EngineNames() {
		if defaults[e] != 1 {
			t.Errorf("engine %s has %d defaults, want 1", e, defaults[e])
		}
	}
}

func TestDefaultCatalog_EngineNames(t *testing.T) {
	got := dbplane.DefaultCatalog().EngineNames()
	want := []string{"mysql", "postgresql", "redis"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EngineNames (-want +got):\n%s", diff)
	}
	if got := (dbplane.Catalog{}).EngineNames(); len(got) != 0 {
		t.Errorf("empty catalog EngineNames = %v", got)
	}
}

func TestDefaultCatalog_Versions(t *testing.T) {
	cat := dbplane.DefaultCatalog()
	if got := cat.Versions(dbplane.EngineMySQL); !slices.Equal(got, []string{"10.11"}) {
		t.Errorf("Versions(mysql) = %v", got)
	}
	if got := cat.Versions("oracle"); got != nil {
		t.Errorf("Versions(oracle) = %v, want nil", got)
	}
}

// Flavor codes encode their size; a code that disagrees with its numbers
// would bill or place clusters wrongly.
func TestDefaultCatalog_Flavors(t *testing.T) {
	cat := dbplane.DefaultCatalog()
	want := []string{"dbp.c1.m2", "dbp.c2.m4", "dbp.c2.m8", "dbp.c4.m8", "dbp.c4.m16", "dbp.c8.m32", "dbp.c16.m64"}
	var codes []string
	for _, f := range cat.Flavors {
		codes = append(codes, f.Code)
		if code := fmt.Sprintf("dbp.c%d.m%d", f.VCPUs, f.MemoryGB); code != f.Code {
			t.Errorf("flavor %s has %d vCPUs and %d GB: code should be %s", f.Code, f.VCPUs, f.MemoryGB, code)
		}
	}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("flavor codes (-want +got):\n%s", diff)
	}

	if f, ok := cat.Flavor("dbp.c4.m16"); !ok || f.VCPUs != 4 || f.MemoryGB != 16 {
		t.Errorf("Flavor(dbp.c4.m16) = %+v, %v", f, ok)
	}
	if _, ok := cat.Flavor("dbp.c3.m3"); ok {
		t.Error("Flavor(dbp.c3.m3) found, want not found")
	}
}

// Callers may modify the catalog they get; that must not leak into the
// next caller's copy.
func TestDefaultCatalog_Fresh(t *testing.T) {
	a := dbplane.DefaultCatalog()
	a.Engines[0].Packages[0] = "changed"
	a.Flavors[0].Code = "changed"
	b := dbplane.DefaultCatalog()
	if b.Engines[0].Packages[0] == "changed" || b.Flavors[0].Code == "changed" {
		t.Fatal("DefaultCatalog shares state between calls")
	}
}
