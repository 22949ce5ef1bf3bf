package pkgfile_test

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/pkgfile"
)

func TestDirPutOpenRemove(t *testing.T) {
	d, err := pkgfile.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	content := "package bytes"
	sum, msum := sha256.Sum256([]byte(content)), md5.Sum([]byte(content))
	b, err := d.Put(strings.NewReader(content), 100, func(f *os.File, size int64) error {
		got, err := io.ReadAll(io.NewSectionReader(f, 0, size))
		if err != nil || string(got) != content {
			t.Errorf("check saw %q, %v", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if b.SHA256 != hex.EncodeToString(sum[:]) || b.Size != int64(len(content)) || b.MD5 != hex.EncodeToString(msum[:]) {
		t.Fatalf("Put = %+v", b)
	}
	f, err := d.Open(b.SHA256)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != content {
		t.Fatalf("Open read %q", got)
	}
	if tmp, _ := os.ReadDir(filepath.Join(d.Root(), "tmp")); len(tmp) != 0 {
		t.Fatalf("tmp holds %d files after Put", len(tmp))
	}
	if err := d.Remove(b.SHA256); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := d.Open(b.SHA256); dbplane.ErrorKind(err) != dbplane.KindNotFound {
		t.Fatalf("Open after Remove: %v, want KindNotFound", err)
	}
	if _, err := d.Open("../../etc/passwd"); dbplane.ErrorKind(err) != dbplane.KindNotFound {
		t.Fatalf("Open(bad digest): %v, want KindNotFound", err)
	}
}

func TestDirPutRefused(t *testing.T) {
	d, err := pkgfile.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("TooLarge", func(t *testing.T) {
		_, err := d.Put(strings.NewReader(strings.Repeat("x", 101)), 100, nil)
		if dbplane.ErrorKind(err) != dbplane.KindTooLarge {
			t.Fatalf("Put: %v, want KindTooLarge", err)
		}
	})
	t.Run("CheckFails", func(t *testing.T) {
		bad := dbplane.Invalid(dbplane.FieldError{Field: "file", Message: "no"})
		_, err := d.Put(strings.NewReader("x"), 100, func(*os.File, int64) error { return bad })
		if !errors.Is(err, bad) {
			t.Fatalf("Put: %v, want the check's error", err)
		}
	})
	for _, sub := range []string{"tmp", "sha256"} {
		var files []string
		filepath.WalkDir(filepath.Join(d.Root(), sub), func(p string, e os.DirEntry, _ error) error {
			if e != nil && !e.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		if len(files) != 0 {
			t.Fatalf("refused uploads left %v", files)
		}
	}
}
