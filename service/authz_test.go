package service

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/dbplane/dbplane"
)

func principal(id int64, bindings ...dbplane.RoleBinding) *dbplane.Principal {
	return &dbplane.Principal{User: &dbplane.User{ID: id, Name: fmt.Sprintf("user%d", id), Bindings: bindings}, Via: dbplane.ViaToken}
}

func bind(project int64, role string) dbplane.RoleBinding {
	return dbplane.RoleBinding{ProjectID: project, Role: role}
}

// TestDecide walks every role on every scope against every action and
// every kind of resource: the expected answers are written per principal
// as the most it may do on each scope (0: nothing), and derived from the
// rules the issue states, not from the code under test.
func TestDecide(t *testing.T) {
	const p1, p2 = 1, 2
	const (
		none    = 0
		read    = dbplane.ActionRead
		operate = dbplane.ActionOperate
		manage  = dbplane.ActionManage
	)
	type may struct{ p1, p2, fleet dbplane.Action }
	principals := []struct {
		name string
		p    *dbplane.Principal
		may  may
	}{
		{"NoBindings", principal(10), may{none, none, none}},
		{"ViewerP1", principal(11, bind(p1, dbplane.RoleViewer)), may{read, none, none}},
		{"OperatorP1", principal(12, bind(p1, dbplane.RoleOperator)), may{operate, none, none}},
		{"AdminP1", principal(13, bind(p1, dbplane.RoleAdmin)), may{manage, none, none}},
		{"AdminP1ViewerP2", principal(14, bind(p1, dbplane.RoleAdmin), bind(p2, dbplane.RoleViewer)), may{manage, read, none}},
		{"GlobalViewer", principal(15, bind(dbplane.GlobalScope, dbplane.RoleViewer)), may{read, read, read}},
		{"GlobalOperator", principal(16, bind(dbplane.GlobalScope, dbplane.RoleOperator)), may{operate, operate, operate}},
		{"GlobalAdmin", principal(17, bind(dbplane.GlobalScope, dbplane.RoleAdmin)), may{manage, manage, manage}},
		{"GlobalViewerAdminP2", principal(18, bind(dbplane.GlobalScope, dbplane.RoleViewer), bind(p2, dbplane.RoleAdmin)), may{read, manage, read}},
		{"UnknownRole", principal(19, bind(dbplane.GlobalScope, "root")), may{none, none, none}},
		{"System", dbplane.PrincipalFrom(SystemContext(context.Background())), may{manage, manage, manage}},
	}
	hidden := dbplane.Errorf(dbplane.KindNotFound, "thing 1 not found")
	for _, pr := range principals {
		for _, a := range []dbplane.Action{read, operate, manage} {
			for _, sc := range []struct {
				name    string
				project int64
				most    dbplane.Action
			}{{"P1", p1, pr.may.p1}, {"P2", p2, pr.may.p2}, {"Fleet", dbplane.GlobalScope, pr.may.fleet}} {
				t.Run(fmt.Sprintf("%s/%s/%s", pr.name, actionRoles[a], sc.name), func(t *testing.T) {
					// A project resource is hidden from those who cannot
					// read its project; the fleet has no project to hide.
					want := dbplane.KindForbidden
					switch {
					case sc.most >= a:
						want = 0
					case sc.project != dbplane.GlobalScope && sc.most == none:
						want = dbplane.KindNotFound
					}
					err := decide(pr.p, a, resource{project: sc.project, hidden: hidden})
					if got := dbplane.ErrorKind(err); got != want {
						t.Fatalf("kind %v (%v), want %v", got, err, want)
					}
					if want == dbplane.KindNotFound && err != hidden {
						t.Fatalf("err %v, want the resource's own not-found error", err)
					}
					// Without a hidden error a refusal is always forbidden.
					err = decide(pr.p, a, resource{project: sc.project})
					if want == dbplane.KindNotFound {
						want = dbplane.KindForbidden
					}
					if got := dbplane.ErrorKind(err); got != want {
						t.Fatalf("unhidden: kind %v (%v), want %v", got, err, want)
					}
				})
			}
		}
	}
}

// TestDecide_Unauthenticated: a missing principal is never trusted, with
// or without a resource to hide.
func TestDecide_Unauthenticated(t *testing.T) {
	for _, p := range []*dbplane.Principal{nil, {Via: dbplane.ViaToken}} {
		for _, r := range []resource{{}, {project: 1, hidden: notFound("x")}, {owner: 1}} {
			if got := dbplane.ErrorKind(decide(p, dbplane.ActionRead, r)); got != dbplane.KindUnauthorized {
				t.Errorf("decide(%+v, read, %+v) = %v, want unauthorized", p, r, got)
			}
		}
	}
	if _, err := authorize(context.Background(), dbplane.ActionRead, resource{}); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
		t.Errorf("authorize without a principal = %v, want unauthorized", err)
	}
}

// TestDecide_Owner: a user's own credentials are its own whatever its role;
// others' are not found unless the caller is a global admin.
func TestDecide_Owner(t *testing.T) {
	hidden := notFound("token 9 not found")
	tests := []struct {
		name string
		p    *dbplane.Principal
		want dbplane.Kind
	}{
		{"Owner", principal(5), 0},
		{"OwnerViewer", principal(5, bind(1, dbplane.RoleViewer)), 0},
		{"Other", principal(6), dbplane.KindNotFound},
		{"ProjectAdmin", principal(6, bind(1, dbplane.RoleAdmin)), dbplane.KindNotFound},
		{"GlobalOperator", principal(6, bind(dbplane.GlobalScope, dbplane.RoleOperator)), dbplane.KindNotFound},
		{"GlobalAdmin", principal(6, bind(dbplane.GlobalScope, dbplane.RoleAdmin)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decide(tt.p, dbplane.ActionManage, resource{project: dbplane.GlobalScope, owner: 5, hidden: hidden})
			if got := dbplane.ErrorKind(err); got != tt.want {
				t.Fatalf("kind %v (%v), want %v", got, err, tt.want)
			}
			// Users themselves are not hidden: others get forbidden.
			err = decide(tt.p, dbplane.ActionManage, resource{project: dbplane.GlobalScope, owner: 5})
			want := tt.want
			if want == dbplane.KindNotFound {
				want = dbplane.KindForbidden
			}
			if got := dbplane.ErrorKind(err); got != want {
				t.Fatalf("unhidden: kind %v (%v), want %v", got, err, want)
			}
		})
	}
}

func TestReadableProjects(t *testing.T) {
	viewer := dbplane.WithPrincipal(context.Background(), principal(1, bind(3, dbplane.RoleViewer), bind(4, dbplane.RoleAdmin)))
	global := dbplane.WithPrincipal(context.Background(), principal(2, bind(dbplane.GlobalScope, dbplane.RoleViewer)))
	nobody := dbplane.WithPrincipal(context.Background(), principal(3))
	tests := []struct {
		name  string
		ctx   context.Context
		a     dbplane.Action
		asked []int64
		want  []int64
	}{
		{"Mine", viewer, dbplane.ActionRead, nil, []int64{3, 4}},
		{"MineManaged", viewer, dbplane.ActionManage, nil, []int64{4}},
		{"Intersect", viewer, dbplane.ActionRead, []int64{4, 5}, []int64{4}},
		{"NoneLeft", viewer, dbplane.ActionRead, []int64{5}, []int64{}},
		{"GlobalAll", global, dbplane.ActionRead, nil, nil},
		{"GlobalAsked", global, dbplane.ActionRead, []int64{5}, []int64{5}},
		{"Nobody", nobody, dbplane.ActionRead, nil, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readableProjects(tt.ctx, tt.a, tt.asked)
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
	if _, err := readableProjects(context.Background(), dbplane.ActionRead, nil); dbplane.ErrorKind(err) != dbplane.KindUnauthorized {
		t.Fatalf("err %v, want unauthorized", err)
	}
}

func TestSystemContext(t *testing.T) {
	p := dbplane.PrincipalFrom(SystemContext(context.Background()))
	if p == nil || p.Via != ViaSystem || p.Name() != SystemUser {
		t.Fatalf("system principal %+v", p)
	}
	if !p.Can(dbplane.ActionManage, dbplane.GlobalScope) {
		t.Fatal("the system principal is not a global admin")
	}
	// Each context gets its own principal, so no caller can change
	// another's.
	p.User.Bindings = nil
	if q := dbplane.PrincipalFrom(SystemContext(context.Background())); !q.Can(dbplane.ActionManage, dbplane.GlobalScope) {
		t.Fatal("changing one system principal changed the next")
	}
}
