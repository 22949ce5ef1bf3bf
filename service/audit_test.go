package service_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/service"
)

func TestAudit(t *testing.T) {
	w := newWorld(t)
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	audit := &service.Audit{Store: w.db, Now: func() time.Time { return now }}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, e := range []*dbplane.AuditEvent{
		{User: "olga", ProjectID: w.alpha.ID, FrontDoor: "v1", Action: "cluster.create", Target: "cluster/1", Result: dbplane.AuditResultSuccess, Status: 201},
		{User: "bea", ProjectID: w.beta.ID, FrontDoor: "v1", Action: "cluster.delete", Target: "cluster/2", Result: "forbidden", Status: 403},
		{User: "root", FrontDoor: "v1", Action: "host.delete", Target: "host/3", Result: dbplane.AuditResultSuccess, Status: 204},
	} {
		// A client that hung up does not stop its call's record.
		audit.Record(canceled, e)
		if e.ID == 0 {
			t.Fatalf("event %+v not recorded", e)
		}
	}

	all, total, err := audit.FindAuditEvents(as(w.admin), dbplane.AuditFilter{})
	if err != nil || total != 3 {
		t.Fatalf("a global admin sees %d events, %v; want 3", total, err)
	}
	for _, e := range all {
		if !e.Time.Equal(now) {
			t.Fatalf("event time %v, want the clock's %v", e.Time, now)
		}
		if e.ProjectID == w.alpha.ID && e.Project != "alpha" {
			t.Fatalf("event of alpha names project %q", e.Project)
		}
	}
	es, total, err := audit.FindAuditEvents(as(w.betaAdm), dbplane.AuditFilter{})
	if err != nil || total != 1 || es[0].Project != "beta" {
		t.Fatalf("beta's admin sees %v (%d), %v; want beta's one event", es, total, err)
	}
	// Asking for another project's events yields nothing.
	if _, total, err := audit.FindAuditEvents(as(w.betaAdm), dbplane.AuditFilter{ProjectID: &w.alpha.ID}); err != nil || total != 0 {
		t.Fatalf("beta's admin sees %d of alpha's events, %v", total, err)
	}
	for _, p := range []*dbplane.Principal{w.operator, w.gviewer, w.nobody} {
		_, _, err := audit.FindAuditEvents(as(p), dbplane.AuditFilter{})
		wantKind(t, err, dbplane.KindForbidden, "")
	}
	_, _, err = audit.FindAuditEvents(context.Background(), dbplane.AuditFilter{})
	wantKind(t, err, dbplane.KindUnauthorized, "")
}

// failingAuditStore refuses every event.
type failingAuditStore struct{ service.AuditRecordStore }

func (failingAuditStore) RecordAudit(context.Context, *dbplane.AuditEvent) error {
	return errors.New("disk full")
}

// TestAudit_RecordFailure: a store failure is logged with the event, and
// the call goes on.
func TestAudit_RecordFailure(t *testing.T) {
	var log bytes.Buffer
	audit := &service.Audit{Store: failingAuditStore{mustOpenStore(t)}, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	audit.Record(context.Background(), &dbplane.AuditEvent{User: "olga", Action: "cluster.create", RequestID: "req-42", Result: "success"})
	if !strings.Contains(log.String(), "req-42") || !strings.Contains(log.String(), "disk full") {
		t.Fatalf("log %q does not name the lost event and the cause", log.String())
	}
}
