package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/google/go-cmp/cmp"
)

// orders is the cluster the tests create.
func orders() *dbplane.Cluster {
	return &dbplane.Cluster{ID: 12, Name: "orders", Engine: "postgresql", Version: "16", Topology: "replication",
		Status: dbplane.ClusterCreating, CreatedAt: at(0), UpdatedAt: at(0),
		Spec: dbplane.ClusterSpec{Name: "orders", Engine: "postgresql", Version: "16", Topology: "replication",
			Nodes: 2, Flavor: "dbp.c2.m4", VolumeGB: 100, Zones: []string{"z1", "z2"}, ReplicationMode: "sync"},
		Nodes: []dbplane.Node{
			{ID: 1, ClusterID: 12, HostID: 7, Role: "primary", Port: 5432, DataDir: "/data/1", Status: "running"},
			{ID: 2, ClusterID: 12, HostID: 8, Role: "replica", Port: 5432, DataDir: "/data/2", Status: "running"},
		}}
}

func TestClusterCreateFromFlags(t *testing.T) {
	var got dbplane.ClusterSpec
	f := &fakeAPI{CreateClusterFn: func(spec dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
		if dryRun {
			t.Error("dry run, want a real create")
		}
		got = spec
		return orders(), createTask(dbplane.TaskRunning, dbplane.SubtaskReady), nil
	}}
	r := runCLI(t, f, map[string]string{"DBPLANE_TOKEN": "tok"}, "S3cret-pw\n",
		"cluster", "create", "--name", "orders", "--engine", "postgresql", "--version", "16",
		"--topology", "replication", "--nodes", "2", "--flavor", "dbp.c2.m4", "--volume-gb", "100",
		"--zones", "z1,z2", "--hosts", "7,3", "--replication-mode", "sync", "--param", "max_connections=200", "--password-stdin")
	r.check(t, exitOK)
	want := dbplane.ClusterSpec{Name: "orders", Engine: "postgresql", Version: "16", Topology: "replication",
		Nodes: 2, Flavor: "dbp.c2.m4", VolumeGB: 100, Zones: []string{"z1", "z2"}, Hosts: []int64{7, 3}, ReplicationMode: "sync",
		Password: "S3cret-pw", Parameters: map[string]string{"max_connections": "200"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	if want := "cluster 12 \"orders\" creating\ntask 34 \"create cluster orders\" RUNNING\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "dbplane task watch 34") {
		t.Errorf("stderr = %q, want a hint to watch the task", r.stderr)
	}
	if f.lastToken() != "tok" {
		t.Errorf("connected with token %q, want DBPLANE_TOKEN's", f.lastToken())
	}
}

func TestClusterCreateFieldErrors(t *testing.T) {
	f := &fakeAPI{CreateClusterFn: func(dbplane.ClusterSpec, bool) (*dbplane.Cluster, *dbplane.Task, error) {
		return nil, nil, dbplane.Invalid(
			dbplane.FieldError{Field: "name", Message: "must start with a letter"},
			dbplane.FieldError{Field: "volume_gb", Message: "must be a multiple of 10"},
			dbplane.FieldError{Field: "zones[1]", Message: "unknown zone"},
		)
	}}
	r := runCLI(t, f, nil, "", "cluster", "create", "--name", "1x", "--volume-gb", "15", "--zones", "z1,zz")
	r.check(t, exitError)
	want := `error: invalid request: 3 fields are invalid
  name (--name): must start with a letter
  volume_gb (--volume-gb): must be a multiple of 10
  zones[1] (--zones): unknown zone
`
	if diff := cmp.Diff(want, r.stderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
}

func TestClusterCreateSpecFile(t *testing.T) {
	var got dbplane.ClusterSpec
	f := &fakeAPI{CreateClusterFn: func(spec dbplane.ClusterSpec, _ bool) (*dbplane.Cluster, *dbplane.Task, error) {
		got = spec
		return orders(), createTask(dbplane.TaskRunning), nil
	}}
	spec := `{"name": "orders", "engine": "postgresql", "version": "16", "topology": "standalone", "flavor": "dbp.c2.m4", "volume_gb": 20}`
	env := map[string]string{clusterPasswordEnv: "Env-pass-1"}

	t.Run("File", func(t *testing.T) {
		runCLI(t, f, env, "", "cluster", "create", "-f", writeFile(t, "spec.json", spec)).check(t, exitOK)
		if got.Name != "orders" || got.VolumeGB != 20 || got.Password != "Env-pass-1" {
			t.Errorf("spec = %+v, want the file's with the environment's password", got)
		}
	})
	t.Run("Stdin", func(t *testing.T) {
		got = dbplane.ClusterSpec{}
		runCLI(t, f, nil, spec, "cluster", "create", "-f", "-").check(t, exitOK)
		if got.Topology != "standalone" {
			t.Errorf("spec = %+v, want stdin's", got)
		}
	})
	t.Run("UnknownField", func(t *testing.T) {
		r := runCLI(t, f, nil, `{"nmae": "orders"}`, "cluster", "create", "-f", "-")
		r.check(t, exitError)
		if !strings.Contains(r.stderr, `unknown field "nmae"`) {
			t.Errorf("stderr = %q, want the unknown field named", r.stderr)
		}
	})
	t.Run("FileAndFlags", func(t *testing.T) {
		r := runCLI(t, f, nil, spec, "cluster", "create", "-f", "-", "--name", "other")
		r.check(t, exitUsage)
		if !strings.Contains(r.stderr, "--name") {
			t.Errorf("stderr = %q, want the conflicting flag named", r.stderr)
		}
	})
	t.Run("StdinTwice", func(t *testing.T) {
		runCLI(t, f, nil, spec, "cluster", "create", "-f", "-", "--password-stdin").check(t, exitUsage)
	})
}

func TestClusterCreateUsageErrors(t *testing.T) {
	f := &fakeAPI{} // any API call fails the test with exit 1, not 2
	for _, tt := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"BadInteger", []string{"cluster", "create", "--volume-gb", "ten"}, `invalid argument "ten" for "--volume-gb"`},
		{"UnknownFlag", []string{"cluster", "create", "--password", "x"}, "unknown flag: --password"},
		{"DryRunAndWait", []string{"cluster", "create", "--dry-run", "--wait"}, "cannot be used together"},
		{"EmptyPasswordStdin", []string{"cluster", "create", "--name", "x", "--password-stdin"}, "no password"},
		{"Argument", []string{"cluster", "create", "orders"}, "takes 0 argument(s)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, f, nil, "", tt.args...)
			r.check(t, exitUsage)
			if !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "dbplane cluster create --help") {
				t.Errorf("stderr = %q, want %q and a usage hint", r.stderr, tt.want)
			}
		})
	}
}

func TestClusterCreateDryRun(t *testing.T) {
	plan := createTask(dbplane.TaskRunning, dbplane.SubtaskPending, dbplane.SubtaskPending)
	plan.ID = 0
	f := &fakeAPI{CreateClusterFn: func(_ dbplane.ClusterSpec, dryRun bool) (*dbplane.Cluster, *dbplane.Task, error) {
		if !dryRun {
			t.Error("not a dry run")
		}
		cl := orders()
		cl.ID = 0
		return cl, plan, nil
	}}
	r := runCLI(t, f, nil, "", "cluster", "create", "--name", "orders", "--dry-run")
	r.check(t, exitOK)
	want := `task "create cluster orders" (cluster.create) would run 2 subtasks:
ID  NAME              HANDLER  AFTER  TIMEOUT  MAX_ATTEMPTS
12  Place nodes       h        -      600s     3
13  Install packages  h        12     600s     3
`
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stderr, "dry run") {
		t.Errorf("stderr = %q, want a dry-run note", r.stderr)
	}
}

// TestClusterCreateWait checks that --wait follows the task and that the
// exit code is the task's outcome.
func TestClusterCreateWait(t *testing.T) {
	for _, tt := range []struct {
		status dbplane.TaskStatus
		code   int
	}{
		{dbplane.TaskSuccessful, exitOK},
		{dbplane.TaskFailed, exitTaskFailed},
	} {
		t.Run(string(tt.status), func(t *testing.T) {
			final := createTask(tt.status, dbplane.SubtaskSuccessful)
			f := &fakeAPI{
				CreateClusterFn: func(dbplane.ClusterSpec, bool) (*dbplane.Cluster, *dbplane.Task, error) {
					return orders(), createTask(dbplane.TaskRunning, dbplane.SubtaskReady), nil
				},
				WatchTaskFn: func(context.Context, int64, int64) (<-chan dbplane.TaskEvent, error) {
					return eventsOf(taskEvent(1, tt.status, 65)), nil
				},
				FindTaskByIDFn: func(int64) (*dbplane.Task, error) { return final, nil },
				FindClusterByIDFn: func(int64) (*dbplane.Cluster, error) {
					cl := orders()
					cl.Status = dbplane.ClusterRunning
					return cl, nil
				},
			}
			r := runCLI(t, f, nil, "", "cluster", "create", "--name", "orders", "--wait", "-o", "json")
			r.check(t, tt.code)
			var out createResult
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
			}
			if out.Task.Status != tt.status || out.Cluster.Status != dbplane.ClusterRunning {
				t.Errorf("printed task %s, cluster %s; want the final states", out.Task.Status, out.Cluster.Status)
			}
			if !strings.Contains(r.stderr, "2026-11-22T10:01:05Z  task 34 "+string(tt.status)) {
				t.Errorf("stderr = %q, want the plain progress line", r.stderr)
			}
		})
	}
}

func TestClusterList(t *testing.T) {
	other := orders()
	other.ID, other.Name, other.Engine, other.Version, other.Topology, other.Nodes = 13, "cache", "redis", "7", "standalone", nil
	other.Status = dbplane.ClusterRunning
	var filter dbplane.ClusterFilter
	f := &fakeAPI{FindClustersFn: func(fl dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
		filter = fl
		return []*dbplane.Cluster{orders(), other}, 5, nil
	}}

	t.Run("Text", func(t *testing.T) {
		r := runCLI(t, f, nil, "", "cluster", "list", "--engine", "postgresql", "--limit", "2")
		r.check(t, exitOK)
		want := `ID  NAME    PROJECT  ENGINE      VERSION  TOPOLOGY     NODES  STATUS    CREATED
12  orders  -        postgresql  16       replication  2      creating  2026-11-22T10:00:00Z
13  cache   -        redis       7        standalone   0      running   2026-11-22T10:00:00Z
`
		if diff := cmp.Diff(want, r.stdout); diff != "" {
			t.Errorf("stdout (-want +got):\n%s", diff)
		}
		if filter.Engine == nil || *filter.Engine != "postgresql" || filter.Limit != 2 || filter.Name != nil {
			t.Errorf("filter = %+v, want engine postgresql, limit 2", filter)
		}
		if want := "showing 1-2 of 5; use --offset and --limit for more\n"; r.stderr != want {
			t.Errorf("stderr = %q, want %q", r.stderr, want)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		r := runCLI(t, f, map[string]string{"DBPLANE_OUTPUT": "json"}, "", "cluster", "list")
		r.check(t, exitOK)
		var page clusterPage
		if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
		}
		want := clusterPage{Clusters: []*dbplane.Cluster{orders(), other}, Total: 5, Limit: dbplane.DefaultPageSize}
		if diff := cmp.Diff(want, page); diff != "" {
			t.Errorf("page (-want +got):\n%s", diff)
		}
		if !strings.Contains(r.stdout, "\n  \"clusters\": [") {
			t.Errorf("stdout is not indented JSON:\n%s", r.stdout)
		}
	})
	t.Run("EmptyJSON", func(t *testing.T) {
		empty := &fakeAPI{FindClustersFn: func(dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) { return nil, 0, nil }}
		r := runCLI(t, empty, nil, "", "cluster", "list", "-o", "json")
		r.check(t, exitOK)
		if !strings.Contains(r.stdout, `"clusters": []`) {
			t.Errorf("stdout = %s, want an empty list, not null", r.stdout)
		}
	})
}

func TestClusterShow(t *testing.T) {
	f := &fakeAPI{
		FindClustersFn: func(fl dbplane.ClusterFilter) ([]*dbplane.Cluster, int, error) {
			if fl.Name != nil && *fl.Name == "orders" {
				return []*dbplane.Cluster{orders()}, 1, nil
			}
			return nil, 0, nil
		},
		FindClusterByIDFn: func(id int64) (*dbplane.Cluster, error) {
			if id != 12 {
				return nil, dbplane.Errorf(dbplane.KindNotFound, "cluster %d not found", id)
			}
			return orders(), nil
		},
	}
	t.Run("ByName", func(t *testing.T) {
		r := runCLI(t, f, nil, "", "cluster", "show", "orders")
		r.check(t, exitOK)
		want := `ID:           12
Name:         orders
Project:      -
Engine:       postgresql 16
Topology:     replication
Status:       creating
Flavor:       dbp.c2.m4
Volume:       100 GB
Zones:        z1, z2
Replication:  sync
Created:      2026-11-22T10:00:00Z
Updated:      2026-11-22T10:00:00Z

NODE  HOST  ADDRESS  ROLE     PORT  STATUS   DATA_DIR
1     7     -        primary  5432  running  /data/1
2     8     -        replica  5432  running  /data/2
`
		if diff := cmp.Diff(want, r.stdout); diff != "" {
			t.Errorf("stdout (-want +got):\n%s", diff)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		r := runCLI(t, f, nil, "", "cluster", "show", "12", "--output", "json")
		r.check(t, exitOK)
		var got dbplane.Cluster
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(orders(), &got); diff != "" {
			t.Errorf("cluster (-want +got):\n%s", diff)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		for _, arg := range []string{"99", "nosuch"} {
			r := runCLI(t, f, nil, "", "cluster", "show", arg)
			r.check(t, exitError)
			if !strings.HasPrefix(r.stderr, "error: cluster ") || !strings.Contains(r.stderr, "not found") {
				t.Errorf("stderr = %q, want a not-found error", r.stderr)
			}
		}
	})
}

func TestClusterDelete(t *testing.T) {
	del := createTask(dbplane.TaskRunning, dbplane.SubtaskReady)
	del.ID, del.Name, del.Kind = 35, "delete cluster orders", dbplane.TaskKindClusterDelete
	var deleted int64
	f := &fakeAPI{DeleteClusterFn: func(id int64, dryRun bool) (*dbplane.Task, error) {
		deleted = id
		return del, nil
	}}
	r := runCLI(t, f, nil, "", "cluster", "delete", "12")
	r.check(t, exitOK)
	if deleted != 12 {
		t.Errorf("deleted cluster %d, want 12", deleted)
	}
	if want := "task 35 \"delete cluster orders\" RUNNING\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
}

// TestTaskWatch runs `task watch` in plain mode (stderr is not a terminal)
// and checks the exit code is the task's outcome.
func TestTaskWatch(t *testing.T) {
	for _, tt := range []struct {
		name  string
		final *dbplane.Task
		code  int
		want  string
	}{
		{"Successful", createTask(dbplane.TaskSuccessful, dbplane.SubtaskSuccessful), exitOK,
			`2026-11-22T10:00:00Z  subtask 12 "Place nodes" RUNNING
2026-11-22T10:00:05Z  subtask 12 "Place nodes" SUCCESSFUL
2026-11-22T10:01:05Z  task 34 SUCCESSFUL
task 34 "create cluster orders" SUCCESSFUL in 1m5s
`},
		{"Failed", createTask(dbplane.TaskFailed, dbplane.SubtaskFailed), exitTaskFailed,
			`2026-11-22T10:00:00Z  subtask 12 "Place nodes" RUNNING
2026-11-22T10:00:05Z  subtask 12 "Place nodes" FAILED
2026-11-22T10:01:05Z  task 34 FAILED
task 34 "create cluster orders" FAILED after 1m5s
  subtask 12 "Place nodes" FAILED: apt-get install failed
retry it with 'dbplane task retry 34', or undo it with 'dbplane task rollback 34'
`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{
				WatchTaskFn: func(context.Context, int64, int64) (<-chan dbplane.TaskEvent, error) {
					return eventsOf(
						subtaskEvent(1, 0, dbplane.SubtaskRunning, 0),
						subtaskEvent(2, 0, tt.final.Subtasks[0].Status, 5),
						taskEvent(3, tt.final.Status, 65),
					), nil
				},
				FindTaskByIDFn: func(int64) (*dbplane.Task, error) { return tt.final, nil },
			}
			r := runCLI(t, f, nil, "", "task", "watch", "34")
			r.check(t, tt.code)
			if diff := cmp.Diff(tt.want, r.stderr); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing in text mode", r.stdout)
			}
		})
	}
}

func TestTaskWatchInterrupted(t *testing.T) {
	f := &fakeAPI{WatchTaskFn: func(context.Context, int64, int64) (<-chan dbplane.TaskEvent, error) {
		return make(chan dbplane.TaskEvent), nil
	}}
	ctx, cancel := context.WithCancel(t.Context())
	go cancel()
	r := runCLIContext(t, ctx, f, nil, "", "task", "watch", "34")
	r.check(t, exitInterrupted)
	if !strings.Contains(r.stderr, "keep running") {
		t.Errorf("stderr = %q, want a note that the task keeps running", r.stderr)
	}
}

func TestTaskShow(t *testing.T) {
	task := createTask(dbplane.TaskFailed, dbplane.SubtaskSuccessful, dbplane.SubtaskFailed)
	task.Creator = "admin"
	f := &fakeAPI{FindTaskByIDFn: func(int64) (*dbplane.Task, error) { return task, nil }}
	r := runCLI(t, f, nil, "", "task", "show", "34")
	r.check(t, exitOK)
	want := `ID:         34
Name:       create cluster orders
Kind:       cluster.create
Cluster:    12
Status:     FAILED
Operation:  EXECUTE
Rollback:   allowed
Creator:    admin
Created:    2026-11-22T10:00:00Z
Started:    2026-11-22T10:00:00Z
Finished:   2026-11-22T10:01:05Z
Elapsed:    1m5s

ID  NAME              STATUS      OPERATION  ATTEMPTS  AFTER  ELAPSED  ERROR
12  Place nodes       SUCCESSFUL  EXECUTE    1/3       -      5s       -
13  Install packages  FAILED      EXECUTE    1/3       12     5s       apt-get install failed
`
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}

func TestTaskList(t *testing.T) {
	var filter dbplane.TaskFilter
	f := &fakeAPI{FindTasksFn: func(fl dbplane.TaskFilter) ([]*dbplane.Task, int, error) {
		filter = fl
		return []*dbplane.Task{createTask(dbplane.TaskRunning)}, 1, nil
	}}
	r := runCLI(t, f, nil, "", "task", "list", "--cluster", "12", "--status", "RUNNING")
	r.check(t, exitOK)
	want := `ID  NAME                   KIND            CLUSTER  STATUS   OPERATION  CREATED               FINISHED
34  create cluster orders  cluster.create  12       RUNNING  EXECUTE    2026-11-22T10:00:00Z  -
`
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if filter.ClusterID == nil || *filter.ClusterID != 12 || filter.Status == nil || *filter.Status != dbplane.TaskRunning {
		t.Errorf("filter = %+v, want cluster 12, RUNNING", filter)
	}
}

func TestTaskOperations(t *testing.T) {
	sub := &dbplane.Subtask{ID: 13, TaskID: 34, Name: "Install packages", Status: dbplane.SubtaskReady, Operation: dbplane.OpRetry}
	var calls []string
	record := func(name string, ids ...int64) {
		calls = append(calls, name+" "+joinIDs(ids))
	}
	f := &fakeAPI{
		RetryTaskFn: func(id int64) (*dbplane.Task, error) {
			record("RetryTask", id)
			task := createTask(dbplane.TaskRunning)
			task.Operation = dbplane.OpRetry
			return task, nil
		},
		RollbackTaskFn: func(id int64) (*dbplane.Task, error) {
			record("RollbackTask", id)
			return nil, dbplane.Errorf(dbplane.KindConflict, "task %d prohibits rollback", id)
		},
		RetrySubtaskFn: func(taskID, subID int64) (*dbplane.Subtask, error) {
			record("RetrySubtask", taskID, subID)
			return sub, nil
		},
		SkipSubtaskFn: func(taskID, subID int64) (*dbplane.Subtask, error) {
			record("SkipSubtask", taskID, subID)
			s := *sub
			s.Status, s.Operation = dbplane.SubtaskSuccessful, dbplane.OpSkip
			return &s, nil
		},
		CancelSubtaskFn: func(taskID, subID int64) (*dbplane.Subtask, error) {
			record("CancelSubtask", taskID, subID)
			s := *sub
			s.Status, s.Operation = dbplane.SubtaskCanceling, dbplane.OpCancel
			return &s, nil
		},
		SubtaskLogFn: func(taskID, subID int64) ([]dbplane.LogLine, error) {
			record("SubtaskLog", taskID, subID)
			return []dbplane.LogLine{{At: at(1), Message: "installing postgresql-16"}, {At: at(2), Message: "done"}}, nil
		},
	}
	for _, tt := range []struct {
		args   []string
		code   int
		stdout string
		stderr string // contained in stderr
	}{
		{[]string{"task", "retry", "34"}, exitOK, "task 34 \"create cluster orders\" RUNNING (RETRY)\n", "dbplane task watch 34"},
		{[]string{"task", "retry", "34", "13"}, exitOK, "subtask 13 \"Install packages\" READY (RETRY)\n", ""},
		{[]string{"task", "skip", "34", "13"}, exitOK, "subtask 13 \"Install packages\" SUCCESSFUL (SKIP)\n", ""},
		{[]string{"task", "cancel", "34", "13"}, exitOK, "subtask 13 \"Install packages\" CANCELING (CANCEL)\n", ""},
		{[]string{"task", "rollback", "34"}, exitError, "", "error: task 34 prohibits rollback\n"},
		{[]string{"task", "log", "34", "13"}, exitOK, "2026-11-22T10:00:01Z  installing postgresql-16\n2026-11-22T10:00:02Z  done\n", ""},
		{[]string{"task", "skip", "34"}, exitUsage, "", "takes 2 argument(s)"},
		{[]string{"task", "retry", "34", "x"}, exitUsage, "", "SUBTASK_ID must be a positive integer"},
		{[]string{"task", "cancel", "0", "13"}, exitUsage, "", "TASK_ID must be a positive integer"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, f, nil, "", tt.args...)
			r.check(t, tt.code)
			if r.stdout != tt.stdout {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.stderr)
			}
		})
	}
	want := []string{"RetryTask 34", "RetrySubtask 34,13", "SkipSubtask 34,13", "CancelSubtask 34,13", "RollbackTask 34", "SubtaskLog 34,13"}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("API calls (-want +got):\n%s", diff)
	}
}

func TestTaskLogJSON(t *testing.T) {
	f := &fakeAPI{SubtaskLogFn: func(int64, int64) ([]dbplane.LogLine, error) { return nil, nil }}
	r := runCLI(t, f, nil, "", "-o", "json", "task", "log", "34", "13")
	r.check(t, exitOK)
	if want := "{\n  \"lines\": []\n}\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}
}

func TestHostList(t *testing.T) {
	f := &fakeAPI{FindHostsFn: func(dbplane.HostFilter) ([]*dbplane.Host, int, error) {
		return []*dbplane.Host{{ID: 7, Name: "db1", Address: "127.0.0.11", Zone: "z1", Status: dbplane.HostOnline,
			CPUs: 4, MemoryMB: 16384, DiskGB: 200, LastSeenAt: atp(90)}}, 1, nil
	}}
	r := runCLI(t, f, nil, "", "host", "list")
	r.check(t, exitOK)
	want := `ID  NAME  ADDRESS     ZONE  STATUS  CPUS  MEMORY_MB  DISK_GB  LAST_SEEN
7   db1   127.0.0.11  z1    ONLINE  4     16384      200      2026-11-22T10:01:30Z
`
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}

func TestCatalog(t *testing.T) {
	f := &fakeAPI{CatalogFn: func() (*dbplane.Catalog, error) {
		return &dbplane.Catalog{
			Engines: []dbplane.EngineVersion{{Engine: "postgresql", Version: "16", Topologies: []string{"standalone", "replication"}, Default: true}},
			Flavors: []dbplane.Flavor{{Code: "dbp.c2.m4", VCPUs: 2, MemoryGB: 4}},
		}, nil
	}}
	r := runCLI(t, f, nil, "", "catalog")
	r.check(t, exitOK)
	want := `ENGINE      VERSION  TOPOLOGIES              DEFAULT
postgresql  16       standalone,replication  yes

FLAVOR     VCPUS  MEMORY_GB
dbp.c2.m4  2      4
`
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"cluster"},
		{"cluster", "bogus"},
		{"task", "show"},
		{"task", "show", "abc"},
		{"--output", "yaml", "cluster", "list"},
		{"--server", "localhost:8080", "cluster", "list"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, &fakeAPI{}, nil, "", args...)
			r.check(t, exitUsage)
			if !strings.Contains(r.stderr, "error: ") || !strings.Contains(r.stderr, "--help' for usage.") {
				t.Errorf("stderr = %q, want an error and a usage hint", r.stderr)
			}
		})
	}
	t.Run("Help", func(t *testing.T) {
		r := runCLI(t, &fakeAPI{}, nil, "", "cluster", "create", "--help")
		r.check(t, exitOK)
		if !strings.Contains(r.stdout, "--password-stdin") {
			t.Errorf("help does not list --password-stdin:\n%s", r.stdout)
		}
	})
}

func TestConfigErrorExit(t *testing.T) {
	r := runCLI(t, &fakeAPI{}, map[string]string{"DBPLANE_WORKERS": "many"}, "", "cluster", "list")
	r.check(t, exitUsage)
	want := "error: invalid value in the environment\n  DBPLANE_WORKERS: must be an integer, got \"many\"\n"
	if !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr = %q, want it to start with %q", r.stderr, want)
	}
}

func TestUnauthorizedHint(t *testing.T) {
	f := &fakeAPI{FindHostsFn: func(dbplane.HostFilter) ([]*dbplane.Host, int, error) {
		return nil, 0, dbplane.Errorf(dbplane.KindUnauthorized, "missing or invalid token")
	}}
	r := runCLI(t, f, nil, "", "host", "list")
	r.check(t, exitError)
	want := "error: missing or invalid token\nhint: run 'dbplane login', or set DBPLANE_TOKEN or DBPLANE_PASSWORD\n"
	if r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
	if f.lastToken() != "" {
		t.Errorf("connected with token %q, want none", f.lastToken())
	}
}

func TestUnreachableServer(t *testing.T) {
	f := &fakeAPI{FindHostsFn: func(dbplane.HostFilter) ([]*dbplane.Host, int, error) {
		return nil, 0, &dbplane.Error{Kind: dbplane.KindUnavailable, Message: "cannot reach the dbplane API at http://127.0.0.1:1",
			Err: os.ErrDeadlineExceeded}
	}}
	r := runCLI(t, f, nil, "", "host", "list")
	r.check(t, exitError)
	if want := "error: cannot reach the dbplane API at http://127.0.0.1:1: i/o timeout\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q: the cause says why", r.stderr, want)
	}
}

func TestLogin(t *testing.T) {
	config := t.TempDir()
	vars := map[string]string{"XDG_CONFIG_HOME": config}
	var gotUser, gotPassword string
	f := &fakeAPI{
		IssueTokenFn: func(user, password string) (*dbplane.Token, error) {
			gotUser, gotPassword = user, password
			return &dbplane.Token{ID: 1, Secret: "secret-token", ExpiresAt: at(86400)}, nil
		},
		FindHostsFn: func(dbplane.HostFilter) ([]*dbplane.Host, int, error) { return nil, 0, nil },
	}
	r := runCLI(t, f, vars, "Adm1n-pass\n", "login", "--user", "ops", "--password-stdin")
	r.check(t, exitOK)
	if gotUser != "ops" || gotPassword != "Adm1n-pass" {
		t.Errorf("IssueToken(%q, %q), want (ops, Adm1n-pass)", gotUser, gotPassword)
	}
	path := filepath.Join(config, "dbplane", "token")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "secret-token\n" {
		t.Errorf("token file holds %q", data)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %v, %v; want 0600", st.Mode(), err)
	}
	if strings.Contains(r.stdout+r.stderr, "secret-token") {
		t.Errorf("login printed the token:\n%s%s", r.stdout, r.stderr)
	}

	// Later commands use the saved token when none is configured...
	runCLI(t, f, vars, "", "host", "list").check(t, exitOK)
	if f.lastToken() != "secret-token" {
		t.Errorf("connected with %q, want the saved token", f.lastToken())
	}
	// ...and a configured one wins over it.
	vars["DBPLANE_TOKEN"] = "env-token"
	runCLI(t, f, vars, "", "host", "list").check(t, exitOK)
	if f.lastToken() != "env-token" {
		t.Errorf("connected with %q, want DBPLANE_TOKEN", f.lastToken())
	}
}

func TestLoginNeedsPassword(t *testing.T) {
	r := runCLI(t, &fakeAPI{}, nil, "", "login")
	r.check(t, exitUsage)
	if !strings.Contains(r.stderr, "--password-stdin") {
		t.Errorf("stderr = %q, want a hint about --password-stdin", r.stderr)
	}
}

// TestPasswordExchange checks that without any token the CLI exchanges
// DBPLANE_USER and DBPLANE_PASSWORD for one.
func TestPasswordExchange(t *testing.T) {
	f := &fakeAPI{
		IssueTokenFn: func(user, password string) (*dbplane.Token, error) {
			if user != "admin" || password != "pw" {
				return nil, dbplane.Errorf(dbplane.KindUnauthorized, "wrong user or password")
			}
			return &dbplane.Token{Secret: "issued"}, nil
		},
		FindHostsFn: func(dbplane.HostFilter) ([]*dbplane.Host, int, error) { return nil, 0, nil },
	}
	runCLI(t, f, map[string]string{"DBPLANE_PASSWORD": "pw"}, "", "host", "list").check(t, exitOK)
	if f.lastToken() != "issued" {
		t.Errorf("connected with %q, want the issued token", f.lastToken())
	}
	r := runCLI(t, f, map[string]string{"DBPLANE_PASSWORD": "bad"}, "", "host", "list")
	r.check(t, exitError)
	if !strings.Contains(r.stderr, "wrong user or password") {
		t.Errorf("stderr = %q", r.stderr)
	}
}
