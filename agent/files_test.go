package agent_test

import (
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

// owner returns the uid and gid of a file.
func owner(t *testing.T, path string) (uint32, uint32, fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid, fi.Mode()
}

// ids returns a user's uid and primary gid.
func ids(t *testing.T, name string) (uint32, uint32) {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uint32(uid), uint32(gid)
}

func TestEnsureDir(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	h := mustOpenHost(t, cfg)
	nobodyUID, nobodyGID := ids(t, "nobody")
	dir := filepath.Join(cfg.DataRoot, "pg-1", "data")

	t.Run("Creates", func(t *testing.T) {
		if err := h.EnsureDir(ctx(t), dir, "nobody", 0o750); err != nil {
			t.Fatal(err)
		}
		if uid, gid, mode := owner(t, dir); uid != nobodyUID || gid != nobodyGID || mode != fs.ModeDir|0o750 {
			t.Fatalf("dir: uid %d gid %d mode %v, want nobody, 0750", uid, gid, mode)
		}
		// Parents are the agent's, and traversable.
		if uid, _, mode := owner(t, filepath.Dir(dir)); uid != 0 || mode != fs.ModeDir|0o755 {
			t.Fatalf("parent: uid %d mode %v, want root, 0755", uid, mode)
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o600)
		if err := h.EnsureDir(ctx(t), dir, "nobody", 0o750); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "keep")); err != nil {
			t.Fatalf("the directory's content is gone: %v", err)
		}
	})
	t.Run("FixesExisting", func(t *testing.T) {
		if err := h.EnsureDir(ctx(t), dir, "root", 0o2700); err != nil {
			t.Fatal(err)
		}
		if uid, gid, mode := owner(t, dir); uid != 0 || gid != 0 || mode != fs.ModeDir|fs.ModeSetgid|0o700 {
			t.Fatalf("dir: uid %d gid %d mode %v, want root, 02700", uid, gid, mode)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		outside := sharedDir(t)
		if err := os.Symlink(outside, filepath.Join(cfg.DataRoot, "escape")); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(cfg.DataRoot, "afile"), nil, 0o600)
		for _, tc := range []struct {
			name, path, owner string
			mode              uint32
			msg               string
		}{
			{"Outside", "/etc/dbplane-test", "nobody", 0o700, "must lie inside"},
			{"Parent", filepath.Join(cfg.DataRoot, "..", "x"), "nobody", 0o700, "must lie inside"},
			{"Root", cfg.DataRoot, "nobody", 0o700, "must lie inside"},
			{"Relative", "data/x", "nobody", 0o700, "absolute"},
			{"SymlinkEscape", filepath.Join(cfg.DataRoot, "escape", "x"), "nobody", 0o700, "symbolic link"},
			{"Symlink", filepath.Join(cfg.DataRoot, "escape"), "nobody", 0o700, "symbolic link"},
			{"FileInTheWay", filepath.Join(cfg.DataRoot, "afile", "x"), "nobody", 0o700, "in the way"},
			{"UnknownOwner", filepath.Join(cfg.DataRoot, "y"), "dbplane-nosuchuser", 0o700, "does not exist"},
			{"BadMode", filepath.Join(cfg.DataRoot, "y"), "nobody", 0o10700, "mode"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := h.EnsureDir(ctx(t), tc.path, tc.owner, tc.mode)
				wantKind(t, err, dbplane.KindInvalid, true, tc.msg)
			})
		}
		if entries, _ := os.ReadDir(outside); len(entries) != 0 {
			t.Fatalf("something was created outside the data root: %v", entries)
		}
	})
}

func TestWriteFile(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	h := mustOpenHost(t, cfg)
	dir := filepath.Join(cfg.DataRoot, "conf")
	if err := h.EnsureDir(ctx(t), dir, "nobody", 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "postgresql.conf")
	nobodyUID, nobodyGID := ids(t, "nobody")

	write := func(t *testing.T, content string, mode uint32) {
		t.Helper()
		if err := h.WriteFile(ctx(t), dbplane.File{Path: path, Owner: "nobody", Mode: mode, Content: []byte(content)}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T, content string, mode fs.FileMode) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil || string(b) != content {
			t.Fatalf("content = %q, %v; want %q", b, err, content)
		}
		if uid, gid, m := owner(t, path); uid != nobodyUID || gid != nobodyGID || m != mode {
			t.Fatalf("uid %d gid %d mode %v, want nobody, %v", uid, gid, m, mode)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Fatalf("directory holds %v, want only the file (no temporary files)", entries)
		}
	}

	t.Run("Writes", func(t *testing.T) {
		write(t, "port = 5432\n", 0o640)
		check(t, "port = 5432\n", 0o640)
	})
	t.Run("SameContentLeftAlone", func(t *testing.T) {
		old := time.Now().Add(-time.Hour).Truncate(time.Second)
		os.Chtimes(path, old, old)
		write(t, "port = 5432\n", 0o640)
		if fi, _ := os.Stat(path); !fi.ModTime().Equal(old) {
			t.Fatalf("mtime = %v, want it untouched (%v)", fi.ModTime(), old)
		}
	})
	t.Run("Replaces", func(t *testing.T) {
		write(t, "port = 5433\n", 0o600)
		check(t, "port = 5433\n", 0o600)
	})
	t.Run("FixesMode", func(t *testing.T) {
		os.Chmod(path, 0o666)
		write(t, "port = 5433\n", 0o600)
		check(t, "port = 5433\n", 0o600)
	})
	t.Run("Refused", func(t *testing.T) {
		for _, tc := range []struct {
			name, path, msg string
		}{
			{"Outside", "/etc/dbplane-test.conf", "must lie inside"},
			{"MissingParent", filepath.Join(cfg.DataRoot, "nodir", "f"), "parent directory does not exist"},
			{"IsADirectory", dir, "in the way"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := h.WriteFile(ctx(t), dbplane.File{Path: tc.path, Owner: "nobody", Mode: 0o600, Content: []byte("x")})
				wantKind(t, err, dbplane.KindInvalid, true, tc.msg)
			})
		}
	})
}
