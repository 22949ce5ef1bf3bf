package pkgfile

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/dbplane/dbplane"
)

// Dir is a content-addressed directory of package files: each file is
// stored once, at sha256/<first two hex digits>/<hex digest>, so two
// uploads of the same bytes share it and a digest always names the same
// content. Files are written to tmp/ first, synced, and renamed into
// place.
type Dir struct {
	root string
}

// Blob is a stored file.
type Blob struct {
	SHA256 string // hex
	MD5    string // hex
	Size   int64
}

// OpenDir opens (creating it if needed) the directory at root.
func OpenDir(root string) (*Dir, error) {
	for _, d := range []string{"sha256", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o750); err != nil {
			return nil, fmt.Errorf("while creating the package store %s: %w", root, err)
		}
	}
	return &Dir{root: root}, nil
}

// Root returns the directory's path.
func (d *Dir) Root() string { return d.root }

var digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidDigest reports whether s is a lower-case hex SHA-256.
func ValidDigest(s string) bool { return digestRE.MatchString(s) }

// path returns where the file of digest lives.
func (d *Dir) path(digest string) string {
	return filepath.Join(d.root, "sha256", digest[:2], digest)
}

// Put stores what r yields, at most limit bytes (KindTooLarge beyond),
// computing its digests while it streams. check sees the complete
// temporary file before it is put in place; an error from it discards the
// file and is returned as is.
func (d *Dir) Put(r io.Reader, limit int64, check func(f *os.File, size int64) error) (Blob, error) {
	const op = "pkgfile.Put"
	tmp, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "upload-*")
	if err != nil {
		return Blob{}, dbplane.E(op, err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // fails harmlessly after the rename
	}()
	sh, m := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(tmp, sh, m), io.LimitReader(r, limit+1))
	if err != nil {
		return Blob{}, dbplane.E(op, err)
	}
	if n > limit {
		return Blob{}, dbplane.E(op, dbplane.Errorf(dbplane.KindTooLarge,
			"the package file is over the limit of %d bytes", limit))
	}
	b := Blob{SHA256: hex.EncodeToString(sh.Sum(nil)), MD5: hex.EncodeToString(m.Sum(nil)), Size: n}
	if check != nil {
		if err := check(tmp, n); err != nil {
			return Blob{}, err
		}
	}
	if err := tmp.Sync(); err != nil {
		return Blob{}, dbplane.E(op, err)
	}
	if err := tmp.Chmod(0o640); err != nil {
		return Blob{}, dbplane.E(op, err)
	}
	dst := d.path(b.SHA256)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return Blob{}, dbplane.E(op, err)
	}
	// Renaming over an existing file of the same digest replaces it with
	// the same bytes, so concurrent uploads of one file need no lock.
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Blob{}, dbplane.E(op, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return Blob{}, dbplane.E(op, err)
	}
	return b, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Open opens the file of digest. KindNotFound if there is none.
func (d *Dir) Open(digest string) (*os.File, error) {
	const op = "pkgfile.Open"
	if !ValidDigest(digest) {
		return nil, dbplane.E(op, dbplane.Errorf(dbplane.KindNotFound, "no package file %q", clip(digest)))
	}
	f, err := os.Open(d.path(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, dbplane.E(op, dbplane.Errorf(dbplane.KindNotFound, "no package file %s", digest))
	}
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	return f, nil
}

// Remove removes the file of digest; a missing one is not an error.
func (d *Dir) Remove(digest string) error {
	if !ValidDigest(digest) {
		return nil
	}
	if err := os.Remove(d.path(digest)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return dbplane.E("pkgfile.Remove", err)
	}
	return nil
}
