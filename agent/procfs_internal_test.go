package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/dbplane/dbplane"
)

// TestFindByPIDFile covers re-adoption from a pid file, which the agent
// relies on when it died before recording the pid it started.
func TestFindByPIDFile(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	me := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		name    string
		pidFile string
		program string
		want    int
	}{
		{"Ours", write("ok", me+"\n/data\n1700000000\n"), self, os.Getpid()},
		{"SameBaseName", write("base", me+"\n"), "/elsewhere/" + filepath.Base(self), os.Getpid()},
		{"OtherProgram", write("other", me+"\n"), "/usr/bin/postgres-not-this", 0},
		{"DeadPID", write("dead", "2147483646\n"), self, 0},
		{"Garbage", write("garbage", "not a pid\n"), self, 0},
		{"Missing", filepath.Join(dir, "missing"), self, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &proc{st: instanceState{Instance: instanceSpec(tc.program, tc.pidFile)}}
			if got := p.findLocked(); got != tc.want {
				t.Fatalf("findLocked = %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("RecordedPIDWins", func(t *testing.T) {
		_, ticks, err := procStat(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		p := &proc{st: instanceState{Instance: instanceSpec("/bin/other", ""), PID: os.Getpid(), StartTicks: ticks}}
		if got := p.findLocked(); got != os.Getpid() {
			t.Fatalf("findLocked = %d, want the recorded pid", got)
		}
		p.st.StartTicks = ticks + 1 // a reused pid
		if got := p.findLocked(); got != 0 {
			t.Fatalf("findLocked = %d for a process that started at another time, want 0", got)
		}
	})
}

func instanceSpec(program, pidFile string) dbplane.Instance {
	return dbplane.Instance{ID: "x", User: "nobody", Argv: []string{program}, PIDFile: pidFile}
}
