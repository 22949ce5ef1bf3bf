package service_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
)

// proberEngine is a fake MariaDB engine whose standbys answer st or err.
type proberEngine struct {
	fakeEngine
	st  dbplane.ReplicationStatus
	err error
}

func (p *proberEngine) ReplicationStatus(context.Context, *dbplane.Cluster) (dbplane.ReplicationStatus, error) {
	return p.st, p.err
}

func mariaSpec(name, project string) dbplane.ClusterSpec {
	return dbplane.ClusterSpec{Name: name, Project: project, Engine: dbplane.EngineMySQL, Version: "10.11",
		Topology: dbplane.TopologyGalera, Nodes: 3, Flavor: "dbp.c2.m4", VolumeGB: 20, Password: "Secret-Passw0rd"}
}

func TestStandbyValidation(t *testing.T) {
	w := newWorld(t)
	prober := &proberEngine{}
	w.svc.Engines[dbplane.EngineMySQL] = prober
	op := as(w.operator)
	src, _, err := w.svc.CreateCluster(op, mariaSpec("source", "alpha"), false)
	if err != nil {
		t.Fatal(err)
	}
	standby := func(name string, edit func(*dbplane.ClusterSpec)) dbplane.ClusterSpec {
		s := mariaSpec(name, "alpha")
		s.StandbyOf = src.ID
		if edit != nil {
			edit(&s)
		}
		return s
	}
	missing := "cluster 999 not found"
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		spec  dbplane.ClusterSpec
		field string
		msg   string
	}{
		{"SourceNotRunning", op, standby("stby", nil), "standby_of", "is creating, not running"},
		{"Unknown", op, standby("stby", func(s *dbplane.ClusterSpec) { s.StandbyOf = 999 }), "standby_of", missing},
		{"Negative", op, standby("stby", func(s *dbplane.ClusterSpec) { s.StandbyOf = -1 }), "standby_of", "must be the id"},
		{"OtherEngine", op, standby("stby", func(s *dbplane.ClusterSpec) {
			s.Engine, s.Version, s.Topology, s.ReplicationMode = dbplane.EnginePostgreSQL, "15", dbplane.TopologyReplication, dbplane.ReplicationAsync
		}), "standby_of", "MariaDB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := w.svc.CreateCluster(tc.ctx, tc.spec, true)
			wantKind(t, err, dbplane.KindInvalid, "")
			wantField(t, err, tc.field)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v; want it to say %q", err, tc.msg)
			}
		})
	}
	w.setStatus(t, src.ID, dbplane.ClusterRunning)

	t.Run("UnreadableSourceIsMissing", func(t *testing.T) {
		s := standby("stby", nil)
		s.Project = "beta"
		_, _, err := w.svc.CreateCluster(as(w.betaAdm), s, true)
		wantField(t, err, "standby_of")
		if want := "cluster " + strconv.FormatInt(src.ID, 10) + " not found"; !strings.Contains(err.Error(), want) {
			t.Fatalf("err %v; want %q, as for a missing cluster", err, want)
		}
	})
	t.Run("ReaderCannotProbeThePassword", func(t *testing.T) {
		// A global viewer reads the source but may not operate it: the
		// password check, an oracle of the source's password, is not
		// reached.
		_, _, err := w.svc.CreateCluster(as(w.gviewer), standby("stby", func(s *dbplane.ClusterSpec) { s.Password = "Other-Passw0rd" }), true)
		wantKind(t, err, dbplane.KindForbidden, "")
	})
	t.Run("WrongPassword", func(t *testing.T) {
		_, _, err := w.svc.CreateCluster(op, standby("stby", func(s *dbplane.ClusterSpec) { s.Password = "Other-Passw0rd" }), true)
		wantField(t, err, "password")
	})

	sb, _, err := w.svc.CreateCluster(op, standby("stby", nil), false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.svc.FindClusterByID(op, sb.ID)
	if err != nil || got.Spec.StandbyOf != src.ID || got.Replication == nil || got.Replication.State != dbplane.ReplicationPending ||
		got.Replication.Source.ID != src.ID {
		t.Fatalf("standby %+v (%v); want pending from %d", got, err, src.ID)
	}
	w.setStatus(t, sb.ID, dbplane.ClusterRunning)
	t.Run("StandbyOfStandby", func(t *testing.T) {
		_, _, err := w.svc.CreateCluster(op, standby("stby2", func(s *dbplane.ClusterSpec) { s.StandbyOf = sb.ID }), true)
		wantField(t, err, "standby_of")
	})
	t.Run("DeleteSourceRefused", func(t *testing.T) {
		_, err := w.svc.DeleteCluster(op, src.ID, true)
		wantKind(t, err, dbplane.KindConflict, "")
		if !strings.Contains(err.Error(), "stby ("+strconv.FormatInt(sb.ID, 10)+")") {
			t.Fatalf("err %v does not name the standby", err)
		}
	})

	t.Run("Monitor", func(t *testing.T) {
		now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
		lag := int64(2)
		prober.st = dbplane.ReplicationStatus{State: dbplane.ReplicationStreaming, IORunning: true, SQLRunning: true, LagSeconds: &lag, Position: "9-1-4"}
		m := &service.StandbyMonitor{Store: w.db, Engines: w.svc.Engines, Now: func() time.Time { return now }}
		if err := m.CheckAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, err := w.svc.FindClusterByID(op, sb.ID)
		if err != nil {
			t.Fatal(err)
		}
		r := got.Replication
		if r.State != dbplane.ReplicationStreaming || r.LagSeconds == nil || *r.LagSeconds != 2 || r.CheckedAt == nil || !r.CheckedAt.Equal(now) {
			t.Fatalf("replication %+v after a check", r)
		}
		prober.err = errors.New("host 3 is away")
		if err := m.CheckAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, _ = w.svc.FindClusterByID(op, sb.ID)
		if r := got.Replication; r.State != dbplane.ReplicationUnknown || !strings.Contains(r.LastError, "host 3 is away") || !r.CheckedAt.Equal(now) {
			t.Fatalf("replication %+v after a failed check; want unknown, keeping the last answer", r)
		}
		src, _ := w.svc.FindClusterByID(op, src.ID)
		if src.Replication != nil || len(src.Standbys) != 1 {
			t.Fatalf("source replication %+v, standbys %+v", src.Replication, src.Standbys)
		}
	})
}
