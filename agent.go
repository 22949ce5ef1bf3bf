package dbplane

import (
	"context"
	"time"
)

// HostAgent is what the control plane asks of the agent on a host. The agent
// is engine-agnostic: engine packages on the control plane (engine/postgres,
// …) compose these calls into the steps of a task. Every call is idempotent:
// asking for a state that already holds changes nothing and succeeds.
type HostAgent interface {
	// Facts reports the host's facts (address, hostname, OS, capacity).
	Facts(ctx context.Context) (HostFacts, error)
	// EnsurePackages installs the OS packages that are missing and verifies
	// the others are installed.
	EnsurePackages(ctx context.Context, packages []string) error
	// EnsureUser makes sure a system user (and its group) exists.
	EnsureUser(ctx context.Context, name string) error
	// EnsureDir creates a directory (and parents) owned by owner with mode.
	EnsureDir(ctx context.Context, path, owner string, mode uint32) error
	// WriteFile writes a file atomically, owned by owner with mode.
	WriteFile(ctx context.Context, f File) error
	// Run runs a command as a user and waits for it. A non-zero exit is
	// reported in the result, not as an error.
	Run(ctx context.Context, cmd Command) (*CommandResult, error)
	// StartInstance starts a supervised process, or does nothing if it
	// runs. The agent restarts it with backoff when it crashes, keeps it
	// running across agent restarts, and re-adopts it when it comes back.
	StartInstance(ctx context.Context, inst Instance) error
	// StopInstance stops a supervised process and stops supervising it.
	StopInstance(ctx context.Context, id string) error
	// InstanceStatus reports a supervised process. KindNotFound if the
	// agent does not know it.
	InstanceStatus(ctx context.Context, id string) (*InstanceStatus, error)
	// RemoveInstance stops an instance if it runs, forgets it, and removes
	// the given paths (its data and configuration).
	RemoveInstance(ctx context.Context, id string, paths []string) error
}

// HostFacts are what an agent reports about its host.
type HostFacts struct {
	Hostname string `json:"hostname"`
	Address  string `json:"address"` // the address the agent serves on
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	CPUs     int    `json:"cpus"`
	MemoryMB int64  `json:"memory_mb"`
	DiskGB   int64  `json:"disk_gb"` // free space under the agent's data root
	Region   string `json:"region,omitempty"`
	Zone     string `json:"zone,omitempty"`
	Rack     string `json:"rack,omitempty"`
	// DataRoot is where instances of this host keep their data.
	DataRoot string `json:"data_root"`
}

// File is a file for an agent to write.
type File struct {
	Path    string `json:"path"`
	Owner   string `json:"owner"`
	Mode    uint32 `json:"mode"`
	Content []byte `json:"content"`
}

// Command is a command for an agent to run.
type Command struct {
	User    string        `json:"user"` // OS user to run as
	Argv    []string      `json:"argv"`
	Env     []string      `json:"env,omitempty"`
	Dir     string        `json:"dir,omitempty"`
	Stdin   []byte        `json:"stdin,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

// CommandResult is the outcome of a command.
type CommandResult struct {
	ExitCode int    `json:"exit_code"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
}

// Instance is a process for an agent to supervise: one database node.
type Instance struct {
	ID   string   `json:"id"` // unique on the host, e.g. "pg-7-2"
	User string   `json:"user"`
	Argv []string `json:"argv"`
	Env  []string `json:"env,omitempty"`
	Dir  string   `json:"dir,omitempty"`
	// PIDFile, if set, is where the process writes its pid (postgres'
	// postmaster.pid): the agent re-adopts the process from it after a
	// restart.
	PIDFile string `json:"pid_file,omitempty"`
	// Log is a file the process's stdout and stderr are appended to.
	Log string `json:"log,omitempty"`
	// StopSignal is the signal that stops the process cleanly, by name
	// ("SIGINT", "SIGTERM"); empty means the agent's default, SIGINT.
	StopSignal string `json:"stop_signal,omitempty"`
	// Resources limits the process where the host supports it (cgroup
	// v2); InstanceStatus says whether the limits are enforced.
	Resources *Resources `json:"resources,omitempty"`
}

// Resources are the CPU and memory a supervised process may use.
type Resources struct {
	CPUMillis int   `json:"cpu_millis,omitempty"` // 1000 = one CPU
	MemoryMB  int64 `json:"memory_mb,omitempty"`
}

// InstanceStatus describes a supervised process.
type InstanceStatus struct {
	ID       string    `json:"id"`
	Running  bool      `json:"running"`
	PID      int       `json:"pid,omitempty"`
	Restarts int       `json:"restarts"`
	Since    time.Time `json:"since,omitempty"`
	// LimitsEnforced tells whether the instance's Resources are enforced;
	// LimitsNote says why not when they are not (no cgroup v2, say).
	LimitsEnforced bool   `json:"limits_enforced"`
	LimitsNote     string `json:"limits_note,omitempty"`
}

// AgentDialer returns the agent of a host, reached over mTLS. KindNotFound
// if the host does not exist; KindUnavailable if it cannot be reached.
type AgentDialer interface {
	Agent(ctx context.Context, hostID int64) (HostAgent, error)
}
