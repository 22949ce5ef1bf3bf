package agent

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/dbplane/dbplane"
)

// permBits are the bits of an fs.FileMode that Chmod sets.
const permBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// EnsureDir creates a directory inside the data root, with its missing
// parents (root-owned, 0755, so instance users can traverse them), and sets
// its owner and mode, also when it already exists.
func (h *Host) EnsureDir(ctx context.Context, path, owner string, mode uint32) error {
	const op = "agent.EnsureDir"
	rel, err := h.dataRel("path", path)
	if err != nil {
		return dbplane.E(op, err)
	}
	m, err := fileMode("mode", mode)
	if err != nil {
		return dbplane.E(op, err)
	}
	u, err := lookupUser("owner", owner)
	if err != nil {
		return dbplane.E(op, err)
	}
	if err := h.dataRoot.MkdirAll(rel, 0o755); err != nil {
		return dbplane.E(op, rootError("path", path, fmt.Errorf("while creating %s: %w", path, err)))
	}
	// Refuse a symbolic link even to a directory inside the root: its owner
	// and mode would land on its target, which someone else may share.
	fi, err := h.dataRoot.Lstat(rel)
	if err != nil {
		return dbplane.E(op, rootError("path", path, err))
	}
	if !fi.IsDir() {
		return dbplane.E(op, dbplane.Invalid(dbplane.FieldError{Field: "path", Message: fmt.Sprintf("%s exists and is not a directory", path)}))
	}
	if err := h.dataRoot.Lchown(rel, int(u.uid), int(u.gid)); err != nil {
		return dbplane.E(op, fmt.Errorf("while changing the owner of %s: %w", path, err))
	}
	if err := h.dataRoot.Chmod(rel, m); err != nil {
		return dbplane.E(op, fmt.Errorf("while changing the mode of %s: %w", path, err))
	}
	return nil
}

// WriteFile writes a file inside the data root atomically: readers see the
// old content or the new one, never a mix, even across a crash. A file that
// already has the content, owner and mode is left alone, so its mtime only
// changes when it does.
func (h *Host) WriteFile(ctx context.Context, f dbplane.File) error {
	const op = "agent.WriteFile"
	rel, err := h.dataRel("path", f.Path)
	if err != nil {
		return dbplane.E(op, err)
	}
	m, err := fileMode("mode", f.Mode)
	if err != nil {
		return dbplane.E(op, err)
	}
	u, err := lookupUser("owner", f.Owner)
	if err != nil {
		return dbplane.E(op, err)
	}
	if h.fileIs(rel, f.Content, u, m) {
		return nil
	}
	if err := writeAtomic(h.dataRoot, rel, f.Content, int(u.uid), int(u.gid), m); err != nil {
		return dbplane.E(op, rootError("path", f.Path, err))
	}
	return nil
}

// fileIs reports whether rel is a regular file with this content, owner
// and mode.
func (h *Host) fileIs(rel string, content []byte, u *osUser, m fs.FileMode) bool {
	fi, err := h.dataRoot.Lstat(rel)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode()&permBits != m || fi.Size() != int64(len(content)) {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid != u.uid || st.Gid != u.gid {
		return false
	}
	old, err := h.dataRoot.ReadFile(rel)
	return err == nil && bytes.Equal(old, content)
}

// writeAtomic writes content to a temporary file next to rel in root, gives
// it its owner and mode, syncs it, and renames it over rel.
func writeAtomic(root *os.Root, rel string, content []byte, uid, gid int, m fs.FileMode) (err error) {
	dir := filepath.Dir(rel)
	tmp := filepath.Join(dir, "."+filepath.Base(rel)+".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
	fh, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("while creating a temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			fh.Close()
			root.Remove(tmp)
		}
	}()
	if _, err := fh.Write(content); err != nil {
		return fmt.Errorf("while writing %s: %w", tmp, err)
	}
	if err := fh.Chown(uid, gid); err != nil {
		return fmt.Errorf("while changing the owner of %s: %w", tmp, err)
	}
	if err := fh.Chmod(m); err != nil {
		return fmt.Errorf("while changing the mode of %s: %w", tmp, err)
	}
	if err := fh.Sync(); err != nil {
		return fmt.Errorf("while syncing %s: %w", tmp, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("while closing %s: %w", tmp, err)
	}
	if err := root.Rename(tmp, rel); err != nil {
		return fmt.Errorf("while renaming %s: %w", tmp, err)
	}
	// The rename is durable only once the directory is synced.
	if d, err := root.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
