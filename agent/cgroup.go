package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dbplane/dbplane"
)

// DefaultCgroupRoot is where systemd hosts mount the cgroup v2 hierarchy.
const DefaultCgroupRoot = "/sys/fs/cgroup"

const (
	// cgroup2Magic is CGROUP2_SUPER_MAGIC, the statfs type of a cgroup v2
	// mount.
	cgroup2Magic = 0x63677270
	// cgroupSlice, under the cgroup root, holds one cgroup per instance.
	// It is a cgroup of its own so that the instances' controllers are
	// enabled in one place and nothing else of the host is touched.
	cgroupSlice = "dbplane.slice"
	// cpuPeriod is the period of cpu.max, in microseconds: the kernel's
	// default. A CPU's 1000 millis are a quota of 100000 per period.
	cpuPeriod = 100000
	// minCPUQuota is the smallest quota the kernel accepts (1 ms).
	minCPUQuota = 1000
	// removeWait bounds the wait for killed stragglers to leave a cgroup
	// that is being removed.
	removeWait = 5 * time.Second
)

// noCgroup2 is the note of hosts without a cgroup v2 hierarchy (cgroup v1
// or hybrid hosts, containers without the cgroup filesystem).
const noCgroup2 = "cgroup v2 is not available on this host"

// limitControllers are the controllers an instance's limits need.
var limitControllers = []string{"cpu", "memory"}

// cgroups places each instance in a cgroup of its own,
// <root>/dbplane.slice/<id>, and writes its CPU and memory limits there.
// When the host cannot (no cgroup v2, not writable, controllers missing)
// instances run without limits and note says why.
type cgroups struct {
	root string
	note string // why limits are not enforced on this host; "" when they can be
}

// openCgroups prepares the host's cgroup hierarchy for instances: it
// creates dbplane.slice and enables the cpu and memory controllers for its
// children. Failing that, it records why, and instances run unlimited.
func openCgroups(root string) *cgroups {
	c := &cgroups{root: root}
	if err := c.prepare(); err != nil {
		c.note = err.Error()
	}
	return c
}

func (c *cgroups) prepare() error {
	if !isCgroup2(c.root) {
		return errors.New(noCgroup2)
	}
	b, err := os.ReadFile(filepath.Join(c.root, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("cannot read the cgroup controllers of %s: %w", c.root, err)
	}
	available := strings.Fields(string(b))
	for _, ctl := range limitControllers {
		if !slices.Contains(available, ctl) {
			return fmt.Errorf("the %s controller is not available in %s", ctl, c.root)
		}
	}
	if err := enableControllers(c.root); err != nil {
		return err
	}
	slice := filepath.Join(c.root, cgroupSlice)
	if err := os.Mkdir(slice, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cannot create the cgroup %s: %w", slice, err)
	}
	return enableControllers(slice)
}

// isCgroup2 reports whether root is a cgroup v2 hierarchy: a cgroup2 mount,
// or a directory with the files of one (which lets tests use a fake tree).
func isCgroup2(root string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err == nil && st.Type == cgroup2Magic {
		return true
	}
	_, err := os.Stat(filepath.Join(root, "cgroup.controllers"))
	return err == nil
}

// enableControllers enables the cpu and memory controllers for the children
// of the cgroup dir, unless they are enabled already. The kernel refuses
// when dir holds processes itself (other than at the root), which is why
// instances live one level further down, under dbplane.slice.
func enableControllers(dir string) error {
	path := filepath.Join(dir, "cgroup.subtree_control")
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	enabled := strings.Fields(string(b))
	var add []string
	for _, ctl := range limitControllers {
		if !slices.Contains(enabled, ctl) && !slices.Contains(enabled, "+"+ctl) {
			add = append(add, "+"+ctl)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if err := writeCgroupFile(path, strings.Join(add, " ")); err != nil {
		return fmt.Errorf("cannot enable the cpu and memory controllers in %s: %w", dir, err)
	}
	return nil
}

// writeCgroupFile writes one value to a cgroup interface file in a single
// write, as the kernel wants. O_CREATE serves fake trees only: the kernel
// creates the interface files with the cgroup.
func writeCgroupFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value + "\n")
	return errors.Join(err, f.Close())
}

// dir returns the cgroup of instance id.
func (c *cgroups) dir(id string) string { return filepath.Join(c.root, cgroupSlice, id) }

// limits describes how an instance is confined, for InstanceStatus.
type limits struct {
	enforced bool
	note     string
}

// confine creates the cgroup of inst, writes its limits and moves the
// process pid, and the other processes of the session it leads, into it.
// It returns the cgroup ("" if none was created) and whether the limits
// hold; a failure is a note, not an error: the instance runs either way.
func (c *cgroups) confine(inst dbplane.Instance, pid int) (string, limits) {
	if c.note != "" {
		return "", limits{note: c.note}
	}
	dir := c.dir(inst.ID)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", limits{note: fmt.Sprintf("cannot create the cgroup %s: %v", dir, err)}
	}
	cpu, mem := limitValues(inst.Resources)
	for _, w := range []struct{ file, value string }{{"cpu.max", cpu}, {"memory.max", mem}} {
		if err := writeCgroupFile(filepath.Join(dir, w.file), w.value); err != nil {
			return dir, limits{note: fmt.Sprintf("cannot write %s of the cgroup %s: %v", w.file, dir, err)}
		}
	}
	if err := movePIDs(dir, pid); err != nil {
		return dir, limits{note: fmt.Sprintf("cannot move the process %d into the cgroup %s: %v", pid, dir, err)}
	}
	if r := inst.Resources; r == nil || r.CPUMillis == 0 && r.MemoryMB == 0 {
		return dir, limits{note: "the instance asks for no limits"}
	}
	return dir, limits{enforced: true}
}

// limitValues renders resources as cpu.max and memory.max; a limit not
// asked for is "max", so that lifting a limit takes effect too.
func limitValues(r *dbplane.Resources) (cpu, mem string) {
	cpu, mem = "max "+strconv.Itoa(cpuPeriod), "max"
	if r == nil {
		return cpu, mem
	}
	if r.CPUMillis > 0 {
		cpu = strconv.Itoa(max(r.CPUMillis*cpuPeriod/1000, minCPUQuota)) + " " + strconv.Itoa(cpuPeriod)
	}
	if r.MemoryMB > 0 {
		mem = strconv.FormatInt(r.MemoryMB<<20, 10)
	}
	return cpu, mem
}

// movePIDs moves pid into the cgroup dir, then every other process of the
// session pid leads: a process forked before the move (or, for a
// re-adopted instance, long before) stays where it was otherwise, and
// children inherit the cgroup only from then on. A process that does not
// lead its session (re-adopted from a pid file) moves alone.
func movePIDs(dir string, pid int) error {
	procs := filepath.Join(dir, "cgroup.procs")
	if err := appendPID(procs, pid); err != nil {
		return err
	}
	if sid, err := procSession(pid); err != nil || sid != pid {
		return nil
	}
	for _, m := range sessionMembers(pid) {
		if m != pid {
			// One that exited meanwhile cannot be moved, and need not be.
			appendPID(procs, m)
		}
	}
	return nil
}

// appendPID writes one pid to a cgroup.procs file. Appending, rather than
// truncating, keeps every pid in a fake tree; the kernel reads each write
// as one pid to move, whatever the mode.
func appendPID(path string, pid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Itoa(pid) + "\n")
	return errors.Join(err, f.Close())
}

// remove removes the cgroup of instance id, and the one recorded for it
// if another (the cgroup root was changed since). A cgroup that still
// holds processes (ones that left the instance's process group, so the
// stop's kill missed them) is emptied with cgroup.kill first: the
// instance is being removed, and nothing of it may stay behind.
func (c *cgroups) remove(id, recorded string) error {
	dirs := []string{recorded}
	if c.note == "" {
		dirs = append(dirs, c.dir(id))
	}
	var errs []error
	for _, dir := range dirs {
		if dir == "" || filepath.Base(filepath.Dir(dir)) != cgroupSlice {
			continue // never remove what the agent did not create
		}
		if err := removeCgroup(dir); err != nil {
			errs = append(errs, fmt.Errorf("while removing the cgroup %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// removeCgroup removes one cgroup. The kernel removes a cgroup with rmdir
// (its interface files go with it); a fake tree needs its files removed,
// which RemoveAll does after the rmdir fails.
func removeCgroup(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	if writeCgroupFile(filepath.Join(dir, "cgroup.kill"), "1") != nil {
		return err
	}
	deadline := time.Now().Add(removeWait)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
	}
	return err
}
