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
// sets c.ID, c.ProjectID, c.Project, c.Status, c.CreatedAt and c.UpdatedAt,
// and stores only the redacted spec: the password is encrypted in its own
// column. A c.ProjectID of 0 means the project c.Spec names, or the default
// project. The project's quota is checked against its usage in the same
// transaction, with the project's row locked on PostgreSQL (SQLite has one
// writer), so that concurrent creates cannot together overrun it.
func (db *DB) CreateCluster(ctx context.Context, c *dbplane.Cluster, password string, plan dbplane.TaskPlan) (*dbplane.Task, error) {
	var task *dbplane.Task
	err := db.write(ctx, func(tx *Tx) error {
		p, err := clusterProject(ctx, tx, c)
		if err != nil {
			return err
		}
		if err := checkQuota(ctx, tx, p, c); err != nil {
			return err
		}
		c.ProjectID, c.Project = p.ID, p.Name
		if err := insertCluster(ctx, tx, c, password); err != nil {
			return err
		}
		if err := insertNodes(ctx, tx, c); err != nil {
			return err
		}
		if err := insertStandby(ctx, tx, c); err != nil {
			return err
		}
		plan.ClusterID = c.ID
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

// insertCluster inserts c as a new cluster in status creating, then seals
// its password bound to the new id. A taken name is KindConflict; the
// driver's error is dropped from it because mapErr would otherwise replace
// the message with a generic one.
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
		INSERT INTO clusters (name, project_id, engine, version, topology, status, spec, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		c.Name, c.ProjectID, c.Engine, c.Version, c.Topology, c.Status, string(spec), micros(now), micros(now),
	).Scan(&c.ID)
	if isUniqueViolation(err) {
		return dbplane.Errorf(dbplane.KindConflict, "cluster name %q already exists", c.Name)
	} else if err != nil {
		return fmt.Errorf("while inserting the cluster: %w", err)
	}
	ct, keyID, err := tx.db.seal("cluster admin passwords", password, clusterPasswordAAD(c.ID))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE clusters SET password_ciphertext = ?, password_key_id = ? WHERE id = ?`,
		ct, keyID, c.ID); err != nil {
		return fmt.Errorf("while storing the cluster password: %w", err)
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

// selectClusters reads clusters (alias c) with their project's name.
const selectClusters = `SELECT c.id, c.name, COALESCE(c.project_id, 0), COALESCE(p.name, ''), c.engine, c.version,
	c.topology, c.status, c.spec, c.created_at, c.updated_at
	FROM clusters c LEFT JOIN projects p ON p.id = c.project_id`

// findClusterByID returns a cluster with its nodes. KindNotFound if missing.
func findClusterByID(ctx context.Context, tx *Tx, id int64) (*dbplane.Cluster, error) {
	c, err := scanCluster(tx.QueryRow(ctx, selectClusters+` WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
	} else if err != nil {
		return nil, err
	}
	if err := attachNodes(ctx, tx, []*dbplane.Cluster{c}); err != nil {
		return nil, err
	}
	if err := attachReplication(ctx, tx, []*dbplane.Cluster{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// findClusters returns a page of clusters with their nodes and the total
// that match filter. Nodes of the whole page come from one query. A
// non-nil, empty filter.ProjectIDs matches nothing.
func findClusters(ctx context.Context, tx *Tx, filter dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
	offset, limit := max(filter.Offset, 0), pageLimit(filter.Limit)
	if filter.ProjectIDs != nil && len(filter.ProjectIDs) == 0 {
		return []*dbplane.Cluster{}, 0, nil
	}
	var where whereClause
	if filter.Name != nil {
		where.add("c.name = ?", *filter.Name)
	}
	if filter.Engine != nil {
		where.add("c.engine = ?", *filter.Engine)
	}
	if filter.Status != nil {
		where.add("c.status = ?", *filter.Status)
	}
	if filter.ProjectID != nil {
		where.add("c.project_id = ?", *filter.ProjectID)
	}
	where.addIn("c.project_id", filter.ProjectIDs)

	var total int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM clusters c`+where.sql(), where.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("while counting clusters: %w", err)
	}
	rows, err := tx.Query(ctx, selectClusters+where.sql()+` ORDER BY c.id LIMIT ? OFFSET ?`,
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
	if err := attachReplication(ctx, tx, cs); err != nil {
		return nil, 0, err
	}
	return cs, total, nil
}

// scanCluster reads a row of selectClusters from a *sql.Row or *sql.Rows.
func scanCluster(s interface{ Scan(...any) error }) (*dbplane.Cluster, error) {
	var (
		c                dbplane.Cluster
		spec             string
		created, updated int64
	)
	if err := s.Scan(&c.ID, &c.Name, &c.ProjectID, &c.Project, &c.Engine, &c.Version, &c.Topology, &c.Status, &spec, &created, &updated); err != nil {
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

// addIn adds "column IN (ids)" unless ids is empty; callers handle a
// non-nil empty list, which matches nothing, before querying.
func (c *whereClause) addIn(column string, ids []int64) {
	if len(ids) == 0 {
		return
	}
	c.exprs = append(c.exprs, column+" IN ("+placeholders(len(ids))+")")
	for _, id := range ids {
		c.args = append(c.args, id)
	}
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
