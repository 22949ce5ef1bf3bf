package dbplane

import (
	"context"
	"time"
)

// The compute inventory records where hosts are and what they are, in the
// terms of OCP's compute API: regions hold IDCs (data centers), and a host
// is in one IDC and of one host type. A host's Zone is its IDC's name and
// its Region the IDC's region's name, so that placement by zone and OCP's
// idcName mean the same thing.

// TaskKindHostAdd is the kind of the task that registers hosts by address
// and waits for their agents to join.
const TaskKindHostAdd = "host.add"

// MaxHostsPerAdd bounds the hosts one add registers, as OCP does.
const MaxHostsPerAdd = 50

// Host kinds, OCP's values.
const (
	HostKindPhysical  = "DEDICATED_PHYSICAL_MACHINE"
	HostKindContainer = "DEDICATED_CONTAINER"
	HostKindECS       = "DEDICATED_ECS"
)

// HostKinds lists the valid host kinds.
var HostKinds = []string{HostKindPhysical, HostKindContainer, HostKindECS}

// Region is a geographic region that holds IDCs.
type Region struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// IDC is a data center in a region: hosts are in one.
type IDC struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	RegionID    int64     `json:"region_id"`
	RegionName  string    `json:"region_name"` // read only
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// HostType is a class of machines (a hardware model, say) hosts are of.
type HostType struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// HostInventory is what an administrator records of a host beyond what its
// agent reports. IDCID and TypeID are 0 for a host that joined on its own.
type HostInventory struct {
	IDCID        int64    `json:"idc_id,omitempty"`
	TypeID       int64    `json:"type_id,omitempty"`
	Kind         string   `json:"kind,omitempty"`
	SSHPort      int      `json:"ssh_port,omitempty"`
	SerialNumber string   `json:"serial_number,omitempty"`
	Alias        string   `json:"alias,omitempty"`
	Description  string   `json:"description,omitempty"`
	VpcID        int64    `json:"vpc_id,omitempty"`
	PublishPorts []string `json:"publish_ports,omitempty"`
}

// ComputeHost is a host with its inventory and the names it refers to.
type ComputeHost struct {
	Host
	Inventory      HostInventory `json:"inventory"`
	IDCName        string        `json:"idc_name,omitempty"`
	IDCDescription string        `json:"idc_description,omitempty"`
	RegionID       int64         `json:"region_id,omitempty"`
	RegionName     string        `json:"region_name,omitempty"`
	TypeName       string        `json:"type_name,omitempty"`
}

// Joined reports whether an agent has joined for the host: a host
// registered by address has no agent port until its agent joins.
func (h *Host) Joined() bool { return h.AgentPort != 0 }

// HostAddress is one host to register: its address and serial number.
type HostAddress struct {
	Address      string `json:"address"`
	SerialNumber string `json:"serial_number,omitempty"`
}

// HostRegistration registers hosts by address, all with one inventory
// (whose SerialNumber each host's overrides).
type HostRegistration struct {
	Hosts     []HostAddress `json:"hosts"`
	Inventory HostInventory `json:"inventory"`
}

// ComputeFilter pages a compute listing.
type ComputeFilter struct {
	Offset int `json:"offset,omitempty"`
	Limit  int `json:"limit,omitempty"`
}

// ComputeService is the compute inventory API. Reads need a global read
// role, changes a global manage role: the inventory belongs to no project.
type ComputeService interface {
	// CreateRegion inserts r and sets its ID and times. KindConflict if
	// its name is taken.
	CreateRegion(ctx context.Context, r *Region) error
	// FindRegions returns a page of regions (ordered by id) and the total.
	FindRegions(ctx context.Context, f ComputeFilter) ([]*Region, int, error)
	// FindRegionByID returns KindNotFound if missing.
	FindRegionByID(ctx context.Context, id int64) (*Region, error)
	// DeleteRegion removes a region. KindConflict while it holds IDCs.
	DeleteRegion(ctx context.Context, id int64) error

	// CreateIDC inserts an IDC in region d.RegionID (KindInvalid naming
	// region_id if missing). KindConflict if its name is taken.
	CreateIDC(ctx context.Context, d *IDC) error
	// FindIDCs returns a page of IDCs (ordered by id) and the total.
	FindIDCs(ctx context.Context, f ComputeFilter) ([]*IDC, int, error)
	// FindIDCByID returns KindNotFound if missing.
	FindIDCByID(ctx context.Context, id int64) (*IDC, error)
	// DeleteIDC removes an IDC. KindConflict while hosts are in it.
	DeleteIDC(ctx context.Context, id int64) error

	// CreateHostType inserts t. KindConflict if its name is taken.
	CreateHostType(ctx context.Context, t *HostType) error
	// FindHostTypes returns a page of host types and the total.
	FindHostTypes(ctx context.Context, f ComputeFilter) ([]*HostType, int, error)
	// FindHostTypeByID returns KindNotFound if missing.
	FindHostTypeByID(ctx context.Context, id int64) (*HostType, error)
	// DeleteHostType removes a host type. KindConflict while hosts are of
	// it.
	DeleteHostType(ctx context.Context, id int64) error

	// FindComputeHosts returns a page of hosts with their inventory.
	FindComputeHosts(ctx context.Context, f ComputeFilter) ([]*ComputeHost, int, error)
	// FindComputeHostByID returns KindNotFound if missing.
	FindComputeHostByID(ctx context.Context, id int64) (*ComputeHost, error)
	// AddHosts registers hosts by address (status NEW, no agent yet) and
	// starts the task that waits for their agents to join. KindConflict if
	// an address is registered already; KindInvalid naming the field.
	AddHosts(ctx context.Context, reg HostRegistration) (*Task, []*ComputeHost, error)
	// ImportHost takes in the host at address: if its agent joined
	// already, it records inv for it and returns it (and no task);
	// otherwise it registers it as AddHosts does and returns the task.
	ImportHost(ctx context.Context, address string, inv HostInventory) (*ComputeHost, *Task, error)
	// DeleteHosts removes hosts, all or none. KindNotFound if one is
	// missing; KindConflict while nodes are placed on one.
	DeleteHosts(ctx context.Context, ids []int64) error
}

// ComputeStore persists the compute inventory.
type ComputeStore interface {
	CreateRegion(ctx context.Context, r *Region) error
	FindRegions(ctx context.Context, f ComputeFilter) ([]*Region, int, error)
	FindRegionByID(ctx context.Context, id int64) (*Region, error)
	DeleteRegion(ctx context.Context, id int64) error
	CreateIDC(ctx context.Context, d *IDC) error
	FindIDCs(ctx context.Context, f ComputeFilter) ([]*IDC, int, error)
	FindIDCByID(ctx context.Context, id int64) (*IDC, error)
	DeleteIDC(ctx context.Context, id int64) error
	CreateHostType(ctx context.Context, t *HostType) error
	FindHostTypes(ctx context.Context, f ComputeFilter) ([]*HostType, int, error)
	FindHostTypeByID(ctx context.Context, id int64) (*HostType, error)
	DeleteHostType(ctx context.Context, id int64) error

	FindComputeHosts(ctx context.Context, f ComputeFilter) ([]*ComputeHost, int, error)
	FindComputeHostByID(ctx context.Context, id int64) (*ComputeHost, error)
	// FindComputeHostByAddress returns KindNotFound if no host has it.
	FindComputeHostByAddress(ctx context.Context, address string) (*ComputeHost, error)
	// RegisterHosts inserts hosts (status NEW, named by their address,
	// in the zone and region of their IDC) with their inventory, and the
	// task plan returns for the inserted hosts, in one transaction; it
	// sets each host's ID. KindConflict if an address is taken;
	// KindInvalid naming idc_id or type_id if one is missing.
	RegisterHosts(ctx context.Context, hosts []*ComputeHost, plan func([]*ComputeHost) TaskPlan) (*Task, error)
	// SetHostInventory records inv for a host and moves it to the zone
	// and region of its IDC. KindNotFound if the host is missing.
	SetHostInventory(ctx context.Context, hostID int64, inv HostInventory) (*ComputeHost, error)
	// DeleteHosts removes hosts in one transaction, all or none.
	DeleteHosts(ctx context.Context, ids []int64) error
	// ForgetNewHost removes a host if it is still NEW and reports whether
	// it did; a missing host is no error.
	ForgetNewHost(ctx context.Context, id int64) (bool, error)
}
