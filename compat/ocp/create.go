package ocp

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
)

// createObject names the create body in sub errors, as OCP does.
const createObject = "createClusterParam"

// createClusterParam is OCP's create-cluster body. Every documented field
// is accepted; those dbplane has no use for are ignored (docs/ocp.md says
// which), and undocumented ones are refused naming the field.
type createClusterParam struct {
	Name         string      `json:"name"`
	RpmName      string      `json:"rpmName"`
	Type         string      `json:"type"`
	Password     string      `json:"password"`
	RootPassword string      `json:"rootPassword"` // alias of password some clients send
	PrimaryZone  *string     `json:"primaryZone"`
	Zones        []zoneParam `json:"zones"`
	ObClusterID  *int64      `json:"obClusterId"`
	FullVersion  string      `json:"fullVersion"`
	VpcID        *int64      `json:"vpcId"`
	VpcName      string      `json:"vpcName"`
	// StartupParameters become engine parameters, checked by the engine.
	StartupParameters    []parameterParam `json:"startupParameters"`
	Attributes           json.RawMessage  `json:"attributes"`
	ObproxyClusterIDs    []int64          `json:"obproxyClusterIds"`
	ArbitrationServiceID *int64           `json:"arbitrationServiceId"`
	PrimaryClusterInfo   json.RawMessage  `json:"primaryClusterInfo"`
	OversellingFactor    *int             `json:"oversellingFactor"`
	CgroupEnabled        *bool            `json:"cgroupEnabled"`
	CreateExtraTenant    *bool            `json:"createExtraTenant"`
	ClientToken          string           `json:"clientToken"`
}

// zoneParam is one zone of the create body: its servers are host ids.
type zoneParam struct {
	Name                   string  `json:"name"`
	IdcName                string  `json:"idcName"`
	Servers                []int64 `json:"servers"`
	Architecture           string  `json:"architecture"`
	RpmName                string  `json:"rpmName"`
	RootServer             *int64  `json:"rootServer"`
	PackageOperatingSystem string  `json:"packageOperatingSystem"`
}

// parameterParam is a startup parameter.
type parameterParam struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Labels that keep what OCP clients sent and dbplane has no field for, so
// that reads answer it back.
const (
	labelZonePrefix    = "ocp.zone." // + the IDC (dbplane zone): the OCP zone name
	labelRpm           = "ocp.rpmName"
	clusterTypePrimary = "PRIMARY"
	// defaultVolumeGB is the volume of each node: OCP's body has no size.
	defaultVolumeGB = 10
)

// handleClusterCreate handles POST /api/v2/ob/clusters: it maps the body
// to a MariaDB Galera spec with one node on each listed server, and
// answers the create task in OCP's shape.
func (s *Server) handleClusterCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	var p createClusterParam
	if err := decodeJSON(r, createObject, &p); err != nil {
		return nil, err
	}
	spec, err := s.toSpec(r.Context(), &p)
	if err != nil {
		return nil, err
	}
	c, t, err := s.Clusters.CreateCluster(r.Context(), spec, false)
	if err != nil {
		return nil, specError(err, &p)
	}
	ti := toTaskInstance(t, asTasks)
	ti.Cluster = &clusterRef{ID: c.ID, Name: c.Name, ObClusterID: c.ID}
	return ti, nil
}

// toSpec checks the body and maps it to a cluster spec that pins one node
// on each listed server. Every problem found is reported at once.
func (s *Server) toSpec(ctx context.Context, p *createClusterParam) (dbplane.ClusterSpec, error) {
	var subs []subError
	bad := func(field string, value any, format string, args ...any) {
		subs = append(subs, subError{Object: createObject, Field: field, RejectedValue: value, Message: fmt.Sprintf(format, args...)})
	}
	if p.Name == "" {
		bad("name", p.Name, "must not be blank")
	}
	switch p.Type {
	case clusterTypePrimary, clusterTypeStandby:
	case "":
		bad("type", p.Type, "must not be blank: PRIMARY or STANDBY")
	default:
		bad("type", p.Type, "must be PRIMARY or STANDBY")
	}
	password := cmp.Or(p.Password, p.RootPassword, standbyPassword(p))
	if password == "" {
		bad("password", nil, "must not be blank")
	}
	ev, msg := s.resolveRpm(p.RpmName)
	if msg != "" {
		bad("rpmName", p.RpmName, "%s", msg)
	}
	for i, z := range p.Zones {
		if z.RpmName != "" && z.RpmName != p.RpmName {
			bad(fmt.Sprintf("zones[%d].rpmName", i), z.RpmName, "must be the cluster's rpmName %q: every node runs the same package", p.RpmName)
		}
	}
	spec := dbplane.ClusterSpec{
		Name: p.Name, Engine: dbplane.EngineMySQL, Version: ev.Version, Topology: dbplane.TopologyGalera,
		Flavor: s.defaultFlavor(), VolumeGB: defaultVolumeGB, Password: password,
		Labels: map[string]string{labelRpm: p.RpmName},
	}
	if err := s.checkZones(ctx, p, &spec, bad); err != nil {
		return spec, err
	}
	if err := s.checkStandby(ctx, p, &spec, bad); err != nil {
		return spec, err
	}
	if len(p.StartupParameters) > 0 {
		spec.Parameters = map[string]string{}
		for i, sp := range p.StartupParameters {
			if sp.Name == "" {
				bad(fmt.Sprintf("startupParameters[%d].name", i), sp.Name, "must not be blank")
			}
			spec.Parameters[sp.Name] = sp.Value
		}
	}
	if len(subs) > 0 {
		return spec, invalidErr(subs...)
	}
	return spec, nil
}

// checkZones checks the zones and their servers against the fleet: each
// server a known host whose zone (dbplane's IDC) is the zone's idcName,
// listed once. It sets the spec's zones, pinned hosts, node count and
// primary zone. It returns an error only when a host cannot be looked up.
func (s *Server) checkZones(ctx context.Context, p *createClusterParam, spec *dbplane.ClusterSpec,
	bad func(field string, value any, format string, args ...any)) error {
	if len(p.Zones) == 0 {
		bad("zones", nil, "must not be empty")
	}
	var hosts []int64
	idcOf := map[string]string{} // OCP zone name -> IDC
	for i, z := range p.Zones {
		field := fmt.Sprintf("zones[%d]", i)
		switch {
		case z.Name == "":
			bad(field+".name", z.Name, "must not be blank")
		case len(z.Name) > 63:
			bad(field+".name", z.Name, "must be at most 63 characters")
		case idcOf[z.Name] != "":
			bad(field+".name", z.Name, "zone %q is listed twice", z.Name)
		}
		if z.IdcName == "" {
			bad(field+".idcName", z.IdcName, "must not be blank")
		} else if slices.Contains(spec.Zones, z.IdcName) {
			bad(field+".idcName", z.IdcName, "IDC %q holds another zone of this cluster already", z.IdcName)
		}
		if z.Name != "" && z.IdcName != "" {
			idcOf[z.Name] = z.IdcName
			spec.Zones = append(spec.Zones, z.IdcName)
			spec.Labels[labelZonePrefix+z.IdcName] = z.Name
		}
		if len(z.Servers) == 0 {
			bad(field+".servers", z.Servers, "must list at least one host id")
		}
		for j, id := range z.Servers {
			sf := fmt.Sprintf("%s.servers[%d]", field, j)
			if slices.Contains(hosts, id) {
				bad(sf, id, "host %d is listed twice: a cluster has one node per host", id)
				continue
			}
			hosts = append(hosts, id)
			h, err := s.Hosts.FindHostByID(ctx, id)
			switch {
			case dbplane.ErrorKind(err) == dbplane.KindNotFound:
				bad(sf, id, "no host %d", id)
			case err != nil:
				// Not the request's fault: a caller without a global role
				// may not read hosts, or the store is down.
				return err
			case z.IdcName != "" && h.Zone != z.IdcName:
				bad(field+".idcName", z.IdcName, "host %d (%s) is in IDC %q, not %q", id, h.Address, h.Zone, z.IdcName)
			}
		}
	}
	spec.Nodes, spec.Hosts = len(hosts), hosts
	if p.PrimaryZone != nil && *p.PrimaryZone != "" {
		// OCP's primaryZone ranks zones ("z1;z2,z3"): the first one is
		// where dbplane prefers writes.
		first, _, _ := strings.Cut(*p.PrimaryZone, ";")
		first, _, _ = strings.Cut(first, ",")
		first = strings.TrimSpace(first)
		if idc, ok := idcOf[first]; ok {
			spec.PrimaryZone = idc
		} else {
			bad("primaryZone", *p.PrimaryZone, "zone %q is not a zone of this cluster", first)
		}
	}
	return nil
}

// resolveRpm returns the catalog's MariaDB version that has rpmName among
// its packages, or a message saying what is available.
func (s *Server) resolveRpm(rpm string) (dbplane.EngineVersion, string) {
	var available []string
	for _, ev := range s.Catalog.Engines {
		if ev.Engine != dbplane.EngineMySQL || !slices.Contains(ev.Topologies, dbplane.TopologyGalera) {
			continue
		}
		if slices.Contains(ev.Packages, rpm) {
			return ev, ""
		}
		for _, pkg := range ev.Packages {
			available = append(available, pkg+" (MariaDB "+ev.Version+")")
		}
	}
	if rpm == "" {
		return dbplane.EngineVersion{}, "must not be blank; available: " + strings.Join(available, ", ")
	}
	return dbplane.EngineVersion{}, fmt.Sprintf("package %q is not in dbplane's software catalog: an OCP cluster runs MariaDB Galera here; available: %s",
		rpm, strings.Join(available, ", "))
}

// defaultFlavor is the catalog's smallest flavor: OCP's body has no size.
func (s *Server) defaultFlavor() string {
	fs := slices.Clone(s.Catalog.Flavors)
	if len(fs) == 0 {
		return ""
	}
	slices.SortStableFunc(fs, func(a, b dbplane.Flavor) int {
		return cmp.Or(cmp.Compare(a.MemoryGB, b.MemoryGB), cmp.Compare(a.VCPUs, b.VCPUs))
	})
	return fs[0].Code
}

// specFields maps the fields of dbplane's spec errors to the body's.
var specFields = map[string]string{
	"name":         "name",
	"password":     "password",
	"nodes":        "zones",
	"zones":        "zones",
	"primary_zone": "primaryZone",
	"version":      "rpmName",
	"engine":       "rpmName",
	"topology":     "zones",
	"flavor":       "zones",
	"volume_gb":    "zones",
	"hosts":        "zones",
	"standby_of":   "primaryClusterInfo.obClusterId",
	"ssl":          "primaryClusterInfo.obClusterId",
}

// specError renames the fields of a spec error to the body's, with the
// values the client sent (never the password).
func specError(err error, p *createClusterParam) error {
	fields := dbplane.ErrorFields(err)
	if dbplane.ErrorKind(err) != dbplane.KindInvalid || len(fields) == 0 {
		return err
	}
	subs := make([]subError, 0, len(fields))
	for _, f := range fields {
		field := specFields[f.Field]
		switch {
		case field != "":
		case strings.HasPrefix(f.Field, "parameters"):
			field = "startupParameters"
		case strings.HasPrefix(f.Field, "hosts["):
			field = "zones" // the hosts are the zones' servers
		case strings.HasPrefix(f.Field, "zones["):
			// The spec's zones are the body's IDCs, in the same order.
			field = f.Field + ".idcName"
		default:
			field = f.Field
		}
		subs = append(subs, subError{Object: createObject, Field: field, RejectedValue: rejected(field, p), Message: f.Message})
	}
	return invalidErr(subs...)
}

// rejected returns the value the client sent for field, or nil.
func rejected(field string, p *createClusterParam) any {
	switch field {
	case "name":
		return p.Name
	case "zones":
		return p.Zones
	case "primaryZone":
		return p.PrimaryZone
	case "rpmName":
		return p.RpmName
	}
	return nil
}
