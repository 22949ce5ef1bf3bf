package dbplane

import (
	"context"
	"time"
)

// Engines dbplane can run.
const (
	EnginePostgreSQL = "postgresql"
	EngineMySQL      = "mysql" // MariaDB
	EngineRedis      = "redis"
)

// Topologies of a cluster.
const (
	TopologyStandalone   = "standalone"
	TopologyReplication  = "replication"
	TopologyGalera       = "galera"
	TopologyRedisCluster = "redis-cluster"
)

// Replication modes.
const (
	ReplicationAsync  = "async"
	ReplicationSync   = "sync"
	ReplicationQuorum = "quorum"
)

// ClusterStatus is the lifecycle state of a cluster.
type ClusterStatus string

// Cluster statuses.
const (
	ClusterCreating     ClusterStatus = "creating"
	ClusterRunning      ClusterStatus = "running"
	ClusterAbnormal     ClusterStatus = "abnormal"
	ClusterDegraded     ClusterStatus = "degraded"
	ClusterStopped      ClusterStatus = "stopped"
	ClusterDeleting     ClusterStatus = "deleting"
	ClusterFailed       ClusterStatus = "failed"
	ClusterDataDiskFull ClusterStatus = "data_disk_full"
	// ClusterStopping, ClusterStarting and ClusterRestarting hold while a
	// stop, start or restart task runs (OCP's STOPPING, STARTING and
	// RESTARTING).
	ClusterStopping   ClusterStatus = "stopping"
	ClusterStarting   ClusterStatus = "starting"
	ClusterRestarting ClusterStatus = "restarting"
)

// ClusterSpec is what a user asks for. Every front door translates its
// request into a ClusterSpec and validates it with ValidateClusterSpec.
type ClusterSpec struct {
	Name string `json:"name"`
	// Project names the owning project; empty means DefaultProject.
	Project          string   `json:"project,omitempty"`
	Engine           string   `json:"engine"`
	Version          string   `json:"version"`
	Topology         string   `json:"topology"`
	Nodes            int      `json:"nodes,omitempty"`              // total nodes; for redis-cluster derived from shards
	Shards           int      `json:"shards,omitempty"`             // redis-cluster only
	ReplicasPerShard int      `json:"replicas_per_shard,omitempty"` // redis-cluster only
	Flavor           string   `json:"flavor"`
	VolumeGB         int      `json:"volume_gb"`
	Zones            []string `json:"zones,omitempty"`
	// Hosts, when set, pins the nodes: node i goes on host Hosts[i] (so
	// the first is the primary), instead of on hosts dbplane chooses. It
	// lists one distinct host per node; front doors whose users name
	// servers (OCP's zones[].servers) set it.
	Hosts           []int64 `json:"hosts,omitempty"`
	PrimaryZone     string  `json:"primary_zone,omitempty"`
	ReplicationMode string  `json:"replication_mode,omitempty"`
	// Persistence is how Redis persists data: "rdb" (snapshots, the
	// default) or "aof" (append-only file). Redis only.
	Persistence string `json:"persistence,omitempty"`
	// SSL makes the database accept TLS clients, with server certificates
	// from the control plane's CA (Endpoints.CACert verifies them).
	SSL        bool              `json:"ssl,omitempty"`
	Password   string            `json:"password,omitempty"` // write-only: never returned
	Parameters map[string]string `json:"parameters,omitempty"`
	Allowlist  []string          `json:"allowlist,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	// StandbyOf makes the cluster a standby: the id of the running
	// cluster of the same engine it replicates from asynchronously (see
	// standby.go). 0 for an ordinary cluster.
	StandbyOf int64 `json:"standby_of,omitempty"`
}

// Redacted returns a copy of the spec without its password, safe to store in
// plain columns and to return to clients.
func (s ClusterSpec) Redacted() ClusterSpec {
	s.Password = ""
	return s
}

// NodeCount is the number of nodes the spec asks for: for a redis cluster
// its shards times their members, otherwise Nodes (at least one).
func (s ClusterSpec) NodeCount() int {
	if s.Topology == TopologyRedisCluster && s.Shards > 0 {
		return s.Shards * (1 + s.ReplicasPerShard)
	}
	return max(s.Nodes, 1)
}

// Cluster is a database cluster managed by dbplane.
type Cluster struct {
	ID        int64         `json:"id"`
	Name      string        `json:"name"`
	ProjectID int64         `json:"project_id"`
	Project   string        `json:"project"` // the project's name
	Engine    string        `json:"engine"`
	Version   string        `json:"version"`
	Topology  string        `json:"topology"`
	Status    ClusterStatus `json:"status"`
	Spec      ClusterSpec   `json:"spec"` // redacted
	Nodes     []Node        `json:"nodes"`
	// Endpoints tell clients where to connect; set once nodes are placed.
	Endpoints *Endpoints `json:"endpoints,omitempty"`
	// Replication is a standby cluster's replication from its source,
	// as last checked; nil for other clusters.
	Replication *ReplicationStatus `json:"replication,omitempty"`
	// Standbys are the clusters that replicate from this one.
	Standbys  []ClusterRef `json:"standbys,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Endpoints are a cluster's connection points.
type Endpoints struct {
	Primary  string   `json:"primary,omitempty"`  // host:port of the read-write node
	Replicas []string `json:"replicas,omitempty"` // host:port of read-only nodes
	// URI is a client connection string, e.g. a PostgreSQL multi-host URI
	// with target_session_attrs=read-write. It names the admin user but
	// never holds the password.
	URI string `json:"uri,omitempty"`
	// CACert is the PEM certificate of the CA that signed the nodes'
	// server certificates, set when the cluster has SSL on: clients verify
	// the server's name and chain with it.
	CACert string `json:"ca_cert,omitempty"`
}

// Node is one database process of a cluster on a host.
type Node struct {
	ID        int64     `json:"id"`
	ClusterID int64     `json:"cluster_id"`
	Ordinal   int       `json:"ordinal"` // 0..n-1 within the cluster; plans refer to nodes by it
	HostID    int64     `json:"host_id"`
	Address   string    `json:"address"` // the host's address, for clients
	Role      string    `json:"role"`    // primary, replica, member, shard-N-primary, …
	Port      int       `json:"port"`
	DataDir   string    `json:"data_dir"`
	MemoryMB  int64     `json:"memory_mb"` // memory promised on the host
	VolumeGB  int64     `json:"volume_gb"` // disk promised on the host
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// ClusterFilter selects clusters. Nil fields do not filter.
type ClusterFilter struct {
	Name   *string        `json:"name,omitempty"` // exact name
	Engine *string        `json:"engine,omitempty"`
	Status *ClusterStatus `json:"status,omitempty"`
	// ProjectID selects one project.
	ProjectID *int64 `json:"project_id,omitempty"`
	// ProjectIDs, when not nil, limits the result to these projects; it is
	// set by authorization, never by clients.
	ProjectIDs []int64 `json:"-"`
	Offset     int     `json:"offset,omitempty"`
	Limit      int     `json:"limit,omitempty"` // 0 means the default page size
}

// DefaultPageSize and MaxPageSize bound list results.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// ClusterService is the cluster API shared by every front door, implemented
// by the control plane (package service) and by the HTTP client.
type ClusterService interface {
	// CreateCluster validates spec, records the cluster and starts its
	// create task. With dryRun it returns the planned task without writing
	// anything (the cluster has ID 0). Returns KindInvalid naming the field
	// for a bad spec and KindConflict when the name is taken.
	CreateCluster(ctx context.Context, spec ClusterSpec, dryRun bool) (*Cluster, *Task, error)
	// FindClusterByID returns KindNotFound if the cluster does not exist.
	FindClusterByID(ctx context.Context, id int64) (*Cluster, error)
	// FindClusters returns a page of clusters and the total count.
	FindClusters(ctx context.Context, filter ClusterFilter) ([]*Cluster, int, error)
	// DeleteCluster starts the delete task of a cluster. Returns
	// KindNotFound, or KindConflict if it is already being deleted.
	DeleteCluster(ctx context.Context, id int64, dryRun bool) (*Task, error)
	// StopCluster starts the task that stops every node of a running,
	// degraded or abnormal cluster; the cluster ends stopped. Returns
	// KindNotFound, or KindConflict naming the cluster's status otherwise.
	StopCluster(ctx context.Context, id int64, dryRun bool) (*Task, error)
	// StartCluster starts the task that starts every node of a stopped
	// cluster; the cluster ends running. KindConflict unless it is stopped.
	StartCluster(ctx context.Context, id int64, dryRun bool) (*Task, error)
	// RestartCluster starts the task that restarts the nodes of a running,
	// degraded or abnormal cluster one at a time, keeping it available.
	// KindConflict in any other status.
	RestartCluster(ctx context.Context, id int64, dryRun bool) (*Task, error)
	// ChangePassword starts the task that sets a new admin password on a
	// running, degraded or abnormal cluster; the stored password is
	// replaced when it succeeds. KindInvalid naming "password" for a
	// password ValidateClusterSpec would refuse; KindConflict in another
	// status or for an engine that cannot change it yet.
	ChangePassword(ctx context.Context, id int64, password string, dryRun bool) (*Task, error)
	// UpdateParameters starts the task that changes parameters of a
	// running, degraded or abnormal cluster (an empty value removes one):
	// its nodes' configuration files, live where the engine allows, else
	// by a rolling restart; Spec.Parameters follows. KindInvalid naming
	// the parameter the engine refuses; KindConflict as ChangePassword.
	UpdateParameters(ctx context.Context, id int64, params map[string]string, dryRun bool) (*Task, error)
}
