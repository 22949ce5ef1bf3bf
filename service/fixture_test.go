package service_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/service"
	"github.com/dbplane/dbplane/sqlstore"
)

// mustOpenStore opens a migrated SQLite store, with the test secret box, in
// a temporary directory.
func mustOpenStore(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(tb.TempDir(), "dbplane.db"),
		sqlstore.WithSecretBox(testdb.SecretBox()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func bind(project int64, role string) dbplane.RoleBinding {
	return dbplane.RoleBinding{ProjectID: project, Role: role}
}

// userWith is a principal of a user that exists only in the context.
func userWith(name string, bindings ...dbplane.RoleBinding) *dbplane.Principal {
	return &dbplane.Principal{User: &dbplane.User{ID: 1000, Name: name, Bindings: bindings}, Via: dbplane.ViaToken}
}

// as returns a context carrying p.
func as(p *dbplane.Principal) context.Context {
	return dbplane.WithPrincipal(context.Background(), p)
}

// system is the control plane's own context.
func system() context.Context { return service.SystemContext(context.Background()) }

// world is a store with two projects, alpha and beta, and users with
// different roles in them.
type world struct {
	db       *sqlstore.DB
	svc      *service.Service
	id       *service.Identity
	auth     *service.Auth
	alpha    *dbplane.Project
	beta     *dbplane.Project
	admin    *dbplane.Principal // global admin
	gviewer  *dbplane.Principal // global viewer
	operator *dbplane.Principal // operator on alpha
	viewer   *dbplane.Principal // viewer on alpha
	betaAdm  *dbplane.Principal // admin on beta
	nobody   *dbplane.Principal // no bindings
}

const testPassword = "correct horse battery"

func newWorld(t *testing.T) *world {
	t.Helper()
	db := mustOpenStore(t)
	w := &world{db: db,
		svc: &service.Service{Store: db, Catalog: dbplane.DefaultCatalog(),
			Engines: map[string]service.ClusterEngine{dbplane.EnginePostgreSQL: fakeEngine{}}},
		id:   &service.Identity{Store: db},
		auth: &service.Auth{Store: db},
	}
	w.alpha = w.mustProject(t, "alpha")
	w.beta = w.mustProject(t, "beta")
	w.admin = w.mustUser(t, "root", bind(dbplane.GlobalScope, dbplane.RoleAdmin))
	w.gviewer = w.mustUser(t, "auditor", bind(dbplane.GlobalScope, dbplane.RoleViewer))
	w.operator = w.mustUser(t, "olga", bind(w.alpha.ID, dbplane.RoleOperator))
	w.viewer = w.mustUser(t, "victor", bind(w.alpha.ID, dbplane.RoleViewer))
	w.betaAdm = w.mustUser(t, "bea", bind(w.beta.ID, dbplane.RoleAdmin))
	w.nobody = w.mustUser(t, "nemo")
	for i, z := range []string{"z1", "z2", "z3"} {
		addHost(t, db, "127.0.0."+string(rune('1'+i)), z)
	}
	return w
}

func (w *world) mustProject(t *testing.T, name string) *dbplane.Project {
	t.Helper()
	p := &dbplane.Project{Name: name}
	if err := w.id.CreateProject(system(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustUser creates a user and returns its principal as the store knows
// it.
func (w *world) mustUser(t *testing.T, name string, bindings ...dbplane.RoleBinding) *dbplane.Principal {
	t.Helper()
	u := &dbplane.User{Name: name, Bindings: bindings}
	if err := w.id.CreateUser(system(), u, testPassword); err != nil {
		t.Fatal(err)
	}
	return w.reload(t, u.ID)
}

// reload returns the principal of a user with its current bindings.
func (w *world) reload(t *testing.T, id int64) *dbplane.Principal {
	t.Helper()
	u, err := w.db.FindUserByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return &dbplane.Principal{User: u, Via: dbplane.ViaToken}
}

// mustCluster creates a standalone cluster in a project as p.
func (w *world) mustCluster(t *testing.T, p *dbplane.Principal, project, name string) (*dbplane.Cluster, *dbplane.Task) {
	t.Helper()
	s := spec(name, 1)
	s.Topology, s.ReplicationMode, s.Project = dbplane.TopologyStandalone, "", project
	c, task, err := w.svc.CreateCluster(as(p), s, false)
	if err != nil {
		t.Fatal(err)
	}
	return c, task
}

// wantKind fails unless err is of kind want and, if msg is not empty, has
// exactly that message.
func wantKind(t *testing.T, err error, want dbplane.Kind, msg string) {
	t.Helper()
	if got := dbplane.ErrorKind(err); got != want || (err == nil) != (want == 0) {
		t.Fatalf("err %v (kind %v), want %v", err, got, want)
	}
	if msg != "" && dbplane.ErrorMessage(err) != msg {
		t.Fatalf("message %q, want %q", dbplane.ErrorMessage(err), msg)
	}
}

// wantField fails unless err names field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var names []string
	for _, f := range dbplane.ErrorFields(err) {
		if f.Field == field {
			return
		}
		names = append(names, f.Field)
	}
	t.Fatalf("err %v names fields [%s], want %s", err, strings.Join(names, ", "), field)
}
