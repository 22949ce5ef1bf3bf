package service

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/dbplane/dbplane"
)

// DefaultStandbyInterval is how often the standby monitor checks each
// standby by default.
const DefaultStandbyInterval = 5 * time.Second

// standbyParallel bounds the checks in flight.
const standbyParallel = 8

// ReplicationProber is implemented by engines whose clusters can be
// standbys: it asks a standby how its replication from the source stands.
type ReplicationProber interface {
	ReplicationStatus(ctx context.Context, c *dbplane.Cluster) (dbplane.ReplicationStatus, error)
}

// StandbyStore is what the standby monitor reads and writes.
type StandbyStore interface {
	FindClusters(ctx context.Context, filter dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error)
	SetReplicationStatus(ctx context.Context, clusterID int64, st dbplane.ReplicationStatus) error
}

// StandbyMonitor records how standby clusters replicate: every Interval it
// asks each standby that is up (running, degraded or abnormal) through its
// engine, which reads SHOW REPLICA STATUS on the replicating node over the
// node's agent, and stores the threads' state, the lag, the position and
// the last error with the time of the answer. A standby that cannot be
// asked is recorded as unknown with why, keeping its last answer. Clusters
// read through the API carry what was stored (Cluster.Replication), so a
// read never waits on an agent. Several control planes may run one each:
// each check overwrites the last with fresher data.
type StandbyMonitor struct {
	Store StandbyStore
	// Engines are the service's engines by name; those that implement
	// ReplicationProber are asked about their standbys.
	Engines map[string]ClusterEngine
	// Interval between rounds; 0 means DefaultStandbyInterval.
	Interval time.Duration
	// Logger receives failed checks; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run checks the standbys each Interval until ctx ends.
func (m *StandbyMonitor) Run(ctx context.Context) {
	t := time.NewTicker(durationOr(m.Interval, DefaultStandbyInterval))
	defer t.Stop()
	for {
		if err := m.CheckAll(ctx); err != nil && ctx.Err() == nil {
			m.logger().WarnContext(ctx, "standby check round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// upStatuses are the statuses in which a standby is asked.
var upStatuses = []dbplane.ClusterStatus{dbplane.ClusterRunning, dbplane.ClusterDegraded, dbplane.ClusterAbnormal}

// CheckAll runs one round: it checks every standby that is up, in
// parallel, and returns once all are done. It fails only when the
// clusters cannot be listed.
func (m *StandbyMonitor) CheckAll(ctx context.Context) error {
	var all []*dbplane.Cluster
	for {
		page, total, err := m.Store.FindClusters(ctx, dbplane.ClusterFilter{Offset: len(all), Limit: dbplane.MaxPageSize})
		if err != nil {
			return dbplane.E("service.StandbyMonitor", err)
		}
		all = append(all, page...)
		if len(page) == 0 || len(all) >= total {
			break
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, standbyParallel)
	for _, c := range all {
		p, ok := m.Engines[c.Engine].(ReplicationProber)
		if !ok || c.Spec.StandbyOf == 0 || !slices.Contains(upStatuses, c.Status) {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m.check(ctx, p, c)
		})
	}
	wg.Wait()
	return nil
}

// check asks one standby and records the answer.
func (m *StandbyMonitor) check(ctx context.Context, p ReplicationProber, c *dbplane.Cluster) {
	st, err := p.ReplicationStatus(ctx, c)
	if ctx.Err() != nil {
		return // shutting down: a canceled check says nothing
	}
	if err != nil {
		st = dbplane.ReplicationStatus{State: dbplane.ReplicationUnknown, LastError: "cannot ask the standby: " + err.Error()}
	} else {
		now := m.now().UTC()
		st.CheckedAt = &now
	}
	if err := m.Store.SetReplicationStatus(ctx, c.ID, st); err != nil && dbplane.ErrorKind(err) != dbplane.KindNotFound {
		m.logger().WarnContext(ctx, "cannot record a standby check", "cluster_id", c.ID, "err", err)
	}
}

func (m *StandbyMonitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *StandbyMonitor) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.New(slog.DiscardHandler)
}
