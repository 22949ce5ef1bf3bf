package dbplane

import "time"

// A standby cluster replicates asynchronously from a source cluster of the
// same engine (ClusterSpec.StandbyOf): it holds the source's data, lagging
// by what the source wrote since its last applied transaction, and serves
// reads only. A control-plane monitor checks its replication and records
// what it found in Cluster.Replication.

// Replication states of a standby.
const (
	// ReplicationPending: the standby has not been checked yet (it is
	// being created, or the monitor has not come round).
	ReplicationPending = "pending"
	// ReplicationStreaming: both replication threads run.
	ReplicationStreaming = "streaming"
	// ReplicationStopped: a thread does not run, without an error.
	ReplicationStopped = "stopped"
	// ReplicationError: a thread stopped on an error (LastError says it).
	ReplicationError = "error"
	// ReplicationUnknown: the standby could not be asked (its host or
	// server is down); the other fields are those of the last answer.
	ReplicationUnknown = "unknown"
)

// ClusterRef names a cluster.
type ClusterRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// ReplicationStatus is a standby's replication from its source.
type ReplicationStatus struct {
	// Source is the cluster the standby replicates from.
	Source ClusterRef `json:"source"`
	// State is one of the Replication* states.
	State string `json:"state"`
	// IORunning and SQLRunning tell whether the threads that receive and
	// apply the source's transactions run.
	IORunning  bool `json:"io_running"`
	SQLRunning bool `json:"sql_running"`
	// LagSeconds is how far the applied transactions are behind the
	// source (MariaDB's Seconds_Behind_Master); nil when not known.
	LagSeconds *int64 `json:"lag_seconds,omitempty"`
	// Position is the source's GTID position the standby has applied.
	Position string `json:"position,omitempty"`
	// LastError is the last replication error, if any.
	LastError string `json:"last_error,omitempty"`
	// CheckedAt is when the standby last answered; nil if never.
	CheckedAt *time.Time `json:"checked_at,omitempty"`
}
