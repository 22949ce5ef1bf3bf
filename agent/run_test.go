package agent_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

func TestRun(t *testing.T) {
	requireRoot(t)
	h := mustOpenHost(t, newHostConfig(t))

	run := func(t *testing.T, c dbplane.Command) *dbplane.CommandResult {
		t.Helper()
		res, err := h.Run(ctx(t), c)
		if err != nil {
			t.Fatalf("Run(%v): %v", c.Argv, err)
		}
		return res
	}

	t.Run("AsUser", func(t *testing.T) {
		res := run(t, dbplane.Command{User: "nobody", Argv: []string{"whoami"}})
		if res.ExitCode != 0 || res.Stdout != "nobody\n" {
			t.Fatalf("whoami = %+v, want nobody and exit 0", res)
		}
	})
	t.Run("SupplementaryGroups", func(t *testing.T) {
		want, err := exec.Command("id", "-G", "postgres").Output()
		if err != nil {
			t.Skip("no postgres user")
		}
		res := run(t, dbplane.Command{User: "postgres", Argv: []string{"id", "-G"}})
		if got := strings.Fields(res.Stdout); strings.Join(got, " ") != strings.Join(strings.Fields(string(want)), " ") {
			t.Fatalf("groups = %v, want %s", got, want)
		}
	})
	t.Run("Env", func(t *testing.T) {
		res := run(t, dbplane.Command{User: "nobody", Argv: []string{"sh", "-c", `echo "$HOME $LANG $USER $FOO $PATH"`},
			Env: []string{"FOO=bar", "LANG=C"}})
		if want := "/nonexistent C nobody bar /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"; res.Stdout != want {
			t.Fatalf("env = %q, want %q", res.Stdout, want)
		}
	})
	t.Run("Dir", func(t *testing.T) {
		if res := run(t, dbplane.Command{User: "nobody", Argv: []string{"pwd"}}); res.Stdout != "/\n" {
			t.Fatalf("default dir = %q, want /", res.Stdout)
		}
		if res := run(t, dbplane.Command{User: "nobody", Argv: []string{"pwd"}, Dir: "/usr"}); res.Stdout != "/usr\n" {
			t.Fatalf("dir = %q, want /usr", res.Stdout)
		}
	})
	t.Run("ExitCodeAndStreams", func(t *testing.T) {
		res := run(t, dbplane.Command{User: "nobody", Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}})
		if res.ExitCode != 3 || res.Stdout != "out\n" || res.Stderr != "err\n" {
			t.Fatalf("result = %+v, want exit 3, out, err", res)
		}
	})
	t.Run("KilledBySignal", func(t *testing.T) {
		if res := run(t, dbplane.Command{User: "nobody", Argv: []string{"sh", "-c", "kill -9 $$"}}); res.ExitCode != 137 {
			t.Fatalf("exit code = %d, want 137", res.ExitCode)
		}
	})
	t.Run("Stdin", func(t *testing.T) {
		res := run(t, dbplane.Command{User: "nobody", Argv: []string{"cat"}, Stdin: []byte("select 1;\n")})
		if res.Stdout != "select 1;\n" {
			t.Fatalf("stdout = %q, want the stdin", res.Stdout)
		}
	})
	t.Run("OutputCapped", func(t *testing.T) {
		res := run(t, dbplane.Command{User: "nobody", Argv: []string{"head", "-c", "3000000", "/dev/zero"}})
		if res.ExitCode != 0 || len(res.Stdout) != 1<<20 {
			t.Fatalf("exit %d, %d bytes of stdout, want 0 and %d", res.ExitCode, len(res.Stdout), 1<<20)
		}
	})
	t.Run("TimeoutKillsTheGroup", func(t *testing.T) {
		dir := sharedDir(t)
		os.Chmod(dir, 0o777)
		pidFile := filepath.Join(dir, "pid")
		start := time.Now()
		_, err := h.Run(ctx(t), dbplane.Command{User: "nobody", Timeout: 500 * time.Millisecond,
			Argv: []string{"sh", "-c", "sleep 100 & echo $! > " + pidFile + "; wait"}})
		wantKind(t, err, dbplane.KindUnavailable, false, "timed out")
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Run returned after %v, want soon after the 500ms timeout", d)
		}
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		killAtEnd(t, pid)
		eventually(t, 5*time.Second, "the background sleep to be killed", func() bool { return gone(pid) })
	})
	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			cmd  dbplane.Command
			msg  string
		}{
			{"NoArgv", dbplane.Command{User: "nobody"}, "argv"},
			{"NoUser", dbplane.Command{Argv: []string{"true"}}, "user"},
			{"UnknownUser", dbplane.Command{User: "dbplane-nosuchuser", Argv: []string{"true"}}, "does not exist"},
			{"UnknownProgram", dbplane.Command{User: "nobody", Argv: []string{"/no/such/program"}}, "does not exist"},
			{"NegativeTimeout", dbplane.Command{User: "nobody", Argv: []string{"true"}, Timeout: -1}, "timeout"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.Run(ctx(t), tc.cmd)
				wantKind(t, err, dbplane.KindInvalid, true, tc.msg)
			})
		}
	})
}
