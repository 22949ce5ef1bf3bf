package sqlstore

import (
	"context"

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
// exceed, if p cannot hold c on top of what it holds.
func checkQuota(ctx context.Context, tx *Tx, p *dbplane.Project, c *dbplane.Cluster) error {
	if p.Quota.Unlimited() {
		return nil
	}
	used, err := projectUsage(ctx, tx, p.ID)
	if err != nil {
		return err
	}
	return p.CheckQuota(used, c)
}
