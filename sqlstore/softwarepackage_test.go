package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/google/go-cmp/cmp"
)

func newSoftwarePackage(fileName, name, digest string) *dbplane.SoftwarePackage {
	return &dbplane.SoftwarePackage{FileName: fileName, Format: dbplane.PackageDeb, Name: name, Version: "1.0-1",
		Architecture: "amd64", Description: "a package", Size: 1234, SHA256: strings.Repeat(digest, 64),
		MD5: strings.Repeat("a", 32), Creator: "admin"}
}

func TestSoftwarePackages(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		a := newSoftwarePackage("probe_1.0-1_amd64.deb", "probe", "a")
		if err := db.CreateSoftwarePackage(ctx, a); err != nil {
			t.Fatalf("Create: %v", err)
		}
		if a.ID == 0 || !a.CreatedAt.Equal(testNow.Truncate(time.Microsecond)) {
			t.Fatalf("ID=%d CreatedAt=%v: not set by Create", a.ID, a.CreatedAt)
		}
		// A second name for the same content, and another package.
		b := newSoftwarePackage("copy_of_probe.deb", "probe", "a")
		c := newSoftwarePackage("other-50%_2.rpm", "other", "c")
		c.Format, c.Release = dbplane.PackageRPM, "7"
		for _, p := range []*dbplane.SoftwarePackage{b, c} {
			if err := db.CreateSoftwarePackage(ctx, p); err != nil {
				t.Fatalf("Create(%s): %v", p.FileName, err)
			}
		}

		t.Run("ErrFileNameTaken", func(t *testing.T) {
			dup := newSoftwarePackage(a.FileName, "x", "d")
			if err := db.CreateSoftwarePackage(ctx, dup); dbplane.ErrorKind(err) != dbplane.KindConflict {
				t.Fatalf("Create(taken name): %v, want KindConflict", err)
			}
		})
		t.Run("FindByID", func(t *testing.T) {
			got, err := db.FindSoftwarePackageByID(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, got); diff != "" {
				t.Fatalf("FindSoftwarePackageByID (-want +got):\n%s", diff)
			}
			if _, err := db.FindSoftwarePackageByID(ctx, 9999); dbplane.ErrorKind(err) != dbplane.KindNotFound {
				t.Fatalf("FindSoftwarePackageByID(missing): %v, want KindNotFound", err)
			}
		})
		t.Run("Filter", func(t *testing.T) {
			str := func(s string) *string { return &s }
			for _, tc := range []struct {
				name   string
				filter dbplane.SoftwarePackageFilter
				want   []string
			}{
				{"All", dbplane.SoftwarePackageFilter{}, []string{a.FileName, b.FileName, c.FileName}},
				{"KeywordIgnoresCase", dbplane.SoftwarePackageFilter{Keyword: str("PROBE")}, []string{a.FileName, b.FileName}},
				{"KeywordPercentIsLiteral", dbplane.SoftwarePackageFilter{Keyword: str("50%")}, []string{c.FileName}},
				{"KeywordUnderscoreIsLiteral", dbplane.SoftwarePackageFilter{Keyword: str("f_p")}, []string{b.FileName}},
				{"FileName", dbplane.SoftwarePackageFilter{FileName: str(c.FileName)}, []string{c.FileName}},
				{"SHA256", dbplane.SoftwarePackageFilter{SHA256: str(a.SHA256)}, []string{a.FileName, b.FileName}},
				{"Page", dbplane.SoftwarePackageFilter{Offset: 1, Limit: 1}, []string{b.FileName}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ps, total, err := db.FindSoftwarePackages(ctx, tc.filter)
					if err != nil {
						t.Fatal(err)
					}
					var names []string
					for _, p := range ps {
						names = append(names, p.FileName)
					}
					if diff := cmp.Diff(tc.want, names); diff != "" {
						t.Fatalf("FindSoftwarePackages (-want +got):\n%s", diff)
					}
					if tc.name != "Page" && total != len(tc.want) || tc.name == "Page" && total != 3 {
						t.Fatalf("total %d", total)
					}
				})
			}
		})
		t.Run("Delete", func(t *testing.T) {
			if shared, err := db.DeleteSoftwarePackage(ctx, a.ID); err != nil || shared != 1 {
				t.Fatalf("Delete(a) = %d, %v; want 1 other package with its content", shared, err)
			}
			if shared, err := db.DeleteSoftwarePackage(ctx, b.ID); err != nil || shared != 0 {
				t.Fatalf("Delete(b) = %d, %v; want 0", shared, err)
			}
			if _, err := db.DeleteSoftwarePackage(ctx, b.ID); dbplane.ErrorKind(err) != dbplane.KindNotFound {
				t.Fatalf("Delete(deleted): %v, want KindNotFound", err)
			}
			// The file name is free again.
			if err := db.CreateSoftwarePackage(ctx, newSoftwarePackage(a.FileName, "probe", "e")); err != nil {
				t.Fatalf("Create after Delete: %v", err)
			}
		})
	})
}
