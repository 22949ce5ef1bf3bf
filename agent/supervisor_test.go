package agent_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent"
)

// sleeper is an instance that prints a line and sleeps, as nobody.
func sleeper(cfg agent.HostConfig, id string) dbplane.Instance {
	return dbplane.Instance{
		ID:   id,
		User: "nobody",
		Argv: []string{"/bin/sh", "-c", "echo started; exec sleep 1000"},
		Log:  filepath.Join(cfg.DataRoot, id+".log"),
	}
}

// mustStart starts an instance and returns its status; the process is
// killed at the end of the test whatever happens.
func mustStart(t *testing.T, h dbplane.HostAgent, inst dbplane.Instance) *dbplane.InstanceStatus {
	t.Helper()
	if err := h.StartInstance(ctx(t), inst); err != nil {
		t.Fatalf("StartInstance: %v", err)
	}
	st := mustStatus(t, h, inst.ID)
	if !st.Running || st.PID <= 0 {
		t.Fatalf("status after start = %+v, want running with a pid", st)
	}
	killAtEnd(t, st.PID)
	return st
}

func mustStatus(t *testing.T, h dbplane.HostAgent, id string) *dbplane.InstanceStatus {
	t.Helper()
	st, err := h.InstanceStatus(ctx(t), id)
	if err != nil {
		t.Fatalf("InstanceStatus: %v", err)
	}
	return st
}

// waitRestarted waits until the instance runs with another pid than old.
func waitRestarted(t *testing.T, h dbplane.HostAgent, id string, old int) *dbplane.InstanceStatus {
	t.Helper()
	var st *dbplane.InstanceStatus
	eventually(t, 10*time.Second, "a restart with a new pid", func() bool {
		st = mustStatus(t, h, id)
		return st.Running && st.PID != old && st.PID > 0
	})
	killAtEnd(t, st.PID)
	return st
}

func TestSupervisor(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	h := mustOpenHost(t, cfg)
	inst := sleeper(cfg, "sleep-1")
	st := mustStart(t, h, inst)

	t.Run("RunsAsItsUser", func(t *testing.T) {
		_, nobody := ids(t, "nobody")
		if uid := procUID(t, st.PID); uint32(uid) != 65534 && uint32(uid) != nobody {
			t.Fatalf("uid = %d, want nobody's", uid)
		}
		if pgid, _ := syscall.Getpgid(st.PID); pgid != st.PID {
			t.Fatalf("process group = %d, want its own (%d)", pgid, st.PID)
		}
		eventually(t, 5*time.Second, "the log", func() bool {
			b, _ := os.ReadFile(inst.Log)
			return string(b) == "started\n"
		})
		if uid, _, _ := owner(t, inst.Log); uid != 65534 {
			t.Fatalf("log owned by %d, want nobody", uid)
		}
	})
	t.Run("StartIsIdempotent", func(t *testing.T) {
		if err := h.StartInstance(ctx(t), inst); err != nil {
			t.Fatal(err)
		}
		if again := mustStatus(t, h, inst.ID); again.PID != st.PID || again.Restarts != 0 {
			t.Fatalf("status = %+v, want the same process (%d)", again, st.PID)
		}
	})
	t.Run("OtherSpecConflicts", func(t *testing.T) {
		other := inst
		other.Argv = []string{"/bin/sleep", "999"}
		wantKind(t, h.StartInstance(ctx(t), other), dbplane.KindConflict, true, "different spec")
	})
	t.Run("RestartedAfterKill", func(t *testing.T) {
		syscall.Kill(st.PID, syscall.SIGKILL)
		old := st.PID
		st = waitRestarted(t, h, inst.ID, old)
		if st.Restarts != 1 {
			t.Fatalf("restarts = %d, want 1", st.Restarts)
		}
		if !gone(old) {
			t.Fatalf("the killed process %d is still there", old)
		}
		if b, _ := os.ReadFile(inst.Log); string(b) != "started\nstarted\n" {
			t.Fatalf("log = %q, want both starts appended", b)
		}
	})
	t.Run("StopIsNotRestarted", func(t *testing.T) {
		if err := h.StopInstance(ctx(t), inst.ID); err != nil {
			t.Fatal(err)
		}
		if !gone(st.PID) {
			t.Fatalf("process %d still runs after StopInstance", st.PID)
		}
		time.Sleep(2500 * time.Millisecond) // longer than the first two backoffs
		if got := mustStatus(t, h, inst.ID); got.Running || got.PID != 0 {
			t.Fatalf("status = %+v, want stopped", got)
		}
		if err := h.StopInstance(ctx(t), inst.ID); err != nil {
			t.Fatalf("stopping a stopped instance: %v", err)
		}
	})
	t.Run("StoppedStaysStoppedAcrossAgentRestart", func(t *testing.T) {
		h2 := mustOpenHost(t, cfg)
		if got := mustStatus(t, h2, inst.ID); got.Running {
			t.Fatalf("status = %+v, want stopped", got)
		}
		h2.Close()
	})
	t.Run("StartAgain", func(t *testing.T) {
		again := mustStart(t, h, inst)
		if again.PID == st.PID {
			t.Fatalf("pid %d reused", again.PID)
		}
		if err := h.StopInstance(ctx(t), inst.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Unknown", func(t *testing.T) {
		_, err := h.InstanceStatus(ctx(t), "nosuch")
		wantKind(t, err, dbplane.KindNotFound, true, "not known")
		wantKind(t, h.StopInstance(ctx(t), "nosuch"), dbplane.KindNotFound, true, "not known")
	})
	t.Run("Invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(*dbplane.Instance)
			msg  string
		}{
			{"Root", func(i *dbplane.Instance) { i.User = "root" }, "root"},
			{"UnknownUser", func(i *dbplane.Instance) { i.User = "dbplane-nosuchuser" }, "does not exist"},
			{"RelativeProgram", func(i *dbplane.Instance) { i.Argv = []string{"sleep", "1"} }, "absolute"},
			{"MissingProgram", func(i *dbplane.Instance) { i.Argv = []string{"/no/such/program"} }, "does not exist"},
			{"BadID", func(i *dbplane.Instance) { i.ID = "../x" }, "id"},
			{"LogOutside", func(i *dbplane.Instance) { i.Log = "/var/log/x.log" }, "must lie inside"},
			{"BadEnv", func(i *dbplane.Instance) { i.Env = []string{"NOEQUALS"} }, "KEY=value"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				bad := sleeper(cfg, "bad-"+tc.name)
				tc.edit(&bad)
				wantKind(t, h.StartInstance(ctx(t), bad), dbplane.KindInvalid, true, tc.msg)
			})
		}
		if st, err := h.InstanceStatus(ctx(t), "bad-MissingProgram"); err == nil && st.Running {
			t.Fatalf("an instance whose program is missing runs: %+v", st)
		}
	})
}

// TestReadoption kills the agent (drops its Host without stopping
// anything) and checks that a new agent over the same state directory
// re-adopts the running process, and restarts it when it dies.
func TestReadoption(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	h1, err := agent.NewHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inst := sleeper(cfg, "sleep-2")
	st := mustStart(t, h1, inst)
	if err := h1.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // a supervisor still at work would act by now
	if gone(st.PID) {
		t.Fatal("the instance died with its agent")
	}

	h2 := mustOpenHost(t, cfg)
	adopted := mustStatus(t, h2, inst.ID)
	if !adopted.Running || adopted.PID != st.PID {
		t.Fatalf("status after re-adoption = %+v, want pid %d running", adopted, st.PID)
	}
	if d := adopted.Since.Sub(st.Since); d < -2*time.Second || d > 2*time.Second {
		t.Fatalf("since = %v, want the process's start (%v)", adopted.Since, st.Since)
	}
	syscall.Kill(st.PID, syscall.SIGKILL)
	restarted := waitRestarted(t, h2, inst.ID, st.PID)
	if restarted.Restarts != 1 {
		t.Fatalf("restarts = %d, want 1", restarted.Restarts)
	}
	if err := h2.RemoveInstance(ctx(t), inst.ID, nil); err != nil {
		t.Fatal(err)
	}
	if !gone(restarted.PID) {
		t.Fatal("RemoveInstance left the process running")
	}
}

// TestReadoptionStartsDeadInstances: an instance that died while no agent
// watched is started when the agent comes back.
func TestReadoptionStartsDeadInstances(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	h1, err := agent.NewHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inst := sleeper(cfg, "sleep-3")
	st := mustStart(t, h1, inst)
	h1.Close()
	syscall.Kill(st.PID, syscall.SIGKILL)
	eventually(t, 5*time.Second, "the process to die", func() bool { return gone(st.PID) })

	h2 := mustOpenHost(t, cfg)
	got := mustStatus(t, h2, inst.ID)
	if !got.Running || got.PID == st.PID {
		t.Fatalf("status = %+v, want a new process", got)
	}
	killAtEnd(t, got.PID)
	if err := h2.StopInstance(ctx(t), inst.ID); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveInstance(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	h := mustOpenHost(t, cfg)
	inst := sleeper(cfg, "sleep-4")
	data := filepath.Join(cfg.DataRoot, "sleep-4")
	if err := h.EnsureDir(ctx(t), data, "nobody", 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(data, "f"), []byte("x"), 0o600)
	extra := filepath.Join(cfg.StateDir, "sleep-4.extra")
	os.WriteFile(extra, nil, 0o600)
	st := mustStart(t, h, inst)

	t.Run("Refused", func(t *testing.T) {
		for _, tc := range []struct{ name, path string }{
			{"Slash", "/"},
			{"Outside", "/etc"},
			{"DataRoot", cfg.DataRoot},
			{"StateDir", cfg.StateDir},
			{"Instances", filepath.Join(cfg.StateDir, "instances")},
			{"Escape", filepath.Join(cfg.DataRoot, "..", "..")},
			{"Relative", "sleep-4"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := h.RemoveInstance(ctx(t), inst.ID, []string{data, tc.path})
				wantKind(t, err, dbplane.KindInvalid, true, "paths[1]")
			})
		}
		// Nothing was done.
		if got := mustStatus(t, h, inst.ID); !got.Running || got.PID != st.PID {
			t.Fatalf("status = %+v, want it untouched", got)
		}
		if _, err := os.Stat(data); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Removes", func(t *testing.T) {
		if err := h.RemoveInstance(ctx(t), inst.ID, []string{data, inst.Log, extra}); err != nil {
			t.Fatal(err)
		}
		if !gone(st.PID) {
			t.Fatal("the process still runs")
		}
		for _, p := range []string{data, inst.Log, extra, filepath.Join(cfg.StateDir, "instances", inst.ID+".json")} {
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				t.Fatalf("%s still exists (%v)", p, err)
			}
		}
		_, err := h.InstanceStatus(ctx(t), inst.ID)
		wantKind(t, err, dbplane.KindNotFound, true, "not known")
	})
	t.Run("Idempotent", func(t *testing.T) {
		if err := h.RemoveInstance(ctx(t), inst.ID, []string{data}); err != nil {
			t.Fatal(err)
		}
	})
	if entries, _ := os.ReadDir(cfg.DataRoot); len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("data root holds %s", strings.Join(names, ", "))
	}
}

// TestStopKillsStubbornGroup: a process that ignores the stop signal is
// killed after the stop timeout, with everything in its process group.
func TestStopKillsStubbornGroup(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	cfg.StopTimeout = time.Second
	h := mustOpenHost(t, cfg)
	if err := os.Chmod(cfg.DataRoot, 0o777); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(cfg.DataRoot, "child.pid")
	inst := dbplane.Instance{ID: "stubborn", User: "nobody",
		Argv: []string{"/bin/sh", "-c", `trap "" INT; sleep 1000 & echo $! > ` + pidFile + `; wait`}}
	st := mustStart(t, h, inst)
	var child int
	eventually(t, 5*time.Second, "the child's pid", func() bool {
		b, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return child > 0
	})
	killAtEnd(t, child)

	start := time.Now()
	if err := h.StopInstance(ctx(t), inst.ID); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("stopped after %v: the stop signal should have been ignored for the 1s timeout", d)
	}
	if !gone(st.PID) {
		t.Fatal("the instance survived")
	}
	eventually(t, 5*time.Second, "its child to be killed too", func() bool { return gone(child) })
}

// TestCrashLoopBacksOff: a process that exits at once is restarted after
// 1s, 2s, 4s…, not in a tight loop.
func TestCrashLoopBacksOff(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	h := mustOpenHost(t, cfg)
	inst := dbplane.Instance{ID: "crashy", User: "nobody", Argv: []string{"/bin/sh", "-c", "exit 1"}}
	if err := h.StartInstance(ctx(t), inst); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond) // restarts due at 1s and 3s
	st := mustStatus(t, h, inst.ID)
	if st.Restarts < 1 || st.Restarts > 3 {
		t.Fatalf("restarts = %d after 3.5s, want 2 (1s, then 2s later)", st.Restarts)
	}
	if err := h.StopInstance(ctx(t), inst.ID); err != nil {
		t.Fatal(err)
	}
}

// TestStopSignal: an instance is stopped with its own stop signal, not the
// host's default; an unknown one is refused.
func TestStopSignal(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	cfg.StopTimeout = 5 * time.Second
	h := mustOpenHost(t, cfg)
	// SIGINT stays ignored across the exec, so only SIGTERM stops it
	// before the stop timeout.
	inst := dbplane.Instance{ID: "term", User: "nobody", StopSignal: "SIGTERM",
		Argv: []string{"/bin/sh", "-c", `trap "" INT; exec sleep 1000`}}
	st := mustStart(t, h, inst)
	start := time.Now()
	if err := h.StopInstance(ctx(t), inst.ID); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= cfg.StopTimeout {
		t.Fatalf("stopped after %v: SIGTERM should have stopped it at once", d)
	}
	if !gone(st.PID) {
		t.Fatal("the instance survived")
	}
	t.Run("Invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(*dbplane.Instance)
			msg  string
		}{
			{"UnknownSignal", func(i *dbplane.Instance) { i.StopSignal = "SIGKILL" }, "stop_signal"},
			{"LowerCase", func(i *dbplane.Instance) { i.StopSignal = "sigterm" }, "SIGINT, SIGQUIT, SIGTERM"},
			{"NegativeCPU", func(i *dbplane.Instance) { i.Resources = &dbplane.Resources{CPUMillis: -1} }, "resources"},
			{"NegativeMemory", func(i *dbplane.Instance) { i.Resources = &dbplane.Resources{MemoryMB: -1} }, "resources"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				bad := sleeper(cfg, "bad-"+tc.name)
				tc.edit(&bad)
				wantKind(t, h.StartInstance(ctx(t), bad), dbplane.KindInvalid, true, tc.msg)
			})
		}
	})
}
