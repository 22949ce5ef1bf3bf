package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/dbplane/dbplane/service"
)

// ocpData decodes a successful answer's data into v.
func ocpData(tb testing.TB, a ocpAnswer, what string, v any) {
	tb.Helper()
	if !a.Successful || a.Status != http.StatusOK {
		tb.Fatalf("%s answered %d %+v", what, a.Status, a.Error)
	}
	if err := json.Unmarshal(a.Data, v); err != nil {
		tb.Fatalf("%s: data %s: %v", what, a.Data, err)
	}
}

// TestOCPAddHostByAddress adds a host the way an OCP script does: a region,
// an IDC and a host type, then a batch create of one address. The answer
// is a RUNNING task whose subtask waits for the host's agent and logs the
// command to run there; once an agent joins from that address the task
// succeeds and the host is AVAILABLE in its IDC, region and type, whatever
// zone the agent claims. The host is listed by status and deleted.
func TestOCPAddHostByAddress(t *testing.T) {
	cp := mustRunControlPlane(t)
	root := mustFleetRoot(t)
	c := ocpClient{cp: cp}
	var region, idc, hostType struct{ ID int64 }
	ocpData(t, c.do(t, http.MethodPost, "/api/v2/compute/regions", []byte(`{"name":"e2e-region"}`)), "region create", &region)
	ocpData(t, c.do(t, http.MethodPost, "/api/v2/compute/idcs",
		fmt.Appendf(nil, `{"name":"e2e-idc","regionId":%d}`, region.ID)), "IDC create", &idc)
	ocpData(t, c.do(t, http.MethodPost, "/api/v2/compute/hostTypes", []byte(`{"name":"e2e-type"}`)), "host type create", &hostType)

	o := devAgentOptions(cp.URL, root, 2, 3)
	address := strings.TrimSuffix(o.Listen, ":7070")
	var added struct {
		ocpTask
		HostIDs []int64 `json:"hostIds"`
	}
	ocpData(t, c.do(t, http.MethodPost, "/api/v2/compute/hosts/batchCreate", fmt.Appendf(nil,
		`{"hostBasicDataList":[{"innerIpAddress":%q,"serialNumber":"SN-13"}],"sshPort":22,"kind":"DEDICATED_PHYSICAL_MACHINE",
		"idcId":%d,"typeId":%d,"credentialId":1,"alias":"e2e host"}`, address, idc.ID, hostType.ID)), "batch create", &added)
	if added.Status != "RUNNING" || len(added.HostIDs) != 1 || len(added.Tasks) != 1 {
		t.Fatalf("batch create answered %+v", added)
	}

	// The waiting subtask tells what to run on the host, and no secret.
	logPath := fmt.Sprintf("/api/v2/tasks/instances/%d/subtasks/%d/log", added.ID, added.Tasks[0].ID)
	wantCmd := fmt.Sprintf("dbplane agent --join %s --ca-sha256 %s --token TOKEN --listen %s:7070", cp.URL, cp.CAFingerprint, address)
	var log struct{ Log string }
	waitFor(t, "the agent command in the subtask log", func() (bool, error) {
		ocpData(t, c.do(t, http.MethodGet, logPath, nil), "subtask log", &log)
		return strings.Contains(log.Log, wantCmd) && strings.Contains(log.Log, "dbplane host join-token create"), nil
	})
	var running ocpTask
	ocpData(t, c.do(t, http.MethodGet, fmt.Sprintf("/api/v2/tasks/instances/%d", added.ID), nil), "task get", &running)
	if running.Status != "RUNNING" {
		t.Fatalf("task is %s before any agent joined", running.Status)
	}

	tok, err := cp.hosts.CreateJoinToken(service.SystemContext(context.Background()), 0)
	if err != nil {
		t.Fatal(err)
	}
	o.CASHA256, o.Token, o.Zone = cp.CAFingerprint, tok.Secret, "agent-zone"
	a, err := startAgent(context.Background(), o, cp.log.With("agent", o.Listen))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.stop() })
	if a.HostID != added.HostIDs[0] {
		t.Fatalf("the agent joined as host %d; want the registered host %d", a.HostID, added.HostIDs[0])
	}
	if done := c.waitTask(t, added.ID); done.Status != "SUCCESSFUL" {
		t.Fatalf("add task ended %s: %+v", done.Status, done.Subtasks)
	}
	ocpData(t, c.do(t, http.MethodGet, logPath, nil), "subtask log", &log)
	if strings.Contains(log.Log, tok.Secret) || !strings.Contains(log.Log, "joined and answers") {
		t.Fatalf("subtask log:\n%s", log.Log)
	}

	hostPath := fmt.Sprintf("/api/v2/compute/hosts/%d", a.HostID)
	var h map[string]any
	ocpData(t, c.do(t, http.MethodGet, hostPath, nil), "host get", &h)
	for k, want := range map[string]any{"status": "AVAILABLE", "innerIpAddress": address, "idcName": "e2e-idc",
		"regionName": "e2e-region", "typeName": "e2e-type", "alias": "e2e host", "serialNumber": "SN-13"} {
		if h[k] != want {
			t.Errorf("host %s = %v, want %v", k, h[k], want)
		}
	}
	var list struct {
		Contents []struct{ ID int64 }
		Page     struct{ TotalElements int }
	}
	ocpData(t, c.do(t, http.MethodGet, "/api/v2/compute/hosts?status=AVAILABLE,ONLINE&keyword="+address, nil), "host list", &list)
	if list.Page.TotalElements != 1 || list.Contents[0].ID != a.HostID {
		t.Fatalf("AVAILABLE hosts: %+v", list)
	}
	ocpData(t, c.do(t, http.MethodGet, "/api/v2/compute/hosts?status=NEW,OFFLINE", nil), "host list", &list)
	if list.Page.TotalElements != 0 {
		t.Fatalf("NEW or OFFLINE hosts: %+v", list)
	}

	if a := c.do(t, http.MethodDelete, fmt.Sprintf("/api/v2/compute/idcs/%d", idc.ID), nil); a.Status != http.StatusConflict {
		t.Fatalf("deleting the host's IDC answered %d %+v", a.Status, a.Error)
	}
	if a := c.do(t, http.MethodDelete, hostPath, nil); a.Status != http.StatusOK {
		t.Fatalf("host delete answered %d %+v", a.Status, a.Error)
	}
	if a := c.do(t, http.MethodGet, hostPath, nil); a.Status != http.StatusNotFound {
		t.Fatalf("deleted host answered %d", a.Status)
	}
	if a := c.do(t, http.MethodDelete, fmt.Sprintf("/api/v2/compute/idcs/%d", idc.ID), nil); a.Status != http.StatusOK {
		t.Fatalf("deleting the emptied IDC answered %d %+v", a.Status, a.Error)
	}
}
