package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/dbplane/dbplane"
)

// Health check defaults. With them an agent that dies is OFFLINE within
// OfflineAfter plus one Interval plus one Timeout: 10 s.
const (
	DefaultHealthInterval = 2 * time.Second
	DefaultHealthTimeout  = 2 * time.Second
	DefaultOfflineAfter   = 6 * time.Second
)

// healthParallel bounds the checks in flight, so a fleet of unreachable
// hosts does not open a connection to each at once.
const healthParallel = 32

// HealthMonitor sets the status of hosts from their agents' answers: every
// Interval it asks each host's agent for its facts. An answer makes the host
// ONLINE, records when it was seen and refreshes its facts; a host that has
// not answered for OfflineAfter becomes OFFLINE. A NEW host stays NEW until
// its agent first answers. Several control planes may run one each: the
// store's updates are conditional, so they do not undo each other.
type HealthMonitor struct {
	Store  dbplane.HostStore
	Dialer dbplane.AgentDialer
	// Interval between rounds of checks; 0 means DefaultHealthInterval.
	Interval time.Duration
	// Timeout of one check; 0 means DefaultHealthTimeout.
	Timeout time.Duration
	// OfflineAfter is how long a host may go unseen before it is
	// OFFLINE; 0 means DefaultOfflineAfter.
	OfflineAfter time.Duration
	// Logger receives status changes; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run checks every host each Interval until ctx ends.
func (m *HealthMonitor) Run(ctx context.Context) {
	t := time.NewTicker(durationOr(m.Interval, DefaultHealthInterval))
	defer t.Stop()
	for {
		if err := m.CheckAll(ctx); err != nil && ctx.Err() == nil {
			m.logger().WarnContext(ctx, "health check round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckAll runs one round: it checks every host that has an agent and is
// not DELETING, in parallel, and returns once all are done. It fails only
// when the hosts cannot be listed; failed checks are what it records.
func (m *HealthMonitor) CheckAll(ctx context.Context) error {
	hosts, err := m.allHosts(ctx)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, healthParallel)
	for _, h := range hosts {
		if h.Status == dbplane.HostDeleting || !h.Joined() {
			continue // no agent to ask: a host registered by address waits for its agent to join
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m.check(ctx, h)
		})
	}
	wg.Wait()
	return nil
}

func (m *HealthMonitor) allHosts(ctx context.Context) ([]*dbplane.Host, error) {
	var all []*dbplane.Host
	for {
		page, total, err := m.Store.FindHosts(ctx, dbplane.HostFilter{Offset: len(all), Limit: dbplane.MaxPageSize})
		if err != nil {
			return nil, dbplane.E("service.HealthMonitor", err)
		}
		all = append(all, page...)
		if len(page) == 0 || len(all) >= total {
			return all, nil
		}
	}
}

// check asks one host's agent for its facts and records the outcome.
func (m *HealthMonitor) check(ctx context.Context, h *dbplane.Host) {
	facts, err := m.facts(ctx, h.ID)
	if ctx.Err() != nil {
		return // shutting down: a canceled check says nothing of the host
	}
	log := m.logger().With("host_id", h.ID, "address", h.Address)
	if err == nil {
		if err := m.Store.SetHostOnline(ctx, h.ID, facts, m.now()); err != nil {
			log.WarnContext(ctx, "cannot record a health check", "err", err)
		} else if h.Status != dbplane.HostOnline {
			log.InfoContext(ctx, "host online", "was", h.Status)
		}
		return
	}
	changed, serr := m.Store.SetHostOffline(ctx, h.ID, m.now().Add(-durationOr(m.OfflineAfter, DefaultOfflineAfter)))
	switch {
	case serr != nil:
		log.WarnContext(ctx, "cannot record a health check", "err", serr)
	case changed:
		log.WarnContext(ctx, "host offline", "err", err, "last_seen_at", h.LastSeenAt)
	default:
		log.DebugContext(ctx, "health check failed", "err", err)
	}
}

func (m *HealthMonitor) facts(ctx context.Context, hostID int64) (dbplane.HostFacts, error) {
	ctx, cancel := context.WithTimeout(ctx, durationOr(m.Timeout, DefaultHealthTimeout))
	defer cancel()
	a, err := m.Dialer.Agent(ctx, hostID)
	if err != nil {
		return dbplane.HostFacts{}, err
	}
	return a.Facts(ctx)
}

func durationOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (m *HealthMonitor) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *HealthMonitor) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.New(slog.DiscardHandler)
}
