package ocp

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
)

// Objects of the sub errors of the change calls' bodies.
const (
	changePasswordObject = "changePasswordParam"
	parametersObject     = "parameters"
)

// registerChangeRoutes registers the calls that change a cluster in
// place: its root (admin) password and its parameters.
func (s *Server) registerChangeRoutes() {
	s.route("POST /api/v2/ob/clusters/{id}/changePassword", "cluster.password", codesCluster, s.handleChangePassword)
	s.route("GET /api/v2/ob/clusters/{id}/parameters", "cluster.parameters.list", codesCluster, s.handleParameterList)
	s.route("PUT /api/v2/ob/clusters/{id}/parameters", "cluster.parameters", codesCluster, s.handleParameterUpdate)
}

// changePasswordParam is OCP's changePassword body. saveToCredential asks
// OCP to keep the password in its credential store; dbplane keeps every
// cluster's password (encrypted) in any case, so it is accepted and has no
// further effect.
type changePasswordParam struct {
	NewPassword      string `json:"newPassword"`
	SaveToCredential *bool  `json:"saveToCredential"`
}

// handleChangePassword handles POST
// /api/v2/ob/clusters/{id}/changePassword: the task that sets the admin
// password, validated as at create; a bad one answers 400 with a sub
// error on newPassword (never echoing it).
func (s *Server) handleChangePassword(w http.ResponseWriter, r *http.Request) (any, error) {
	c, err := s.ocpCluster(r)
	if err != nil {
		return nil, err
	}
	var p changePasswordParam
	if err := decodeJSON(r, changePasswordObject, &p); err != nil {
		return nil, err
	}
	t, err := s.Clusters.ChangePassword(r.Context(), c.ID, p.NewPassword, false)
	if err != nil {
		return nil, renameFields(err, changePasswordObject, func(f dbplane.FieldError) (string, any) {
			if f.Field == "password" {
				return "newPassword", nil
			}
			return f.Field, nil
		})
	}
	return s.clusterTaskAnswer(r, c, t), nil
}

// obParameter is a parameter of a cluster as the parameter list shows
// it: those of the cluster's spec, which dbplane writes into every
// member's configuration.
type obParameter struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Scope says where the value applies: every member of the cluster.
	Scope string `json:"scope"`
}

// parameterSorts are the sortable fields of the parameter list.
var parameterSorts = map[string]comparator[obParameter]{
	"name":  func(a, b obParameter) int { return strings.Compare(a.Name, b.Name) },
	"value": func(a, b obParameter) int { return strings.Compare(a.Value, b.Value) },
}

// handleParameterList handles GET /api/v2/ob/clusters/{id}/parameters:
// the parameters of the cluster's spec, by name unless sorted otherwise,
// paginated; name is a case-insensitive keyword.
func (s *Server) handleParameterList(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := parsePage(r, slices.Sorted(maps.Keys(parameterSorts)))
	if err != nil {
		return nil, err
	}
	c, err := s.ocpCluster(r)
	if err != nil {
		return nil, err
	}
	keyword := strings.ToLower(r.URL.Query().Get("name"))
	params := []obParameter{}
	for _, k := range slices.Sorted(maps.Keys(c.Spec.Parameters)) {
		if keyword == "" || strings.Contains(strings.ToLower(k), keyword) {
			params = append(params, obParameter{Name: k, Value: c.Spec.Parameters[k], Scope: "CLUSTER"})
		}
	}
	return paginate(params, p, parameterSorts), nil
}

// handleParameterUpdate handles PUT /api/v2/ob/clusters/{id}/parameters,
// body [{name, value}]: the task that sets the parameters named (an empty
// value removes one; the others stay). A bad parameter answers 400 with a
// sub error on its element, parameters[i].name or parameters[i].value.
func (s *Server) handleParameterUpdate(w http.ResponseWriter, r *http.Request) (any, error) {
	c, err := s.ocpCluster(r)
	if err != nil {
		return nil, err
	}
	var body []parameterParam
	if err := decodeJSON(r, parametersObject, &body); err != nil {
		return nil, err
	}
	change, index, err := parameterChange(body)
	if err != nil {
		return nil, err
	}
	t, err := s.Clusters.UpdateParameters(r.Context(), c.ID, change, false)
	if err != nil {
		return nil, renameFields(err, parametersObject, func(f dbplane.FieldError) (string, any) {
			name, ok := strings.CutPrefix(f.Field, "parameters[")
			name = strings.TrimSuffix(name, "]")
			if i, found := index[name]; ok && found {
				return fmt.Sprintf("parameters[%d].name", i), body[i].Name
			}
			return f.Field, nil
		})
	}
	return s.clusterTaskAnswer(r, c, t), nil
}

// parameterChange turns the PUT body into a change, and says where each
// name is in the body. A blank or repeated name is refused here.
func parameterChange(body []parameterParam) (map[string]string, map[string]int, error) {
	change, index := map[string]string{}, map[string]int{}
	var subs []subError
	for i, p := range body {
		field := fmt.Sprintf("parameters[%d].name", i)
		if _, dup := index[p.Name]; dup {
			subs = append(subs, subError{Object: parametersObject, Field: field, RejectedValue: p.Name, Message: "is given twice"})
			continue
		}
		if strings.TrimSpace(p.Name) == "" {
			subs = append(subs, subError{Object: parametersObject, Field: field, RejectedValue: p.Name, Message: "must not be blank"})
			continue
		}
		change[p.Name], index[p.Name] = p.Value, i
	}
	if len(body) == 0 {
		subs = append(subs, subError{Object: parametersObject, Field: "parameters", RejectedValue: []any{}, Message: "name at least one parameter"})
	}
	if len(subs) > 0 {
		return nil, nil, invalidErr(subs...)
	}
	return change, index, nil
}

// renameFields renames the fields of a KindInvalid error after the body's
// with rename, which also gives the value to show as rejected.
func renameFields(err error, object string, rename func(dbplane.FieldError) (string, any)) error {
	fields := dbplane.ErrorFields(err)
	if dbplane.ErrorKind(err) != dbplane.KindInvalid || len(fields) == 0 {
		return err
	}
	subs := make([]subError, 0, len(fields))
	for _, f := range fields {
		field, value := rename(f)
		subs = append(subs, subError{Object: object, Field: cmp.Or(field, f.Field), RejectedValue: value, Message: f.Message})
	}
	return invalidErr(subs...)
}

// clusterTaskAnswer answers a task started on c in the shape of the create
// answer, with its DAG.
func (s *Server) clusterTaskAnswer(r *http.Request, c *dbplane.Cluster, t *dbplane.Task) any {
	if len(t.Subtasks) == 0 {
		if full, err := s.Tasks.FindTaskByID(r.Context(), t.ID); err == nil {
			t = full
		}
	}
	ti := toTaskInstance(t, asTasks)
	ti.Cluster = &clusterRef{ID: c.ID, Name: c.Name, ObClusterID: c.ID}
	return ti
}
