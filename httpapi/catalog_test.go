package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
)

// browseCatalog is a catalog of two engines (three versions) and two
// flavors.
var browseCatalog = dbplane.Catalog{
	Engines: []dbplane.EngineVersion{
		{Engine: "postgresql", Version: "15", Packages: []string{"postgresql-15"}, Topologies: []string{"standalone"}, Default: true},
		{Engine: "redis", Version: "7.0", Packages: []string{"redis-server"}, Topologies: []string{"standalone"}, Default: true},
		{Engine: "postgresql", Version: "16", Packages: []string{"postgresql-16"}, Topologies: []string{"standalone"}},
	},
	Flavors: []dbplane.Flavor{{Code: "dbp.c1.m2", VCPUs: 1, MemoryGB: 2}, {Code: "dbp.c2.m4", VCPUs: 2, MemoryGB: 4}},
}

func TestCatalogEngines(t *testing.T) {
	e := newEnv(t, func(s *httpapi.Server) { s.Catalog = browseCatalog })
	for _, tc := range []struct {
		engine string
		want   []dbplane.EngineVersion
	}{
		{"", browseCatalog.Engines},
		{"postgresql", []dbplane.EngineVersion{browseCatalog.Engines[0], browseCatalog.Engines[2]}},
		{"redis", browseCatalog.Engines[1:2]},
	} {
		t.Run("Engine="+tc.engine, func(t *testing.T) {
			got, err := e.client.CatalogEngines(t.Context(), tc.engine)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("engines (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("UnknownEngine", func(t *testing.T) {
		resp, data := e.request(t, "GET", "/v1/catalog/engines?engine=mysql", "")
		ae := mustErrorBody(t, resp, data, http.StatusBadRequest)
		if d := ae.Error.Details; len(d) != 1 || d[0].Field != "engine" || !strings.Contains(d[0].Message, "postgresql, redis") {
			t.Errorf("details = %+v, want engine, naming the catalog's engines", d)
		}
	})
}

func TestCatalogFlavors(t *testing.T) {
	e := newEnv(t, func(s *httpapi.Server) { s.Catalog = browseCatalog })
	small := browseCatalog.Flavors[0]
	t.Run("AllEngines", func(t *testing.T) {
		got, err := e.client.CatalogFlavors(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		want := []httpapi.FlavorInfo{
			{Code: "dbp.c1.m2", VCPUs: 1, MemoryGB: 2, Settings: map[string]map[string]string{
				"postgresql": {"shared_buffers": "512MB", "effective_cache_size": "1536MB", "work_mem": "4MB", "max_connections": "100"},
				"redis":      {"maxmemory": "1433mb", "maxclients": "10000"},
			}},
			{Code: "dbp.c2.m4", VCPUs: 2, MemoryGB: 4, Settings: map[string]map[string]string{
				"postgresql": {"shared_buffers": "1024MB", "effective_cache_size": "3072MB", "work_mem": "4MB", "max_connections": "200"},
				"redis":      {"maxmemory": "2867mb", "maxclients": "10000"},
			}},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("flavors (-want +got):\n%s", diff)
		}
	})
	t.Run("SameAsTheEnginesUse", func(t *testing.T) {
		got, err := e.client.CatalogFlavors(t.Context(), "postgresql")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]string{"postgresql": dbplane.EngineSettings("postgresql", 2048, 1)}
		if len(got) != 2 || !cmp.Equal(want, got[0].Settings) {
			t.Errorf("flavors = %+v, want the settings of postgresql only, as EngineSettings gives them", got)
		}
	})
	t.Run("One", func(t *testing.T) {
		got, err := e.client.CatalogFlavor(t.Context(), small.Code)
		if err != nil {
			t.Fatal(err)
		}
		all := small.Settings()
		want := httpapi.FlavorInfo{Code: small.Code, VCPUs: 1, MemoryGB: 2,
			Settings: map[string]map[string]string{"postgresql": all["postgresql"], "redis": all["redis"]}}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("flavor (-want +got):\n%s", diff)
		}
	})
	t.Run("UnknownFlavor", func(t *testing.T) {
		_, err := e.client.CatalogFlavor(t.Context(), "dbp.c3.m3")
		if dbplane.ErrorKind(err) != dbplane.KindNotFound || !strings.Contains(dbplane.ErrorMessage(err), "dbp.c3.m3") {
			t.Errorf("err = %v, want not found, naming the flavor", err)
		}
	})
	t.Run("UnknownParameter", func(t *testing.T) {
		resp, data := e.request(t, "GET", "/v1/catalog/flavors?size=big", "")
		mustErrorBody(t, resp, data, http.StatusBadRequest)
	})
}
