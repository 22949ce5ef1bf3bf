package enginekit

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dbplane/dbplane"
)

// Store is what every engine reads from the metadata store. dbplane.Store
// satisfies it.
type Store interface {
	FindTaskByID(ctx context.Context, id int64) (*dbplane.Task, error)
	FindClusterByID(ctx context.Context, id int64) (*dbplane.Cluster, error)
	// ClusterPassword returns the cluster's admin password, which the
	// stored spec does not hold.
	ClusterPassword(ctx context.Context, id int64) (string, error)
	// TaskPassword returns the new admin password of a password change
	// task.
	TaskPassword(ctx context.Context, taskID int64) (string, error)
	// FindHostByID tells the zone of a node's host: endpoints put the
	// members of a cluster's primary zone first.
	FindHostByID(ctx context.Context, id int64) (*dbplane.Host, error)
}

// Deps are an engine's dependencies. Engines keep them as fields of their
// own Engine struct, so that wiring sites build engines as before, and hand
// them to the kit as a Deps.
type Deps struct {
	Store  Store
	Dialer dbplane.AgentDialer
	// Catalog gives the packages of each version; the zero value means
	// dbplane.DefaultCatalog().
	Catalog dbplane.Catalog
	// CA issues the server certificates of clusters with SSL on.
	CA     dbplane.CertIssuer
	Logger *slog.Logger
}

// Catalogue returns the catalog, or dbplane's default when none is set.
func (d Deps) Catalogue() dbplane.Catalog {
	if len(d.Catalog.Engines) == 0 {
		return dbplane.DefaultCatalog()
	}
	return d.Catalog
}

// Log returns the logger, or slog's default when none is set.
func (d Deps) Log() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}

// Version returns the cluster's version, or the catalog's default version
// of engine.
func (d Deps) Version(engine string, c *dbplane.Cluster) string {
	if c.Version != "" {
		return c.Version
	}
	ev, _ := d.Catalogue().Version(engine, "")
	return ev.Version
}

// Cluster returns the cluster task taskID changes.
func (d Deps) Cluster(ctx context.Context, taskID int64) (*dbplane.Cluster, error) {
	t, err := d.Store.FindTaskByID(ctx, taskID)
	if err != nil {
		return nil, fmt.Errorf("while reading task %d: %w", taskID, err)
	}
	if t.ClusterID == 0 {
		return nil, dbplane.Permanent(fmt.Errorf("task %d has no cluster", t.ID))
	}
	c, err := d.Store.FindClusterByID(ctx, t.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("while reading cluster %d: %w", t.ClusterID, err)
	}
	return c, nil
}
