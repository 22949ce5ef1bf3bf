package dbplane

import (
	"context"
	"time"
)

// HostStatus is the state of a host, from its agent's health checks.
type HostStatus string

// Host statuses.
const (
	HostNew      HostStatus = "NEW"
	HostOnline   HostStatus = "ONLINE"
	HostOffline  HostStatus = "OFFLINE"
	HostDeleting HostStatus = "DELETING"
)

// Host is a machine managed by a dbplane agent.
type Host struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`       // hostname
	Address    string     `json:"address"`    // IP the host's databases listen on
	AgentPort  int        `json:"agent_port"` // the agent's mTLS API listens on Address:AgentPort
	DataRoot   string     `json:"data_root,omitempty"`
	Drained    bool       `json:"drained"` // takes no new nodes
	Region     string     `json:"region,omitempty"`
	Zone       string     `json:"zone,omitempty"` // OCP: idc
	Rack       string     `json:"rack,omitempty"`
	OS         string     `json:"os,omitempty"`
	Arch       string     `json:"arch,omitempty"`
	CPUs       int        `json:"cpus"`
	MemoryMB   int64      `json:"memory_mb"`
	DiskGB     int64      `json:"disk_gb"`
	Status     HostStatus `json:"status"`
	LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// HostFilter selects hosts. Nil fields do not filter.
type HostFilter struct {
	Status *HostStatus `json:"status,omitempty"`
	Zone   *string     `json:"zone,omitempty"`
	Offset int         `json:"offset,omitempty"`
	Limit  int         `json:"limit,omitempty"`
}

// HostService is the host API shared by every front door.
type HostService interface {
	// FindHosts returns a page of hosts and the total count.
	FindHosts(ctx context.Context, filter HostFilter) ([]*Host, int, error)
}
