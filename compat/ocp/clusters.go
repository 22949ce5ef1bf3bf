package ocp

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerClusterRoutes() {
	s.route("POST /api/v2/ob/clusters", "cluster.create", codesCluster, s.handleClusterCreate)
	s.route("GET /api/v2/ob/clusters", "cluster.list", codesCluster, s.handleClusterList)
	s.route("GET /api/v2/ob/clusters/{id}", "cluster.get", codesCluster, s.handleClusterGet)
	s.route("DELETE /api/v2/ob/clusters/{id}", "cluster.delete", codesCluster,
		s.clusterTask((dbplane.ClusterService).DeleteCluster))
	s.route("POST /api/v2/ob/clusters/{id}/stop", "cluster.stop", codesCluster,
		s.clusterTask((dbplane.ClusterService).StopCluster))
	s.route("POST /api/v2/ob/clusters/{id}/start", "cluster.start", codesCluster,
		s.clusterTask((dbplane.ClusterService).StartCluster))
	s.route("POST /api/v2/ob/clusters/{id}/restart", "cluster.restart", codesCluster,
		s.clusterTask((dbplane.ClusterService).RestartCluster))
}

// obCluster is OCP's ObCluster, for a dbplane MariaDB Galera cluster.
type obCluster struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	ObClusterID int64  `json:"obClusterId"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	// DbplaneStatus is the native status, finer than OCP's.
	DbplaneStatus string   `json:"dbplaneStatus"`
	ObVersion     string   `json:"obVersion"`
	FullVersion   string   `json:"fullVersion"`
	RpmName       string   `json:"rpmName,omitempty"`
	PrimaryZone   string   `json:"primaryZone"`
	Zones         []obZone `json:"zones"`
	CreateTime    string   `json:"createTime"`
	UpdateTime    string   `json:"updateTime"`
	// PrimaryCluster and Replication are a STANDBY's; StandbyClusters
	// are a PRIMARY's (see standby.go).
	PrimaryCluster  *obClusterRef  `json:"primaryCluster,omitempty"`
	Replication     *obReplication `json:"replicationStatus,omitempty"`
	StandbyClusters []obClusterRef `json:"standbyClusters"`
}

// obZone is a zone of a cluster: its nodes in one IDC.
type obZone struct {
	Name        string     `json:"name"`
	IdcName     string     `json:"idcName"`
	ClusterID   int64      `json:"clusterId"`
	ObClusterID int64      `json:"obClusterId"`
	Servers     []obServer `json:"servers"`
}

// obServer is a node of a cluster.
type obServer struct {
	ID      int64  `json:"id"`
	IP      string `json:"ip"`
	SQLPort int    `json:"sqlPort"`
	HostID  int64  `json:"hostId"`
	Status  string `json:"status"`
}

// clusterStatuses maps dbplane's cluster statuses to OCP's. A degraded
// Galera cluster still serves, as OCP's RUNNING; a broken one is ABNORMAL.
var clusterStatuses = map[dbplane.ClusterStatus]string{
	dbplane.ClusterCreating:     "CREATING",
	dbplane.ClusterRunning:      "RUNNING",
	dbplane.ClusterDegraded:     "RUNNING",
	dbplane.ClusterStopped:      "STOPPED",
	dbplane.ClusterDeleting:     "DELETING",
	dbplane.ClusterAbnormal:     "ABNORMAL",
	dbplane.ClusterFailed:       "ABNORMAL",
	dbplane.ClusterDataDiskFull: "ABNORMAL",
	dbplane.ClusterStopping:     "STOPPING",
	dbplane.ClusterStarting:     "STARTING",
	dbplane.ClusterRestarting:   "RESTARTING",
	dbplane.ClusterUpdating:     "OPERATING",
}

// ocpStatuses are the values the status filter takes.
var ocpStatuses = []string{"RUNNING", "CREATING", "DELETING", "STARTING", "RESTARTING", "STOPPING", "STOPPED",
	"TAKINGOVER", "MOVINGOUT", "SWITCHOVER", "FAILOVER", "OPERATING", "ABNORMAL"}

// ocpStatus is the OCP status of a cluster; statuses added to dbplane
// later (starting, …) go upper-cased, as OCP spells them.
func ocpStatus(st dbplane.ClusterStatus) string {
	if s, ok := clusterStatuses[st]; ok {
		return s
	}
	return strings.ToUpper(string(st))
}

// isOCPCluster reports whether the OCP door shows c: MariaDB Galera
// clusters are what it creates.
func isOCPCluster(c *dbplane.Cluster) bool {
	return c.Engine == dbplane.EngineMySQL && c.Topology == dbplane.TopologyGalera
}

// toObCluster renders a cluster in OCP's shape, its nodes grouped by IDC
// (idcOf says a node's) in the order of the spec's zones.
func toObCluster(c *dbplane.Cluster, idcOf func(*dbplane.Cluster, dbplane.Node) string) obCluster {
	oc := obCluster{
		ID: c.ID, Name: c.Name, ObClusterID: c.ID, Type: clusterType(c),
		Status: ocpStatus(c.Status), DbplaneStatus: string(c.Status),
		ObVersion: c.Version, FullVersion: c.Version, RpmName: c.Spec.Labels[labelRpm],
		CreateTime: formatTime(c.CreatedAt), UpdateTime: formatTime(c.UpdatedAt),
		Zones: []obZone{},
	}
	if c.Spec.PrimaryZone != "" {
		oc.PrimaryZone = cmp.Or(c.Spec.Labels[labelZonePrefix+c.Spec.PrimaryZone], c.Spec.PrimaryZone)
	}
	idcs := slices.Clone(c.Spec.Zones)
	byIDC := map[string][]obServer{}
	for _, n := range c.Nodes {
		idc := idcOf(c, n)
		if !slices.Contains(idcs, idc) {
			idcs = append(idcs, idc)
		}
		byIDC[idc] = append(byIDC[idc], obServer{ID: n.ID, IP: n.Address, SQLPort: n.Port, HostID: n.HostID,
			Status: strings.ToUpper(n.Status)})
	}
	for _, idc := range idcs {
		oc.Zones = append(oc.Zones, obZone{Name: cmp.Or(c.Spec.Labels[labelZonePrefix+idc], idc), IdcName: idc,
			ClusterID: c.ID, ObClusterID: c.ID, Servers: nonNil(byIDC[idc])})
	}
	withStandby(&oc, c)
	return oc
}

// idcLookup returns a function that tells a node's IDC, the zone of its
// host, looking each host up once per request. A host the caller may not
// read (or that is gone) leaves the IDC unknown: "".
func (s *Server) idcLookup(r *http.Request) func(*dbplane.Cluster, dbplane.Node) string {
	zones := map[int64]string{}
	return func(c *dbplane.Cluster, n dbplane.Node) string {
		if z, ok := zones[n.HostID]; ok {
			return z
		}
		z := ""
		if h, err := s.Hosts.FindHostByID(r.Context(), n.HostID); err == nil {
			z = h.Zone
		}
		zones[n.HostID] = z
		return z
	}
}

// clusterSorts are the sortable fields of the cluster list.
var clusterSorts = map[string]comparator[*dbplane.Cluster]{
	"id":          func(a, b *dbplane.Cluster) int { return cmp.Compare(a.ID, b.ID) },
	"obClusterId": func(a, b *dbplane.Cluster) int { return cmp.Compare(a.ID, b.ID) },
	"name":        func(a, b *dbplane.Cluster) int { return strings.Compare(a.Name, b.Name) },
	"status":      func(a, b *dbplane.Cluster) int { return strings.Compare(ocpStatus(a.Status), ocpStatus(b.Status)) },
	"createTime":  func(a, b *dbplane.Cluster) int { return a.CreatedAt.Compare(b.CreatedAt) },
	"updateTime":  func(a, b *dbplane.Cluster) int { return a.UpdatedAt.Compare(b.UpdatedAt) },
}

// handleClusterList handles GET /api/v2/ob/clusters: name is a
// case-insensitive keyword, status a comma list of OCP statuses.
func (s *Server) handleClusterList(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := parsePage(r, slices.Sorted(maps.Keys(clusterSorts)))
	if err != nil {
		return nil, err
	}
	statuses, err := commaList(r, "status", ocpStatuses)
	if err != nil {
		return nil, err
	}
	keyword := strings.ToLower(r.URL.Query().Get("name"))
	engine := dbplane.EngineMySQL
	cs, err := collect(func(offset, limit int) ([]*dbplane.Cluster, int, error) {
		return s.Clusters.FindClusters(r.Context(), dbplane.ClusterFilter{Engine: &engine, Offset: offset, Limit: limit})
	})
	if err != nil {
		return nil, err
	}
	cs = slices.DeleteFunc(cs, func(c *dbplane.Cluster) bool {
		return !isOCPCluster(c) ||
			keyword != "" && !strings.Contains(strings.ToLower(c.Name), keyword) ||
			statuses != nil && !slices.Contains(statuses, ocpStatus(c.Status))
	})
	page := paginate(cs, p, clusterSorts)
	idcOf := s.idcLookup(r)
	out := make([]obCluster, 0, len(page.Contents.([]*dbplane.Cluster)))
	for _, c := range page.Contents.([]*dbplane.Cluster) {
		out = append(out, toObCluster(c, idcOf))
	}
	page.Contents = out
	return page, nil
}

// ocpCluster returns the cluster of the path, if the OCP door shows it.
func (s *Server) ocpCluster(r *http.Request) (*dbplane.Cluster, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	c, err := s.Clusters.FindClusterByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !isOCPCluster(c) {
		return nil, dbplane.Errorf(dbplane.KindNotFound,
			"cluster %d is a %s %s cluster, not an OCP (MariaDB Galera) one: see /v1/clusters/%d", id, c.Engine, c.Topology, id)
	}
	return c, nil
}

// handleClusterGet handles GET /api/v2/ob/clusters/{id}.
func (s *Server) handleClusterGet(w http.ResponseWriter, r *http.Request) (any, error) {
	c, err := s.ocpCluster(r)
	if err != nil {
		return nil, err
	}
	return toObCluster(c, s.idcLookup(r)), nil
}

// clusterTask adapts the calls that start a task on a cluster: delete,
// stop, start and restart. They answer the task in the shape of the create
// answer. The cluster must be one the OCP door shows (another one is not
// found, as in reads); the service authorizes and checks its status, so a
// cluster in the wrong status answers 409 with code 50002 and the service's
// message naming the status. OCP documents no body for these calls: one
// sent is ignored.
func (s *Server) clusterTask(op func(dbplane.ClusterService, context.Context, int64, bool) (*dbplane.Task, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		c, err := s.ocpCluster(r)
		if err != nil {
			return nil, err
		}
		t, err := op(s.Clusters, r.Context(), c.ID, false)
		if err != nil {
			return nil, err
		}
		if len(t.Subtasks) == 0 {
			// The service may answer the task alone; OCP shows the DAG.
			if full, err := s.Tasks.FindTaskByID(r.Context(), t.ID); err == nil {
				t = full
			}
		}
		ti := toTaskInstance(t, asTasks)
		ti.Cluster = &clusterRef{ID: c.ID, Name: c.Name, ObClusterID: c.ID}
		return ti, nil
	}
}
