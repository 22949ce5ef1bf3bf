package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/dbplane/dbplane"
)

// computeHostSelect reads hostColumns of h and then the inventory and the
// names it refers to; hosts without inventory read zeros.
var computeHostSelect = `SELECT ` + prefixColumns("h.", hostColumns) + `,
	COALESCE(i.idc_id, 0), COALESCE(i.type_id, 0), COALESCE(i.kind, ''), COALESCE(i.ssh_port, 0),
	COALESCE(i.serial_number, ''), COALESCE(i.alias, ''), COALESCE(i.description, ''), COALESCE(i.vpc_id, 0),
	COALESCE(i.publish_ports, ''), COALESCE(d.name, ''), COALESCE(d.description, ''), COALESCE(r.id, 0),
	COALESCE(r.name, ''), COALESCE(t.name, '')
	FROM hosts h
	LEFT JOIN host_inventory i ON i.host_id = h.id
	LEFT JOIN idcs d ON d.id = i.idc_id
	LEFT JOIN regions r ON r.id = d.region_id
	LEFT JOIN host_types t ON t.id = i.type_id`

// prefixColumns qualifies each column of a comma-separated list.
func prefixColumns(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// appendScanner scans a row's leading columns into what its caller asks
// and the rest into extra, so that scanHost reads the host part of a
// longer row.
type appendScanner struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (a appendScanner) Scan(dest ...any) error { return a.row.Scan(append(dest, a.extra...)...) }

func scanComputeHost(s interface{ Scan(...any) error }) (*dbplane.ComputeHost, error) {
	var (
		ch    dbplane.ComputeHost
		ports string
	)
	inv := &ch.Inventory
	h, err := scanHost(appendScanner{row: s, extra: []any{&inv.IDCID, &inv.TypeID, &inv.Kind, &inv.SSHPort,
		&inv.SerialNumber, &inv.Alias, &inv.Description, &inv.VpcID, &ports, &ch.IDCName, &ch.IDCDescription,
		&ch.RegionID, &ch.RegionName, &ch.TypeName}})
	if err != nil {
		return nil, err
	}
	ch.Host = *h
	if ports != "" {
		inv.PublishPorts = strings.Split(ports, ",")
	}
	return &ch, nil
}

func findComputeHost(ctx context.Context, tx *Tx, where string, arg any) (*dbplane.ComputeHost, error) {
	h, err := scanComputeHost(tx.QueryRow(ctx, computeHostSelect+` WHERE `+where, arg))
	if isNoRows(err) {
		return nil, dbplane.Errorf(dbplane.KindNotFound, "host %v not found", arg)
	}
	return h, err
}

// FindComputeHostByID returns a host with its inventory.
func (db *DB) FindComputeHostByID(ctx context.Context, id int64) (*dbplane.ComputeHost, error) {
	return readOne(ctx, db, "sqlstore.FindComputeHostByID", func(tx *Tx) (*dbplane.ComputeHost, error) {
		return findComputeHost(ctx, tx, `h.id = ?`, id)
	})
}

// FindComputeHostByAddress returns the host of an address with its
// inventory.
func (db *DB) FindComputeHostByAddress(ctx context.Context, address string) (*dbplane.ComputeHost, error) {
	return readOne(ctx, db, "sqlstore.FindComputeHostByAddress", func(tx *Tx) (*dbplane.ComputeHost, error) {
		return findComputeHost(ctx, tx, `h.address = ?`, address)
	})
}

// FindComputeHosts returns a page of hosts with their inventory, ordered
// by id, and the total.
func (db *DB) FindComputeHosts(ctx context.Context, f dbplane.ComputeFilter) ([]*dbplane.ComputeHost, int, error) {
	return readPage(ctx, db, "sqlstore.FindComputeHosts", `SELECT COUNT(*) FROM hosts`,
		computeHostSelect+` ORDER BY h.id`, f, scanComputeHost)
}

// RegisterHosts inserts hosts that have no agent yet, with their
// inventory, and the task that waits for their agents, in one transaction:
// a host is registered exactly when a task waits for it.
func (db *DB) RegisterHosts(ctx context.Context, hosts []*dbplane.ComputeHost, plan func([]*dbplane.ComputeHost) dbplane.TaskPlan) (*dbplane.Task, error) {
	var t *dbplane.Task
	err := db.write(ctx, func(tx *Tx) error {
		for _, h := range hosts {
			if err := registerHost(ctx, tx, h); err != nil {
				return err
			}
		}
		var err error
		t, err = createTask(ctx, tx, plan(hosts))
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.RegisterHosts", err)
	}
	return t, nil
}

// registerHost inserts one NEW host named by its address, in the zone and
// region of its IDC, with its inventory, and completes h from the stored
// rows.
func registerHost(ctx context.Context, tx *Tx, h *dbplane.ComputeHost) error {
	var taken int64
	err := tx.QueryRow(ctx, `SELECT id FROM hosts WHERE address = ?`, h.Address).Scan(&taken)
	if err == nil {
		return dbplane.Errorf(dbplane.KindConflict, "address %s is registered already, as host %d", h.Address, taken)
	} else if !isNoRows(err) {
		return fmt.Errorf("while looking the address up: %w", err)
	}
	idc, err := inventoryRefs(ctx, tx, h.Inventory)
	if err != nil {
		return err
	}
	now := micros(tx.now)
	err = tx.QueryRow(ctx, `INSERT INTO hosts (name, address, region, zone, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		h.Address, h.Address, idc.RegionName, idc.Name, string(dbplane.HostNew), now, now).Scan(&h.ID)
	if isUniqueViolation(err) {
		return dbplane.Errorf(dbplane.KindConflict, "address %s is registered already", h.Address)
	} else if err != nil {
		return fmt.Errorf("while registering the host: %w", err)
	}
	if err := putInventory(ctx, tx, h.ID, h.Inventory); err != nil {
		return err
	}
	stored, err := findComputeHost(ctx, tx, `h.id = ?`, h.ID)
	if err != nil {
		return err
	}
	*h = *stored
	return nil
}

// inventoryRefs checks that the IDC and host type inv names exist, and
// returns the IDC (a zero one when inv names none).
func inventoryRefs(ctx context.Context, tx *Tx, inv dbplane.HostInventory) (*dbplane.IDC, error) {
	var errs []dbplane.FieldError
	idc := &dbplane.IDC{}
	if inv.IDCID != 0 {
		var err error
		if idc, err = findIDCByID(ctx, tx, inv.IDCID); dbplane.ErrorKind(err) == dbplane.KindNotFound {
			errs = append(errs, dbplane.FieldError{Field: "idc_id", Message: fmt.Sprintf("no IDC has id %d", inv.IDCID)})
		} else if err != nil {
			return nil, err
		}
	}
	if inv.TypeID != 0 {
		if _, err := findHostTypeByID(ctx, tx, inv.TypeID); dbplane.ErrorKind(err) == dbplane.KindNotFound {
			errs = append(errs, dbplane.FieldError{Field: "type_id", Message: fmt.Sprintf("no host type has id %d", inv.TypeID)})
		} else if err != nil {
			return nil, err
		}
	}
	if len(errs) > 0 {
		return nil, dbplane.Invalid(errs...)
	}
	return idc, nil
}

// putInventory inserts or replaces a host's inventory row.
func putInventory(ctx context.Context, tx *Tx, hostID int64, inv dbplane.HostInventory) error {
	_, err := tx.Exec(ctx, `INSERT INTO host_inventory (host_id, idc_id, type_id, kind, ssh_port, serial_number,
			alias, description, vpc_id, publish_ports)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (host_id) DO UPDATE SET idc_id = excluded.idc_id, type_id = excluded.type_id,
			kind = excluded.kind, ssh_port = excluded.ssh_port, serial_number = excluded.serial_number,
			alias = excluded.alias, description = excluded.description, vpc_id = excluded.vpc_id,
			publish_ports = excluded.publish_ports`,
		hostID, nullID(inv.IDCID), nullID(inv.TypeID), inv.Kind, inv.SSHPort, inv.SerialNumber, inv.Alias,
		inv.Description, inv.VpcID, strings.Join(inv.PublishPorts, ","))
	if isForeignKeyViolation(err) {
		// The IDC or type was deleted since it was checked.
		return &dbplane.Error{Kind: dbplane.KindConflict, Message: "the IDC or host type was deleted meanwhile", Err: err}
	} else if err != nil {
		return fmt.Errorf("while recording the host's inventory: %w", err)
	}
	return nil
}

// SetHostInventory records a host's inventory and moves it to its IDC's
// zone and region, in one transaction, so the two never disagree.
func (db *DB) SetHostInventory(ctx context.Context, hostID int64, inv dbplane.HostInventory) (*dbplane.ComputeHost, error) {
	var h *dbplane.ComputeHost
	err := db.write(ctx, func(tx *Tx) error {
		if _, err := findHostByID(ctx, tx, hostID); err != nil {
			return err
		}
		idc, err := inventoryRefs(ctx, tx, inv)
		if err != nil {
			return err
		}
		if err := putInventory(ctx, tx, hostID, inv); err != nil {
			return err
		}
		if inv.IDCID != 0 {
			if _, err := tx.Exec(ctx, `UPDATE hosts SET zone = ?, region = ?, updated_at = ? WHERE id = ?`,
				idc.Name, idc.RegionName, micros(tx.now), hostID); err != nil {
				return fmt.Errorf("while moving the host to its IDC: %w", err)
			}
		}
		h, err = findComputeHost(ctx, tx, `h.id = ?`, hostID)
		return err
	})
	if err != nil {
		return nil, dbplane.E("sqlstore.SetHostInventory", err)
	}
	return h, nil
}

// DeleteHosts removes hosts in one transaction: a refusal for one keeps
// them all.
func (db *DB) DeleteHosts(ctx context.Context, ids []int64) error {
	err := db.write(ctx, func(tx *Tx) error {
		for _, id := range ids {
			if err := deleteHost(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	return dbplane.E("sqlstore.DeleteHosts", err)
}

// ForgetNewHost removes a host that is still NEW: the undo of registering
// it. A host whose agent answered since is kept.
func (db *DB) ForgetNewHost(ctx context.Context, id int64) (bool, error) {
	var gone bool
	err := db.write(ctx, func(tx *Tx) error {
		h, err := findHostByID(ctx, tx, id)
		if dbplane.ErrorKind(err) == dbplane.KindNotFound {
			return nil
		} else if err != nil {
			return err
		}
		if h.Status != dbplane.HostNew {
			return nil
		}
		gone = true
		return deleteHost(ctx, tx, id)
	})
	return gone, dbplane.E("sqlstore.ForgetNewHost", err)
}
