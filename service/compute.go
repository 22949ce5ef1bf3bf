package service

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

var _ dbplane.ComputeService = (*Compute)(nil)

// Compute implements the compute inventory: regions, IDCs, host types, and
// hosts registered by address whose agents join later. Like the rest of the
// fleet it belongs to no project: reading needs a global read role,
// changing a global manage role.
type Compute struct {
	Store dbplane.ComputeStore
	// Wake tells the task engine a task was created; nil does nothing.
	Wake func()
	// Logger receives audit lines; nil discards them.
	Logger *slog.Logger
	// AgentWait bounds how long an add task waits for an agent, checking
	// every AgentWaitInterval; zero values take DefaultAgentWait and
	// DefaultAgentWaitInterval.
	AgentWait, AgentWaitInterval time.Duration
}

// CreateRegion inserts a region.
func (s *Compute) CreateRegion(ctx context.Context, r *dbplane.Region) error {
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return err
	}
	if err := validNamed(r.Name, r.Description); err != nil {
		return err
	}
	if err := s.Store.CreateRegion(ctx, r); err != nil {
		return err
	}
	dbplane.AuditTarget(ctx, target("region", r.ID), dbplane.GlobalScope)
	s.logger().InfoContext(ctx, "region created", "region_id", r.ID, "name", r.Name, "user", userName(ctx))
	return nil
}

// FindRegions returns a page of regions.
func (s *Compute) FindRegions(ctx context.Context, f dbplane.ComputeFilter) ([]*dbplane.Region, int, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, 0, err
	}
	return s.Store.FindRegions(ctx, f)
}

// FindRegionByID returns a region.
func (s *Compute) FindRegionByID(ctx context.Context, id int64) (*dbplane.Region, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, err
	}
	return s.Store.FindRegionByID(ctx, id)
}

// DeleteRegion removes a region that holds no IDC.
func (s *Compute) DeleteRegion(ctx context.Context, id int64) error {
	return s.remove(ctx, "region", id, s.Store.DeleteRegion)
}

// CreateIDC inserts an IDC in a region.
func (s *Compute) CreateIDC(ctx context.Context, d *dbplane.IDC) error {
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return err
	}
	err := validNamed(d.Name, d.Description)
	if d.RegionID < 1 {
		err = joinInvalid(err, dbplane.FieldError{Field: "region_id", Message: "required: the id of the IDC's region"})
	}
	if err != nil {
		return err
	}
	if err := s.Store.CreateIDC(ctx, d); err != nil {
		return err
	}
	dbplane.AuditTarget(ctx, target("idc", d.ID), dbplane.GlobalScope)
	s.logger().InfoContext(ctx, "IDC created", "idc_id", d.ID, "name", d.Name, "region", d.RegionName, "user", userName(ctx))
	return nil
}

// FindIDCs returns a page of IDCs.
func (s *Compute) FindIDCs(ctx context.Context, f dbplane.ComputeFilter) ([]*dbplane.IDC, int, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, 0, err
	}
	return s.Store.FindIDCs(ctx, f)
}

// FindIDCByID returns an IDC.
func (s *Compute) FindIDCByID(ctx context.Context, id int64) (*dbplane.IDC, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, err
	}
	return s.Store.FindIDCByID(ctx, id)
}

// DeleteIDC removes an IDC no host is in.
func (s *Compute) DeleteIDC(ctx context.Context, id int64) error {
	return s.remove(ctx, "idc", id, s.Store.DeleteIDC)
}

// CreateHostType inserts a host type.
func (s *Compute) CreateHostType(ctx context.Context, t *dbplane.HostType) error {
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return err
	}
	if err := validNamed(t.Name, t.Description); err != nil {
		return err
	}
	if err := s.Store.CreateHostType(ctx, t); err != nil {
		return err
	}
	dbplane.AuditTarget(ctx, target("host-type", t.ID), dbplane.GlobalScope)
	s.logger().InfoContext(ctx, "host type created", "host_type_id", t.ID, "name", t.Name, "user", userName(ctx))
	return nil
}

// FindHostTypes returns a page of host types.
func (s *Compute) FindHostTypes(ctx context.Context, f dbplane.ComputeFilter) ([]*dbplane.HostType, int, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, 0, err
	}
	return s.Store.FindHostTypes(ctx, f)
}

// FindHostTypeByID returns a host type.
func (s *Compute) FindHostTypeByID(ctx context.Context, id int64) (*dbplane.HostType, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, err
	}
	return s.Store.FindHostTypeByID(ctx, id)
}

// DeleteHostType removes a host type no host is of.
func (s *Compute) DeleteHostType(ctx context.Context, id int64) error {
	return s.remove(ctx, "host-type", id, s.Store.DeleteHostType)
}

// remove authorizes and runs the delete of one inventory record.
func (s *Compute) remove(ctx context.Context, kind string, id int64, del func(context.Context, int64) error) error {
	dbplane.AuditTarget(ctx, target(kind, id), dbplane.GlobalScope)
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return err
	}
	if err := del(ctx, id); err != nil {
		return err
	}
	s.logger().InfoContext(ctx, kind+" deleted", "id", id, "user", userName(ctx))
	return nil
}

// FindComputeHosts returns a page of hosts with their inventory.
func (s *Compute) FindComputeHosts(ctx context.Context, f dbplane.ComputeFilter) ([]*dbplane.ComputeHost, int, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, 0, err
	}
	return s.Store.FindComputeHosts(ctx, f)
}

// FindComputeHostByID returns a host with its inventory.
func (s *Compute) FindComputeHostByID(ctx context.Context, id int64) (*dbplane.ComputeHost, error) {
	if err := fleet(ctx, dbplane.ActionRead); err != nil {
		return nil, err
	}
	return s.Store.FindComputeHostByID(ctx, id)
}

// AddHosts registers hosts by address and starts the task that waits for
// their agents.
func (s *Compute) AddHosts(ctx context.Context, reg dbplane.HostRegistration) (*dbplane.Task, []*dbplane.ComputeHost, error) {
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return nil, nil, err
	}
	if err := validRegistration(&reg); err != nil {
		return nil, nil, err
	}
	hosts := make([]*dbplane.ComputeHost, len(reg.Hosts))
	for i, a := range reg.Hosts {
		inv := reg.Inventory
		inv.SerialNumber = a.SerialNumber
		hosts[i] = &dbplane.ComputeHost{Host: dbplane.Host{Address: a.Address}, Inventory: inv}
	}
	creator := userName(ctx)
	t, err := s.Store.RegisterHosts(ctx, hosts, func(hs []*dbplane.ComputeHost) dbplane.TaskPlan {
		return hostAddPlan(hs, creator, durationOr(s.AgentWait, DefaultAgentWait),
			durationOr(s.AgentWaitInterval, DefaultAgentWaitInterval))
	})
	if err != nil {
		return nil, nil, err
	}
	dbplane.AuditTarget(ctx, target("task", t.ID), dbplane.GlobalScope)
	ids := make([]string, len(hosts))
	for i, h := range hosts {
		ids[i] = strconv.FormatInt(h.ID, 10)
	}
	s.logger().InfoContext(ctx, "hosts registered", "host_ids", strings.Join(ids, ","), "task_id", t.ID, "user", creator)
	if s.Wake != nil {
		s.Wake()
	}
	return t, hosts, nil
}

// ImportHost takes in the host of an agent that joined already, or
// registers the address to wait for its agent.
func (s *Compute) ImportHost(ctx context.Context, address string, inv dbplane.HostInventory) (*dbplane.ComputeHost, *dbplane.Task, error) {
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return nil, nil, err
	}
	reg := dbplane.HostRegistration{Hosts: []dbplane.HostAddress{{Address: address, SerialNumber: inv.SerialNumber}}, Inventory: inv}
	if err := validRegistration(&reg); err != nil {
		return nil, nil, err
	}
	address = reg.Hosts[0].Address
	h, err := s.Store.FindComputeHostByAddress(ctx, address)
	switch {
	case dbplane.ErrorKind(err) == dbplane.KindNotFound:
		t, hosts, err := s.AddHosts(ctx, reg)
		if err != nil {
			return nil, nil, err
		}
		return hosts[0], t, nil
	case err != nil:
		return nil, nil, err
	case !h.Joined():
		return nil, nil, dbplane.Errorf(dbplane.KindConflict,
			"address %s is registered already as host %d, whose agent has not joined yet", address, h.ID)
	}
	dbplane.AuditTarget(ctx, target("host", h.ID), dbplane.GlobalScope)
	if h, err = s.Store.SetHostInventory(ctx, h.ID, reg.Inventory); err != nil {
		return nil, nil, err
	}
	s.logger().InfoContext(ctx, "host imported", "host_id", h.ID, "address", address, "idc", h.IDCName, "user", userName(ctx))
	return h, nil, nil
}

// DeleteHosts removes hosts, all or none.
func (s *Compute) DeleteHosts(ctx context.Context, ids []int64) error {
	if len(ids) == 1 {
		dbplane.AuditTarget(ctx, target("host", ids[0]), dbplane.GlobalScope)
	}
	if err := fleet(ctx, dbplane.ActionManage); err != nil {
		return err
	}
	if err := validHostIDs(ids); err != nil {
		return err
	}
	if err := s.Store.DeleteHosts(ctx, ids); err != nil {
		return err
	}
	s.logger().InfoContext(ctx, "hosts deleted", "host_ids", ids, "user", userName(ctx))
	return nil
}

// validIP returns the canonical form of an address that can be a host's,
// or false.
func validIP(s string) (string, bool) {
	ip := net.ParseIP(s)
	if ip == nil || ip.IsUnspecified() || ip.IsMulticast() {
		return "", false
	}
	return ip.String(), true
}

func (s *Compute) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}
