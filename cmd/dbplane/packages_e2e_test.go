package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/debtest"
)

// probePackage is the package the e2e test builds, uploads and has an
// agent install; it is removed from this machine when the test ends.
const (
	probePackage = "dbplane-e2e-probe"
	probeFile    = "/usr/share/dbplane-e2e-probe/probe.txt"
)

// TestUploadedPackageInstalledByAgent drives the package store end to end:
// a catalog entry in the configuration names a .deb (Redis 7.0 with a probe
// package); creating a cluster of it is refused while the file is not
// uploaded; the .deb, built with dpkg-deb, is uploaded through OCP with
// HTTP Basic; a cluster create then has the agent fetch it from the control
// plane over mTLS and install it, which dpkg confirms; the catalog keeps
// the package from being deleted.
func TestUploadedPackageInstalledByAgent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installing packages needs root")
	}
	removeProbe := func() { exec.Command("dpkg", "--purge", probePackage).Run() }
	removeProbe()
	t.Cleanup(removeProbe)
	deb := debtest.Bytes(t, debtest.Package{Name: probePackage, Version: "1.0-1",
		Files: map[string]string{strings.TrimPrefix(probeFile, "/"): "installed by a dbplane agent\n"}})
	fileName := probePackage + "_1.0-1_all.deb"

	cp := mustRunControlPlaneWith(t, func(c *Config) {
		c.CatalogEngines = []dbplane.EngineVersion{{Engine: dbplane.EngineRedis, Version: "7.0",
			Packages:   []string{"redis-server", "redis-tools", fileName},
			Topologies: []string{dbplane.TopologyStandalone}}}
	})
	root := mustFleetRoot(t)
	agents := mustStartAgents(t, cp, root, 1)
	ctx := context.Background()
	spec := redisSpec("probed", dbplane.TopologyStandalone, 1)

	_, _, err := cp.client.CreateCluster(ctx, spec, true)
	if dbplane.ErrorKind(err) != dbplane.KindInvalid || !strings.Contains(err.Error(), fileName) {
		t.Fatalf("create before the upload: %v; want 400 naming %s", err, fileName)
	}

	a := uploadPackage(t, cp, fileName, deb)
	var p struct {
		ID     int64
		Name   string
		SHA256 string
	}
	if err := json.Unmarshal(a.Data, &p); err != nil || !a.Successful || p.Name != probePackage {
		t.Fatalf("upload: %+v %s (%v)", a.Error, a.Data, err)
	}
	c := createCluster(t, cp, spec)
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status} ${Version}", probePackage).Output()
	if err != nil || string(out) != "install ok installed 1.0-1" {
		t.Fatalf("dpkg-query %s = %q, %v; want it installed at 1.0-1", probePackage, out, err)
	}
	if b, err := os.ReadFile(probeFile); err != nil || string(b) != "installed by a dbplane agent\n" {
		t.Fatalf("%s = %q, %v", probeFile, b, err)
	}
	cached := filepath.Join(root, "hosts", cp.hostAddress(t, agents[0].HostID), "state", "packages", p.SHA256+".deb")
	if _, err := os.Stat(cached); err != nil {
		t.Fatalf("the agent did not cache the fetched file: %v", err)
	}

	del := ocpClient{cp: cp}.do(t, http.MethodDelete, fmt.Sprintf("/api/v2/software-packages/%d", p.ID), nil)
	if del.Status != http.StatusConflict {
		t.Fatalf("delete of a package the catalog names answered %d, want 409", del.Status)
	}
	deleteAndCheckGone(t, cp, root, c)
}

// uploadPackage posts a package file to the OCP front door as
// `curl -u admin:… -F file=@name` would.
func uploadPackage(t *testing.T, cp *testControlPlane, name string, content []byte) ocpAnswer {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, cp.URL+"/api/v2/software-packages", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.SetBasicAuth(dbplane.AdminUser, testAdminPassword)
	resp, err := cp.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a ocpAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || a.Status != resp.StatusCode {
		t.Fatalf("upload answered %d: %+v (%v)", resp.StatusCode, a, err)
	}
	return a
}

// hostAddress returns the address of a host.
func (cp *testControlPlane) hostAddress(t *testing.T, id int64) string {
	t.Helper()
	h, err := cp.db.FindHostByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return h.Address
}
