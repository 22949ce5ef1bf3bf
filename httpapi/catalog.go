package httpapi

import "net/http"

func (s *Server) registerCatalogRoutes() {
	s.handleAuth("GET /v1/catalog", s.wrap(s.handleCatalog))
}

// handleCatalog handles GET /v1/catalog: the engine versions and flavors a
// cluster spec may name.
func (s *Server) handleCatalog(w http.ResponseWriter, r *http.Request) (any, error) {
	return &s.Catalog, nil
}
