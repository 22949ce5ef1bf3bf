package sqlstore

import (
	"context"
	"fmt"

	"github.com/dbplane/dbplane"
)

var _ dbplane.ComputeStore = (*DB)(nil)

// named is a row of regions or host_types, which have the same columns.
type named struct {
	id                   *int64
	name, description    string
	createdAt, updatedAt *int64
}

// insertNamed inserts a row of table (regions or host_types; what names
// it in messages) and sets its id and times. KindConflict if its name is
// taken.
func insertNamed(ctx context.Context, tx *Tx, table, what string, n named) error {
	now := micros(tx.now)
	*n.createdAt, *n.updatedAt = now, now
	err := tx.QueryRow(ctx, `INSERT INTO `+table+` (name, description, created_at, updated_at) VALUES (?, ?, ?, ?)
		RETURNING id`, n.name, n.description, now, now).Scan(n.id)
	if isUniqueViolation(err) {
		return dbplane.Errorf(dbplane.KindConflict, "a %s named %q exists already", what, n.name)
	} else if err != nil {
		return fmt.Errorf("while inserting the %s: %w", what, err)
	}
	return nil
}

// CreateRegion inserts a region and sets its id and times.
func (db *DB) CreateRegion(ctx context.Context, r *dbplane.Region) error {
	var created, updated int64
	err := db.write(ctx, func(tx *Tx) error {
		return insertNamed(ctx, tx, "regions", "region", named{&r.ID, r.Name, r.Description, &created, &updated})
	})
	if err == nil {
		r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	}
	return dbplane.E("sqlstore.CreateRegion", err)
}

// CreateHostType inserts a host type and sets its id and times.
func (db *DB) CreateHostType(ctx context.Context, t *dbplane.HostType) error {
	var created, updated int64
	err := db.write(ctx, func(tx *Tx) error {
		return insertNamed(ctx, tx, "host_types", "host type", named{&t.ID, t.Name, t.Description, &created, &updated})
	})
	if err == nil {
		t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	}
	return dbplane.E("sqlstore.CreateHostType", err)
}

// CreateIDC inserts an IDC in an existing region and sets its id, times
// and region name. The region is checked in the transaction, so that a
// concurrent delete of the region cannot leave the IDC without one.
func (db *DB) CreateIDC(ctx context.Context, d *dbplane.IDC) error {
	err := db.write(ctx, func(tx *Tx) error {
		r, err := findRegionByID(ctx, tx, d.RegionID)
		if dbplane.ErrorKind(err) == dbplane.KindNotFound {
			return dbplane.Invalid(dbplane.FieldError{Field: "region_id", Message: fmt.Sprintf("no region has id %d", d.RegionID)})
		} else if err != nil {
			return err
		}
		now := micros(tx.now)
		err = tx.QueryRow(ctx, `INSERT INTO idcs (name, description, region_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, d.Name, d.Description, d.RegionID, now, now).Scan(&d.ID)
		if isUniqueViolation(err) {
			return dbplane.Errorf(dbplane.KindConflict, "an IDC named %q exists already", d.Name)
		} else if err != nil {
			return fmt.Errorf("while inserting the IDC: %w", err)
		}
		d.RegionName = r.Name
		d.CreatedAt, d.UpdatedAt = fromMicros(now), fromMicros(now)
		return nil
	})
	return dbplane.E("sqlstore.CreateIDC", err)
}

const (
	regionColumns   = `id, name, description, created_at, updated_at`
	hostTypeColumns = regionColumns
	idcSelect       = `SELECT d.id, d.name, d.description, d.region_id, r.name, d.created_at, d.updated_at
		FROM idcs d JOIN regions r ON r.id = d.region_id`
)

func scanRegion(s interface{ Scan(...any) error }) (*dbplane.Region, error) {
	var (
		r                dbplane.Region
		created, updated int64
	)
	if err := s.Scan(&r.ID, &r.Name, &r.Description, &created, &updated); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &r, nil
}

func scanHostType(s interface{ Scan(...any) error }) (*dbplane.HostType, error) {
	r, err := scanRegion(s)
	if err != nil {
		return nil, err
	}
	return &dbplane.HostType{ID: r.ID, Name: r.Name, Description: r.Description, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

func scanIDC(s interface{ Scan(...any) error }) (*dbplane.IDC, error) {
	var (
		d                dbplane.IDC
		created, updated int64
	)
	if err := s.Scan(&d.ID, &d.Name, &d.Description, &d.RegionID, &d.RegionName, &created, &updated); err != nil {
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &d, nil
}

func findRegionByID(ctx context.Context, tx *Tx, id int64) (*dbplane.Region, error) {
	r, err := scanRegion(tx.QueryRow(ctx, `SELECT `+regionColumns+` FROM regions WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "region %d not found", id)
	}
	return r, err
}

func findHostTypeByID(ctx context.Context, tx *Tx, id int64) (*dbplane.HostType, error) {
	t, err := scanHostType(tx.QueryRow(ctx, `SELECT `+hostTypeColumns+` FROM host_types WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "host type %d not found", id)
	}
	return t, err
}

func findIDCByID(ctx context.Context, tx *Tx, id int64) (*dbplane.IDC, error) {
	d, err := scanIDC(tx.QueryRow(ctx, idcSelect+` WHERE d.id = ?`, id))
	if isNoRows(err) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "IDC %d not found", id)
	}
	return d, err
}

// FindRegionByID returns a region.
func (db *DB) FindRegionByID(ctx context.Context, id int64) (*dbplane.Region, error) {
	return readOne(ctx, db, "sqlstore.FindRegionByID", func(tx *Tx) (*dbplane.Region, error) { return findRegionByID(ctx, tx, id) })
}

// FindHostTypeByID returns a host type.
func (db *DB) FindHostTypeByID(ctx context.Context, id int64) (*dbplane.HostType, error) {
	return readOne(ctx, db, "sqlstore.FindHostTypeByID", func(tx *Tx) (*dbplane.HostType, error) { return findHostTypeByID(ctx, tx, id) })
}

// FindIDCByID returns an IDC with its region's name.
func (db *DB) FindIDCByID(ctx context.Context, id int64) (*dbplane.IDC, error) {
	return readOne(ctx, db, "sqlstore.FindIDCByID", func(tx *Tx) (*dbplane.IDC, error) { return findIDCByID(ctx, tx, id) })
}

// FindRegions returns a page of regions ordered by id, and the total.
func (db *DB) FindRegions(ctx context.Context, f dbplane.ComputeFilter) ([]*dbplane.Region, int, error) {
	return readPage(ctx, db, "sqlstore.FindRegions", `SELECT COUNT(*) FROM regions`,
		`SELECT `+regionColumns+` FROM regions ORDER BY id`, f, scanRegion)
}

// FindHostTypes returns a page of host types ordered by id, and the total.
func (db *DB) FindHostTypes(ctx context.Context, f dbplane.ComputeFilter) ([]*dbplane.HostType, int, error) {
	return readPage(ctx, db, "sqlstore.FindHostTypes", `SELECT COUNT(*) FROM host_types`,
		`SELECT `+hostTypeColumns+` FROM host_types ORDER BY id`, f, scanHostType)
}

// FindIDCs returns a page of IDCs ordered by id, and the total.
func (db *DB) FindIDCs(ctx context.Context, f dbplane.ComputeFilter) ([]*dbplane.IDC, int, error) {
	return readPage(ctx, db, "sqlstore.FindIDCs", `SELECT COUNT(*) FROM idcs`, idcSelect+` ORDER BY d.id`, f, scanIDC)
}

// readOne runs find in a read transaction.
func readOne[T any](ctx context.Context, db *DB, op string, find func(*Tx) (*T, error)) (*T, error) {
	var v *T
	err := db.read(ctx, func(tx *Tx) error {
		var err error
		v, err = find(tx)
		return err
	})
	if err != nil {
		return nil, dbplane.E(op, err)
	}
	return v, nil
}

// readPage counts with count and reads f's page of query, whose rows scan
// reads.
func readPage[T any](ctx context.Context, db *DB, op, count, query string, f dbplane.ComputeFilter,
	scan func(interface{ Scan(...any) error }) (*T, error)) ([]*T, int, error) {
	var (
		items []*T
		total int
	)
	err := db.read(ctx, func(tx *Tx) error {
		if err := tx.QueryRow(ctx, count).Scan(&total); err != nil {
			return fmt.Errorf("while counting: %w", err)
		}
		rows, err := tx.Query(ctx, query+` LIMIT ? OFFSET ?`, pageLimit(f.Limit), max(f.Offset, 0))
		if err != nil {
			return fmt.Errorf("while listing: %w", err)
		}
		defer rows.Close()
		items = []*T{}
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return fmt.Errorf("while reading a row: %w", err)
			}
			items = append(items, v)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, dbplane.E(op, err)
	}
	return items, total, nil
}

// DeleteRegion removes a region that holds no IDC.
func (db *DB) DeleteRegion(ctx context.Context, id int64) error {
	return dbplane.E("sqlstore.DeleteRegion", db.deleteUnused(ctx, "regions", "region", id,
		`SELECT COUNT(*) FROM idcs WHERE region_id = ?`, "IDC(s)"))
}

// DeleteIDC removes an IDC no host is in.
func (db *DB) DeleteIDC(ctx context.Context, id int64) error {
	return dbplane.E("sqlstore.DeleteIDC", db.deleteUnused(ctx, "idcs", "IDC", id,
		`SELECT COUNT(*) FROM host_inventory WHERE idc_id = ?`, "host(s)"))
}

// DeleteHostType removes a host type no host is of.
func (db *DB) DeleteHostType(ctx context.Context, id int64) error {
	return dbplane.E("sqlstore.DeleteHostType", db.deleteUnused(ctx, "host_types", "host type", id,
		`SELECT COUNT(*) FROM host_inventory WHERE type_id = ?`, "host(s)"))
}

// deleteUnused deletes row id of table unless users (a count query) finds
// rows that refer to it: KindConflict then, KindNotFound if it is missing.
// The foreign keys back the check up against a concurrent insert.
func (db *DB) deleteUnused(ctx context.Context, table, what string, id int64, users, usersWhat string) error {
	return db.write(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRow(ctx, users, id).Scan(&n); err != nil {
			return fmt.Errorf("while counting what uses the %s: %w", what, err)
		}
		if n > 0 {
			return dbplane.Errorf(dbplane.KindConflict, "%s %d is used by %d %s: delete or move them first", what, id, n, usersWhat)
		}
		res, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE id = ?`, id)
		if isForeignKeyViolation(err) {
			return &dbplane.Error{Kind: dbplane.KindConflict, Message: fmt.Sprintf("%s %d is still in use", what, id), Err: err}
		} else if err != nil {
			return fmt.Errorf("while deleting the %s: %w", what, err)
		}
		if gone, err := res.RowsAffected(); err != nil {
			return err
		} else if gone == 0 {
			return dbplane.Errorf(dbplane.KindNotFound, "%s %d not found", what, id)
		}
		return nil
	})
}
