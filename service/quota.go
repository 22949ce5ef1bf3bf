package service

import (
	"context"
	"fmt"
	"strings"

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

// checkQuota returns KindQuotaExceeded, naming each quota that c would
// exceed, if adding c to a project holding usage would exceed the
// project's quota. The store makes the same check in the transaction that
// creates a cluster; this one lets a dry run answer as the create would,
// with the store's message and fields.
func checkQuota(p *dbplane.Project, usage dbplane.QuotaUsage, c *dbplane.Cluster) error {
	storage := 0
	for _, n := range c.Nodes {
		storage += int(n.VolumeGB)
	}
	var fields []dbplane.FieldError
	over := func(field string, limit, inUse, need int, unit string) {
		if limit > 0 && inUse+need > limit {
			fields = append(fields, dbplane.FieldError{Field: field, Message: fmt.Sprintf(
				"project %q allows %d %s; %d are in use and this cluster needs %d", p.Name, limit, unit, inUse, need)})
		}
	}
	over("quota.clusters", p.Quota.Clusters, usage.Clusters, 1, "clusters")
	over("quota.nodes", p.Quota.Nodes, usage.Nodes, len(c.Nodes), "nodes")
	over("quota.storage_gb", p.Quota.StorageGB, usage.StorageGB, storage, "GB of storage")
	if len(fields) == 0 {
		return nil
	}
	msg := fields[0].Message
	for _, f := range fields[1:] {
		msg += "; and " + strings.TrimPrefix(f.Message, fmt.Sprintf("project %q ", p.Name))
	}
	return &dbplane.Error{Kind: dbplane.KindQuotaExceeded, Message: msg, Fields: fields}
}
