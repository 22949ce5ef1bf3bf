package dbplane_test

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// module is the import path of this module.
const module = "github.com/dbplane/dbplane"

// allowedImports holds the walls of the tree, in the spirit of Tailscale's
// depaware: for every package of the module, the packages of the module its
// product code may import directly (tests may import more). A package that
// is not listed fails the test, so a new room is placed on purpose, and an
// import that is not listed fails it too, so that a wall is moved only by
// changing this table in the same commit. Paths are relative to the module;
// "." is the domain root.
var allowedImports = map[string][]string{
	".": {},

	// Adapters of the domain. The services reach the store only through
	// the root's interfaces.
	"sqlstore":   {".", "pki"},
	"taskengine": {"."},
	"service":    {".", "pkgfile", "pki", "taskengine"},
	"pki":        {"."},
	"pkgfile":    {"."},

	// TLS configurations built on the CA: the API server's reloading
	// certificate and the clients' CA trust.
	"pki/tlsconfig": {".", "pki"},

	// The front doors: frontdoor builds every door's server; the doors hold
	// routes and envelopes only.
	"signature":  {"."},
	"frontdoor":  {".", "signature"},
	"httpapi":    {".", "frontdoor", "signature"},
	"compat/ocp": {".", "frontdoor", "signature"},

	// The agent wire: the host side and the control-plane side share only
	// the wire types, and neither knows the API.
	"agent/wire":  {"."},
	"agent":       {".", "agent/wire", "pkgfile", "pki"},
	"agentclient": {".", "agent/wire", "pkgfile", "pki"},

	// The engines: each builds on the engine kit and on nothing else but
	// the task engine.
	"engine/enginekit":            {".", "taskengine"},
	"engine/enginekit/enginetest": {".", "engine/enginekit"},
	"engine/postgres":             {".", "engine/enginekit", "taskengine"},
	"engine/mysql":                {".", "engine/enginekit", "taskengine"},
	"engine/redis":                {".", "engine/enginekit", "taskengine"},

	// The real hosts of the engines' integration tests, in-process agents,
	// apart from the fakes of their unit tests.
	"engine/enginekit/enginetest/realfleet": {".", "agent", "engine/enginekit/enginetest", "pki"},

	// Test helpers.
	"internal/testdb":  {".", "pki"},
	"internal/debtest": {},

	// The binary is the one place that wires parts together; its renderer
	// knows only the domain.
	"cmd/dbplane":                            {"*"},
	"cmd/dbplane/internal/taskview":          {"."},
	"cmd/dbplane/internal/taskview/tasktest": {"."},
}

// TestImportWalls fails when a package imports a package of the module
// that the table above does not allow it, or when a package is missing
// from the table.
func TestImportWalls(t *testing.T) {
	for rel, imports := range modulePackages(t) {
		allowed, ok := allowedImports[rel]
		if !ok {
			t.Errorf("package %s is not in allowedImports: add it, with the packages it may import", rel)
			continue
		}
		if slices.Contains(allowed, "*") {
			continue
		}
		for _, imp := range imports {
			if !slices.Contains(allowed, imp) {
				t.Errorf("package %s imports %s, which allowedImports does not allow it", rel, imp)
			}
		}
	}
}

// TestImportWallsListNoGhosts keeps the table honest: every package it
// names exists.
func TestImportWallsListNoGhosts(t *testing.T) {
	pkgs := modulePackages(t)
	for rel := range allowedImports {
		if _, ok := pkgs[rel]; !ok {
			t.Errorf("allowedImports names %s, which is not a package of the module", rel)
		}
	}
}

// modulePackages returns every package of the module below the working
// directory (the module root, where this test runs) with the packages of
// the module its non-test files import, both relative to the module.
func modulePackages(t *testing.T) map[string][]string {
	t.Helper()
	pkgs := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		var imports []string
		for _, imp := range p.Imports {
			switch {
			case imp == module:
				imports = append(imports, ".")
			case strings.HasPrefix(imp, module+"/"):
				imports = append(imports, strings.TrimPrefix(imp, module+"/"))
			}
		}
		sort.Strings(imports)
		pkgs[filepath.ToSlash(path)] = imports
		return nil
	})
	if err != nil {
		t.Fatalf("walking the module: %v", err)
	}
	if _, err := os.Stat("go.mod"); err != nil || len(pkgs) == 0 {
		t.Fatalf("not at the module root: %v", err)
	}
	return pkgs
}
