package enginetest

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dbplane/dbplane"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Golden compares got with the file testdata/name, or rewrites the file
// with got when the test runs with -update.
func Golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// CheckParameters fails t unless check, an engine's screening of a spec's
// parameters, accepts ok, and refuses bad for good as invalid, naming
// exactly the fields refused, in order.
func CheckParameters(t *testing.T, check func(map[string]string) error, ok, bad map[string]string, refused ...string) {
	t.Helper()
	if err := check(ok); err != nil {
		t.Errorf("%q refused: %v", ok, err)
	}
	if bad == nil {
		return
	}
	err := check(bad)
	if !dbplane.IsPermanent(err) || dbplane.ErrorKind(err) != dbplane.KindInvalid {
		t.Errorf("%q: err = %v, want a permanent invalid error", bad, err)
		return
	}
	var fields []string
	for _, f := range dbplane.ErrorFields(err) {
		fields = append(fields, f.Field)
	}
	if diff := cmp.Diff(refused, fields); diff != "" {
		t.Errorf("%q: refused fields (-want +got):\n%s", bad, diff)
	}
}
