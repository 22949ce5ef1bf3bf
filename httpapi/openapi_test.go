package httpapi_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/google/go-cmp/cmp"
)

// openAPIDoc is the part of an OpenAPI document these tests read.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]schema          `json:"schemas"`
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
	} `json:"components"`
}

type schema struct {
	Properties map[string]json.RawMessage `json:"properties"`
	Required   []string                   `json:"required"`
}

func mustSpec(t *testing.T) (openAPIDoc, any) {
	t.Helper()
	data := httpapi.OpenAPISpec()
	var doc openAPIDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	var raw any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	return doc, raw
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func TestOpenAPIVersion(t *testing.T) {
	doc, _ := mustSpec(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	for _, name := range []string{"bearer", "sigv4"} {
		if _, ok := doc.Components.SecuritySchemes[name]; !ok {
			t.Errorf("no %s security scheme", name)
		}
	}
}

// TestOpenAPIRoutes keeps the document and the router in step: every
// registered route is described, and nothing else is.
func TestOpenAPIRoutes(t *testing.T) {
	doc, _ := mustSpec(t)
	srv := &httpapi.Server{}
	registered := map[string]bool{}
	for _, p := range srv.Patterns() {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Errorf("pattern %q has no method: it would match every method", p)
			continue
		}
		registered[strings.ToLower(method)+" "+path] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %q is missing from openapi.json", p)
		}
	}
	if len(registered) < 20 {
		t.Errorf("only %d routes registered: the walk is broken", len(registered))
	}
	for path, item := range doc.Paths {
		for key := range item {
			if slices.Contains(httpMethods, key) && !registered[key+" "+path] {
				t.Errorf("openapi.json describes %s %s, which is not a route", strings.ToUpper(key), path)
			}
		}
	}
}

// TestOpenAPIPathParameters checks that every {name} of a path is declared
// as a path parameter, at the path or the operation level.
func TestOpenAPIPathParameters(t *testing.T) {
	doc, raw := mustSpec(t)
	for path, item := range doc.Paths {
		var declared []string
		collect := func(msg json.RawMessage) {
			var params []map[string]any
			json.Unmarshal(msg, &params)
			for _, p := range params {
				if ref, ok := p["$ref"].(string); ok {
					p, _ = resolve(raw, ref).(map[string]any)
				}
				if p["in"] == "path" {
					declared = append(declared, p["name"].(string))
				}
			}
		}
		collect(item["parameters"])
		for _, m := range httpMethods {
			if op, ok := item[m]; ok {
				var o struct {
					Parameters json.RawMessage `json:"parameters"`
				}
				json.Unmarshal(op, &o)
				collect(o.Parameters)
			}
		}
		for _, seg := range strings.Split(path, "/") {
			if name, ok := strings.CutPrefix(seg, "{"); ok {
				name = strings.TrimSuffix(name, "}")
				if !slices.Contains(declared, name) {
					t.Errorf("%s: path parameter %q is not declared", path, name)
				}
			}
		}
	}
}

// TestOpenAPIRefs checks that every $ref points into the document.
func TestOpenAPIRefs(t *testing.T) {
	_, raw := mustSpec(t)
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				n++
				if resolve(raw, ref) == nil {
					t.Errorf("$ref %q does not resolve", ref)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(raw)
	if n == 0 {
		t.Error("no $ref found: the walk is broken")
	}
}

// resolve follows a local JSON pointer ("#/components/schemas/Task").
func resolve(doc any, ref string) any {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	cur := doc
	for _, tok := range strings.Split(p, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[tok]
	}
	return cur
}

// TestOpenAPISchemas compares each schema with the Go type that encodes it:
// the same properties, and "required" exactly for the fields that are
// always encoded (no omitempty).
func TestOpenAPISchemas(t *testing.T) {
	doc, _ := mustSpec(t)
	types := map[string]any{
		"ClusterSpec":   dbplane.ClusterSpec{},
		"Cluster":       dbplane.Cluster{},
		"Node":          dbplane.Node{},
		"Task":          dbplane.Task{},
		"Subtask":       dbplane.Subtask{},
		"TaskEvent":     dbplane.TaskEvent{},
		"LogLine":       dbplane.LogLine{},
		"Host":          dbplane.Host{},
		"User":          dbplane.User{},
		"Catalog":       dbplane.Catalog{},
		"EngineVersion": dbplane.EngineVersion{},
		"Flavor":        dbplane.Flavor{},
		"FieldError":    dbplane.FieldError{},
		"Endpoints":     dbplane.Endpoints{},
		"Project":       dbplane.Project{},
		"Quota":         dbplane.Quota{},
		"QuotaUsage":    dbplane.QuotaUsage{},
		"RoleBinding":   dbplane.RoleBinding{},
		"Token":         dbplane.Token{},
		"AccessKey":     dbplane.AccessKey{},
		"AuditEvent":    dbplane.AuditEvent{},
	}
	maps.Copy(types, httpapi.WireTypes)
	for name, v := range types {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s is missing", name)
			continue
		}
		props, required := jsonFields(reflect.TypeOf(v))
		if diff := cmp.Diff(props, slices.Sorted(maps.Keys(s.Properties))); diff != "" {
			t.Errorf("schema %s properties (-Go +openapi):\n%s", name, diff)
		}
		slices.Sort(s.Required)
		if diff := cmp.Diff(required, s.Required); diff != "" {
			t.Errorf("schema %s required (-Go +openapi):\n%s", name, diff)
		}
	}
}

// jsonFields returns the sorted JSON names of t's fields and of those
// without omitempty.
func jsonFields(t reflect.Type) (all, always []string) {
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") {
			always = append(always, name)
		}
	}
	slices.Sort(all)
	slices.Sort(always)
	return all, always
}
