package ocp

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/dbplane/dbplane"
)

// clusterTypeStandby is OCP's type of a cluster that replicates from a
// PRIMARY: in dbplane, a MariaDB Galera cluster whose member 0 replicates
// asynchronously from the primary's (spec.standby_of).
const clusterTypeStandby = "STANDBY"

// primaryClusterInfo names a STANDBY's primary: its id and its root
// password (rootSysPassword), which a standby shares since it replays the
// primary's accounts.
type primaryClusterInfo struct {
	ObClusterID     *int64 `json:"obClusterId"`
	RootSysPassword string `json:"rootSysPassword"`
}

// primaryInfo decodes the body's primaryClusterInfo; absent or null gives
// nil. Fields OCP does not document are refused, as elsewhere in the body.
func primaryInfo(p *createClusterParam) (*primaryClusterInfo, error) {
	raw := bytes.TrimSpace(p.PrimaryClusterInfo)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var info primaryClusterInfo
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&info); err != nil {
		return nil, err
	}
	return &info, nil
}

// standbyPassword is the primary's root password a STANDBY body gives,
// which stands in for the cluster's password when that is left out.
func standbyPassword(p *createClusterParam) string {
	if p.Type != clusterTypeStandby {
		return ""
	}
	info, err := primaryInfo(p)
	if err != nil || info == nil {
		return ""
	}
	return info.RootSysPassword
}

// checkStandby makes a STANDBY body's spec a standby of the PRIMARY its
// primaryClusterInfo names, which must be an OCP (MariaDB Galera) cluster
// the caller can read that is not a STANDBY itself. The service checks the
// rest (the primary runs, the password is its root password). It returns
// an error only when the primary cannot be looked up; what is wrong with
// the body goes to bad. A PRIMARY's primaryClusterInfo is ignored.
func (s *Server) checkStandby(ctx context.Context, p *createClusterParam, spec *dbplane.ClusterSpec,
	bad func(field string, value any, format string, args ...any)) error {
	if p.Type != clusterTypeStandby {
		return nil
	}
	info, err := primaryInfo(p)
	switch {
	case err != nil:
		bad("primaryClusterInfo", nil, "must be {obClusterId, rootSysPassword}: %v", err)
		return nil
	case info == nil:
		bad("primaryClusterInfo", nil, "must not be empty for a STANDBY cluster: {obClusterId, rootSysPassword} of its PRIMARY")
		return nil
	case info.ObClusterID == nil:
		bad("primaryClusterInfo.obClusterId", nil, "must not be null: the id of the PRIMARY cluster")
		return nil
	case info.RootSysPassword != "" && p.Password != "" && info.RootSysPassword != p.Password:
		bad("primaryClusterInfo.rootSysPassword", nil, "must be the cluster's password: a STANDBY replays its PRIMARY's accounts, root's password with them")
	}
	id := *info.ObClusterID
	c, err := s.Clusters.FindClusterByID(ctx, id)
	switch {
	case dbplane.ErrorKind(err) == dbplane.KindNotFound:
		bad("primaryClusterInfo.obClusterId", id, "no cluster %d", id)
	case err != nil:
		return err
	case !isOCPCluster(c):
		bad("primaryClusterInfo.obClusterId", id, "cluster %d is a %s %s cluster, not an OCP (MariaDB Galera) one", id, c.Engine, c.Topology)
	case c.Spec.StandbyOf != 0:
		bad("primaryClusterInfo.obClusterId", id, "cluster %s is a STANDBY, not a PRIMARY", c.Name)
	default:
		spec.StandbyOf = id
	}
	return nil
}

// clusterType is a cluster's OCP type.
func clusterType(c *dbplane.Cluster) string {
	if c.Spec.StandbyOf != 0 {
		return clusterTypeStandby
	}
	return clusterTypePrimary
}

// obClusterRef names another cluster in an ObCluster.
type obClusterRef struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	ObClusterID int64  `json:"obClusterId"`
}

// obReplication is a STANDBY's replication from its PRIMARY, as dbplane's
// standby monitor last found it.
type obReplication struct {
	// Status is PENDING, STREAMING, STOPPED, ERROR or UNKNOWN.
	Status           string `json:"status"`
	IOThreadRunning  bool   `json:"ioThreadRunning"`
	SQLThreadRunning bool   `json:"sqlThreadRunning"`
	// LagSeconds is null when unknown.
	LagSeconds   *int64 `json:"lagSeconds"`
	GtidPosition string `json:"gtidPosition,omitempty"`
	LastError    string `json:"lastError,omitempty"`
	// CheckTime is when the standby last answered; null if never.
	CheckTime *string `json:"checkTime"`
}

// withStandby adds to an ObCluster its PRIMARY and replication (for a
// STANDBY) and its STANDBYs (for a PRIMARY).
func withStandby(oc *obCluster, c *dbplane.Cluster) {
	oc.StandbyClusters = []obClusterRef{}
	for _, sb := range c.Standbys {
		oc.StandbyClusters = append(oc.StandbyClusters, obClusterRef{ID: sb.ID, Name: sb.Name, ObClusterID: sb.ID})
	}
	r := c.Replication
	if r == nil {
		if c.Spec.StandbyOf != 0 { // not recorded (yet)
			oc.PrimaryCluster = &obClusterRef{ID: c.Spec.StandbyOf, ObClusterID: c.Spec.StandbyOf}
		}
		return
	}
	oc.PrimaryCluster = &obClusterRef{ID: r.Source.ID, Name: r.Source.Name, ObClusterID: r.Source.ID}
	oc.Replication = &obReplication{Status: strings.ToUpper(r.State), IOThreadRunning: r.IORunning, SQLThreadRunning: r.SQLRunning,
		LagSeconds: r.LagSeconds, GtidPosition: r.Position, LastError: r.LastError, CheckTime: optTime(r.CheckedAt)}
}
