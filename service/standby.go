package service

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
)

// standbyTopologies are the topologies a MariaDB standby may have: its
// primary (a galera standby's member 0) replicates from the source, and
// galera or its own replicas carry that to its other nodes.
var standbyTopologies = []string{dbplane.TopologyGalera, dbplane.TopologyReplication, dbplane.TopologyStandalone}

// checkStandby checks the source of a standby spec (spec.standby_of): a
// running MariaDB cluster that is not a standby itself, of the same
// version, that the caller may operate. A source that does not exist and
// one the caller may not read answer alike, so that the answer reveals
// nothing. Since a standby replays its source's accounts, its admin
// password must be the source's (as OCP asks for the primary's root
// password), and with SSL on at the source the standby needs SSL to verify
// it. Every problem is a KindInvalid error naming the spec's field.
func (s *Service) checkStandby(ctx context.Context, spec *dbplane.ClusterSpec) error {
	if spec.StandbyOf == 0 {
		return nil
	}
	bad := func(field, format string, args ...any) error {
		return dbplane.Invalid(dbplane.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case spec.StandbyOf < 0:
		return bad("standby_of", "must be the id of a cluster")
	case spec.Engine != dbplane.EngineMySQL:
		return bad("standby_of", "standby clusters are MariaDB (engine %s) only", dbplane.EngineMySQL)
	case !slices.Contains(standbyTopologies, spec.Topology):
		return bad("topology", "a standby is one of %s", strings.Join(standbyTopologies, ", "))
	}
	missing := bad("standby_of", "cluster %d not found", spec.StandbyOf)
	src, err := s.Store.FindClusterByID(ctx, spec.StandbyOf)
	if dbplane.ErrorKind(err) == dbplane.KindNotFound {
		return missing
	} else if err != nil {
		return err
	}
	// A standby takes a replication account on its source and is checked
	// against the source's password: operating the source, not reading
	// it, is what that needs. Those who cannot read it learn nothing.
	if _, err := authorize(ctx, dbplane.ActionOperate, resource{project: src.ProjectID, hidden: missing}); err != nil {
		if dbplane.ErrorKind(err) == dbplane.KindForbidden {
			return err
		}
		return missing
	}
	switch {
	case src.Engine != spec.Engine:
		return bad("standby_of", "cluster %s is a %s cluster, not %s", src.Name, src.Engine, spec.Engine)
	case src.Spec.StandbyOf != 0:
		return bad("standby_of", "cluster %s is itself a standby (of cluster %d): name its source", src.Name, src.Spec.StandbyOf)
	case src.Status != dbplane.ClusterRunning:
		return bad("standby_of", "cluster %s is %s, not running", src.Name, src.Status)
	case src.Version != spec.Version:
		return bad("version", "must be %s, the version of the source cluster %s", src.Version, src.Name)
	case src.Spec.SSL && !spec.SSL:
		return bad("ssl", "must be on: the source cluster %s has SSL on, and the standby verifies it with the CA", src.Name)
	}
	pw, err := s.Store.ClusterPassword(ctx, src.ID)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(pw), []byte(spec.Password)) != 1 {
		return bad("password", "must be the admin password of the source cluster %s: a standby replays its source's accounts", src.Name)
	}
	return nil
}

// checkNoStandbys refuses to delete a cluster that standbys replicate
// from: they would replicate from nothing. KindConflict naming them.
func checkNoStandbys(c *dbplane.Cluster) error {
	if len(c.Standbys) == 0 {
		return nil
	}
	var names []string
	for _, sb := range c.Standbys {
		names = append(names, fmt.Sprintf("%s (%d)", sb.Name, sb.ID))
	}
	return dbplane.Errorf(dbplane.KindConflict, "cluster %s has standby clusters %s: delete them first",
		c.Name, strings.Join(names, ", "))
}
