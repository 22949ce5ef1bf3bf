package ocp

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/dbplane/dbplane"
)

// Objects of the host add bodies, as OCP names them in sub errors.
const (
	batchCreateObject = "batchCreateHostParam"
	createHostObject  = "createHostParam"
	importHostObject  = "importHostParam"
)

// hostBasicData is one host of a batch create.
type hostBasicData struct {
	InnerIPAddress string `json:"innerIpAddress"`
	SerialNumber   string `json:"serialNumber"`
}

// hostCommonParam is what every host of an add shares. CredentialID names
// an OCP SSH credential: dbplane does not log in to hosts (their agents
// join), so it is checked and otherwise ignored.
type hostCommonParam struct {
	SSHPort      int      `json:"sshPort"`
	Kind         string   `json:"kind"`
	PublishPorts []string `json:"publishPorts"`
	IdcID        int64    `json:"idcId"`
	VpcID        int64    `json:"vpcId"`
	TypeID       int64    `json:"typeId"`
	CredentialID *int64   `json:"credentialId"`
	Alias        string   `json:"alias"`
	Description  string   `json:"description"`
}

// batchCreateParam is the body of POST …/hosts/batchCreate.
type batchCreateParam struct {
	HostBasicDataList []hostBasicData `json:"hostBasicDataList"`
	hostCommonParam
}

// createHostParam is the body of POST /api/v2/compute/hosts: one host, by
// ipAddress or innerIpAddress.
type createHostParam struct {
	IPAddress      string `json:"ipAddress"`
	InnerIPAddress string `json:"innerIpAddress"`
	SerialNumber   string `json:"serialNumber"`
	hostCommonParam
}

// importHostParam is the body of POST …/hosts/import: a host whose agent
// is installed already. What its agent reports (hostname, operating
// system, agent version) is accepted and ignored: the agent's own report
// wins. kind defaults to a physical machine and sshPort to 22.
type importHostParam struct {
	IPAddress              string          `json:"ipAddress"`
	SSHPort                int             `json:"sshPort"`
	Hostname               string          `json:"hostname"`
	OperatingSystem        string          `json:"operatingSystem"`
	OperatingSystemRelease string          `json:"operatingSystemRelease"`
	Architecture           string          `json:"architecture"`
	Status                 string          `json:"status"`
	HostAgent              json.RawMessage `json:"hostAgent"`
	Kind                   string          `json:"kind"`
	IdcID                  int64           `json:"idcId"`
	TypeID                 int64           `json:"typeId"`
	VpcID                  int64           `json:"vpcId"`
	CredentialID           *int64          `json:"credentialId"`
	SerialNumber           string          `json:"serialNumber"`
	Alias                  string          `json:"alias"`
	Description            string          `json:"description"`
	PublishPorts           []string        `json:"publishPorts"`
}

// hostAddTask is the answer of an add: the task, with the ids of the hosts
// it registered.
type hostAddTask struct {
	taskInstance
	HostIDs []int64 `json:"hostIds"`
}

func (p hostCommonParam) inventory() dbplane.HostInventory {
	return dbplane.HostInventory{IDCID: p.IdcID, TypeID: p.TypeID, Kind: p.Kind, SSHPort: p.SSHPort,
		Alias: p.Alias, Description: p.Description, VpcID: p.VpcID, PublishPorts: p.PublishPorts}
}

// decodeHostJSON is decodeJSON for bodies that embed hostCommonParam: it
// names the embedded fields as the client sent them.
func decodeHostJSON(r *http.Request, object string, v any) error {
	err := decodeJSON(r, object, v)
	var iv *invalid
	if errors.As(err, &iv) {
		for i := range iv.subs {
			iv.subs[i].Field = strings.TrimPrefix(iv.subs[i].Field, "hostCommonParam.")
		}
	}
	return err
}

// credentialError checks the credential id OCP requires of an add.
func credentialError(object string, id *int64) error {
	if id == nil || *id < 1 {
		return invalidErr(subError{Object: object, Field: "credentialId", RejectedValue: id,
			Message: "must be a positive credential id (dbplane does not use it: agents join on their own)"})
	}
	return nil
}

// handleHostBatchCreate handles POST /api/v2/compute/hosts/batchCreate.
func (s *Server) handleHostBatchCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	var p batchCreateParam
	if err := decodeHostJSON(r, batchCreateObject, &p); err != nil {
		return nil, err
	}
	reg := dbplane.HostRegistration{Inventory: p.inventory()}
	for _, h := range p.HostBasicDataList {
		reg.Hosts = append(reg.Hosts, dbplane.HostAddress{Address: h.InnerIPAddress, SerialNumber: h.SerialNumber})
	}
	return s.addHosts(r, batchCreateObject, reg, p.CredentialID, batchField)
}

// handleHostCreate handles POST /api/v2/compute/hosts: a batch of one.
func (s *Server) handleHostCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	var p createHostParam
	if err := decodeHostJSON(r, createHostObject, &p); err != nil {
		return nil, err
	}
	addrField := "ipAddress"
	address := p.IPAddress
	if address == "" && p.InnerIPAddress != "" {
		addrField, address = "innerIpAddress", p.InnerIPAddress
	}
	reg := dbplane.HostRegistration{Inventory: p.inventory(),
		Hosts: []dbplane.HostAddress{{Address: address, SerialNumber: p.SerialNumber}}}
	return s.addHosts(r, createHostObject, reg, p.CredentialID, singleField(addrField))
}

// addHosts registers hosts and answers the task that waits for them,
// with the hosts' ids.
func (s *Server) addHosts(r *http.Request, object string, reg dbplane.HostRegistration, credentialID *int64,
	rename func(string) string) (any, error) {
	if err := credentialError(object, credentialID); err != nil {
		return nil, err
	}
	t, hosts, err := s.Compute.AddHosts(r.Context(), reg)
	if err != nil {
		return nil, ocpFields(err, object, rename)
	}
	return toHostAddTask(t, hosts), nil
}

func toHostAddTask(t *dbplane.Task, hosts []*dbplane.ComputeHost) hostAddTask {
	ids := make([]int64, len(hosts))
	for i, h := range hosts {
		ids[i] = h.ID
	}
	return hostAddTask{taskInstance: toTaskInstance(t, asTasks), HostIDs: ids}
}

// handleHostImport handles POST /api/v2/compute/hosts/import: it answers
// the host if its agent joined already, else the task that waits for it.
func (s *Server) handleHostImport(w http.ResponseWriter, r *http.Request) (any, error) {
	var p importHostParam
	if err := decodeJSON(r, importHostObject, &p); err != nil {
		return nil, err
	}
	if p.CredentialID != nil {
		if err := credentialError(importHostObject, p.CredentialID); err != nil {
			return nil, err
		}
	}
	inv := dbplane.HostInventory{IDCID: p.IdcID, TypeID: p.TypeID, Kind: cmp.Or(p.Kind, dbplane.HostKindPhysical),
		SSHPort: cmp.Or(p.SSHPort, 22), SerialNumber: p.SerialNumber, Alias: p.Alias, Description: p.Description,
		VpcID: p.VpcID, PublishPorts: p.PublishPorts}
	h, t, err := s.Compute.ImportHost(r.Context(), p.IPAddress, inv)
	if err != nil {
		return nil, ocpFields(err, importHostObject, singleField("ipAddress"))
	}
	if t != nil {
		return toHostAddTask(t, []*dbplane.ComputeHost{h}), nil
	}
	return toOCPHost(h), nil
}

// batchField names a service field in a batch create body.
func batchField(f string) string {
	if rest, ok := strings.CutPrefix(f, "hosts["); ok {
		i, field, _ := strings.Cut(rest, "].")
		switch field {
		case "address":
			field = "innerIpAddress"
		case "serial_number":
			field = "serialNumber"
		}
		return "hostBasicDataList[" + i + "]." + field
	}
	if f == "hosts" {
		return "hostBasicDataList"
	}
	return camelField(f)
}

// singleField names a service field in a body of one host whose address
// is addrField.
func singleField(addrField string) func(string) string {
	return func(f string) string {
		switch f {
		case "hosts[0].address":
			return addrField
		case "hosts[0].serial_number":
			return "serialNumber"
		}
		return camelField(f)
	}
}
