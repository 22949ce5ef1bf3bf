package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/agent/wire"
	"github.com/dbplane/dbplane/agentclient"
	"github.com/dbplane/dbplane/compat/ocp"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/mysql"
	"github.com/dbplane/dbplane/engine/postgres"
	"github.com/dbplane/dbplane/engine/redis"
	"github.com/dbplane/dbplane/frontdoor"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/dbplane/dbplane/pki"
	"github.com/dbplane/dbplane/pki/tlsconfig"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/dbplane/dbplane/taskengine"
)

// controlPlane is a wired `dbplane serve`: store, task engine, services and
// the HTTP API. This is the only place these parts meet.
type controlPlane struct {
	cfg    *Config
	log    *slog.Logger
	db     *sqlstore.DB
	engine *taskengine.Engine
	auth   *service.Auth
	hosts  *service.Hosts
	health *service.HealthMonitor
	// standby records how standby clusters replicate.
	standby *service.StandbyMonitor
	server  *http.Server
	ln      net.Listener
	ca      *pki.CA
	// URL is the base URL the API is served at, over TLS.
	URL string
	// CAFile is where the CA certificate was written, for clients.
	CAFile string
	// CAFingerprint is the CA certificate's SHA-256 fingerprint, with
	// which agents pin the control plane when they join.
	CAFingerprint string
	// GeneratedAdminPassword is set when the admin user was created with a
	// generated password, which the caller shows once.
	GeneratedAdminPassword string
}

// openControlPlane opens the store (migrating it) with the secret keys,
// makes sure the admin user exists, wires the engine and services, and
// binds the TLS listener.
func openControlPlane(ctx context.Context, cfg *Config, log *slog.Logger) (*controlPlane, error) {
	kr, err := pki.LoadKeyring(os.Getenv, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	db, err := sqlstore.Open(ctx, cfg.StoreDSN(), sqlstore.WithSecretBox(kr))
	if err != nil {
		return nil, err
	}
	db.OnTaskEnd = taskengine.ObserveTaskEnd
	cp := &controlPlane{cfg: cfg, log: log, db: db}
	cp.auth = &service.Auth{Store: db, Logger: log}
	if cp.GeneratedAdminPassword, err = cp.auth.EnsureAdmin(ctx, cfg.AdminPassword); err != nil {
		db.Close()
		return nil, fmt.Errorf("while creating the admin user: %w", err)
	}
	dialer, err := cp.openFleet(ctx, kr)
	if err != nil {
		db.Close()
		return nil, err
	}
	cp.engine = taskengine.New(db, taskengine.Config{
		Workers: cfg.Workers, Lease: cfg.LeaseTTL, Grace: cfg.ShutdownGrace, Logger: log})
	catalog := cfg.Catalog()
	pkgs, pkgDir, err := openPackages(cfg, db, catalog, cp)
	if err != nil {
		db.Close()
		return nil, err
	}
	deps := enginekit.Deps{Store: db, Dialer: dialer, Catalog: catalog, CA: cp.hosts.CA, Logger: log}
	pg, maria, rd := &postgres.Engine{Deps: deps}, &mysql.Engine{Deps: deps}, &redis.Engine{Deps: deps}
	pg.Register(cp.engine)
	maria.Register(cp.engine)
	rd.Register(cp.engine)
	svc := &service.Service{Store: db, Catalog: catalog, Wake: cp.engine.Notify, Logger: log, Uploads: db,
		Engines: map[string]service.ClusterEngine{
			dbplane.EnginePostgreSQL: pg, dbplane.EngineMySQL: maria, dbplane.EngineRedis: rd}}
	service.RegisterHandlers(cp.engine, db)
	cp.standby = &service.StandbyMonitor{Store: db, Engines: svc.Engines, Logger: log}
	audit := &service.Audit{Store: db, Logger: log}
	api := &httpapi.Server{
		Clusters: svc, Tasks: svc, Hosts: cp.hosts, Auth: cp.auth,
		Identity:      &service.Identity{Store: db, Logger: log},
		Audit:         audit,
		AuditRecorder: audit,
		Security:      frontdoor.DefaultConfig(),
		Catalog:       catalog,
		CACert:        cp.hosts.CA.CertPEM(),
		Ready:         func(ctx context.Context) error { return db.SQL().PingContext(ctx) },
		Logger:        log,
		MaxBodyBytes:  cfg.MaxBodyBytes,
	}
	if err := cp.listen(); err != nil {
		db.Close()
		return nil, err
	}
	// Hosts added by address wait for their agents, whose instructions
	// need the URL and CA fingerprint known once listening.
	(&service.HostAddSteps{Store: db, JoinURL: cp.URL, CAFingerprint: cp.CAFingerprint}).Register(cp.engine)
	// The OCP-compatible front door shares the listener under /api/v2/.
	compute := &service.Compute{Store: db, Wake: cp.engine.Notify, Logger: log}
	ocpAPI := &ocp.Server{Clusters: svc, Tasks: svc, Hosts: cp.hosts, Auth: cp.auth, Compute: compute,
		AuditRecorder: audit, Security: frontdoor.DefaultConfig(), Catalog: catalog,
		Logger: log, MaxBodyBytes: cfg.MaxBodyBytes, Packages: pkgs, MaxPackageBytes: cfg.MaxPackageBytes}
	doors := http.NewServeMux()
	doors.Handle(ocp.Prefix, ocpAPI.Handler())
	doors.Handle("GET "+wire.PackagesPath+"{sha256}", &agentclient.PackageServer{Hosts: db, Packages: db, Files: pkgDir, Logger: log})
	doors.Handle("/", api.Handler())
	cp.server.Handler = doors
	return cp, nil
}

// listen writes the CA certificate for clients, binds the API's address
// and sets up its TLS.
func (cp *controlPlane) listen() error {
	var err error
	if cp.CAFile, err = tlsconfig.WriteCAFile(cp.cfg.DataDir, cp.ca.CertPEM()); err != nil {
		return err
	}
	cp.CAFingerprint = pki.Fingerprint(cp.ca.Cert)
	if cp.ln, err = net.Listen("tcp", cp.cfg.Listen); err != nil {
		return fmt.Errorf("while listening on %s: %w", cp.cfg.Listen, err)
	}
	tc, err := serverTLS(cp.cfg, cp.ca, cp.ln.Addr(), cp.log)
	if err != nil {
		cp.ln.Close()
		return err
	}
	verifyAgentCerts(tc, cp.ca.Pool())
	cp.URL = tlsconfig.APIURL(cp.ln.Addr())
	if cp.cfg.AdvertiseURL != "" {
		cp.URL = strings.TrimSuffix(cp.cfg.AdvertiseURL, "/")
	}
	cp.server = &http.Server{TLSConfig: tc, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(cp.log.Handler(), slog.LevelWarn)}
	return nil
}

// openFleet loads the control plane's CA (its key decrypted with the
// keyring), sets up joining and health checks of hosts, and returns the
// dialer that reaches agents over mTLS with the control plane's certificate.
func (cp *controlPlane) openFleet(ctx context.Context, kr *pki.Keyring) (dbplane.AgentDialer, error) {
	ca, err := pki.LoadOrCreate(ctx, cp.db, kr)
	if err != nil {
		return nil, err
	}
	cp.ca = ca
	cert, err := ca.IssueControlPlaneCert()
	if err != nil {
		return nil, err
	}
	dialer := agentclient.NewDialer(cp.db, agentclient.ClientTLSConfig(cert, ca.Pool()))
	dialer.SetPackageResolver(packageResolver(cp.db))
	cp.hosts = &service.Hosts{Store: cp.db, CA: ca, Logger: cp.log}
	cp.health = &service.HealthMonitor{Store: cp.db, Dialer: dialer, Logger: cp.log}
	return dialer, nil
}

// run serves the API and runs the task engine until ctx ends. Then it stops
// accepting requests, ends open event streams, lets running subtasks reach
// a safe point (up to ShutdownGrace) and closes the store.
func (cp *controlPlane) run(ctx context.Context) error {
	defer cp.db.Close()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	streams, endStreams := context.WithCancel(context.WithoutCancel(ctx))
	defer endStreams()
	cp.server.BaseContext = func(net.Listener) context.Context { return streams }

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { cp.health.Run(ctx) })
	wg.Go(func() { cp.standby.Run(ctx) })
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := cp.engine.Run(ctx); err != nil {
			errs <- fmt.Errorf("task engine: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		// The certificate is in TLSConfig, so no files are named here.
		if err := cp.server.ServeTLS(cp.ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("http server: %w", err)
		}
	}()
	cp.log.Info("control plane running", "url", cp.URL, "store", cp.db.Dialect(), "executor", cp.engine.Executor(),
		"ca_file", cp.CAFile, "ca_sha256", cp.CAFingerprint)

	select {
	case <-ctx.Done():
	case err := <-errs:
		cp.log.Error("control plane failed", "err", err)
		errs <- err
	}
	stop()
	cp.log.Info("control plane shutting down")
	endStreams()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cp.server.Shutdown(shutdownCtx); err != nil {
		cp.log.Warn("http shutdown incomplete", "err", err)
	}
	wg.Wait()
	close(errs)
	return errors.Join(drain(errs)...)
}

func drain(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}
