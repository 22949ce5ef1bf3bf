package service_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/debtest"
	"github.com/dbplane/dbplane/pkgfile"
	"github.com/dbplane/dbplane/service"
)

const probeFile = "probe_1.0_all.deb"

// withProbeEntry makes PostgreSQL 15's catalog entry name probeFile.
func withProbeEntry(w *world) {
	w.svc.Catalog.Engines[0].Packages = append(w.svc.Catalog.Engines[0].Packages, probeFile)
	w.svc.Uploads = w.db
}

func newPackages(t *testing.T, w *world) *service.SoftwarePackages {
	t.Helper()
	dir, err := pkgfile.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &service.SoftwarePackages{Store: w.db, Files: dir, Catalog: w.svc.Catalog}
}

// TestCreateClusterNeedsUploadedPackages checks that a cluster whose
// catalog entry names a file that is not uploaded is refused naming it,
// and created once the file is uploaded.
func TestCreateClusterNeedsUploadedPackages(t *testing.T) {
	w := newWorld(t)
	withProbeEntry(w)
	s := spec("orders", 1)
	s.Topology, s.ReplicationMode, s.Project = dbplane.TopologyStandalone, "", "alpha"
	_, _, err := w.svc.CreateCluster(as(w.operator), s, true)
	wantKind(t, err, dbplane.KindInvalid, "")
	wantField(t, err, "version")
	if !strings.Contains(err.Error(), probeFile) {
		t.Fatalf("error %v does not name %s", err, probeFile)
	}
	pkgs := newPackages(t, w)
	deb := debtest.Bytes(t, debtest.Package{Name: "probe", Version: "1.0"})
	if _, err := pkgs.UploadSoftwarePackage(as(w.admin), probeFile, bytes.NewReader(deb)); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if _, _, err := w.svc.CreateCluster(as(w.operator), s, true); err != nil {
		t.Fatalf("create after the upload: %v", err)
	}
}

func TestSoftwarePackagesAuthorization(t *testing.T) {
	w := newWorld(t)
	pkgs := newPackages(t, w)
	deb := debtest.Bytes(t, debtest.Package{Name: "probe", Version: "1.0"})
	upload := func(p *dbplane.Principal) (*dbplane.SoftwarePackage, error) {
		return pkgs.UploadSoftwarePackage(as(p), "probe_1.0_all.deb", bytes.NewReader(deb))
	}
	for _, p := range []*dbplane.Principal{w.gviewer, w.operator, w.betaAdm} {
		_, err := upload(p)
		wantKind(t, err, dbplane.KindForbidden, "")
	}
	_, err := pkgs.UploadSoftwarePackage(context.Background(), "probe_1.0_all.deb", bytes.NewReader(deb))
	wantKind(t, err, dbplane.KindUnauthorized, "")
	up, err := upload(w.admin)
	if err != nil {
		t.Fatalf("admin upload: %v", err)
	}
	if up.Creator != "root" {
		t.Fatalf("creator %q, want root", up.Creator)
	}
	if _, _, err := pkgs.FindSoftwarePackages(as(w.gviewer), dbplane.SoftwarePackageFilter{}); err != nil {
		t.Fatalf("global viewer list: %v", err)
	}
	_, err = pkgs.FindSoftwarePackageByID(as(w.viewer), up.ID)
	wantKind(t, err, dbplane.KindForbidden, "")
	wantKind(t, pkgs.DeleteSoftwarePackage(as(w.gviewer), up.ID), dbplane.KindForbidden, "")
	if err := pkgs.DeleteSoftwarePackage(as(w.admin), up.ID); err != nil {
		t.Fatalf("admin delete: %v", err)
	}
	if _, err := pkgs.Files.Open(up.SHA256); dbplane.ErrorKind(err) != dbplane.KindNotFound {
		t.Fatalf("the deleted package's file is still there: %v", err)
	}
}
