package service

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/dbplane/dbplane"
)

// Bounds of the inventory's free text.
const (
	maxInventoryName    = 128
	maxInventoryText    = 256
	maxSerialNumber     = 64
	maxHostIDsPerDelete = 1000
)

// validNamed checks the name and description of a region, IDC or host
// type.
func validNamed(name, description string) error {
	var errs []dbplane.FieldError
	switch {
	case strings.TrimSpace(name) == "":
		errs = append(errs, dbplane.FieldError{Field: "name", Message: "must not be blank"})
	case len(name) > maxInventoryName || strings.IndexFunc(name, unicode.IsControl) >= 0:
		errs = append(errs, dbplane.FieldError{Field: "name",
			Message: fmt.Sprintf("must be at most %d characters, without control characters", maxInventoryName)})
	}
	if len(description) > maxInventoryText {
		errs = append(errs, dbplane.FieldError{Field: "description", Message: fmt.Sprintf("must be at most %d characters", maxInventoryText)})
	}
	if len(errs) > 0 {
		return dbplane.Invalid(errs...)
	}
	return nil
}

// joinInvalid adds field errors to err, a KindInvalid error or nil.
func joinInvalid(err error, more ...dbplane.FieldError) error {
	return dbplane.Invalid(append(dbplane.ErrorFields(err), more...)...)
}

// validRegistration checks a registration and puts its addresses in
// canonical form. Every problem is reported, naming its field.
func validRegistration(reg *dbplane.HostRegistration) error {
	var errs []dbplane.FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, dbplane.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch n := len(reg.Hosts); {
	case n == 0:
		add("hosts", "must list at least one host")
	case n > dbplane.MaxHostsPerAdd:
		add("hosts", "must list at most %d hosts, not %d", dbplane.MaxHostsPerAdd, n)
	}
	seen := map[string]bool{}
	for i := range reg.Hosts {
		h := &reg.Hosts[i]
		field := "hosts[" + strconv.Itoa(i) + "]."
		ip, ok := validIP(h.Address)
		switch {
		case !ok:
			add(field+"address", "must be the host's IP address, not %q", h.Address)
		case seen[ip]:
			add(field+"address", "%s is listed twice", ip)
		default:
			h.Address = ip
			seen[ip] = true
		}
		if len(h.SerialNumber) > maxSerialNumber {
			add(field+"serial_number", "must be at most %d characters", maxSerialNumber)
		}
	}
	errs = append(errs, inventoryErrors(reg.Inventory)...)
	if len(errs) > 0 {
		return dbplane.Invalid(errs...)
	}
	return nil
}

// inventoryErrors checks what a registration records of its hosts.
func inventoryErrors(inv dbplane.HostInventory) []dbplane.FieldError {
	var errs []dbplane.FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, dbplane.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !slices.Contains(dbplane.HostKinds, inv.Kind) {
		add("kind", "must be one of %s", strings.Join(dbplane.HostKinds, ", "))
	}
	if inv.SSHPort < 1 || inv.SSHPort > 65535 {
		add("ssh_port", "must be between 1 and 65535")
	}
	if inv.IDCID < 1 {
		add("idc_id", "required: the id of the hosts' IDC")
	}
	if inv.TypeID < 1 {
		add("type_id", "required: the id of the hosts' type")
	}
	if inv.VpcID < 0 {
		add("vpc_id", "must not be negative")
	}
	if len(inv.Alias) > maxInventoryName || strings.IndexFunc(inv.Alias, unicode.IsControl) >= 0 {
		add("alias", "must be at most %d characters, without control characters", maxInventoryName)
	}
	if len(inv.Description) > maxInventoryText {
		add("description", "must be at most %d characters", maxInventoryText)
	}
	if len(inv.PublishPorts) > 0 && inv.Kind != dbplane.HostKindContainer {
		add("publish_ports", "only a %s publishes ports", dbplane.HostKindContainer)
	}
	for i, p := range inv.PublishPorts {
		if err := validPortMapping(p); err != nil {
			add("publish_ports["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
	return errs
}

// validPortMapping checks a "hostPort:containerPort" pair.
func validPortMapping(p string) error {
	host, container, ok := strings.Cut(p, ":")
	if !ok {
		return fmt.Errorf("must be HOST_PORT:CONTAINER_PORT, not %q", p)
	}
	for _, s := range []string{host, container} {
		if n, err := strconv.Atoi(s); err != nil || n < 1 || n > 65535 {
			return errors.New("ports must be between 1 and 65535")
		}
	}
	return nil
}

// validHostIDs checks the ids of a batch delete.
func validHostIDs(ids []int64) error {
	if len(ids) == 0 || len(ids) > maxHostIDsPerDelete {
		return dbplane.Invalid(dbplane.FieldError{Field: "ids", Message: fmt.Sprintf("must list 1 to %d host ids", maxHostIDsPerDelete)})
	}
	seen := map[int64]bool{}
	for i, id := range ids {
		if id < 1 || seen[id] {
			return dbplane.Invalid(dbplane.FieldError{Field: "ids[" + strconv.Itoa(i) + "]",
				Message: "must be a positive host id, listed once"})
		}
		seen[id] = true
	}
	return nil
}
