package httpapi

import (
	"net/http"
	"slices"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerCatalogRoutes() {
	s.route("GET /v1/catalog", "catalog.get", s.wrap(s.handleCatalog))
	s.route("GET /v1/catalog/engines", "catalog.engines", s.wrap(s.handleCatalogEngines))
	s.route("GET /v1/catalog/flavors", "catalog.flavors", s.wrap(s.handleCatalogFlavors))
	s.route("GET /v1/catalog/flavors/{code}", "catalog.flavor", s.wrap(s.handleCatalogFlavor))
}

// FlavorInfo is a flavor of the catalog with what it means for each engine
// of the catalog: the settings (buffers, connections) an engine configures
// a node of that size with. They come from dbplane.EngineSettings, as the
// engines' own, so what users browse is what their nodes get.
type FlavorInfo struct {
	Code     string `json:"code"`
	VCPUs    int    `json:"vcpus"`
	MemoryGB int    `json:"memory_gb"`
	// Settings maps an engine to its settings for the flavor.
	Settings map[string]map[string]string `json:"settings"`
}

// engineList is the answer of GET /v1/catalog/engines.
type engineList struct {
	Engines []dbplane.EngineVersion `json:"engines"`
}

// flavorList is the answer of GET /v1/catalog/flavors.
type flavorList struct {
	Flavors []FlavorInfo `json:"flavors"`
}

// handleCatalog handles GET /v1/catalog: the engine versions and flavors a
// cluster spec may name.
func (s *Server) handleCatalog(w http.ResponseWriter, r *http.Request) (any, error) {
	return &s.Catalog, nil
}

// catalogEngines returns the engines of the catalog, once each, in catalog
// order.
func (s *Server) catalogEngines() []string {
	var engines []string
	for _, ev := range s.Catalog.Engines {
		if !slices.Contains(engines, ev.Engine) {
			engines = append(engines, ev.Engine)
		}
	}
	return engines
}

// handleCatalogEngines handles GET /v1/catalog/engines: the engine
// versions, of one engine with ?engine=.
func (s *Server) handleCatalogEngines(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "engine")
	engine := q.oneOf("engine", s.catalogEngines()...)
	if err := q.err(); err != nil {
		return nil, err
	}
	out := engineList{Engines: []dbplane.EngineVersion{}}
	for _, ev := range s.Catalog.Engines {
		if engine == nil || ev.Engine == *engine {
			out.Engines = append(out.Engines, ev)
		}
	}
	return out, nil
}

// handleCatalogFlavors handles GET /v1/catalog/flavors: the flavors with
// their settings for every engine, or for one with ?engine=.
func (s *Server) handleCatalogFlavors(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "engine")
	engines := s.catalogEngines()
	if e := q.oneOf("engine", engines...); e != nil {
		engines = []string{*e}
	}
	if err := q.err(); err != nil {
		return nil, err
	}
	out := flavorList{Flavors: make([]FlavorInfo, 0, len(s.Catalog.Flavors))}
	for _, f := range s.Catalog.Flavors {
		out.Flavors = append(out.Flavors, flavorInfo(f, engines))
	}
	return out, nil
}

// handleCatalogFlavor handles GET /v1/catalog/flavors/{code}.
func (s *Server) handleCatalogFlavor(w http.ResponseWriter, r *http.Request) (any, error) {
	code := r.PathValue("code")
	f, ok := s.Catalog.Flavor(code)
	if !ok {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "flavor %q is not in the catalog", code)
	}
	return flavorInfo(f, s.catalogEngines()), nil
}

// flavorInfo describes f with its settings for the given engines.
func flavorInfo(f dbplane.Flavor, engines []string) FlavorInfo {
	all := f.Settings()
	settings := make(map[string]map[string]string, len(engines))
	for _, e := range engines {
		if s, ok := all[e]; ok {
			settings[e] = s
		}
	}
	return FlavorInfo{Code: f.Code, VCPUs: f.VCPUs, MemoryGB: f.MemoryGB, Settings: settings}
}
