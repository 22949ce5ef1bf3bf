package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/google/go-cmp/cmp"
)

func mustProject(tb testing.TB, db *sqlstore.DB, name string, q dbplane.Quota) *dbplane.Project {
	tb.Helper()
	p := &dbplane.Project{Name: name, Description: "project " + name, Quota: q}
	if err := db.CreateProject(context.Background(), p); err != nil {
		tb.Fatal(err)
	}
	return p
}

// clusterIn returns a cluster for project with a node on each of hosts at
// port, each promising volumeGB.
func clusterIn(name string, project int64, volumeGB int64, port int, hosts ...int64) *dbplane.Cluster {
	c := newCluster(name)
	c.ProjectID = project
	for i, host := range hosts {
		c.Nodes = append(c.Nodes, dbplane.Node{Ordinal: i, HostID: host, Role: "member", Port: port,
			VolumeGB: volumeGB, Status: "creating"})
	}
	return c
}

// mustHosts inserts n online hosts.
func mustHosts(tb testing.TB, db *sqlstore.DB, n int) []int64 {
	tb.Helper()
	var ids []int64
	for i := range n {
		ids = append(ids, mustInsertHost(tb, db, fmt.Sprintf("h%d", i), "zone-a", dbplane.HostOnline))
	}
	return ids
}

func TestProjects(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }

		def, err := db.FindProjectByName(ctx, dbplane.DefaultProject)
		if err != nil {
			t.Fatalf("the migration did not create the default project: %v", err)
		}
		p := mustProject(t, db, "payments", dbplane.Quota{Clusters: 2, Nodes: 5, StorageGB: 100})
		if p.ID == 0 || p.ID == def.ID || !p.CreatedAt.Equal(testNow.Truncate(time.Microsecond)) {
			t.Fatalf("ID=%d CreatedAt=%v: not set by CreateProject", p.ID, p.CreatedAt)
		}

		t.Run("Find", func(t *testing.T) {
			byID, err := db.FindProjectByID(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			byName, err := db.FindProjectByName(ctx, "payments")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, byID); diff != "" {
				t.Fatalf("by id (-created +found):\n%s", diff)
			} else if diff := cmp.Diff(p, byName); diff != "" {
				t.Fatalf("by name (-created +found):\n%s", diff)
			}
			_, err = db.FindProjectByID(ctx, 9999)
			assertError(t, err, dbplane.KindNotFound, "project 9999 not found")
			_, err = db.FindProjectByName(ctx, "nope")
			assertError(t, err, dbplane.KindNotFound, `project "nope" not found`)
		})

		t.Run("ErrNameTaken", func(t *testing.T) {
			err := db.CreateProject(ctx, &dbplane.Project{Name: "payments"})
			assertError(t, err, dbplane.KindConflict, `project name "payments" already exists`)
		})

		t.Run("FindProjects", func(t *testing.T) {
			other := mustProject(t, db, "search", dbplane.Quota{})
			names := func(f dbplane.ProjectFilter) ([]string, int) {
				t.Helper()
				ps, total, err := db.FindProjects(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, p := range ps {
					out = append(out, p.Name)
				}
				return out, total
			}
			for _, tc := range []struct {
				name   string
				filter dbplane.ProjectFilter
				want   []string
				total  int
			}{
				{"All", dbplane.ProjectFilter{}, []string{"default", "payments", "search"}, 3},
				{"Name", dbplane.ProjectFilter{Name: ptr("search")}, []string{"search"}, 1},
				{"IDs", dbplane.ProjectFilter{IDs: []int64{other.ID, def.ID}}, []string{"default", "search"}, 2},
				{"EmptyIDs", dbplane.ProjectFilter{IDs: []int64{}}, nil, 0},
				{"Page", dbplane.ProjectFilter{Offset: 1, Limit: 1}, []string{"payments"}, 3},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, total := names(tc.filter)
					if diff := cmp.Diff(tc.want, got); diff != "" || total != tc.total {
						t.Fatalf("total=%d, want %d; names (-want +got):\n%s", total, tc.total, diff)
					}
				})
			}
		})

		t.Run("Update", func(t *testing.T) {
			upd := &dbplane.Project{ID: p.ID, Name: "ignored", Description: "new", Quota: dbplane.Quota{Clusters: 7}}
			if err := db.UpdateProject(ctx, upd); err != nil {
				t.Fatal(err)
			}
			got, err := db.FindProjectByID(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *p
			want.Description, want.Quota = "new", dbplane.Quota{Clusters: 7}
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Fatalf("after update (-want +got):\n%s", diff)
			} else if diff := cmp.Diff(&want, upd); diff != "" {
				t.Fatalf("UpdateProject's argument (-want +got):\n%s", diff)
			}
			err = db.UpdateProject(ctx, &dbplane.Project{ID: 9999})
			assertError(t, err, dbplane.KindNotFound, "project 9999 not found")
		})

		t.Run("Delete", func(t *testing.T) {
			gone := mustProject(t, db, "gone", dbplane.Quota{})
			u := mustUser(t, db, "member-of-gone", dbplane.RoleBinding{ProjectID: gone.ID, Role: dbplane.RoleViewer})
			if err := db.DeleteProject(ctx, gone.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := db.FindProjectByID(ctx, gone.ID); dbplane.ErrorKind(err) != dbplane.KindNotFound {
				t.Fatalf("after delete: %v", err)
			}
			if got, err := db.FindUserByID(ctx, u.ID); err != nil || len(got.Bindings) != 0 {
				t.Fatalf("the binding on the deleted project survives: %+v, %v", got, err)
			}
			assertError(t, db.DeleteProject(ctx, gone.ID), dbplane.KindNotFound, fmt.Sprintf("project %d not found", gone.ID))
			assertError(t, db.DeleteProject(ctx, def.ID), dbplane.KindConflict,
				`project "default" cannot be deleted: clusters that name no project go to it`)

			busy := mustProject(t, db, "busy", dbplane.Quota{})
			mustCreateCluster(t, db, clusterIn("busy-1", busy.ID, 0, 0))
			assertError(t, db.DeleteProject(ctx, busy.ID), dbplane.KindConflict,
				`project "busy" owns 1 clusters: delete them first`)
		})
	})
}

func ptr[T any](v T) *T { return &v }

func TestProjectUsage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		p := mustProject(t, db, "p", dbplane.Quota{})
		other := mustProject(t, db, "other", dbplane.Quota{})
		hs := mustHosts(t, db, 2)
		mustCreateCluster(t, db, clusterIn("a", p.ID, 20, 5001, hs...))
		b := mustCreateCluster(t, db, clusterIn("b", p.ID, 30, 5002, hs[0]))
		mustCreateCluster(t, db, clusterIn("c", other.ID, 40, 5003, hs[0]))
		// A cluster being deleted still counts.
		if _, err := db.StartClusterTask(ctx, b.ID, dbplane.ClusterDeleting, nil, deletePlan()); err != nil {
			t.Fatal(err)
		}
		got, err := db.ProjectUsage(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := (dbplane.QuotaUsage{Clusters: 2, Nodes: 3, StorageGB: 70}); got != want {
			t.Fatalf("usage %+v, want %+v", got, want)
		}
		empty := mustProject(t, db, "empty", dbplane.Quota{})
		if got, err := db.ProjectUsage(ctx, empty.ID); err != nil || got != (dbplane.QuotaUsage{}) {
			t.Fatalf("usage of an empty project: %+v, %v", got, err)
		}
		_, err = db.ProjectUsage(ctx, 9999)
		assertError(t, err, dbplane.KindNotFound, "project 9999 not found")
	})
}

func TestCreateCluster_Project(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		p := mustProject(t, db, "analytics", dbplane.Quota{})

		byID := mustCreateCluster(t, db, clusterIn("by-id", p.ID, 0, 0))
		c := newCluster("by-spec")
		c.Spec.Project = "analytics"
		bySpec := mustCreateCluster(t, db, c)
		for _, c := range []*dbplane.Cluster{byID, bySpec} {
			if c.ProjectID != p.ID || c.Project != "analytics" {
				t.Errorf("%s: ProjectID=%d Project=%q, want %d analytics", c.Name, c.ProjectID, c.Project, p.ID)
			}
			got, err := db.FindClusterByID(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ProjectID != p.ID || got.Project != "analytics" {
				t.Errorf("%s found with ProjectID=%d Project=%q", c.Name, got.ProjectID, got.Project)
			}
		}

		_, err := db.CreateCluster(ctx, clusterIn("nowhere", 9999, 0, 0), "pw", createPlan())
		assertError(t, err, dbplane.KindNotFound, "project 9999 not found")
		c = newCluster("nowhere")
		c.Spec.Project = "nope"
		_, err = db.CreateCluster(ctx, c, "pw", createPlan())
		assertError(t, err, dbplane.KindNotFound, `project "nope" not found`)
	})
}

func TestCreateCluster_Quota(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		hs := mustHosts(t, db, 3)
		port := 6000
		place := func(name string, project int64, nodes int, volume int64) *dbplane.Cluster {
			port++
			return clusterIn(name, project, volume, port, hs[:nodes]...)
		}
		for _, tc := range []struct {
			name   string
			quota  dbplane.Quota
			before [][2]int64 // existing clusters: nodes, volume per node
			nodes  int
			volume int64
			fields []string
			msg    string
		}{
			{name: "Unlimited", quota: dbplane.Quota{}, before: [][2]int64{{3, 500}}, nodes: 3, volume: 500},
			{name: "Clusters", quota: dbplane.Quota{Clusters: 1}, before: [][2]int64{{1, 10}}, nodes: 1, volume: 10,
				fields: []string{"quota.clusters"},
				msg:    `project "clusters" allows 1 clusters; 1 are in use and this cluster needs 1`},
			{name: "Nodes", quota: dbplane.Quota{Nodes: 3}, before: [][2]int64{{2, 10}}, nodes: 3, volume: 10,
				fields: []string{"quota.nodes"},
				msg:    `project "nodes" allows 3 nodes; 2 are in use and this cluster needs 3`},
			{name: "NodesExactlyFull", quota: dbplane.Quota{Nodes: 3}, before: [][2]int64{{2, 10}}, nodes: 1, volume: 10},
			{name: "Storage", quota: dbplane.Quota{StorageGB: 100}, before: [][2]int64{{2, 30}}, nodes: 2, volume: 30,
				fields: []string{"quota.storage_gb"},
				msg:    `project "storage" allows 100 GB of storage; 60 are in use and this cluster needs 60`},
			{name: "All", quota: dbplane.Quota{Clusters: 1, Nodes: 1, StorageGB: 1}, before: [][2]int64{{1, 1}}, nodes: 1, volume: 1,
				fields: []string{"quota.clusters", "quota.nodes", "quota.storage_gb"},
				msg: `project "all" allows 1 clusters; 1 are in use and this cluster needs 1; ` +
					`and allows 1 nodes; 1 are in use and this cluster needs 1; ` +
					`and allows 1 GB of storage; 1 are in use and this cluster needs 1`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := mustProject(t, db, lower(tc.name), dbplane.Quota{})
				for i, b := range tc.before {
					mustCreateCluster(t, db, place(fmt.Sprintf("%s-%d", p.Name, i), p.ID, int(b[0]), b[1]))
				}
				p.Quota = tc.quota
				if err := db.UpdateProject(ctx, p); err != nil {
					t.Fatal(err)
				}
				tasks := mustQueryInt(t, db, `SELECT COUNT(*) FROM tasks`)
				c := place(p.Name+"-new", p.ID, tc.nodes, tc.volume)
				_, err := db.CreateCluster(ctx, c, "pw", createPlan())
				if tc.fields == nil {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				assertError(t, err, dbplane.KindQuotaExceeded, tc.msg)
				var fields []string
				for _, f := range dbplane.ErrorFields(err) {
					fields = append(fields, f.Field)
				}
				if diff := cmp.Diff(tc.fields, fields); diff != "" {
					t.Fatalf("fields (-want +got):\n%s", diff)
				}
				if c.ID != 0 || mustQueryInt(t, db, `SELECT COUNT(*) FROM tasks`) != tasks {
					t.Fatal("a refused create left a cluster or a task behind")
				}
			})
		}
	})
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// TestCreateCluster_QuotaRace creates clusters in one project from many
// goroutines at once: exactly as many win as the quota allows, because the
// check and the insert are one transaction under the project's lock.
func TestCreateCluster_QuotaRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		const (
			n     = 12
			quota = 4
		)
		// Counted by nodes, with one node per cluster on distinct ports, so
		// placement never conflicts and only the quota decides.
		p := mustProject(t, db, "race", dbplane.Quota{Nodes: quota})
		h := mustInsertHost(t, db, "h1", "zone-a", dbplane.HostOnline)
		errs := make([]error, n)
		start := make(chan struct{})
		done := make(chan struct{})
		for i := range n {
			go func() {
				defer func() { done <- struct{}{} }()
				<-start
				c := clusterIn(fmt.Sprintf("race-%d", i), p.ID, 10, 7000+i, h)
				_, errs[i] = db.CreateCluster(context.Background(), c, "pw", createPlan())
			}()
		}
		close(start)
		for range n {
			<-done
		}
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case dbplane.ErrorKind(err) == dbplane.KindQuotaExceeded:
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if wins != quota {
			t.Fatalf("%d creates won, want %d", wins, quota)
		}
		if got := mustQueryInt(t, db, `SELECT COUNT(*) FROM nodes`); got != quota {
			t.Fatalf("%d nodes stored, want %d", got, quota)
		}
	})
}

func TestFindClusters_Projects(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		a := mustProject(t, db, "a", dbplane.Quota{})
		b := mustProject(t, db, "b", dbplane.Quota{})
		mustCreateCluster(t, db, clusterIn("a1", a.ID, 0, 0))
		mustCreateCluster(t, db, clusterIn("b1", b.ID, 0, 0))
		mustCreateCluster(t, db, clusterIn("a2", a.ID, 0, 0))
		mustCreateCluster(t, db, newCluster("d1"))
		if _, err := db.CreateTask(ctx, dbplane.TaskPlan{Name: "fleet", Kind: "host.check",
			Steps: []dbplane.PlanStep{{Key: "k", Name: "k", Handler: "test.noop"}}}); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name   string
			filter dbplane.ClusterFilter
			want   []string
		}{
			{"All", dbplane.ClusterFilter{}, []string{"a1", "b1", "a2", "d1"}},
			{"ProjectID", dbplane.ClusterFilter{ProjectID: &a.ID}, []string{"a1", "a2"}},
			{"ProjectIDs", dbplane.ClusterFilter{ProjectIDs: []int64{b.ID, a.ID}}, []string{"a1", "b1", "a2"}},
			{"Both", dbplane.ClusterFilter{ProjectID: &a.ID, ProjectIDs: []int64{b.ID}}, nil},
			{"EmptyProjectIDs", dbplane.ClusterFilter{ProjectIDs: []int64{}}, nil},
		} {
			t.Run("Clusters/"+tc.name, func(t *testing.T) {
				cs, total, err := db.FindClusters(ctx, tc.filter)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, c := range cs {
					got = append(got, c.Name)
					if c.Project == "" || c.ProjectID == 0 {
						t.Errorf("%s has no project", c.Name)
					}
				}
				if diff := cmp.Diff(tc.want, got); diff != "" || total != len(tc.want) {
					t.Fatalf("total=%d; names (-want +got):\n%s", total, diff)
				}
			})
		}

		def, err := db.FindProjectByName(ctx, dbplane.DefaultProject)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			ids  []int64
			want []int64 // project ids of the tasks, newest first
		}{
			{"All", nil, []int64{0, def.ID, a.ID, b.ID, a.ID}},
			{"Some", []int64{a.ID, def.ID}, []int64{def.ID, a.ID, a.ID}},
			{"Fleet", []int64{dbplane.GlobalScope}, []int64{0}},
			{"Empty", []int64{}, nil},
		} {
			t.Run("Tasks/"+tc.name, func(t *testing.T) {
				tasks, total, err := db.FindTasks(ctx, dbplane.TaskFilter{ProjectIDs: tc.ids})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, task := range tasks {
					got = append(got, task.ProjectID)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" || total != len(tc.want) {
					t.Fatalf("total=%d; projects (-want +got):\n%s", total, diff)
				}
			})
		}
	})
}
