package taskengine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/dbplane/dbplane/taskengine"
)

// testKind is the kind of the tests' tasks: dbplane.ClusterOutcome ignores
// it, so tasks may name clusters that do not exist.
const testKind = "test.dag"

// waitDeadline bounds every wait for a state. It is generous: a state that
// is reached is reached in milliseconds, and a slow shared machine must not
// make a correct engine fail.
const waitDeadline = 30 * time.Second

// forEachStore runs fn on a fresh store of every dialect.
func forEachStore(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	testdb.ForEach(t, func(t *testing.T, dsn string) { fn(t, mustOpen(t, dsn)) })
}

// mustOpen opens the store at dsn and closes it when the test ends.
func mustOpen(tb testing.TB, dsn string) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// fastConfig keeps leases, polls and backoff short so that the suite runs
// in seconds. Handler logs of warnings and errors go to the test output.
func fastConfig(tb testing.TB, executor string) taskengine.Config {
	return taskengine.Config{
		Executor: executor,
		Workers:  4,
		Lease:    600 * time.Millisecond,
		Poll:     20 * time.Millisecond,
		Grace:    5 * time.Second,
		Backoff:  func(int) time.Duration { return 10 * time.Millisecond },
		Logger:   slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelError})),
	}
}

// start runs e until the test ends (or the returned stop is called) and
// fails the test if Run returns an error.
func start(tb testing.TB, e *taskengine.Engine) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.Run(ctx); err != nil {
			tb.Errorf("engine %s: Run: %v", e.Executor(), err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	tb.Cleanup(stop)
	return stop
}

// step returns a plan step whose name is its key.
func step(key, handler string, after ...string) dbplane.PlanStep {
	return dbplane.PlanStep{Key: key, Name: key, Handler: handler, After: after}
}

// mustCreate creates a task of the given steps, on cluster clusterID (0:
// none).
func mustCreate(tb testing.TB, db *sqlstore.DB, clusterID int64, steps ...dbplane.PlanStep) *dbplane.Task {
	tb.Helper()
	task, err := db.CreateTask(context.Background(), dbplane.TaskPlan{
		Name: tb.Name(), Kind: testKind, ClusterID: clusterID, Steps: steps})
	if err != nil {
		tb.Fatalf("CreateTask: %v", err)
	}
	return task
}

// waitFor polls cond until it holds, failing the test after waitDeadline.
func waitFor(tb testing.TB, what string, cond func() (bool, error)) {
	tb.Helper()
	deadline := time.Now().Add(waitDeadline)
	for {
		ok, err := cond()
		if err != nil {
			tb.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not happen within %s", what, waitDeadline)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitTask waits until the task has status and returns it with its DAG.
func waitTask(tb testing.TB, db *sqlstore.DB, id int64, status dbplane.TaskStatus) *dbplane.Task {
	tb.Helper()
	var task *dbplane.Task
	waitFor(tb, fmt.Sprintf("task %d %s", id, status), func() (bool, error) {
		var err error
		task, err = db.FindTaskByID(context.Background(), id)
		return err == nil && task.Status == status, err
	})
	return task
}

// waitSubtask waits until the named subtask of a task has status.
func waitSubtask(tb testing.TB, db *sqlstore.DB, taskID int64, name string, status dbplane.SubtaskStatus) *dbplane.Subtask {
	tb.Helper()
	var s *dbplane.Subtask
	waitFor(tb, fmt.Sprintf("subtask %s of task %d %s", name, taskID, status), func() (bool, error) {
		task, err := db.FindTaskByID(context.Background(), taskID)
		if err != nil {
			return false, err
		}
		s = byName(tb, task, name)
		return s.Status == status, nil
	})
	return s
}

// mustFind returns a task with its DAG.
func mustFind(tb testing.TB, db *sqlstore.DB, id int64) *dbplane.Task {
	tb.Helper()
	task, err := db.FindTaskByID(context.Background(), id)
	if err != nil {
		tb.Fatalf("FindTaskByID(%d): %v", id, err)
	}
	return task
}

// byName returns the subtask of task named name.
func byName(tb testing.TB, task *dbplane.Task, name string) *dbplane.Subtask {
	tb.Helper()
	for _, s := range task.Subtasks {
		if s.Name == name {
			return s
		}
	}
	tb.Fatalf("task %d has no subtask %q", task.ID, name)
	return nil
}

// wantKind fails the test unless err has the given kind.
func wantKind(tb testing.TB, what string, err error, kind dbplane.Kind) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("%s: got no error, want %s", what, kind)
	}
	if got := dbplane.ErrorKind(err); got != kind {
		tb.Fatalf("%s: got %v (kind %s), want kind %s", what, err, got, kind)
	}
}

// wantStatuses compares the status of every subtask, by name.
func wantStatuses(tb testing.TB, task *dbplane.Task, want map[string]dbplane.SubtaskStatus) {
	tb.Helper()
	for name, status := range want {
		if s := byName(tb, task, name); s.Status != status {
			tb.Errorf("subtask %s is %s (error %q), want %s", name, s.Status, s.Error, status)
		}
	}
}

// recorder keeps the order in which handlers start and finish, as
// "start:NAME" and "end:NAME".
type recorder struct {
	mu    sync.Mutex
	marks []string
}

func (r *recorder) mark(kind, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.marks = append(r.marks, kind+":"+name)
}

// handler returns a handler that records its start and end.
func (r *recorder) handler() taskengine.Handler {
	return func(ctx context.Context, run *taskengine.Run) error {
		r.mark("start", run.Subtask.Name)
		r.mark("end", run.Subtask.Name)
		return nil
	}
}

// index returns the position of a mark, or -1.
func (r *recorder) index(mark string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Index(r.marks, mark)
}

// count returns how often a mark was recorded.
func (r *recorder) count(mark string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.marks {
		if m == mark {
			n++
		}
	}
	return n
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.marks)
}

// wantBefore fails the test unless mark a was recorded, and before b.
func (r *recorder) wantBefore(tb testing.TB, a, b string) {
	tb.Helper()
	ia, ib := r.index(a), r.index(b)
	if ia < 0 || ib < 0 || ia > ib {
		tb.Errorf("%s (at %d) should come before %s (at %d) in %v", a, ia, b, ib, r.snapshot())
	}
}

// gate lets a test hold handlers until it opens, and learn that they began.
type gate struct {
	open chan struct{}
	once sync.Once

	mu      sync.Mutex
	started map[string]int
}

func newGate() *gate {
	return &gate{open: make(chan struct{}), started: map[string]int{}}
}

// handler records the subtask's start and blocks until the gate opens or
// ctx ends; it returns ctx's error in that case.
func (g *gate) handler() taskengine.Handler {
	return func(ctx context.Context, run *taskengine.Run) error {
		g.mu.Lock()
		g.started[run.Subtask.Name]++
		g.mu.Unlock()
		select {
		case <-g.open:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// starts returns how often the named subtask's handler began.
func (g *gate) starts(name string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.started[name]
}

// waitStarted waits until the named subtask's handler began n times.
func (g *gate) waitStarted(tb testing.TB, name string, n int) {
	tb.Helper()
	waitFor(tb, fmt.Sprintf("handler of %s started %d times", name, n), func() (bool, error) {
		return g.starts(name) >= n, nil
	})
}

// errTransient is a retryable handler error.
var errTransient = errors.New("transient failure")

// params encodes v as subtask parameters.
func params(tb testing.TB, v any) json.RawMessage {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
