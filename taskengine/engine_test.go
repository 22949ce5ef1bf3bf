package taskengine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/dbplane/dbplane/taskengine"
)

// TestDAGOrder runs a DAG with a fan-out, a fan-in and a chain and checks
// that no subtask starts before all its upstreams finished.
func TestDAGOrder(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		var rec recorder
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("rec", rec.handler())
		start(t, e)

		task := mustCreate(t, db, 0,
			step("e", "rec", "d"), // listed first: the plan's order must not matter
			step("a", "rec"),
			step("b", "rec", "a"),
			step("c", "rec", "a"),
			step("d", "rec", "b", "c"),
			step("x", "rec"), // an independent branch
		)
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)

		names := map[int64]string{}
		for _, s := range task.Subtasks {
			names[s.ID] = s.Name
		}
		for _, s := range task.Subtasks {
			if s.Status != dbplane.SubtaskSuccessful || s.Attempts != 1 || s.RunCount != 1 {
				t.Errorf("subtask %s: status %s, attempts %d, runs %d; want SUCCESSFUL after 1 run",
					s.Name, s.Status, s.Attempts, s.RunCount)
			}
			if rec.count("start:"+s.Name) != 1 {
				t.Errorf("subtask %s ran %d times, want 1", s.Name, rec.count("start:"+s.Name))
			}
			for _, up := range s.Upstreams {
				rec.wantBefore(t, "end:"+names[up], "start:"+s.Name)
			}
		}
		if len(byName(t, task, "d").Upstreams) != 2 || len(byName(t, task, "a").Downstreams) != 2 {
			t.Errorf("edges not stored: d has upstreams %v, a has downstreams %v",
				byName(t, task, "d").Upstreams, byName(t, task, "a").Downstreams)
		}
	})
}

// TestParallelBranchesBoundedByWorkers runs more independent subtasks than
// workers: they run concurrently, but never more than Workers at once.
func TestParallelBranchesBoundedByWorkers(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		const workers = 3
		var (
			mu       sync.Mutex
			cur, top int
			full     = make(chan struct{}) // closed once workers handlers overlap
			fullOnce sync.Once
		)
		cfg := fastConfig(t, "e1")
		cfg.Workers = workers
		e := taskengine.New(db, cfg)
		e.Register("overlap", func(ctx context.Context, run *taskengine.Run) error {
			mu.Lock()
			cur++
			top = max(top, cur)
			if cur == workers {
				fullOnce.Do(func() { close(full) })
			}
			mu.Unlock()
			defer func() { mu.Lock(); cur--; mu.Unlock() }()
			// Wait until the pool is full once, so that the test proves
			// parallelism without depending on timing; a serial engine
			// would stall here until the deadline.
			select {
			case <-full:
			case <-time.After(waitDeadline):
				return dbplane.Permanent(errors.New("the pool never filled up"))
			}
			time.Sleep(2 * time.Millisecond) // let later handlers overlap too
			return nil
		})
		start(t, e)

		var steps []dbplane.PlanStep
		for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
			steps = append(steps, step(k, "overlap"))
		}
		task := mustCreate(t, db, 0, steps...)
		waitTask(t, db, task.ID, dbplane.TaskSuccessful)
		mu.Lock()
		defer mu.Unlock()
		if top != workers {
			t.Errorf("at most %d handlers ran at once, want exactly Workers=%d", top, workers)
		}
	})
}

// TestRetryWithBackoff fails a subtask twice with a retryable error: it is
// retried after the configured backoff and succeeds on its third attempt.
func TestRetryWithBackoff(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		const backoff = 50 * time.Millisecond
		var (
			mu       sync.Mutex
			starts   []time.Time
			backoffs []int
		)
		cfg := fastConfig(t, "e1")
		cfg.Backoff = func(attempt int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			backoffs = append(backoffs, attempt)
			return backoff
		}
		e := taskengine.New(db, cfg)
		e.Register("flaky", func(ctx context.Context, run *taskengine.Run) error {
			mu.Lock()
			defer mu.Unlock()
			starts = append(starts, time.Now())
			if len(starts) < 3 {
				return errTransient
			}
			return nil
		})
		var rec recorder
		e.Register("rec", rec.handler())
		start(t, e)

		flaky := step("flaky", "flaky")
		flaky.MaxAttempts = 3
		task := mustCreate(t, db, 0, flaky, step("after", "rec", "flaky"))
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)

		s := byName(t, task, "flaky")
		if s.Status != dbplane.SubtaskSuccessful || s.Attempts != 3 || s.RunCount != 3 {
			t.Errorf("flaky: status %s, attempts %d, runs %d; want SUCCESSFUL after 3", s.Status, s.Attempts, s.RunCount)
		}
		if rec.count("start:after") != 1 {
			t.Errorf("the downstream ran %d times, want 1", rec.count("start:after"))
		}
		mu.Lock()
		defer mu.Unlock()
		if len(starts) != 3 || !equalInts(backoffs, []int{1, 2}) {
			t.Fatalf("%d runs and backoffs for attempts %v; want 3 runs and backoffs for [1 2]", len(starts), backoffs)
		}
		for i := 1; i < len(starts); i++ {
			if gap := starts[i].Sub(starts[i-1]); gap < backoff {
				t.Errorf("attempt %d began %s after attempt %d, before the %s backoff", i+1, gap, i, backoff)
			}
		}
		events := mustEvents(t, db, task.ID)
		if n := countEvents(events, func(e dbplane.TaskEvent) bool {
			return e.Status == string(dbplane.SubtaskReady) && strings.Contains(e.Message, errTransient.Error())
		}); n != 2 {
			t.Errorf("%d retry events naming the error, want 2", n)
		}
	})
}

// TestPermanentErrorFailsAtOnce checks that a permanent error is not
// retried, fails the task and leaves the downstreams unrun.
func TestPermanentErrorFailsAtOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		var runs atomic.Int32
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("broken", func(ctx context.Context, run *taskengine.Run) error {
			runs.Add(1)
			return dbplane.Permanent(errors.New("disk is read-only"))
		})
		var rec recorder
		e.Register("rec", rec.handler())
		start(t, e)

		broken := step("broken", "broken")
		broken.MaxAttempts = 5
		task := mustCreate(t, db, 0, broken, step("after", "rec", "broken"), step("side", "rec"))
		task = waitTask(t, db, task.ID, dbplane.TaskFailed)

		wantStatuses(t, task, map[string]dbplane.SubtaskStatus{
			"broken": dbplane.SubtaskFailed, "after": dbplane.SubtaskPending, "side": dbplane.SubtaskSuccessful})
		s := byName(t, task, "broken")
		if s.Attempts != 1 || runs.Load() != 1 {
			t.Errorf("attempts %d, runs %d; want 1", s.Attempts, runs.Load())
		}
		if !strings.Contains(s.Error, "disk is read-only") {
			t.Errorf("error %q does not name the cause", s.Error)
		}
		if rec.count("start:after") != 0 {
			t.Error("the downstream of a failed subtask ran")
		}
		if task.FinishedAt == nil {
			t.Error("a FAILED task has no finish time")
		}
	})
}

// TestAttemptsExhausted fails a subtask with retryable errors until its
// attempts are used up.
func TestAttemptsExhausted(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		var runs atomic.Int32
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("down", func(ctx context.Context, run *taskengine.Run) error {
			runs.Add(1)
			return errTransient
		})
		start(t, e)

		s := step("down", "down")
		s.MaxAttempts = 2
		task := mustCreate(t, db, 0, s)
		task = waitTask(t, db, task.ID, dbplane.TaskFailed)
		if got := byName(t, task, "down"); got.Status != dbplane.SubtaskFailed || got.Attempts != 2 || runs.Load() != 2 {
			t.Errorf("status %s after %d attempts (%d runs); want FAILED after 2", got.Status, got.Attempts, runs.Load())
		}
	})
}

// switchable returns a handler that fails permanently while *broken is
// set, and counts its runs by subtask name.
func switchable(broken *atomic.Bool, rec *recorder) taskengine.Handler {
	return func(ctx context.Context, run *taskengine.Run) error {
		rec.mark("start", run.Subtask.Name)
		if broken.Load() {
			return dbplane.Permanent(errors.New("broken for now"))
		}
		rec.mark("end", run.Subtask.Name)
		return nil
	}
}

// TestRetryTask fails two parallel branches, then retries the task: the
// failed subtasks run again with operation RETRY, then their downstreams.
func TestRetryTask(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		var (
			broken atomic.Bool
			rec    recorder
		)
		broken.Store(true)
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("switch", switchable(&broken, &rec))
		e.Register("rec", rec.handler())
		start(t, e)

		task := mustCreate(t, db, 0, step("root", "rec"),
			step("l", "switch", "root"), step("r", "switch", "root"), step("join", "rec", "l", "r"))
		waitTask(t, db, task.ID, dbplane.TaskFailed)

		broken.Store(false)
		retried, err := db.RetryTask(ctx, task.ID)
		if err != nil {
			t.Fatalf("RetryTask: %v", err)
		}
		if retried.Status != dbplane.TaskRunning || retried.Operation != dbplane.OpRetry {
			t.Errorf("retried task is %s/%s, want RUNNING/RETRY", retried.Status, retried.Operation)
		}
		e.Notify()
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)

		for _, name := range []string{"l", "r"} {
			s := byName(t, task, name)
			if s.Operation != dbplane.OpRetry || s.Attempts != 1 || s.RunCount != 2 {
				t.Errorf("%s: operation %s, attempts %d, runs %d; want RETRY, 1, 2", name, s.Operation, s.Attempts, s.RunCount)
			}
			rec.wantBefore(t, "end:"+name, "start:join")
		}
		if n := rec.count("start:root"); n != 1 {
			t.Errorf("the SUCCESSFUL root ran %d times, want 1", n)
		}
		if task.Operation != dbplane.OpRetry {
			t.Errorf("task operation %s, want RETRY", task.Operation)
		}
	})
}

// TestRetrySubtask retries one failed subtask of a failed task.
func TestRetrySubtask(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		var (
			broken atomic.Bool
			rec    recorder
		)
		broken.Store(true)
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("switch", switchable(&broken, &rec))
		e.Register("rec", rec.handler())
		start(t, e)

		task := mustCreate(t, db, 0, step("a", "switch"), step("b", "rec", "a"))
		task = waitTask(t, db, task.ID, dbplane.TaskFailed)

		broken.Store(false)
		s, err := db.RetrySubtask(context.Background(), task.ID, byName(t, task, "a").ID)
		if err != nil {
			t.Fatalf("RetrySubtask: %v", err)
		}
		if s.Status != dbplane.SubtaskReady || s.Operation != dbplane.OpRetry {
			t.Errorf("retried subtask is %s/%s, want READY/RETRY", s.Status, s.Operation)
		}
		e.Notify()
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)
		wantStatuses(t, task, map[string]dbplane.SubtaskStatus{"a": dbplane.SubtaskSuccessful, "b": dbplane.SubtaskSuccessful})
		rec.wantBefore(t, "end:a", "start:b")
	})
}

// TestSkipSubtask skips a failed subtask: it becomes SUCCESSFUL with
// operation SKIP without running again, and its downstream runs.
func TestSkipSubtask(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		var (
			broken atomic.Bool
			rec    recorder
		)
		broken.Store(true)
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("switch", switchable(&broken, &rec))
		e.Register("rec", rec.handler())
		start(t, e)

		task := mustCreate(t, db, 0, step("a", "rec"), step("b", "switch", "a"), step("c", "rec", "b"))
		task = waitTask(t, db, task.ID, dbplane.TaskFailed)

		s, err := db.SkipSubtask(context.Background(), task.ID, byName(t, task, "b").ID)
		if err != nil {
			t.Fatalf("SkipSubtask: %v", err)
		}
		if s.Status != dbplane.SubtaskSuccessful || s.Operation != dbplane.OpSkip {
			t.Errorf("skipped subtask is %s/%s, want SUCCESSFUL/SKIP", s.Status, s.Operation)
		}
		e.Notify()
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)
		if rec.count("start:b") != 1 || rec.count("start:c") != 1 {
			t.Errorf("b ran %d times and c %d times, want once each", rec.count("start:b"), rec.count("start:c"))
		}
		if got := byName(t, task, "b").Operation; got != dbplane.OpSkip {
			t.Errorf("b's operation is %s after the task ended, want SKIP", got)
		}
	})
}

// TestCancelRunningSubtask cancels a running subtask: it goes CANCELING, its
// handler's context is canceled, and it ends FAILED with operation CANCEL,
// which fails the task.
func TestCancelRunningSubtask(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		handlerErr := make(chan error, 1)
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("block", func(ctx context.Context, run *taskengine.Run) error {
			<-ctx.Done()
			handlerErr <- ctx.Err()
			return ctx.Err()
		})
		var rec recorder
		e.Register("rec", rec.handler())
		start(t, e)

		task := mustCreate(t, db, 0, step("long", "block"), step("next", "rec", "long"))
		s := waitSubtask(t, db, task.ID, "long", dbplane.SubtaskRunning)
		s, err := db.CancelSubtask(ctx, task.ID, s.ID)
		if err != nil {
			t.Fatalf("CancelSubtask: %v", err)
		}
		// The operation turns CANCEL when the run ends canceled, not before:
		// a run that finishes first stays SUCCESSFUL/EXECUTE.
		if s.Status != dbplane.SubtaskCanceling || s.Operation != dbplane.OpExecute {
			t.Errorf("canceled subtask is %s/%s, want CANCELING/EXECUTE", s.Status, s.Operation)
		}
		select {
		case err := <-handlerErr:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("the handler's context ended with %v, want context.Canceled", err)
			}
		case <-time.After(waitDeadline):
			t.Fatal("the handler's context was not canceled")
		}
		task = waitTask(t, db, task.ID, dbplane.TaskFailed)
		got := byName(t, task, "long")
		if got.Status != dbplane.SubtaskFailed || got.Operation != dbplane.OpCancel {
			t.Errorf("canceled subtask ended %s/%s, want FAILED/CANCEL", got.Status, got.Operation)
		}
		if got.Attempts != 1 {
			t.Errorf("a canceled subtask was retried: %d attempts", got.Attempts)
		}
		if rec.count("start:next") != 0 {
			t.Error("the downstream of a canceled subtask ran")
		}
	})
}

// TestRollback fails a task and rolls it back: the undo handlers of the
// subtasks that ran run in reverse topological order, the others are not
// run, and the task ends SUCCESSFUL with operation ROLLBACK.
func TestRollback(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		var (
			broken atomic.Bool
			rec    recorder
		)
		broken.Store(true)
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("switch", switchable(&broken, &rec))
		e.Register("rec", rec.handler())
		var undo recorder
		e.Register("undo", undo.handler())
		start(t, e)

		withUndo := func(s dbplane.PlanStep) dbplane.PlanStep { s.Undo = "undo"; return s }
		// a ─► b ─► c(fails) ─► f (never runs)
		// └──► d;   e has no undo
		task := mustCreate(t, db, 0,
			withUndo(step("a", "rec")),
			withUndo(step("b", "rec", "a")),
			withUndo(step("c", "switch", "b")),
			withUndo(step("f", "rec", "c")),
			withUndo(step("d", "rec", "a")),
			step("e", "rec", "a"),
		)
		task = waitTask(t, db, task.ID, dbplane.TaskFailed)
		// d and e may finish after c failed; the task fails only once they
		// are done, so all ran.
		rolled, err := db.RollbackTask(context.Background(), task.ID)
		if err != nil {
			t.Fatalf("RollbackTask: %v", err)
		}
		if rolled.Status != dbplane.TaskRunning || rolled.Operation != dbplane.OpRollback {
			t.Errorf("rolled-back task is %s/%s, want RUNNING/ROLLBACK", rolled.Status, rolled.Operation)
		}
		e.Notify()
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)
		if task.Operation != dbplane.OpRollback {
			t.Errorf("task operation %s, want ROLLBACK", task.Operation)
		}
		for _, s := range task.Subtasks {
			if s.Status != dbplane.SubtaskSuccessful || s.Operation != dbplane.OpRollback {
				t.Errorf("subtask %s is %s/%s, want SUCCESSFUL/ROLLBACK", s.Name, s.Status, s.Operation)
			}
		}
		for _, name := range []string{"a", "b", "c", "d"} {
			if n := undo.count("start:" + name); n != 1 {
				t.Errorf("undo of %s ran %d times, want 1", name, n)
			}
		}
		for _, name := range []string{"e", "f"} {
			if n := undo.count("start:" + name); n != 0 {
				t.Errorf("undo of %s ran although it has none or never ran", name)
			}
		}
		undo.wantBefore(t, "end:c", "start:b")
		undo.wantBefore(t, "end:b", "start:a")
		undo.wantBefore(t, "end:d", "start:a")
		if n := rec.count("start:a"); n != 1 {
			t.Errorf("the rollback re-ran a's handler: %d runs", n)
		}
	})
}

// TestRollbackProhibited refuses to roll back a task that forbids it.
func TestRollbackProhibited(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("broken", func(ctx context.Context, run *taskengine.Run) error {
			return dbplane.Permanent(errors.New("no"))
		})
		start(t, e)

		s := step("a", "broken")
		s.Undo = "broken"
		task, err := db.CreateTask(ctx, dbplane.TaskPlan{Name: "p", Kind: testKind, ProhibitRollback: true,
			Steps: []dbplane.PlanStep{s}})
		if err != nil {
			t.Fatal(err)
		}
		waitTask(t, db, task.ID, dbplane.TaskFailed)
		_, err = db.RollbackTask(ctx, task.ID)
		wantKind(t, "RollbackTask of a task that prohibits rollback", err, dbplane.KindConflict)
		if got := mustFind(t, db, task.ID); got.Status != dbplane.TaskFailed || got.Operation != dbplane.OpExecute {
			t.Errorf("a refused rollback changed the task to %s/%s", got.Status, got.Operation)
		}
	})
}

// TestIllegalTransitions checks that operations on tasks and subtasks in
// the wrong state are refused with KindConflict and change nothing.
func TestIllegalTransitions(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		g := newGate()
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("gate", g.handler())
		var rec recorder
		e.Register("rec", rec.handler())

		// Before the engine runs, the root is READY and the task RUNNING.
		task := mustCreate(t, db, 0, step("done", "rec"), step("hold", "gate", "done"), step("later", "rec", "hold"))
		done, hold, later := byName(t, task, "done"), byName(t, task, "hold"), byName(t, task, "later")
		_, err := db.CancelSubtask(ctx, task.ID, done.ID)
		wantKind(t, "CancelSubtask of a READY subtask", err, dbplane.KindConflict)

		start(t, e)
		g.waitStarted(t, "hold", 1)
		before := mustFind(t, db, task.ID)

		_, err = db.RetryTask(ctx, task.ID)
		wantKind(t, "RetryTask of a RUNNING task", err, dbplane.KindConflict)
		_, err = db.RollbackTask(ctx, task.ID)
		wantKind(t, "RollbackTask of a RUNNING task", err, dbplane.KindConflict)
		_, err = db.SkipSubtask(ctx, task.ID, done.ID)
		wantKind(t, "SkipSubtask of a SUCCESSFUL subtask", err, dbplane.KindConflict)
		_, err = db.RetrySubtask(ctx, task.ID, done.ID)
		wantKind(t, "RetrySubtask of a SUCCESSFUL subtask", err, dbplane.KindConflict)
		_, err = db.SkipSubtask(ctx, task.ID, hold.ID)
		wantKind(t, "SkipSubtask of a RUNNING subtask", err, dbplane.KindConflict)
		_, err = db.RetrySubtask(ctx, task.ID, later.ID)
		wantKind(t, "RetrySubtask of a PENDING subtask", err, dbplane.KindConflict)
		_, err = db.CancelSubtask(ctx, task.ID, later.ID)
		wantKind(t, "CancelSubtask of a PENDING subtask", err, dbplane.KindConflict)
		_, err = db.CancelSubtask(ctx, task.ID, done.ID)
		wantKind(t, "CancelSubtask of a SUCCESSFUL subtask", err, dbplane.KindConflict)
		_, err = db.SkipSubtask(ctx, task.ID+1000, done.ID)
		wantKind(t, "SkipSubtask of a missing task", err, dbplane.KindNotFound)

		after := mustFind(t, db, task.ID)
		if after.Status != before.Status || after.Operation != before.Operation {
			t.Errorf("refused operations changed the task from %s/%s to %s/%s",
				before.Status, before.Operation, after.Status, after.Operation)
		}
		for i, s := range after.Subtasks {
			b := before.Subtasks[i]
			if s.Status != b.Status || s.Operation != b.Operation || s.Attempts != b.Attempts {
				t.Errorf("refused operations changed subtask %s from %s/%s/%d to %s/%s/%d",
					s.Name, b.Status, b.Operation, b.Attempts, s.Status, s.Operation, s.Attempts)
			}
		}

		g.release()
		waitTask(t, db, task.ID, dbplane.TaskSuccessful)
		_, err = db.RetryTask(ctx, task.ID)
		wantKind(t, "RetryTask of a SUCCESSFUL task", err, dbplane.KindConflict)
		_, err = db.RollbackTask(ctx, task.ID)
		wantKind(t, "RollbackTask of a SUCCESSFUL task", err, dbplane.KindConflict)
	})
}

// TestOneTaskPerCluster runs two tasks of one cluster and one of another:
// the second task of the cluster waits until the first ended, while the
// other cluster's task runs alongside.
func TestOneTaskPerCluster(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		g1, g2 := newGate(), newGate()
		var rec recorder
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("gate1", g1.handler())
		e.Register("gate2", g2.handler())
		e.Register("rec", rec.handler())
		start(t, e)

		first := mustCreate(t, db, 1, step("first", "gate1"))
		second := mustCreate(t, db, 1, step("second", "rec"))
		other := mustCreate(t, db, 2, step("other", "gate2"))

		// Both clusters' first tasks run at the same time.
		g1.waitStarted(t, "first", 1)
		g2.waitStarted(t, "other", 1)

		// A later task of a third cluster runs to the end: the engine has
		// claimed work since the second task became READY, yet left it.
		probe := mustCreate(t, db, 3, step("probe", "rec"))
		e.Notify()
		waitTask(t, db, probe.ID, dbplane.TaskSuccessful)
		if s := byName(t, mustFind(t, db, second.ID), "second"); s.Status != dbplane.SubtaskReady || rec.count("start:second") != 0 {
			t.Fatalf("the second task of cluster 1 ran while the first one runs: subtask is %s", s.Status)
		}

		g1.release()
		waitTask(t, db, first.ID, dbplane.TaskSuccessful)
		e.Notify()
		waitTask(t, db, second.ID, dbplane.TaskSuccessful)
		if s := byName(t, mustFind(t, db, other.ID), "other"); s.Status != dbplane.SubtaskRunning {
			t.Errorf("the other cluster's subtask is %s, want still RUNNING", s.Status)
		}
		g2.release()
		waitTask(t, db, other.ID, dbplane.TaskSuccessful)

		f, s := mustFind(t, db, first.ID), mustFind(t, db, second.ID)
		if !s.Subtasks[0].StartedAt.After(*f.FinishedAt) && !s.Subtasks[0].StartedAt.Equal(*f.FinishedAt) {
			t.Errorf("the second task's subtask started at %s, before the first task ended at %s",
				s.Subtasks[0].StartedAt, f.FinishedAt)
		}
	})
}

// TestUnknownHandler fails a subtask whose handler is not registered, at
// once.
func TestUnknownHandler(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		e := taskengine.New(db, fastConfig(t, "e1"))
		start(t, e)
		s := step("a", "no.such.handler")
		s.MaxAttempts = 5
		task := mustCreate(t, db, 0, s)
		task = waitTask(t, db, task.ID, dbplane.TaskFailed)
		got := byName(t, task, "a")
		if got.Status != dbplane.SubtaskFailed || got.Attempts != 1 || !strings.Contains(got.Error, "no.such.handler") {
			t.Errorf("subtask %s after %d attempts with error %q; want FAILED after 1, naming the handler",
				got.Status, got.Attempts, got.Error)
		}
	})
}

// TestHandlerPanic fails a subtask whose handler panics, permanently, and
// the engine goes on running other tasks.
func TestHandlerPanic(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		var rec recorder
		cfg := fastConfig(t, "e1")
		cfg.Logger = discardLogger() // the panic is logged with its stack; keep test output short
		e := taskengine.New(db, cfg)
		e.Register("panic", func(ctx context.Context, run *taskengine.Run) error { panic("boom") })
		e.Register("rec", rec.handler())
		start(t, e)

		s := step("a", "panic")
		s.MaxAttempts = 5
		task := mustCreate(t, db, 0, s)
		task = waitTask(t, db, task.ID, dbplane.TaskFailed)
		got := byName(t, task, "a")
		if got.Attempts != 1 || !strings.Contains(got.Error, "boom") {
			t.Errorf("panicking subtask: %d attempts, error %q; want 1 attempt and the panic value", got.Attempts, got.Error)
		}
		next := mustCreate(t, db, 0, step("b", "rec"))
		e.Notify()
		waitTask(t, db, next.ID, dbplane.TaskSuccessful)
	})
}

// TestSubtaskTimeout cancels a handler that overruns its subtask's timeout
// and retries it.
func TestSubtaskTimeout(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		var runs atomic.Int32
		firstErr := make(chan error, 1)
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("slow", func(ctx context.Context, run *taskengine.Run) error {
			if runs.Add(1) > 1 {
				return nil
			}
			<-ctx.Done() // overrun: only the timeout ends this
			firstErr <- ctx.Err()
			return ctx.Err()
		})
		start(t, e)

		s := step("slow", "slow")
		s.Timeout = 100 * time.Millisecond
		task := mustCreate(t, db, 0, s)
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)
		if err := <-firstErr; !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the first run ended with %v, want context.DeadlineExceeded", err)
		}
		if got := byName(t, task, "slow"); got.Attempts != 2 || runs.Load() != 2 {
			t.Errorf("%d attempts, %d runs; want 2", got.Attempts, runs.Load())
		}
		events := mustEvents(t, db, task.ID)
		if countEvents(events, func(e dbplane.TaskEvent) bool { return strings.Contains(e.Message, "timed out") }) != 1 {
			t.Errorf("no event says the first attempt timed out: %v", events)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
