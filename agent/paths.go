package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/dbplane/dbplane"
)

// relTo returns path relative to root, or a permanent error naming field
// unless path is absolute and strictly inside root. Confining every write
// to the data root means a bug in an engine's path arithmetic cannot chown
// /usr or remove /etc.
func relTo(root, field, path string) (string, error) {
	if path == "" {
		return "", dbplane.Invalid(dbplane.FieldError{Field: field, Message: "is required"})
	}
	if !filepath.IsAbs(path) {
		return "", dbplane.Invalid(dbplane.FieldError{Field: field, Message: "must be an absolute path"})
	}
	rel, err := filepath.Rel(root, filepath.Clean(path))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", dbplane.Invalid(dbplane.FieldError{Field: field, Message: fmt.Sprintf("must lie inside %s", root)})
	}
	return rel, nil
}

// dataRel is relTo the data root.
func (h *Host) dataRel(field, path string) (string, error) {
	return relTo(h.cfg.DataRoot, field, path)
}

// rootError classifies an error of an os.Root operation on path. Escapes
// through symbolic links and missing parents are the caller's mistakes.
func rootError(field, path string, err error) error {
	switch {
	case err == nil:
		return nil
	case escapes(err):
		return dbplane.Invalid(dbplane.FieldError{Field: field, Message: fmt.Sprintf("%s leads out of its root through a symbolic link", path)})
	case errors.Is(err, fs.ErrNotExist):
		return dbplane.Invalid(dbplane.FieldError{Field: field, Message: fmt.Sprintf("%s: a parent directory does not exist", path)})
	case errors.Is(err, fs.ErrExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR):
		return dbplane.Invalid(dbplane.FieldError{Field: field, Message: fmt.Sprintf("%s: a file is in the way", path)})
	}
	return err
}

// escapes reports whether err is os.Root refusing to leave its directory.
// os does not export that error, so its text is what identifies it.
func escapes(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// fileMode converts a Unix mode (as sent over the wire, e.g. 0o2750) to an
// fs.FileMode, whose special bits are not the Unix ones.
func fileMode(field string, mode uint32) (fs.FileMode, error) {
	if mode&^0o7777 != 0 {
		return 0, dbplane.Invalid(dbplane.FieldError{Field: field, Message: fmt.Sprintf("%#o is not a permission mode", mode)})
	}
	m := fs.FileMode(mode & 0o777)
	if mode&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if mode&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if mode&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m, nil
}
