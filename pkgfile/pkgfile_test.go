package pkgfile_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/debtest"
	"github.com/dbplane/dbplane/pkgfile"
)

// MustBuildDeb builds a .deb of one file with dpkg-deb, compressed with
// compression (gzip, xz, zstd, none), and returns its bytes.
func MustBuildDeb(tb testing.TB, name, version, compression string) []byte {
	tb.Helper()
	return debtest.Bytes(tb, debtest.Package{Name: name, Version: version, Compression: compression})
}

func TestParseDeb(t *testing.T) {
	for _, c := range []string{"gzip", "xz", "zstd", "none"} {
		t.Run(c, func(t *testing.T) {
			data := MustBuildDeb(t, "dbplane-probe", "1.0-2", c)
			info, err := pkgfile.Parse(bytes.NewReader(data), int64(len(data)), dbplane.PackageDeb)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := pkgfile.Info{Format: dbplane.PackageDeb, Name: "dbplane-probe", Version: "1.0-2", Architecture: "all",
				Description: "dbplane test fixture"}
			if info != want {
				t.Fatalf("Parse = %+v, want %+v", info, want)
			}
		})
	}
}

// TestParseRPM reads testdata/dbplane-probe-1.2.3-4.noarch.rpm, built by
// rpmbuild -bb testdata/dbplane-probe.spec.
func TestParseRPM(t *testing.T) {
	data, err := os.ReadFile("testdata/dbplane-probe-1.2.3-4.noarch.rpm")
	if err != nil {
		t.Fatal(err)
	}
	info, err := pkgfile.Parse(bytes.NewReader(data), int64(len(data)), dbplane.PackageRPM)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := pkgfile.Info{Format: dbplane.PackageRPM, Name: "dbplane-probe", Version: "1.2.3", Release: "4",
		Architecture: "noarch", Description: "dbplane test fixture"}
	if info != want {
		t.Fatalf("Parse = %+v, want %+v", info, want)
	}
}

// TestParseInvalid checks that what is not a package of the named format
// is KindInvalid naming the field "file", never a panic.
func TestParseInvalid(t *testing.T) {
	deb := MustBuildDeb(t, "dbplane-probe", "1.0", "gzip")
	rpm, err := os.ReadFile("testdata/dbplane-probe-1.2.3-4.noarch.rpm")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		format dbplane.PackageFormat
		msg    string
	}{
		{"TextAsDeb", []byte("hello, world\n"), dbplane.PackageDeb, "not an ar archive"},
		{"RPMAsDeb", rpm, dbplane.PackageDeb, "not an ar archive"},
		{"DebAsRPM", deb, dbplane.PackageRPM, "no RPM lead"},
		{"TruncatedDeb", deb[:len(deb)/3], dbplane.PackageDeb, ""},
		{"TruncatedRPM", rpm[:200], dbplane.PackageRPM, "truncated"},
		{"Empty", nil, dbplane.PackageDeb, "not an ar archive"},
		{"OtherAr", []byte("!<arch>\nfoo.o/          0           0     0     644     4         `\nabcd"), dbplane.PackageDeb, "debian-binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pkgfile.Parse(bytes.NewReader(tc.data), int64(len(tc.data)), tc.format)
			if dbplane.ErrorKind(err) != dbplane.KindInvalid {
				t.Fatalf("Parse: %v, want KindInvalid", err)
			}
			if f := dbplane.ErrorFields(err); len(f) != 1 || f[0].Field != "file" || !strings.Contains(f[0].Message, tc.msg) {
				t.Fatalf("fields %+v, want file: …%s…", f, tc.msg)
			}
		})
	}
}

// FuzzParse checks that no input panics the parsers.
func FuzzParse(f *testing.F) {
	f.Add([]byte("!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n"), true)
	if rpm, err := os.ReadFile("testdata/dbplane-probe-1.2.3-4.noarch.rpm"); err == nil {
		f.Add(rpm[:400], false)
	}
	f.Fuzz(func(t *testing.T, data []byte, deb bool) {
		format := dbplane.PackageRPM
		if deb {
			format = dbplane.PackageDeb
		}
		if _, err := pkgfile.Parse(bytes.NewReader(data), int64(len(data)), format); err != nil &&
			dbplane.ErrorKind(err) != dbplane.KindInvalid {
			t.Fatalf("Parse: %v, want KindInvalid or nil", err)
		}
	})
}
