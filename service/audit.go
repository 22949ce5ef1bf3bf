package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/dbplane/dbplane"
)

var _ dbplane.AuditService = (*Audit)(nil)

// AuditRecordStore is what Audit keeps events in, and where it finds the
// names of their projects.
type AuditRecordStore interface {
	dbplane.AuditStore
	FindProjectByID(ctx context.Context, id int64) (*dbplane.Project, error)
}

// auditWriteTimeout bounds recording one event, which outlives the request
// it records.
const auditWriteTimeout = 5 * time.Second

// Audit records the audit events of front doors and lists them to those
// allowed to read them.
type Audit struct {
	Store AuditRecordStore
	// Logger hears of events that could not be recorded. Nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Record stores e, filling in its time and its project's name. It never
// fails the request it records: a store error is logged, with the event,
// and the call goes on. It records even when ctx is canceled (a client that
// hung up), since the call it records may have changed something.
func (a *Audit) Record(ctx context.Context, e *dbplane.AuditEvent) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditWriteTimeout)
	defer cancel()
	if e.Time.IsZero() {
		e.Time = a.now().UTC()
	}
	if e.ProjectID != dbplane.GlobalScope && e.Project == "" {
		if p, err := a.Store.FindProjectByID(ctx, e.ProjectID); err == nil {
			e.Project = p.Name
		} else if dbplane.ErrorKind(err) != dbplane.KindNotFound {
			a.logger().WarnContext(ctx, "audit event without its project's name", "project_id", e.ProjectID, "err", err)
		}
	}
	if err := a.Store.RecordAudit(ctx, e); err != nil {
		a.logger().ErrorContext(ctx, "recording an audit event failed", "err", err,
			"user", e.User, "action", e.Action, "target", e.Target, "result", e.Result,
			"status", e.Status, "front_door", e.FrontDoor, "request_id", e.RequestID)
	}
}

// FindAuditEvents lists audit events, newest first: all of them to global
// admins, those of their projects to project admins.
func (a *Audit) FindAuditEvents(ctx context.Context, f dbplane.AuditFilter) ([]*dbplane.AuditEvent, int, error) {
	p, err := authenticated(ctx)
	if err != nil {
		return nil, 0, err
	}
	if all, mine := p.Projects(dbplane.ActionManage); !all && len(mine) == 0 {
		return nil, 0, decide(p, dbplane.ActionManage, resource{project: dbplane.GlobalScope})
	}
	ids, err := readableProjects(ctx, dbplane.ActionManage, f.ProjectIDs)
	if err != nil {
		return nil, 0, err
	}
	if ids != nil && len(ids) == 0 {
		return []*dbplane.AuditEvent{}, 0, nil
	}
	f.ProjectIDs = ids
	return a.Store.FindAuditEvents(ctx, f)
}

func (a *Audit) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Audit) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.New(slog.DiscardHandler)
}
