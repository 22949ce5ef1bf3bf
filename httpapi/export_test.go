package httpapi

// Patterns returns the registered route patterns, so the external tests can
// check them against the OpenAPI document.
func (s *Server) Patterns() []string { return s.patterns() }
