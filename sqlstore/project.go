package sqlstore

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
)

// CreateProject inserts p and sets p.ID and p.CreatedAt. KindConflict if
// the name is taken.
func (db *DB) CreateProject(ctx context.Context, p *dbplane.Project) error {
	err := db.write(ctx, func(tx *Tx) error {
		p.CreatedAt = fromMicros(micros(tx.now))
		err := tx.QueryRow(ctx, `INSERT INTO projects (name, description, quota_clusters, quota_nodes,
			quota_storage_gb, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			p.Name, p.Description, p.Quota.Clusters, p.Quota.Nodes, p.Quota.StorageGB, micros(p.CreatedAt),
		).Scan(&p.ID)
		if isUniqueViolation(err) {
			return dbplane.Errorf(dbplane.KindConflict, "project name %q already exists", p.Name)
		} else if err != nil {
			return fmt.Errorf("while inserting the project: %w", err)
		}
		return nil
	})
	return dbplane.E("sqlstore.CreateProject", err)
}

// FindProjectByID returns a project. KindNotFound if missing.
func (db *DB) FindProjectByID(ctx context.Context, id int64) (*dbplane.Project, error) {
	var p *dbplane.Project
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		p, err = findProjectByID(ctx, tx, id, false)
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.FindProjectByID", err)
	}
	return p, nil
}

// FindProjectByName returns a project. KindNotFound if missing.
func (db *DB) FindProjectByName(ctx context.Context, name string) (*dbplane.Project, error) {
	var p *dbplane.Project
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		p, err = findProjectByName(ctx, tx, name, false)
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.FindProjectByName", err)
	}
	return p, nil
}

// FindProjects returns a page of projects ordered by id and the number
// that match the filter. A non-nil, empty filter.IDs matches nothing.
func (db *DB) FindProjects(ctx context.Context, filter dbplane.ProjectFilter) ([]*dbplane.Project, int, error) {
	var (
		ps    = []*dbplane.Project{}
		total int
	)
	if filter.IDs != nil && len(filter.IDs) == 0 {
		return ps, 0, nil
	}
	err := db.read(ctx, func(tx *Tx) error {
		var where whereClause
		if filter.Name != nil {
			where.add("name = ?", *filter.Name)
		}
		where.addIn("id", filter.IDs)
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM projects`+where.sql(), where.args...).Scan(&total); err != nil {
			return fmt.Errorf("while counting projects: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+projectColumns+` FROM projects`+where.sql()+` ORDER BY id LIMIT ? OFFSET ?`,
			append(where.args, pageLimit(filter.Limit), max(filter.Offset, 0))...)
		if err != nil {
			return fmt.Errorf("while listing projects: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanProject(rows)
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, dbplane.E("sqlstore.FindProjects", err)
	}
	return ps, total, nil
}

// UpdateProject replaces a project's description and quota; the name and
// creation time stay. It sets p's other fields from the stored project.
// KindNotFound if missing.
func (db *DB) UpdateProject(ctx context.Context, p *dbplane.Project) error {
	err := db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(ctx, `UPDATE projects SET description = ?, quota_clusters = ?, quota_nodes = ?,
			quota_storage_gb = ? WHERE id = ?`,
			p.Description, p.Quota.Clusters, p.Quota.Nodes, p.Quota.StorageGB, p.ID)
		if err != nil {
			return fmt.Errorf("while updating the project: %w", err)
		}
		if err := mustAffect(res, "project %d not found", p.ID); err != nil {
			return err
		}
		stored, err := findProjectByID(ctx, tx, p.ID, false)
		if err != nil {
			return err
		}
		stored.Usage = p.Usage
		*p = *stored
		return nil
	})
	return dbplane.E("sqlstore.UpdateProject", err)
}

// DeleteProject removes a project and, by cascade, its bindings.
// KindNotFound if missing; KindConflict while it owns clusters, and for
// the default project, where clusters that name no project go.
func (db *DB) DeleteProject(ctx context.Context, id int64) error {
	err := db.write(ctx, func(tx *Tx) error {
		p, err := findProjectByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if p.Name == dbplane.DefaultProject {
			return dbplane.Errorf(dbplane.KindConflict, "project %q cannot be deleted: clusters that name no project go to it", p.Name)
		}
		u, err := projectUsage(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.Clusters > 0 {
			return dbplane.Errorf(dbplane.KindConflict, "project %q owns %d clusters: delete them first", p.Name, u.Clusters)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM projects WHERE id = ?`, id); err != nil {
			return fmt.Errorf("while deleting the project: %w", err)
		}
		return nil
	})
	return dbplane.E("sqlstore.DeleteProject", err)
}

// ProjectUsage counts the clusters, nodes and storage of a project.
// KindNotFound if the project is missing.
func (db *DB) ProjectUsage(ctx context.Context, id int64) (dbplane.QuotaUsage, error) {
	var u dbplane.QuotaUsage
	err := db.read(ctx, func(tx *Tx) error {
		if _, err := findProjectByID(ctx, tx, id, false); err != nil {
			return err
		}
		var err error
		u, err = projectUsage(ctx, tx, id)
		return err
	})
	if err != nil {
		return dbplane.QuotaUsage{}, dbplane.E("sqlstore.ProjectUsage", err)
	}
	return u, nil
}

// projectUsage counts what a project holds. Clusters being deleted count
// until they are removed: their nodes still take the hosts' resources.
func projectUsage(ctx context.Context, tx *Tx, id int64) (dbplane.QuotaUsage, error) {
	var u dbplane.QuotaUsage
	err := tx.QueryRow(ctx, `SELECT
			(SELECT COUNT(*) FROM clusters WHERE project_id = ?),
			COUNT(n.id), COALESCE(SUM(n.volume_gb), 0)
		FROM nodes n JOIN clusters c ON c.id = n.cluster_id WHERE c.project_id = ?`, id, id).
		Scan(&u.Clusters, &u.Nodes, &u.StorageGB)
	if err != nil {
		return u, fmt.Errorf("while counting the usage of project %d: %w", id, err)
	}
	return u, nil
}

const projectColumns = `id, name, description, quota_clusters, quota_nodes, quota_storage_gb, created_at`

func scanProject(s interface{ Scan(...any) error }) (*dbplane.Project, error) {
	var (
		p       dbplane.Project
		created int64
	)
	if err := s.Scan(&p.ID, &p.Name, &p.Description, &p.Quota.Clusters, &p.Quota.Nodes, &p.Quota.StorageGB,
		&created); err != nil {
		if isNoRows(err) {
			return nil, err
		}
		return nil, fmt.Errorf("while reading a project: %w", err)
	}
	p.CreatedAt = fromMicros(created)
	return &p, nil
}

// findProjectByID returns a project, locking its row on PostgreSQL when
// lock is set. KindNotFound if missing.
func findProjectByID(ctx context.Context, tx *Tx, id int64, lock bool) (*dbplane.Project, error) {
	p, err := scanProject(tx.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = ?`+tx.db.lockIf(lock), id))
	if isNoRows(err) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "project %d not found", id)
	}
	return p, err
}

// findProjectByName is findProjectByID by name.
func findProjectByName(ctx context.Context, tx *Tx, name string, lock bool) (*dbplane.Project, error) {
	p, err := scanProject(tx.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE name = ?`+tx.db.lockIf(lock), name))
	if isNoRows(err) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "project %q not found", name)
	}
	return p, err
}

// lockIf is forUpdate when lock is set.
func (db *DB) lockIf(lock bool) string {
	if lock {
		return db.forUpdate()
	}
	return ""
}
