package ocp

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerHostRoutes() {
	s.route("GET /api/v2/compute/hosts", "host.list", codesCommon, s.handleHostList)
	s.route("GET /api/v2/compute/hosts/{hostId}", "host.get", codesCommon,
		getHandler("hostId", s.Compute.FindComputeHostByID, toOCPHost))
	s.route("DELETE /api/v2/compute/hosts/{hostId}", "host.delete", codesCommon, s.handleHostDelete)
	s.route("POST /api/v2/compute/hosts/batchDelete", "host.batch-delete", codesCommon, s.handleHostBatchDelete)
	s.route("POST /api/v2/compute/hosts/batchCreate", "host.batch-create", codesCommon, s.handleHostBatchCreate)
	s.route("POST /api/v2/compute/hosts", "host.create", codesCommon, s.handleHostCreate)
	s.route("POST /api/v2/compute/hosts/import", "host.import", codesCommon, s.handleHostImport)
}

// OCP's host statuses. dbplane's ONLINE is OCP's AVAILABLE unless the host
// is drained: it is then ONLINE, its agent up but the host not usable for
// new nodes.
const (
	hostAvailable = "AVAILABLE"
	hostOnline    = "ONLINE"
)

// hostStatuses are the values of the host list's status filter.
var hostStatuses = []string{string(dbplane.HostNew), hostAvailable, hostOnline, string(dbplane.HostOffline),
	string(dbplane.HostDeleting)}

// ocpHostStatus is the OCP status of a host.
func ocpHostStatus(h *dbplane.Host) string {
	if h.Status == dbplane.HostOnline {
		if h.Drained {
			return hostOnline
		}
		return hostAvailable
	}
	return string(h.Status)
}

// ocpHost is OCP's Host.
type ocpHost struct {
	ID                     int64    `json:"id"`
	Name                   string   `json:"name"`
	Alias                  string   `json:"alias"`
	Description            string   `json:"description"`
	OperatingSystem        string   `json:"operatingSystem"`
	OperatingSystemRelease string   `json:"operatingSystemRelease"`
	Architecture           string   `json:"architecture"`
	SerialNumber           string   `json:"serialNumber"`
	InnerIPAddress         string   `json:"innerIpAddress"`
	SSHPort                int      `json:"sshPort"`
	Kind                   string   `json:"kind"`
	PublishPorts           []string `json:"publishPorts"`
	Services               []string `json:"services"`
	Status                 string   `json:"status"`
	IdcID                  int64    `json:"idcId"`
	IdcName                string   `json:"idcName"`
	IdcDescription         string   `json:"idcDescription"`
	RegionID               int64    `json:"regionId"`
	RegionName             string   `json:"regionName"`
	TypeID                 int64    `json:"typeId"`
	TypeName               string   `json:"typeName"`
	VpcID                  int64    `json:"vpcId"`
	CreateTime             string   `json:"createTime"`
	UpdateTime             string   `json:"updateTime"`
}

// toOCPHost renders a host in OCP's shape. A host that joined on its own
// has no IDC record: its zone and region labels are its IDC and region
// names then.
func toOCPHost(h *dbplane.ComputeHost) ocpHost {
	inv := h.Inventory
	return ocpHost{
		ID: h.ID, Name: h.Name, Alias: inv.Alias, Description: inv.Description,
		OperatingSystem: h.OS, Architecture: h.Arch, SerialNumber: inv.SerialNumber,
		InnerIPAddress: h.Address, SSHPort: inv.SSHPort, Kind: inv.Kind, PublishPorts: nonNil(inv.PublishPorts),
		Services: []string{}, Status: ocpHostStatus(&h.Host),
		IdcID: inv.IDCID, IdcName: cmp.Or(h.IDCName, h.Zone), IdcDescription: h.IDCDescription,
		RegionID: h.RegionID, RegionName: cmp.Or(h.RegionName, h.Region), TypeID: inv.TypeID, TypeName: h.TypeName,
		VpcID: inv.VpcID, CreateTime: formatTime(h.CreatedAt), UpdateTime: formatTime(h.UpdatedAt),
	}
}

// hostSorts are the sortable fields of the host list.
var hostSorts = map[string]comparator[*dbplane.ComputeHost]{
	"id":             func(a, b *dbplane.ComputeHost) int { return cmp.Compare(a.ID, b.ID) },
	"name":           func(a, b *dbplane.ComputeHost) int { return strings.Compare(a.Name, b.Name) },
	"innerIpAddress": func(a, b *dbplane.ComputeHost) int { return strings.Compare(a.Address, b.Address) },
	"status": func(a, b *dbplane.ComputeHost) int {
		return strings.Compare(ocpHostStatus(&a.Host), ocpHostStatus(&b.Host))
	},
	"idcName":    func(a, b *dbplane.ComputeHost) int { return strings.Compare(a.IDCName, b.IDCName) },
	"typeName":   func(a, b *dbplane.ComputeHost) int { return strings.Compare(a.TypeName, b.TypeName) },
	"createTime": func(a, b *dbplane.ComputeHost) int { return a.CreatedAt.Compare(b.CreatedAt) },
	"updateTime": func(a, b *dbplane.ComputeHost) int { return a.UpdatedAt.Compare(b.UpdatedAt) },
}

// handleHostList handles GET /api/v2/compute/hosts: filtered by status (a
// comma list of OCP statuses) and keyword (a case-insensitive part of the
// hostname or address).
func (s *Server) handleHostList(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := parsePage(r, slices.Sorted(maps.Keys(hostSorts)))
	if err != nil {
		return nil, err
	}
	statuses, err := commaList(r, "status", hostStatuses)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	for _, name := range []string{"includedServiceType", "excludedServiceType"} {
		if v := q.Get(name); v != "" {
			return nil, invalidErr(subError{Object: queryObject, Field: name, RejectedValue: v,
				Message: "filtering hosts by service type is not supported yet"})
		}
	}
	keyword := strings.ToLower(q.Get("keyword"))
	hosts, err := collect(func(offset, limit int) ([]*dbplane.ComputeHost, int, error) {
		return s.Compute.FindComputeHosts(r.Context(), dbplane.ComputeFilter{Offset: offset, Limit: limit})
	})
	if err != nil {
		return nil, err
	}
	hosts = slices.DeleteFunc(hosts, func(h *dbplane.ComputeHost) bool {
		if statuses != nil && !slices.Contains(statuses, ocpHostStatus(&h.Host)) {
			return true
		}
		return keyword != "" && !strings.Contains(strings.ToLower(h.Name), keyword) &&
			!strings.Contains(strings.ToLower(h.Address), keyword)
	})
	return renderPage(paginate(hosts, p, hostSorts), toOCPHost), nil
}

// handleHostDelete handles DELETE /api/v2/compute/hosts/{hostId}.
func (s *Server) handleHostDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "hostId")
	if err != nil {
		return nil, err
	}
	if err := s.Compute.DeleteHosts(r.Context(), []int64{id}); err != nil {
		return nil, err
	}
	return noData{}, nil
}

// batchDeleteObject names the batch delete body in sub errors.
const batchDeleteObject = "batchDeleteHostParam"

// batchDeleteParam is the body of POST …/hosts/batchDelete.
type batchDeleteParam struct {
	HostIDList []int64 `json:"hostIdList"`
}

// handleHostBatchDelete handles POST /api/v2/compute/hosts/batchDelete:
// every host is deleted, or none.
func (s *Server) handleHostBatchDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	var p batchDeleteParam
	if err := decodeJSON(r, batchDeleteObject, &p); err != nil {
		return nil, err
	}
	if err := s.Compute.DeleteHosts(r.Context(), p.HostIDList); err != nil {
		return nil, ocpFields(err, batchDeleteObject, func(f string) string { return "hostIdList" + strings.TrimPrefix(f, "ids") })
	}
	return noData{}, nil
}
