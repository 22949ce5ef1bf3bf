package service

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
)

// validateSpec validates a cluster spec and its project name together, so a
// client hears of every bad field in one round trip.
func validateSpec(spec *dbplane.ClusterSpec, cat dbplane.Catalog) error {
	var fields []dbplane.FieldError
	if err := dbplane.ValidateClusterSpec(spec, cat); err != nil {
		if fields = dbplane.ErrorFields(err); len(fields) == 0 {
			return err
		}
	}
	if spec.Project != "" {
		if msg := projectNameProblem(spec.Project); msg != "" {
			fields = append(fields, dbplane.FieldError{Field: "project", Message: msg})
		}
	}
	if len(fields) > 0 {
		return dbplane.Invalid(fields...)
	}
	return nil
}

// clusterProject resolves the project a cluster spec names (the default
// project when it names none) and authorizes creating clusters in it. A
// project the caller cannot read answers like a missing one.
func (s *Service) clusterProject(ctx context.Context, name string) (*dbplane.Project, error) {
	if name == "" {
		name = dbplane.DefaultProject
	}
	msg := fmt.Sprintf("project %q not found", name)
	nf := &dbplane.Error{Kind: dbplane.KindNotFound, Message: msg,
		Fields: []dbplane.FieldError{{Field: "project", Message: msg}}}
	p, err := s.Store.FindProjectByName(ctx, name)
	if err != nil {
		return nil, orNotFound(err, nf)
	}
	dbplane.AuditTarget(ctx, "", p.ID)
	if _, err := authorize(ctx, dbplane.ActionOperate, resource{project: p.ID, hidden: nf}); err != nil {
		return nil, err
	}
	return p, nil
}
