package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent"
	"github.com/dbplane/dbplane/agentclient"
	"github.com/dbplane/dbplane/pkgfile"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/sqlstore"
)

// packageDirName is the package store's directory in the data directory.
const packageDirName = "packages"

// openPackages opens the software package store: metadata in db, bytes
// under <data dir>/packages.
func openPackages(cfg *Config, db *sqlstore.DB, catalog dbplane.Catalog, cp *controlPlane) (*service.SoftwarePackages, *pkgfile.Dir, error) {
	dir, err := pkgfile.OpenDir(filepath.Join(cfg.DataDir, packageDirName))
	if err != nil {
		return nil, nil, err
	}
	return &service.SoftwarePackages{Store: db, Files: dir, MaxBytes: cfg.MaxPackageBytes, Catalog: catalog, Logger: cp.log}, dir, nil
}

// packageResolver resolves a catalog entry's file name to its uploaded
// package, for the agents' install steps. A file that is not uploaded
// (deleted since the cluster was created) fails the step for good.
func packageResolver(store dbplane.SoftwarePackageStore) agentclient.PackageResolver {
	return func(ctx context.Context, fileName string) (dbplane.PackageFile, error) {
		ps, _, err := store.FindSoftwarePackages(ctx, dbplane.SoftwarePackageFilter{FileName: &fileName, Limit: 1})
		if err != nil {
			return dbplane.PackageFile{}, err
		}
		if len(ps) == 0 {
			return dbplane.PackageFile{}, dbplane.Permanent(dbplane.Errorf(dbplane.KindInvalid,
				"package file %s is not uploaded: upload it (POST /api/v2/software-packages), then retry the task", fileName))
		}
		return ps[0].File(), nil
	}
}

// verifyAgentCerts has the API's listener ask for a client certificate and
// verify one given against the control plane's CA: agents present theirs
// to fetch package files. Other clients present none and are unaffected.
func verifyAgentCerts(tc *tls.Config, ca *x509.CertPool) {
	tc.ClientCAs = ca
	tc.ClientAuth = tls.VerifyClientCertIfGiven
}

// agentPackageSource returns where an agent fetches uploaded package
// files: the control plane it joined, trusted through the CA it got at
// join and the --ca-file CAs. Nil without a control plane URL.
func agentPackageSource(o agentOptions, cert tls.Certificate, pool *x509.CertPool) (*agent.PackageSource, error) {
	if o.Join == "" {
		return nil, nil
	}
	roots := pool.Clone()
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, usageErrorf("--ca-file: %v", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", o.CAFile)
		}
	}
	return agent.NewPackageSource(o.Join, cert, roots), nil
}
