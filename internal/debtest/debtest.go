// Package debtest builds real Debian packages for tests with dpkg-deb, so
// that parsers, uploads and installs are tested on what dpkg itself makes.
package debtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Package describes a .deb to build.
type Package struct {
	Name, Version string
	// Architecture defaults to "all".
	Architecture string
	// Compression is dpkg-deb's -Z: gzip, xz, zstd or none; default xz.
	Compression string
	// Files maps paths inside the package (without a leading slash) to
	// their content; default one small file under usr/share/<name>.
	Files map[string]string
}

// Build builds p and returns the path of the .deb, named as Debian names
// package files: <name>_<version>_<architecture>.deb. The test is skipped
// where dpkg-deb is missing.
func Build(tb testing.TB, p Package) string {
	tb.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		tb.Skip("dpkg-deb is not installed")
	}
	if p.Architecture == "" {
		p.Architecture = "all"
	}
	if p.Compression == "" {
		p.Compression = "xz"
	}
	if p.Files == nil {
		p.Files = map[string]string{"usr/share/" + p.Name + "/probe.txt": "probe\n"}
	}
	root := filepath.Join(tb.TempDir(), "root")
	files := map[string]string{"DEBIAN/control": "Package: " + p.Name + "\nVersion: " + p.Version +
		"\nArchitecture: " + p.Architecture + "\nMaintainer: dbplane <dev@dbplane.invalid>\n" +
		"Description: dbplane test fixture\n a package built by a test\n"}
	for path, content := range p.Files {
		files[path] = content
	}
	for path, content := range files {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	out := filepath.Join(tb.TempDir(), p.Name+"_"+p.Version+"_"+p.Architecture+".deb")
	cmd := exec.Command("dpkg-deb", "--root-owner-group", "-Z"+p.Compression, "--build", root, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("dpkg-deb --build: %v\n%s", err, b)
	}
	return out
}

// Bytes is Build returning the file's content.
func Bytes(tb testing.TB, p Package) []byte {
	tb.Helper()
	data, err := os.ReadFile(Build(tb, p))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}
