package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dbplane/dbplane"
)

// HostConfig configures a Host.
type HostConfig struct {
	// DataRoot holds the instances' data; every path the control plane
	// writes, creates or removes must lie inside it. It and its parents
	// must be traversable by the instances' OS users.
	DataRoot string
	// StateDir holds the agent's own state (supervised instances and their
	// pids). It must not lie inside DataRoot, so that the control plane
	// cannot rewrite it through WriteFile.
	StateDir string
	// Address is the IP the host's databases listen on.
	Address string
	// Region, Zone and Rack are the host's placement labels.
	Region, Zone, Rack string
	// Logger receives the agent's logs; nil discards them.
	Logger *slog.Logger
	// StopSignal asks an instance whose spec names no stop signal to stop;
	// 0 means SIGINT, PostgreSQL's "fast" shutdown (Redis shuts down on it
	// too).
	StopSignal syscall.Signal
	// CgroupRoot is the cgroup v2 hierarchy instances' limits are enforced
	// in, under CgroupRoot/dbplane.slice; "" means DefaultCgroupRoot. A
	// host without a writable cgroup v2 there runs instances unlimited.
	CgroupRoot string
	// StopTimeout is how long an instance may take to stop before it is
	// killed; 0 means DefaultStopTimeout.
	StopTimeout time.Duration
}

// DefaultStopTimeout bounds a graceful stop: a fast PostgreSQL shutdown
// ends well within it, even with a checkpoint to write.
const DefaultStopTimeout = 60 * time.Second

// Host is the agent's implementation of dbplane.HostAgent on the machine it
// runs on. It is safe for concurrent use.
type Host struct {
	cfg       HostConfig
	log       *slog.Logger
	dataRoot  *os.Root
	stateRoot *os.Root
	pkgs      packager
	cgroups   *cgroups
	users     chan struct{} // serializes useradd
	sup       *supervisor
}

// Interface guard: Host is what Server serves.
var _ dbplane.HostAgent = (*Host)(nil)

// NewHost opens the data root and state directory (creating them if
// needed) and re-adopts every persisted instance: one that still runs is
// watched, one that should run but does not is started.
func NewHost(cfg HostConfig) (*Host, error) {
	const op = "agent.NewHost"
	if err := cfg.normalize(); err != nil {
		return nil, dbplane.E(op, err)
	}
	h := &Host{cfg: cfg, log: cfg.Logger, users: make(chan struct{}, 1)}
	h.pkgs = packager{log: h.log, lock: make(chan struct{}, 1)}
	if err := os.MkdirAll(cfg.DataRoot, 0o755); err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while creating the data root: %w", err))
	}
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, instancesDir), 0o700); err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while creating the state directory: %w", err))
	}
	warnUntraversable(h.log, cfg.DataRoot)
	var err error
	if h.dataRoot, err = os.OpenRoot(cfg.DataRoot); err != nil {
		return nil, dbplane.E(op, fmt.Errorf("while opening the data root: %w", err))
	}
	if h.stateRoot, err = os.OpenRoot(cfg.StateDir); err != nil {
		h.dataRoot.Close()
		return nil, dbplane.E(op, fmt.Errorf("while opening the state directory: %w", err))
	}
	h.cgroups = openCgroups(cfg.CgroupRoot)
	if h.cgroups.note != "" {
		h.log.Warn("instances run without resource limits", "reason", h.cgroups.note)
	} else {
		h.log.Info("instances' resource limits are enforced", "cgroup", filepath.Join(cfg.CgroupRoot, cgroupSlice))
	}
	h.sup = newSupervisor(h)
	if err := h.sup.readopt(); err != nil {
		h.Close()
		return nil, dbplane.E(op, err)
	}
	return h, nil
}

// normalize validates the configuration and fills in defaults.
func (cfg *HostConfig) normalize() error {
	var fields []dbplane.FieldError
	for _, d := range []struct {
		name string
		path *string
	}{{"data_root", &cfg.DataRoot}, {"state_dir", &cfg.StateDir}} {
		if !filepath.IsAbs(*d.path) || filepath.Clean(*d.path) == "/" {
			fields = append(fields, dbplane.FieldError{Field: d.name, Message: "must be an absolute path other than /"})
			continue
		}
		*d.path = filepath.Clean(*d.path)
	}
	if len(fields) == 0 && within(cfg.DataRoot, cfg.StateDir) {
		fields = append(fields, dbplane.FieldError{Field: "state_dir", Message: "must not lie inside the data root"})
	}
	if cfg.CgroupRoot != "" && !filepath.IsAbs(cfg.CgroupRoot) {
		fields = append(fields, dbplane.FieldError{Field: "cgroup_root", Message: "must be an absolute path"})
	}
	if net.ParseIP(cfg.Address) == nil {
		fields = append(fields, dbplane.FieldError{Field: "address", Message: "must be an IP address"})
	}
	if len(fields) > 0 {
		return dbplane.Invalid(fields...)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StopSignal == 0 {
		cfg.StopSignal = syscall.SIGINT
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = DefaultCgroupRoot
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	return nil
}

// within reports whether path is root or lies inside it; both are clean.
func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// warnUntraversable logs when an instance user could not reach the data
// root: every start would then fail with a confusing permission error.
func warnUntraversable(log *slog.Logger, dir string) {
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			log.Warn("the data root is not traversable by other users; instances running as their own users cannot reach it",
				slog.String("data_root", dir), slog.String("directory", d))
			return
		}
		if d == filepath.Dir(d) {
			return
		}
	}
}

// Close stops supervising and releases the host's resources. It leaves the
// supervised processes running, as an agent that exits or restarts must: a
// new Host over the same StateDir re-adopts them.
func (h *Host) Close() error {
	h.sup.close()
	return errors.Join(h.dataRoot.Close(), h.stateRoot.Close())
}

// DataRoot returns the directory that holds the instances' data.
func (h *Host) DataRoot() string { return h.cfg.DataRoot }

// Facts reports the host's facts.
func (h *Host) Facts(ctx context.Context) (dbplane.HostFacts, error) {
	const op = "agent.Facts"
	f := dbplane.HostFacts{
		Address:  h.cfg.Address,
		Arch:     runtime.GOARCH,
		CPUs:     runtime.NumCPU(),
		Region:   h.cfg.Region,
		Zone:     h.cfg.Zone,
		Rack:     h.cfg.Rack,
		DataRoot: h.cfg.DataRoot,
	}
	var err error
	if f.Hostname, err = os.Hostname(); err != nil {
		return f, dbplane.E(op, fmt.Errorf("while reading the hostname: %w", err))
	}
	if f.OS, err = osName("/etc/os-release"); err != nil {
		return f, dbplane.E(op, err)
	}
	if f.MemoryMB, err = memTotalMB("/proc/meminfo"); err != nil {
		return f, dbplane.E(op, err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(h.cfg.DataRoot, &st); err != nil {
		return f, dbplane.E(op, fmt.Errorf("while measuring free disk space: %w", err))
	}
	f.DiskGB = int64(st.Bavail) * int64(st.Bsize) >> 30
	return f, nil
}

// osName returns PRETTY_NAME from an os-release file.
func osName(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("while reading %s: %w", path, err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
			if uq, err := strconv.Unquote(v); err == nil {
				return uq, nil
			}
			return strings.Trim(v, `"'`), nil
		}
	}
	return "", fmt.Errorf("no PRETTY_NAME in %s", path)
}

// memTotalMB returns MemTotal from a meminfo file, in MiB.
func memTotalMB(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("while reading %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("while parsing MemTotal in %s: %w", path, err)
			}
			return kb >> 10, nil
		}
	}
	return 0, fmt.Errorf("no MemTotal in %s", path)
}
