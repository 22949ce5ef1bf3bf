package agent_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent"
)

// fakeCgroupRoot returns a directory laid out as the root of a cgroup v2
// hierarchy whose cgroup.controllers lists controllers.
func fakeCgroupRoot(t *testing.T, controllers string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range map[string]string{
		"cgroup.controllers":     controllers + "\n",
		"cgroup.subtree_control": "\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// readFile returns a file's content, failing the test if it cannot.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantFile fails unless path holds want.
func wantFile(t *testing.T, path, want string) {
	t.Helper()
	if got := readFile(t, path); got != want {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}

// wantPIDIn fails unless a cgroup.procs file lists pid.
func wantPIDIn(t *testing.T, procs string, pid int) {
	t.Helper()
	if !slices.Contains(strings.Fields(readFile(t, procs)), strconv.Itoa(pid)) {
		t.Errorf("%s = %q, want it to list %d", procs, readFile(t, procs), pid)
	}
}

// TestCgroupLimits drives the cgroup v2 path against a fake hierarchy: the
// controllers are enabled, each instance gets its cgroup with its limits,
// its process is moved there at start, at re-adoption and when the limits
// change, and the cgroup goes with the instance.
func TestCgroupLimits(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	cfg.CgroupRoot = fakeCgroupRoot(t, "cpuset cpu io memory hugetlb pids rdma misc")
	h := mustOpenHost(t, cfg)
	slice := filepath.Join(cfg.CgroupRoot, "dbplane.slice")
	wantFile(t, filepath.Join(cfg.CgroupRoot, "cgroup.subtree_control"), "+cpu +memory\n")
	wantFile(t, filepath.Join(slice, "cgroup.subtree_control"), "+cpu +memory\n")

	inst := sleeper(cfg, "limited")
	inst.Resources = &dbplane.Resources{CPUMillis: 1500, MemoryMB: 256}
	st := mustStart(t, h, inst)
	dir := filepath.Join(slice, inst.ID)
	procs := filepath.Join(dir, "cgroup.procs")

	t.Run("Enforced", func(t *testing.T) {
		if !st.LimitsEnforced || st.LimitsNote != "" {
			t.Errorf("status = %+v, want the limits enforced", st)
		}
		wantFile(t, filepath.Join(dir, "cpu.max"), "150000 100000\n")
		wantFile(t, filepath.Join(dir, "memory.max"), "268435456\n")
		wantPIDIn(t, procs, st.PID)
	})
	outer := t
	t.Run("ReadoptionMovesItAgain", func(t *testing.T) {
		if err := os.WriteFile(procs, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		h.Close()
		h2 := mustOpenHost(outer, cfg) // the later subtests use it
		got := mustStatus(t, h2, inst.ID)
		if got.PID != st.PID || !got.LimitsEnforced {
			t.Fatalf("status after re-adoption = %+v, want pid %d with its limits", got, st.PID)
		}
		wantPIDIn(t, procs, st.PID)
		h = h2
	})
	t.Run("NewLimitsApplyWithoutRestart", func(t *testing.T) {
		inst.Resources = &dbplane.Resources{CPUMillis: 500}
		if err := h.StartInstance(ctx(t), inst); err != nil {
			t.Fatalf("StartInstance with new limits: %v", err)
		}
		if got := mustStatus(t, h, inst.ID); got.PID != st.PID || got.Restarts != 0 || !got.LimitsEnforced {
			t.Fatalf("status = %+v, want the same process (%d) with its new limits", got, st.PID)
		}
		wantFile(t, filepath.Join(dir, "cpu.max"), "50000 100000\n")
		wantFile(t, filepath.Join(dir, "memory.max"), "max\n")
	})
	t.Run("NoLimitsAskedFor", func(t *testing.T) {
		free := sleeper(cfg, "unlimited")
		got := mustStart(t, h, free)
		if got.LimitsEnforced || got.LimitsNote != "the instance asks for no limits" {
			t.Errorf("status = %+v, want no limits, with a note saying so", got)
		}
		wantFile(t, filepath.Join(slice, free.ID, "cpu.max"), "max 100000\n")
		wantPIDIn(t, filepath.Join(slice, free.ID, "cgroup.procs"), got.PID)
		if err := h.RemoveInstance(ctx(t), free.ID, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("RemovedWithTheInstance", func(t *testing.T) {
		if err := h.RemoveInstance(ctx(t), inst.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("the cgroup %s is still there (%v)", dir, err)
		}
		if _, err := os.Stat(slice); err != nil {
			t.Fatalf("the slice went too: %v", err)
		}
	})
}

// TestCgroupControllersMissing: a hierarchy without the memory controller
// cannot enforce the limits, and the status says why; nothing is created.
func TestCgroupControllersMissing(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	cfg.CgroupRoot = fakeCgroupRoot(t, "cpu io pids")
	h := mustOpenHost(t, cfg)
	inst := sleeper(cfg, "nomem")
	inst.Resources = &dbplane.Resources{CPUMillis: 1000, MemoryMB: 128}
	st := mustStart(t, h, inst)
	if st.LimitsEnforced || !strings.Contains(st.LimitsNote, "memory controller is not available") {
		t.Errorf("status = %+v, want not enforced, for want of the memory controller", st)
	}
	if _, err := os.Stat(filepath.Join(cfg.CgroupRoot, "dbplane.slice")); !os.IsNotExist(err) {
		t.Errorf("dbplane.slice was created (%v)", err)
	}
	if err := h.RemoveInstance(ctx(t), inst.ID, nil); err != nil {
		t.Fatal(err)
	}
}

// TestNoCgroup2OnThisHost: on a host without cgroup v2 (cgroup v1 mounts
// a tmpfs at /sys/fs/cgroup) instances run, unlimited, and say so.
func TestNoCgroup2OnThisHost(t *testing.T) {
	requireRoot(t)
	var fs syscall.Statfs_t
	if err := syscall.Statfs(agent.DefaultCgroupRoot, &fs); err == nil && fs.Type == 0x63677270 {
		t.Skip("this host has cgroup v2: the fake-tree tests cover the other case")
	}
	cfg := newHostConfig(t)
	h := mustOpenHost(t, cfg)
	inst := sleeper(cfg, "nocgroup")
	inst.Resources = &dbplane.Resources{CPUMillis: 1000, MemoryMB: 128}
	st := mustStart(t, h, inst)
	if st.LimitsEnforced || st.LimitsNote != "cgroup v2 is not available on this host" {
		t.Errorf("status = %+v, want not enforced, for want of cgroup v2", st)
	}
	if err := h.RemoveInstance(ctx(t), inst.ID, nil); err != nil {
		t.Fatal(err)
	}
}

// TestCgroupRecorded: the cgroup an instance was put in is persisted, so
// removing the instance removes it even when the agent has since lost
// cgroup v2 (another root configured, say).
func TestCgroupRecorded(t *testing.T) {
	requireRoot(t)
	cfg := newHostConfig(t)
	cfg.CgroupRoot = fakeCgroupRoot(t, "cpu memory")
	h1, err := agent.NewHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	inst := sleeper(cfg, "moved")
	inst.Resources = &dbplane.Resources{MemoryMB: 64}
	st := mustStart(t, h1, inst)
	dir := filepath.Join(cfg.CgroupRoot, "dbplane.slice", inst.ID)
	wantPIDIn(t, filepath.Join(dir, "cgroup.procs"), st.PID)
	h1.Close()

	cfg.CgroupRoot = t.TempDir() // no cgroup v2 here
	h2 := mustOpenHost(t, cfg)
	if got := mustStatus(t, h2, inst.ID); got.PID != st.PID || got.LimitsEnforced || got.LimitsNote != "cgroup v2 is not available on this host" {
		t.Fatalf("status = %+v, want pid %d re-adopted, without limits", got, st.PID)
	}
	if err := h2.RemoveInstance(ctx(t), inst.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the recorded cgroup %s is still there (%v)", dir, err)
	}
}
