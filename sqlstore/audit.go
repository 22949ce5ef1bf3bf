package sqlstore

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
)

// RecordAudit appends e and sets its ID; a zero e.Time becomes now. The
// project's name is filled in from its id when the caller only knew the id.
func (db *DB) RecordAudit(ctx context.Context, e *dbplane.AuditEvent) error {
	err := db.write(ctx, func(tx *Tx) error {
		if e.Time.IsZero() {
			e.Time = tx.now
		}
		e.Time = fromMicros(micros(e.Time))
		if e.ProjectID != 0 && e.Project == "" {
			if p, err := findProjectByID(ctx, tx, e.ProjectID, false); err == nil {
				e.Project = p.Name
			} else if dbplane.ErrorKind(err) != dbplane.KindNotFound {
				return err
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO audit_events (at, user_name, user_id, via, project_id, project_name,
			front_door, action, target, result, status, source, request_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			micros(e.Time), e.User, e.UserID, e.Via, e.ProjectID, e.Project, e.FrontDoor, e.Action, e.Target,
			e.Result, e.Status, e.Source, e.RequestID).Scan(&e.ID)
		if err != nil {
			return fmt.Errorf("while recording the audit event: %w", err)
		}
		return nil
	})
	return dbplane.E("sqlstore.RecordAudit", err)
}

// FindAuditEvents returns a page of events, newest first, and the number
// that match the filter. Since is inclusive, Until exclusive. A non-nil,
// empty filter.ProjectIDs matches nothing.
func (db *DB) FindAuditEvents(ctx context.Context, f dbplane.AuditFilter) ([]*dbplane.AuditEvent, int, error) {
	var (
		events = []*dbplane.AuditEvent{}
		total  int
	)
	if f.ProjectIDs != nil && len(f.ProjectIDs) == 0 {
		return events, 0, nil
	}
	err := db.read(ctx, func(tx *Tx) error {
		var where whereClause
		if f.User != nil {
			where.add("user_name = ?", *f.User)
		}
		if f.ProjectID != nil {
			where.add("project_id = ?", *f.ProjectID)
		}
		where.addIn("project_id", f.ProjectIDs)
		if f.Action != nil {
			where.add("action = ?", *f.Action)
		}
		if f.Result != nil {
			where.add("result = ?", *f.Result)
		}
		if f.Since != nil {
			where.add("at >= ?", micros(*f.Since))
		}
		if f.Until != nil {
			where.add("at < ?", micros(*f.Until))
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM audit_events`+where.sql(), where.args...).Scan(&total); err != nil {
			return fmt.Errorf("while counting audit events: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT id, at, user_name, user_id, via, project_id, project_name, front_door,
			action, target, result, status, source, request_id FROM audit_events`+where.sql()+
			` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`,
			append(where.args, pageLimit(f.Limit), max(f.Offset, 0))...)
		if err != nil {
			return fmt.Errorf("while listing audit events: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e  dbplane.AuditEvent
				at int64
			)
			if err := rows.Scan(&e.ID, &at, &e.User, &e.UserID, &e.Via, &e.ProjectID, &e.Project, &e.FrontDoor,
				&e.Action, &e.Target, &e.Result, &e.Status, &e.Source, &e.RequestID); err != nil {
				return fmt.Errorf("while reading an audit event: %w", err)
			}
			e.Time = fromMicros(at)
			events = append(events, &e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, dbplane.E("sqlstore.FindAuditEvents", err)
	}
	return events, total, nil
}
