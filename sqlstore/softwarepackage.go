package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/dbplane/dbplane"
)

var _ dbplane.SoftwarePackageStore = (*DB)(nil)

const softwarePackageColumns = `id, file_name, format, name, version, release, architecture, description, size,
	sha256, md5, creator, created_at`

// CreateSoftwarePackage inserts p and sets p.ID and p.CreatedAt.
// KindConflict if its file name is taken.
func (db *DB) CreateSoftwarePackage(ctx context.Context, p *dbplane.SoftwarePackage) error {
	err := db.write(ctx, func(tx *Tx) error {
		p.CreatedAt = fromMicros(micros(tx.now))
		err := tx.QueryRow(ctx, `INSERT INTO software_packages (file_name, format, name, version, release, architecture,
			description, size, sha256, md5, creator, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.FileName, string(p.Format), p.Name, p.Version, p.Release, p.Architecture, p.Description, p.Size,
			p.SHA256, p.MD5, p.Creator, micros(p.CreatedAt)).Scan(&p.ID)
		if isUniqueViolation(err) {
			return dbplane.Errorf(dbplane.KindConflict, "a package file named %q exists already", p.FileName)
		} else if err != nil {
			return fmt.Errorf("while inserting the software package: %w", err)
		}
		return nil
	})
	return dbplane.E("sqlstore.CreateSoftwarePackage", err)
}

// FindSoftwarePackageByID returns a package. KindNotFound if missing.
func (db *DB) FindSoftwarePackageByID(ctx context.Context, id int64) (*dbplane.SoftwarePackage, error) {
	var p *dbplane.SoftwarePackage
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		p, err = scanSoftwarePackage(tx.QueryRow(ctx, `SELECT `+softwarePackageColumns+` FROM software_packages WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return dbplane.Errorf(dbplane.KindNotFound, "software package %d not found", id)
		}
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.FindSoftwarePackageByID", err)
	}
	return p, nil
}

// FindSoftwarePackages returns a page of packages ordered by id and the
// number that match the filter.
func (db *DB) FindSoftwarePackages(ctx context.Context, f dbplane.SoftwarePackageFilter) ([]*dbplane.SoftwarePackage, int, error) {
	ps := []*dbplane.SoftwarePackage{}
	total := 0
	err := db.read(ctx, func(tx *Tx) error {
		var where whereClause
		if f.FileName != nil {
			where.add("file_name = ?", *f.FileName)
		}
		if f.SHA256 != nil {
			where.add("sha256 = ?", *f.SHA256)
		}
		if f.Keyword != nil && *f.Keyword != "" {
			k := "%" + likeEscaper.Replace(strings.ToLower(*f.Keyword)) + "%"
			where.exprs = append(where.exprs, `(LOWER(file_name) LIKE ? ESCAPE '\' OR LOWER(name) LIKE ? ESCAPE '\'
				OR LOWER(version) LIKE ? ESCAPE '\')`)
			where.args = append(where.args, k, k, k)
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM software_packages`+where.sql(), where.args...).Scan(&total); err != nil {
			return fmt.Errorf("while counting software packages: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+softwarePackageColumns+` FROM software_packages`+where.sql()+
			` ORDER BY id LIMIT ? OFFSET ?`, append(where.args, pageLimit(f.Limit), max(f.Offset, 0))...)
		if err != nil {
			return fmt.Errorf("while listing software packages: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanSoftwarePackage(rows)
			if err != nil {
				return err
			}
			ps = append(ps, p)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, dbplane.E("sqlstore.FindSoftwarePackages", err)
	}
	return ps, total, nil
}

// likeEscaper escapes LIKE's wildcards, so a keyword matches literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// DeleteSoftwarePackage removes a package and returns how many others
// have its content. KindNotFound if missing.
func (db *DB) DeleteSoftwarePackage(ctx context.Context, id int64) (int, error) {
	shared := 0
	err := db.write(ctx, func(tx *Tx) error {
		var digest string
		err := tx.QueryRow(ctx, `SELECT sha256 FROM software_packages WHERE id = ?`, id).Scan(&digest)
		if errors.Is(err, sql.ErrNoRows) {
			return dbplane.Errorf(dbplane.KindNotFound, "software package %d not found", id)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM software_packages WHERE id = ?`, id); err != nil {
			return fmt.Errorf("while deleting the software package: %w", err)
		}
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM software_packages WHERE sha256 = ?`, digest).Scan(&shared)
	})
	if err != nil {
		return 0, dbplane.E("sqlstore.DeleteSoftwarePackage", err)
	}
	return shared, nil
}

func scanSoftwarePackage(row interface{ Scan(...any) error }) (*dbplane.SoftwarePackage, error) {
	var (
		p       dbplane.SoftwarePackage
		format  string
		created int64
	)
	if err := row.Scan(&p.ID, &p.FileName, &format, &p.Name, &p.Version, &p.Release, &p.Architecture, &p.Description,
		&p.Size, &p.SHA256, &p.MD5, &p.Creator, &created); err != nil {
		return nil, err
	}
	p.Format, p.CreatedAt = dbplane.PackageFormat(format), fromMicros(created)
	return &p, nil
}
