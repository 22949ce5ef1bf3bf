package sqlstore

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
)

// clusterProject returns the project a new cluster goes to, its row locked
// on PostgreSQL until the transaction ends: concurrent creates in one
// project take turns to check its quota. KindNotFound if it is missing.
func clusterProject(ctx context.Context, tx *Tx, c *dbplane.Cluster) (*dbplane.Project, error) {
	if c.ProjectID != 0 {
		return findProjectByID(ctx, tx, c.ProjectID, true)
	}
	name := c.Spec.Project
	if name == "" {
		name = dbplane.DefaultProject
	}
	return findProjectByName(ctx, tx, name, true)
}

// checkQuota returns KindQuotaExceeded, naming each quota that c would
// exceed, if p cannot hold c on top of what it holds. Zero quotas are
// unlimited.
func checkQuota(ctx context.Context, tx *Tx, p *dbplane.Project, c *dbplane.Cluster) error {
	q := p.Quota
	if q.Clusters <= 0 && q.Nodes <= 0 && q.StorageGB <= 0 {
		return nil
	}
	used, err := projectUsage(ctx, tx, p.ID)
	if err != nil {
		return err
	}
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
	over("quota.clusters", q.Clusters, used.Clusters, 1, "clusters")
	over("quota.nodes", q.Nodes, used.Nodes, len(c.Nodes), "nodes")
	over("quota.storage_gb", q.StorageGB, used.StorageGB, storage, "GB of storage")
	if len(fields) == 0 {
		return nil
	}
	msg := fields[0].Message
	for _, f := range fields[1:] {
		msg += "; and " + f.Message[len(fmt.Sprintf("project %q ", p.Name)):]
	}
	return &dbplane.Error{Kind: dbplane.KindQuotaExceeded, Message: msg, Fields: fields}
}
