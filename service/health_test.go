package service_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
)

// fakeAgent answers Facts; its other HostAgent methods are not called by
// the health monitor (the nil embedded interface would panic).
type fakeAgent struct {
	dbplane.HostAgent
	facts dbplane.HostFacts
	err   error
}

func (a *fakeAgent) Facts(context.Context) (dbplane.HostFacts, error) { return a.facts, a.err }

// fakeDialer reaches the fake agents by host id; a host without one is
// unreachable.
type fakeDialer struct {
	mu     sync.Mutex
	agents map[int64]*fakeAgent
	calls  map[int64]int
}

func (d *fakeDialer) Agent(_ context.Context, hostID int64) (dbplane.HostAgent, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[hostID]++
	if a, ok := d.agents[hostID]; ok {
		return a, nil
	}
	return nil, dbplane.Errorf(dbplane.KindUnavailable, "host %d: connection refused", hostID)
}

func (d *fakeDialer) set(hostID int64, a *fakeAgent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if a == nil {
		delete(d.agents, hostID)
	} else {
		d.agents[hostID] = a
	}
}

func TestHealthMonitor(t *testing.T) {
	f := newHostsFixture(t)
	ctx := context.Background()
	joined, err := f.svc.Join(ctx, joinRequest(t, f.mustToken(t), "db1", "127.0.0.11"))
	if err != nil {
		t.Fatal(err)
	}
	id := joined.HostID
	var logs bytes.Buffer
	d := &fakeDialer{agents: map[int64]*fakeAgent{}, calls: map[int64]int{}}
	m := &service.HealthMonitor{Store: f.db, Dialer: d, Now: f.clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	step := func(d time.Duration, want dbplane.HostStatus) *dbplane.Host {
		t.Helper()
		f.advance(d)
		if err := m.CheckAll(ctx); err != nil {
			t.Fatal(err)
		}
		h, err := f.db.FindHostByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if h.Status != want {
			t.Fatalf("at +%v: status %s, want %s", d, h.Status, want)
		}
		return h
	}

	// Not reachable yet: NEW stays NEW, however long.
	step(0, dbplane.HostNew)
	step(time.Minute, dbplane.HostNew)

	facts := dbplane.HostFacts{Hostname: "db1", Address: "127.0.0.11", OS: "debian 12", Arch: "amd64", CPUs: 8,
		MemoryMB: 16384, DiskGB: 42}
	d.set(id, &fakeAgent{facts: facts})
	h := step(2*time.Second, dbplane.HostOnline)
	if h.LastSeenAt == nil || !h.LastSeenAt.Equal(f.clock()) || h.OS != "debian 12" || h.CPUs != 8 || h.DiskGB != 42 {
		t.Fatalf("after a success: %+v", h)
	}

	// The agent dies: the host stays ONLINE while last seen within 6 s,
	// and is OFFLINE at the first failed check after that.
	d.set(id, &fakeAgent{err: errors.New("connection refused")})
	step(2*time.Second, dbplane.HostOnline)
	step(2*time.Second, dbplane.HostOnline)
	step(2*time.Second, dbplane.HostOnline) // last seen exactly 6 s ago
	step(2*time.Second, dbplane.HostOffline)
	if !strings.Contains(logs.String(), "host offline") {
		t.Errorf("no log line for the host going offline:\n%s", logs.String())
	}

	// It comes back.
	d.set(id, &fakeAgent{facts: facts})
	step(2*time.Second, dbplane.HostOnline)

	// DELETING hosts are not checked.
	if _, err := f.db.SQL().Exec(`UPDATE hosts SET status = 'DELETING'`); err != nil {
		t.Fatal(err)
	}
	before := d.calls[id]
	step(2*time.Second, dbplane.HostDeleting)
	if d.calls[id] != before {
		t.Fatal("a DELETING host was checked")
	}
}

// TestHealthMonitor_Run runs the monitor on real time with short periods
// and a hanging agent: the Timeout bounds each check, and the host goes
// OFFLINE.
func TestHealthMonitor_Run(t *testing.T) {
	f := newHostsFixture(t)
	ctx := context.Background()
	joined, err := f.svc.Join(ctx, joinRequest(t, f.mustToken(t), "db1", "127.0.0.11"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetHostOnline(ctx, joined.HostID, dbplane.HostFacts{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	hang := &hangingAgent{}
	m := &service.HealthMonitor{Store: f.db, Dialer: hangDialer{hang}, Interval: 10 * time.Millisecond,
		Timeout: 20 * time.Millisecond, OfflineAfter: 50 * time.Millisecond}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		h, err := f.db.FindHostByID(ctx, joined.HostID)
		if err != nil {
			t.Fatal(err)
		}
		if h.Status == dbplane.HostOffline {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s after 5 s, want OFFLINE", h.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if hang.calls() == 0 {
		t.Fatal("the agent was never asked")
	}
}

// hangingAgent's Facts blocks until its context ends, like an agent that
// accepts connections but never answers.
type hangingAgent struct {
	dbplane.HostAgent
	mu sync.Mutex
	n  int
}

func (a *hangingAgent) Facts(ctx context.Context) (dbplane.HostFacts, error) {
	a.mu.Lock()
	a.n++
	a.mu.Unlock()
	<-ctx.Done()
	return dbplane.HostFacts{}, ctx.Err()
}

func (a *hangingAgent) calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

type hangDialer struct{ a *hangingAgent }

func (d hangDialer) Agent(context.Context, int64) (dbplane.HostAgent, error) { return d.a, nil }
