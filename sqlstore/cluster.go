package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dbplane/dbplane"
)

// CreateCluster inserts c with status creating and the task of plan in one
// transaction, so that a cluster never exists without its create task. It
// sets c.ID, c.Status, c.CreatedAt and c.UpdatedAt, and stores only the
// redacted spec: the password goes to its own column.
func (db *DB) CreateCluster(ctx context.Context, c *dbplane.Cluster, password string, plan dbplane.TaskPlan) (*dbplane.Task, error) {
	var task *dbplane.Task
	err := db.write(ctx, func(tx *Tx) error {
		if err := insertCluster(ctx, tx, c, password); err != nil {
			return err
		}
		if err := insertNodes(ctx, tx, c); err != nil {
			return err
		}
		plan.ClusterID = c.ID
		var err error
		task, err = createTask(ctx, tx, plan)
		return err
	})
	if err != nil {
		c.ID = 0 // the insert rolled back
		return nil, dbplane.E("sqlstore.CreateCluster", err)
	}
	return task, nil
}

// StartClusterTask moves a cluster to status and creates the task of plan,
// in one transaction, unless the cluster's status is one of refuse.
func (db *DB) StartClusterTask(ctx context.Context, clusterID int64, status dbplane.ClusterStatus, refuse []dbplane.ClusterStatus, plan dbplane.TaskPlan) (*dbplane.Task, error) {
	var task *dbplane.Task
	err := db.write(ctx, func(tx *Tx) error {
		if err := setClusterStatus(ctx, tx, clusterID, status, refuse); err != nil {
			return err
		}
		plan.ClusterID = clusterID
		var err error
		task, err = createTask(ctx, tx, plan)
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.StartClusterTask", err)
	}
	return task, nil
}

// FindClusterByID returns a cluster with its nodes. KindNotFound if missing.
func (db *DB) FindClusterByID(ctx context.Context, id int64) (*dbplane.Cluster, error) {
	var c *dbplane.Cluster
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		c, err = findClusterByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.FindClusterByID", err)
	}
	return c, nil
}

// FindClusters returns a page of clusters ordered by id, with their nodes,
// and the number of clusters that match the filter.
func (db *DB) FindClusters(ctx context.Context, filter dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
	var (
		cs    []*dbplane.Cluster
		total int
	)
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		cs, total, err = findClusters(ctx, tx, filter)
		return err
	})
	if err != nil {
		return nil, 0, dbplane.E("sqlstore.FindClusters", err)
	}
	return cs, total, nil
}

// insertCluster inserts c as a new cluster in status creating. A taken name
// is KindConflict; the driver's error is dropped from it because mapErr
// would otherwise replace the message with a generic one.
func insertCluster(ctx context.Context, tx *Tx, c *dbplane.Cluster, password string) error {
	now := fromMicros(micros(tx.now))
	c.Status = dbplane.ClusterCreating
	c.Spec = c.Spec.Redacted()
	c.CreatedAt, c.UpdatedAt = now, now
	if c.Nodes == nil {
		c.Nodes = []dbplane.Node{}
	}
	spec, err := json.Marshal(c.Spec)
	if err != nil {
		return fmt.Errorf("while encoding the cluster spec: %w", err)
	}
	err = tx.QueryRow(ctx, `
		INSERT INTO clusters (name, engine, version, topology, status, spec, admin_password, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		c.Name, c.Engine, c.Version, c.Topology, c.Status, string(spec), password, micros(now), micros(now),
	).Scan(&c.ID)
	if isUniqueViolation(err) {
		return dbplane.Errorf(dbplane.KindConflict, "cluster name %q already exists", c.Name)
	} else if err != nil {
		return fmt.Errorf("while inserting the cluster: %w", err)
	}
	return nil
}

// setClusterStatus sets the status of a cluster unless its current status
// is one of refuse. The check is part of the UPDATE, so that two concurrent
// callers cannot both pass it on PostgreSQL: the second one re-reads the row
// after the first commits.
func setClusterStatus(ctx context.Context, tx *Tx, id int64, status dbplane.ClusterStatus, refuse []dbplane.ClusterStatus) error {
	query := `UPDATE clusters SET status = ?, updated_at = ? WHERE id = ?`
	args := []any{status, micros(tx.now), id}
	if len(refuse) > 0 {
		query += ` AND status NOT IN (` + placeholders(len(refuse)) + `)`
		for _, s := range refuse {
			args = append(args, s)
		}
	}
	res, err := tx.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("while updating the cluster status: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("while updating the cluster status: %w", err)
	} else if n == 1 {
		return nil
	}
	c, err := findClusterByID(ctx, tx, id)
	if err != nil {
		return err
	}
	return dbplane.Errorf(dbplane.KindConflict, "cluster %d is %s", id, c.Status)
}

const clusterColumns = `id, name, engine, version, topology, status, spec, created_at, updated_at`

// findClusterByID returns a cluster with its nodes. KindNotFound if missing.
func findClusterByID(ctx context.Context, tx *Tx, id int64) (*dbplane.Cluster, error) {
	c, err := scanCluster(tx.QueryRow(ctx, `SELECT `+clusterColumns+` FROM clusters WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
	} else if err != nil {
		return nil, err
	}
	if err := attachNodes(ctx, tx, []*dbplane.Cluster{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// findClusters returns a page of clusters with their nodes and the total
// that match filter. Nodes of the whole page come from one query.
func findClusters(ctx context.Context, tx *Tx, filter dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
	offset, limit := max(filter.Offset, 0), pageLimit(filter.Limit)
	var where whereClause
	if filter.Name != nil {
		where.add("name = ?", *filter.Name)
	}
	if filter.Engine != nil {
		where.add("engine = ?", *filter.Engine)
	}
	if filter.Status != nil {
		where.add("status = ?", *filter.Status)
	}

	var total int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM clusters`+where.sql(), where.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("while counting clusters: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT `+clusterColumns+` FROM clusters`+where.sql()+` ORDER BY id LIMIT ? OFFSET ?`,
		append(where.args, limit, offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("while listing clusters: %w", err)
	}
	defer rows.Close()
	cs := make([]*dbplane.Cluster, 0, min(limit, total))
	for rows.Next() {
		c, err := scanCluster(rows)
		if err != nil {
			return nil, 0, err
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("while listing clusters: %w", err)
	}
	rows.Close()
	if err := attachNodes(ctx, tx, cs); err != nil {
		return nil, 0, err
	}
	return cs, total, nil
}

// scanCluster reads a row of clusterColumns from a *sql.Row or *sql.Rows.
func scanCluster(s interface{ Scan(...any) error }) (*dbplane.Cluster, error) {
	var (
		c                dbplane.Cluster
		spec             string
		created, updated int64
	)
	if err := s.Scan(&c.ID, &c.Name, &c.Engine, &c.Version, &c.Topology, &c.Status, &spec, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("while reading a cluster: %w", err)
	}
	if err := json.Unmarshal([]byte(spec), &c.Spec); err != nil {
		return nil, fmt.Errorf("while decoding the spec of cluster %d: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	c.Nodes = []dbplane.Node{}
	return &c, nil
}

// attachNodes loads the nodes of cs in one query, ordered by id.
func attachNodes(ctx context.Context, tx *Tx, cs []*dbplane.Cluster) error {
	if len(cs) == 0 {
		return nil
	}
	byID := make(map[int64]*dbplane.Cluster, len(cs))
	args := make([]any, len(cs))
	for i, c := range cs {
		byID[c.ID] = c
		args[i] = c.ID
	}
	rows, err := tx.Query(ctx, `
		SELECT n.id, n.cluster_id, n.ordinal, n.host_id, COALESCE(h.address, ''), n.role, n.port, n.data_dir,
			n.memory_mb, n.volume_gb, n.status, n.created_at
		FROM nodes n LEFT JOIN hosts h ON h.id = n.host_id
		WHERE n.cluster_id IN (`+placeholders(len(cs))+`) ORDER BY n.cluster_id, n.ordinal`, args...)
	if err != nil {
		return fmt.Errorf("while listing nodes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			n       dbplane.Node
			created int64
		)
		if err := rows.Scan(&n.ID, &n.ClusterID, &n.Ordinal, &n.HostID, &n.Address, &n.Role, &n.Port, &n.DataDir,
			&n.MemoryMB, &n.VolumeGB, &n.Status, &created); err != nil {
			return fmt.Errorf("while reading a node: %w", err)
		}
		n.CreatedAt = fromMicros(created)
		c := byID[n.ClusterID]
		c.Nodes = append(c.Nodes, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("while listing nodes: %w", err)
	}
	return nil
}

// whereClause collects the conditions of a WHERE clause and their arguments.
type whereClause struct {
	exprs []string
	args  []any
}

func (c *whereClause) add(expr string, arg any) {
	c.exprs = append(c.exprs, expr)
	c.args = append(c.args, arg)
}

// sql returns the WHERE clause, or nothing when there is no condition.
func (c *whereClause) sql() string {
	if len(c.exprs) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.exprs, " AND ")
}

// isUniqueViolation reports whether err is a UNIQUE constraint violation,
// in the terms mapErr uses for both dialects.
func isUniqueViolation(err error) bool {
	return err != nil && dbplane.ErrorKind(mapErr(err)) == dbplane.KindConflict
}
