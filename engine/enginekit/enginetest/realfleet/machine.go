package realfleet

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dbplane/dbplane"
)

func isRoot() bool { return os.Geteuid() == 0 }

// missing returns the first of paths that does not exist.
func missing(paths []string) (string, bool) {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return p, true
		}
	}
	return "", false
}

// tempDir returns a fresh directory under /tmp, named from prefix, that
// the databases' OS users can traverse (t.TempDir() lies under a 0700
// directory of root), removed when t ends.
func tempDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// taken holds the host:port pairs FreePort handed out, so that the
// clusters of parallel tests do not get the same one.
var taken = struct {
	sync.Mutex
	ports map[string]bool
}{ports: map[string]bool{}}

// FreePort returns a port p that nothing listens on at addr ("" for every
// address), nor at p+o for each of offsets (the other ports a node opens,
// such as a Redis cluster's bus 10000 above), and that it did not return
// before.
func FreePort(t *testing.T, addr string, offsets ...int) int {
	t.Helper()
	taken.Lock()
	defer taken.Unlock()
	for range 100 {
		p := 20000 + rand.IntN(20000)
		hp := net.JoinHostPort(addr, fmt.Sprint(p))
		if taken.ports[hp] || !allFree(addr, p, offsets) {
			continue
		}
		taken.ports[hp] = true
		return p
	}
	t.Fatalf("no free port on %q with %v above it", addr, offsets)
	return 0
}

// allFree tells whether nothing listens on p and on p+o for each of
// offsets at addr.
func allFree(addr string, p int, offsets []int) bool {
	for _, o := range append([]int{0}, offsets...) {
		if !canListen(addr, p+o) {
			return false
		}
	}
	return true
}

// canListen tells whether nothing listens on port of addr.
func canListen(addr string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, fmt.Sprint(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// Processes lists, as "pid: command line", the processes of node n.
func (f *Fleet) Processes(t *testing.T, n dbplane.Node) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		if f.db.Runs(n, cmdline) {
			out = append(out, e.Name()+": "+cmdline)
		}
	}
	return out
}
