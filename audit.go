package dbplane

import (
	"context"
	"time"
)

// AuditEvent records one mutating call of a front door: who did what to
// which target, and how it ended. Refused calls are recorded too.
type AuditEvent struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	User      string    `json:"user,omitempty"` // empty when unauthenticated
	UserID    int64     `json:"user_id,omitempty"`
	Via       string    `json:"via,omitempty"` // the credential kind
	ProjectID int64     `json:"project_id,omitempty"`
	Project   string    `json:"project,omitempty"`
	FrontDoor string    `json:"front_door"`       // "v1", "ocp", "huawei", "cloudbasic"
	Action    string    `json:"action"`           // e.g. "cluster.create"
	Target    string    `json:"target,omitempty"` // e.g. "cluster/12"
	Result    string    `json:"result"`           // "success" or the error code
	Status    int       `json:"status"`           // the HTTP status answered
	Source    string    `json:"source"`           // the client's address
	RequestID string    `json:"request_id"`
}

// AuditResultSuccess is the Result of a call that succeeded.
const AuditResultSuccess = "success"

// AuditFilter selects audit events. Nil fields do not filter.
type AuditFilter struct {
	User       *string    `json:"user,omitempty"`
	ProjectID  *int64     `json:"project_id,omitempty"`
	ProjectIDs []int64    `json:"-"` // nil: all; set by authorization
	Action     *string    `json:"action,omitempty"`
	Result     *string    `json:"result,omitempty"`
	Since      *time.Time `json:"since,omitempty"`
	Until      *time.Time `json:"until,omitempty"`
	Offset     int        `json:"offset,omitempty"`
	Limit      int        `json:"limit,omitempty"`
}

// AuditService lists audit events, newest first. Implementations authorize
// against the principal of ctx: global admins see everything, project
// admins their projects' events.
type AuditService interface {
	FindAuditEvents(ctx context.Context, filter AuditFilter) ([]*AuditEvent, int, error)
}

// AuditStore persists audit events.
type AuditStore interface {
	// RecordAudit appends an event and sets its ID.
	RecordAudit(ctx context.Context, e *AuditEvent) error
	// FindAuditEvents returns a page of events, newest first, and the total.
	FindAuditEvents(ctx context.Context, filter AuditFilter) ([]*AuditEvent, int, error)
}

type auditKey struct{}

// WithAudit returns a context carrying the audit event of the call being
// served, which handlers and services fill in (target, project) as they
// learn them.
func WithAudit(ctx context.Context, e *AuditEvent) context.Context {
	return context.WithValue(ctx, auditKey{}, e)
}

// AuditFrom returns the audit event of ctx, or nil.
func AuditFrom(ctx context.Context) *AuditEvent {
	e, _ := ctx.Value(auditKey{}).(*AuditEvent)
	return e
}

// AuditTarget records the target and its project in the audit event of
// ctx, if any.
func AuditTarget(ctx context.Context, target string, projectID int64) {
	if e := AuditFrom(ctx); e != nil {
		e.Target = target
		if projectID != GlobalScope {
			e.ProjectID = projectID
		}
	}
}
