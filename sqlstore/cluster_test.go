package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/google/go-cmp/cmp"
)

// testNow is the fixed clock of the tests; its nanoseconds show that stored
// times are truncated to microseconds.
var testNow = time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.UTC)

func TestCreateCluster(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		db.Now = func() time.Time { return testNow }
		ctx := context.Background()

		t.Run("OK", func(t *testing.T) {
			c := newCluster("orders")
			c.Spec.Password = "Secret-pw-1"
			task, err := db.CreateCluster(ctx, c, "Secret-pw-1", createPlan())
			if err != nil {
				t.Fatal(err)
			}
			want := testNow.Truncate(time.Microsecond)
			if c.ID == 0 {
				t.Fatal("ID not set")
			} else if c.Status != dbplane.ClusterCreating {
				t.Fatalf("Status=%q, want creating", c.Status)
			} else if !c.CreatedAt.Equal(want) || !c.UpdatedAt.Equal(want) {
				t.Fatalf("CreatedAt=%v UpdatedAt=%v, want %v", c.CreatedAt, c.UpdatedAt, want)
			} else if c.Spec.Password != "" {
				t.Fatal("the returned spec keeps the password")
			}
			if task.ID == 0 || task.ClusterID != c.ID || task.Kind != dbplane.TaskKindClusterCreate {
				t.Fatalf("task ID=%d ClusterID=%d Kind=%q, want a create task of cluster %d", task.ID, task.ClusterID, task.Kind, c.ID)
			} else if len(task.Subtasks) != 2 {
				t.Fatalf("task has %d subtasks, want 2", len(task.Subtasks))
			}

			got, err := db.FindClusterByID(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, got); diff != "" {
				t.Fatalf("FindClusterByID differs from the created cluster (-created +found):\n%s", diff)
			}
			if c.ProjectID == 0 || c.Project != dbplane.DefaultProject {
				t.Fatalf("ProjectID=%d Project=%q, want the default project", c.ProjectID, c.Project)
			} else if task.ProjectID != c.ProjectID {
				t.Fatalf("task ProjectID=%d, want %d", task.ProjectID, c.ProjectID)
			}
			var (
				spec       string
				ciphertext []byte
			)
			row := db.SQL().QueryRow(rebind(db, `SELECT spec, password_ciphertext FROM clusters WHERE id = ?`), c.ID)
			if err := row.Scan(&spec, &ciphertext); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(spec, "Secret-pw-1") {
				t.Fatalf("spec column holds the password: %s", spec)
			} else if len(ciphertext) == 0 || strings.Contains(string(ciphertext), "Secret-pw-1") {
				t.Fatalf("password_ciphertext=%q: not encrypted", ciphertext)
			}
			if pw, err := db.ClusterPassword(ctx, c.ID); err != nil || pw != "Secret-pw-1" {
				t.Fatalf("ClusterPassword = %q, %v; want Secret-pw-1", pw, err)
			}
		})

		t.Run("ErrNameTaken", func(t *testing.T) {
			if _, err := db.CreateCluster(ctx, newCluster("taken"), "pw", createPlan()); err != nil {
				t.Fatal(err)
			}
			tasks := mustQueryInt(t, db, `SELECT COUNT(*) FROM tasks`)
			_, err := db.CreateCluster(ctx, newCluster("taken"), "pw", createPlan())
			assertError(t, err, dbplane.KindConflict, `cluster name "taken" already exists`)
			if n := mustQueryInt(t, db, `SELECT COUNT(*) FROM tasks`); n != tasks {
				t.Fatalf("%d tasks after a refused create, want %d: the task must roll back with the cluster", n, tasks)
			}
		})
	})
}

// TestCreateCluster_Concurrent creates the same name from many goroutines at
// once: the store, not a check before the insert, decides the winner.
func TestCreateCluster_Concurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		const n = 20
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = db.CreateCluster(context.Background(), newCluster("race"), "pw", createPlan())
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case dbplane.ErrorKind(err) == dbplane.KindConflict && dbplane.ErrorMessage(err) == `cluster name "race" already exists`:
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d creates won, want 1", wins)
		}
		if got := mustQueryInt(t, db, `SELECT COUNT(*) FROM tasks`); got != 1 {
			t.Fatalf("%d tasks, want 1", got)
		}
	})
}

func TestStartClusterTask(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		db.Now = func() time.Time { return testNow }
		c := mustCreateCluster(t, db, newCluster("billing"))
		later := testNow.Add(time.Hour)
		db.Now = func() time.Time { return later }
		refuse := []dbplane.ClusterStatus{dbplane.ClusterDeleting, dbplane.ClusterCreating}

		t.Run("OK", func(t *testing.T) {
			task, err := db.StartClusterTask(ctx, c.ID, dbplane.ClusterDeleting, []dbplane.ClusterStatus{dbplane.ClusterDeleting}, deletePlan())
			if err != nil {
				t.Fatal(err)
			}
			if task.ClusterID != c.ID || task.Kind != dbplane.TaskKindClusterDelete {
				t.Fatalf("task ClusterID=%d Kind=%q", task.ClusterID, task.Kind)
			}
			got, err := db.FindClusterByID(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != dbplane.ClusterDeleting {
				t.Fatalf("Status=%q, want deleting", got.Status)
			} else if want := later.Truncate(time.Microsecond); !got.UpdatedAt.Equal(want) {
				t.Fatalf("UpdatedAt=%v, want %v", got.UpdatedAt, want)
			} else if !got.CreatedAt.Equal(c.CreatedAt) {
				t.Fatalf("CreatedAt=%v changed from %v", got.CreatedAt, c.CreatedAt)
			}
		})

		t.Run("ErrRefused", func(t *testing.T) {
			tasks := mustQueryInt(t, db, `SELECT COUNT(*) FROM tasks`)
			_, err := db.StartClusterTask(ctx, c.ID, dbplane.ClusterDeleting, refuse, deletePlan())
			assertError(t, err, dbplane.KindConflict, fmt.Sprintf("cluster %d is deleting", c.ID))
			if n := mustQueryInt(t, db, `SELECT COUNT(*) FROM tasks`); n != tasks {
				t.Fatalf("%d tasks after a refused start, want %d", n, tasks)
			}
		})

		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := db.StartClusterTask(ctx, 9999, dbplane.ClusterDeleting, refuse, deletePlan())
			assertError(t, err, dbplane.KindNotFound, "cluster 9999 not found")
			_, err = db.StartClusterTask(ctx, 9999, dbplane.ClusterDeleting, nil, deletePlan())
			assertError(t, err, dbplane.KindNotFound, "cluster 9999 not found")
		})

		// Concurrent deletes of one cluster: the status check and the update
		// are one statement, so exactly one starts a task.
		t.Run("Concurrent", func(t *testing.T) {
			c := mustCreateCluster(t, db, newCluster("contended"))
			mustExec(t, db, `UPDATE clusters SET status = 'running' WHERE id = ?`, c.ID)
			const n = 10
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					_, errs[i] = db.StartClusterTask(ctx, c.ID, dbplane.ClusterDeleting, refuse, deletePlan())
				})
			}
			wg.Wait()
			wins := 0
			for _, err := range errs {
				if err == nil {
					wins++
				} else if dbplane.ErrorKind(err) != dbplane.KindConflict {
					t.Errorf("unexpected error: %v", err)
				}
			}
			if wins != 1 {
				t.Fatalf("%d starts won, want 1", wins)
			}
		})
	})
}

func TestFindClusterByID(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()

		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := db.FindClusterByID(ctx, 7)
			assertError(t, err, dbplane.KindNotFound, "cluster 7 not found")
		})

		t.Run("Nodes", func(t *testing.T) {
			c := mustCreateCluster(t, db, newCluster("with-nodes"))
			other := mustCreateCluster(t, db, newCluster("other"))
			h1, h2 := mustInsertHost(t, db, "h1", "zone-a", dbplane.HostOnline), mustInsertHost(t, db, "h2", "zone-b", dbplane.HostOnline)
			n1 := mustInsertNode(t, db, c.ID, h1, "primary", 5432)
			n2 := mustInsertNode(t, db, c.ID, h2, "replica", 5432)
			mustInsertNode(t, db, other.ID, h1, "primary", 5433)

			got, err := db.FindClusterByID(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := []dbplane.Node{
				{ID: n1, ClusterID: c.ID, HostID: h1, Address: "h1.example:7070", Role: "primary", Port: 5432, DataDir: "/data/5432", Status: "running", CreatedAt: fromUnix(1000)},
				{ID: n2, ClusterID: c.ID, Ordinal: 1, HostID: h2, Address: "h2.example:7070", Role: "replica", Port: 5432, DataDir: "/data/5432", Status: "running", CreatedAt: fromUnix(1000)},
			}
			if diff := cmp.Diff(want, got.Nodes); diff != "" {
				t.Fatalf("nodes (-want +got):\n%s", diff)
			}
		})
	})
}

func TestFindClusters(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		var all []*dbplane.Cluster
		for i := range 7 {
			c := newCluster(fmt.Sprintf("c%d", i))
			if i%2 == 1 {
				c.Engine, c.Spec.Engine = dbplane.EngineRedis, dbplane.EngineRedis
			}
			all = append(all, mustCreateCluster(t, db, c))
		}
		for _, i := range []int{0, 3, 4} {
			mustExec(t, db, `UPDATE clusters SET status = 'running' WHERE id = ?`, all[i].ID)
			all[i].Status = dbplane.ClusterRunning
		}
		h := mustInsertHost(t, db, "h1", "zone-a", dbplane.HostOnline)
		node := mustInsertNode(t, db, all[3].ID, h, "primary", 5432)

		ids := func(cs []*dbplane.Cluster) []int64 {
			out := []int64{}
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return out
		}
		pick := func(is ...int) []int64 {
			out := []int64{}
			for _, i := range is {
				out = append(out, all[i].ID)
			}
			return out
		}
		redis, running, creating := dbplane.EngineRedis, dbplane.ClusterRunning, dbplane.ClusterCreating
		name, missing := "c4", "nope"
		for _, tt := range []struct {
			name      string
			filter    dbplane.ClusterFilter
			want      []int64
			wantTotal int
		}{
			{"All", dbplane.ClusterFilter{}, pick(0, 1, 2, 3, 4, 5, 6), 7},
			{"Name", dbplane.ClusterFilter{Name: &name}, pick(4), 1},
			{"NameMissing", dbplane.ClusterFilter{Name: &missing}, pick(), 0},
			{"Engine", dbplane.ClusterFilter{Engine: &redis}, pick(1, 3, 5), 3},
			{"Status", dbplane.ClusterFilter{Status: &running}, pick(0, 3, 4), 3},
			{"EngineAndStatus", dbplane.ClusterFilter{Engine: &redis, Status: &creating}, pick(1, 5), 2},
			{"Page", dbplane.ClusterFilter{Offset: 2, Limit: 3}, pick(2, 3, 4), 7},
			{"LastPage", dbplane.ClusterFilter{Offset: 6, Limit: 3}, pick(6), 7},
			{"PastTheEnd", dbplane.ClusterFilter{Offset: 10, Limit: 3}, pick(), 7},
			{"FilteredPage", dbplane.ClusterFilter{Status: &running, Offset: 1, Limit: 1}, pick(3), 3},
			{"NegativeOffset", dbplane.ClusterFilter{Offset: -5, Limit: 2}, pick(0, 1), 7},
		} {
			t.Run(tt.name, func(t *testing.T) {
				cs, total, err := db.FindClusters(ctx, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, ids(cs)); diff != "" {
					t.Fatalf("ids (-want +got):\n%s", diff)
				} else if total != tt.wantTotal {
					t.Fatalf("total=%d, want %d", total, tt.wantTotal)
				}
			})
		}

		t.Run("Content", func(t *testing.T) {
			cs, _, err := db.FindClusters(ctx, dbplane.ClusterFilter{})
			if err != nil {
				t.Fatal(err)
			}
			all[3].Nodes = []dbplane.Node{{ID: node, ClusterID: all[3].ID, HostID: h, Address: "h1.example:7070", Role: "primary", Port: 5432,
				DataDir: "/data/5432", Status: "running", CreatedAt: fromUnix(1000)}}
			if diff := cmp.Diff(all, cs); diff != "" {
				t.Fatalf("clusters (-want +got):\n%s", diff)
			}
		})
	})
}

// TestFindClusters_PageSize checks the default and the maximum page sizes.
func TestFindClusters_PageSize(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sqlstore.DB) {
		seedClusters(t, db, dbplane.MaxPageSize+1)
		for _, tt := range []struct {
			limit, want int
		}{
			{0, dbplane.DefaultPageSize},
			{-1, dbplane.DefaultPageSize},
			{10, 10},
			{dbplane.MaxPageSize + 500, dbplane.MaxPageSize},
		} {
			cs, total, err := db.FindClusters(context.Background(), dbplane.ClusterFilter{Limit: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != tt.want || total != dbplane.MaxPageSize+1 {
				t.Fatalf("limit %d: %d clusters of %d, want %d of %d", tt.limit, len(cs), total, tt.want, dbplane.MaxPageSize+1)
			}
		}
	})
}

// newCluster returns a standalone PostgreSQL cluster named name.
func newCluster(name string) *dbplane.Cluster {
	spec := dbplane.ClusterSpec{
		Name: name, Engine: dbplane.EnginePostgreSQL, Version: "16", Topology: dbplane.TopologyStandalone,
		Nodes: 1, Flavor: "small", VolumeGB: 20, Zones: []string{"zone-a"},
		Labels: map[string]string{"team": "core"},
	}
	return &dbplane.Cluster{Name: name, Engine: spec.Engine, Version: spec.Version, Topology: spec.Topology, Spec: spec}
}

func createPlan() dbplane.TaskPlan {
	return dbplane.TaskPlan{Name: "create cluster", Kind: dbplane.TaskKindClusterCreate, Steps: []dbplane.PlanStep{
		{Key: "place", Name: "place", Handler: "test.noop"},
		{Key: "start", Name: "start", Handler: "test.noop", After: []string{"place"}},
	}}
}

func deletePlan() dbplane.TaskPlan {
	return dbplane.TaskPlan{Name: "delete cluster", Kind: dbplane.TaskKindClusterDelete, Steps: []dbplane.PlanStep{
		{Key: "stop", Name: "stop", Handler: "test.noop"},
	}}
}

func mustCreateCluster(tb testing.TB, db *sqlstore.DB, c *dbplane.Cluster) *dbplane.Cluster {
	tb.Helper()
	if _, err := db.CreateCluster(context.Background(), c, "pw", createPlan()); err != nil {
		tb.Fatal(err)
	}
	return c
}

// mustInsertHost inserts a host directly: hosts register through the agent,
// which the store's API does not cover yet.
func mustInsertHost(tb testing.TB, db *sqlstore.DB, name, zone string, status dbplane.HostStatus) int64 {
	tb.Helper()
	mustExec(tb, db, `INSERT INTO hosts (name, address, zone, cpus, memory_mb, disk_gb, status, created_at, updated_at)
		VALUES (?, ?, ?, 4, 8192, 100, ?, 1000, 2000)`, name, name+".example:7070", zone, string(status))
	return mustQueryInt(tb, db, `SELECT id FROM hosts WHERE name = ?`, name)
}

func mustInsertNode(tb testing.TB, db *sqlstore.DB, clusterID, hostID int64, role string, port int) int64 {
	tb.Helper()
	ordinal := mustQueryInt(tb, db, `SELECT COUNT(*) FROM nodes WHERE cluster_id = ?`, clusterID)
	mustExec(tb, db, `INSERT INTO nodes (cluster_id, host_id, ordinal, role, port, data_dir, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 'running', 1000)`, clusterID, hostID, ordinal, role, port, fmt.Sprintf("/data/%d", port))
	return mustQueryInt(tb, db, `SELECT id FROM nodes WHERE host_id = ? AND port = ?`, hostID, port)
}

// seedClusters inserts n clusters directly, in one transaction, far faster
// than n CreateCluster calls. Every third is redis and every fourth
// running; the others are postgresql and creating.
func seedClusters(tb testing.TB, db *sqlstore.DB, n int) {
	tb.Helper()
	project := mustQueryInt(tb, db, `SELECT id FROM projects WHERE name = 'default'`)
	tx, err := db.SQL().Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	const batch = 100
	for first := 0; first < n; first += batch {
		var (
			values []string
			args   []any
		)
		for i := first; i < min(first+batch, n); i++ {
			engine, status := dbplane.EnginePostgreSQL, dbplane.ClusterCreating
			if i%3 == 0 {
				engine = dbplane.EngineRedis
			}
			if i%4 == 0 {
				status = dbplane.ClusterRunning
			}
			name := fmt.Sprintf("seed-%05d", i)
			spec := fmt.Sprintf(`{"name":%q,"engine":%q,"version":"16","topology":"standalone","flavor":"small","volume_gb":20}`, name, engine)
			values = append(values, "(?, ?, ?, '16', 'standalone', ?, ?, 1000, 1000)")
			args = append(args, name, project, engine, string(status), spec)
		}
		query := `INSERT INTO clusters (name, project_id, engine, version, topology, status, spec, created_at, updated_at) VALUES ` +
			strings.Join(values, ", ")
		if _, err := tx.Exec(rebind(db, query), args...); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

func fromUnix(us int64) time.Time { return time.UnixMicro(us).UTC() }

// assertError fails unless err has the kind and client message given.
func assertError(tb testing.TB, err error, kind dbplane.Kind, msg string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("err=nil, want %v %q", kind, msg)
	} else if got := dbplane.ErrorKind(err); got != kind {
		tb.Fatalf("kind=%v, want %v (%v)", got, kind, err)
	} else if got := dbplane.ErrorMessage(err); got != msg {
		tb.Fatalf("message=%q, want %q", got, msg)
	}
}
