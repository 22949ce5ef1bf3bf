package httpapi

// Patterns returns the registered route patterns, so the external tests can
// check them against the OpenAPI document.
func (s *Server) Patterns() []string { return s.patterns() }

// WireTypes maps the OpenAPI schema names of the API's own envelopes to
// values of the Go types that encode them, so a test can compare fields.
var WireTypes = map[string]any{
	"Error":         errorBody{},
	"TokenRequest":  tokenRequest{},
	"TokenResponse": tokenResponse{},
	"ClusterTask":   clusterTaskResponse{},
	"TaskOnly":      taskResponse{},
	"ClusterPage":   clusterPage{},
	"TaskPage":      taskPage{},
	"HostPage":      hostPage{},
	"SubtaskLog":    logResponse{},
	"Status":        statusResponse{},

	"ProjectCreateRequest": projectCreateRequest{},
	"ProjectUpdateRequest": projectUpdateRequest{},
	"ProjectPage":          projectPage{},
	"MemberRequest":        memberRequest{},
	"MemberList":           memberList{},
	"UserCreateRequest":    userCreateRequest{},
	"BindingRequest":       bindingRequest{},
	"PasswordRequest":      passwordRequest{},
	"UserPage":             userPage{},
	"TokenList":            tokenList{},
	"AccessKeyRequest":     accessKeyRequest{},
	"AccessKeyList":        accessKeyList{},
	"AuditPage":            auditPage{},
}

// PublicPatterns returns the routes that need no credentials.
func (s *Server) PublicPatterns() []string {
	s.Handler()
	var out []string
	for _, rt := range s.routes.List() {
		if rt.Public {
			out = append(out, rt.Pattern)
		}
	}
	return out
}

// Actions returns the audit action of every route, by pattern.
func (s *Server) Actions() map[string]string {
	s.Handler()
	out := map[string]string{}
	for _, rt := range s.routes.List() {
		out[rt.Pattern] = rt.Action
	}
	return out
}
