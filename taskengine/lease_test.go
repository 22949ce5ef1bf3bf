package taskengine_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/dbplane/dbplane/taskengine"
)

// TestExpiredLeaseRunsElsewhere claims a subtask for an executor that then
// vanishes: once its lease expires, an engine returns the subtask to READY
// and completes it.
func TestExpiredLeaseRunsElsewhere(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		task := mustCreate(t, db, 0, step("a", "rec"), step("b", "rec", "a"))
		claimed, err := db.ClaimSubtasks(ctx, "ghost", 10, 50*time.Millisecond)
		if err != nil || len(claimed) != 1 || claimed[0].Name != "a" || claimed[0].Executor != "ghost" {
			t.Fatalf("ClaimSubtasks = %v, %v; want subtask a leased to ghost", claimed, err)
		}
		if again, err := db.ClaimSubtasks(ctx, "e1", 10, time.Minute); err != nil || len(again) != 0 {
			t.Fatalf("a leased subtask was claimed again: %v, %v", again, err)
		}

		var rec recorder
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("rec", rec.handler())
		start(t, e)
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)

		a := byName(t, task, "a")
		if a.RunCount != 2 || rec.count("start:a") != 1 {
			t.Errorf("a: %d claims and %d runs here; want 2 claims (ghost, e1) and 1 run", a.RunCount, rec.count("start:a"))
		}
		if n := countEvents(mustEvents(t, db, task.ID), func(e dbplane.TaskEvent) bool {
			return e.SubtaskID == a.ID && e.Status == string(dbplane.SubtaskReady) && strings.Contains(e.Message, "ghost")
		}); n != 1 {
			t.Errorf("%d events tell that ghost's lease was released, want 1", n)
		}
	})
}

// TestExpiredLeaseByClock expires a lease by moving the store's clock
// instead of waiting for it.
func TestExpiredLeaseByClock(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		task := mustCreate(t, db, 0, step("a", "rec"))
		if claimed, err := db.ClaimSubtasks(ctx, "ghost", 1, time.Hour); err != nil || len(claimed) != 1 {
			t.Fatalf("ClaimSubtasks = %v, %v", claimed, err)
		}
		if n, err := db.ExpireLeases(ctx); err != nil || n != 0 {
			t.Fatalf("ExpireLeases before expiry = %d, %v; want 0", n, err)
		}
		db.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		if n, err := db.ExpireLeases(ctx); err != nil || n != 1 {
			t.Fatalf("ExpireLeases after expiry = %d, %v; want 1", n, err)
		}
		if s := byName(t, mustFind(t, db, task.ID), "a"); s.Status != dbplane.SubtaskReady || s.Executor != "" {
			t.Fatalf("after expiry the subtask is %s leased to %q, want READY and free", s.Status, s.Executor)
		}

		var rec recorder
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("rec", rec.handler())
		start(t, e)
		waitTask(t, db, task.ID, dbplane.TaskSuccessful)
	})
}

// TestFinishWithoutLease checks the fence: an executor whose lease expired
// cannot record an outcome, whether the subtask waits READY or another
// executor holds it now.
func TestFinishWithoutLease(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		task := mustCreate(t, db, 0, step("a", "rec"))
		if _, err := db.ClaimSubtasks(ctx, "stale", 1, time.Millisecond); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the stale lease expired", func() (bool, error) {
			n, err := db.ExpireLeases(ctx)
			return n == 1, err
		})
		ended, err := db.FinishSubtask(ctx, "stale", byName(t, task, "a").ID, dbplane.Outcome{Run: 1})
		wantKind(t, "FinishSubtask of an expired lease", err, dbplane.KindConflict)
		if ended != nil {
			t.Errorf("a refused finish ended the task: %+v", ended)
		}
		s := byName(t, mustFind(t, db, task.ID), "a")
		if s.Status != dbplane.SubtaskReady || s.Attempts != 1 {
			t.Fatalf("after a refused finish the subtask is %s with %d attempts, want READY with 1", s.Status, s.Attempts)
		}

		claimed, err := db.ClaimSubtasks(ctx, "fresh", 1, time.Minute)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("ClaimSubtasks = %v, %v", claimed, err)
		}
		_, err = db.FinishSubtask(ctx, "stale", s.ID, dbplane.Outcome{Run: 1})
		wantKind(t, "FinishSubtask of a lease another executor holds", err, dbplane.KindConflict)
		got := mustFind(t, db, task.ID)
		if s := byName(t, got, "a"); s.Status != dbplane.SubtaskRunning || s.Executor != "fresh" || got.Status != dbplane.TaskRunning {
			t.Fatalf("the stale finish changed the subtask to %s leased to %q, task %s", s.Status, s.Executor, got.Status)
		}
		if _, err := db.FinishSubtask(ctx, "fresh", s.ID, dbplane.Outcome{Run: claimed[0].RunCount}); err != nil {
			t.Fatalf("FinishSubtask by the lease holder: %v", err)
		}
		if got := mustFind(t, db, task.ID); got.Status != dbplane.TaskSuccessful {
			t.Errorf("task is %s after its only subtask finished, want SUCCESSFUL", got.Status)
		}
	})
}

// TestGracefulShutdownReleases stops an engine while a handler blocks: after
// the grace period the handler is canceled, its lease is released at once
// (no waiting for expiry), nothing is recorded as failed, and a fresh engine
// completes the subtask.
func TestGracefulShutdownReleases(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		var runs atomic.Int32
		blocked := make(chan struct{})
		var returned atomic.Bool
		cfg := fastConfig(t, "e1")
		cfg.Grace = 50 * time.Millisecond
		cfg.Lease = time.Hour // only a release, not an expiry, can free it
		e1 := taskengine.New(db, cfg)
		e1.Register("block", func(ctx context.Context, run *taskengine.Run) error {
			runs.Add(1)
			close(blocked)
			<-ctx.Done()
			returned.Store(true)
			return ctx.Err()
		})
		stop := start(t, e1)

		task := mustCreate(t, db, 0, step("a", "block"))
		<-blocked
		stop()
		if !returned.Load() {
			t.Fatal("Run returned before the canceled handler did")
		}
		s := byName(t, mustFind(t, db, task.ID), "a")
		if s.Status != dbplane.SubtaskReady || s.Executor != "" || s.Error != "" {
			t.Fatalf("after shutdown the subtask is %s leased to %q with error %q, want READY, free, no error",
				s.Status, s.Executor, s.Error)
		}

		e2 := taskengine.New(db, fastConfig(t, "e2"))
		e2.Register("block", func(ctx context.Context, run *taskengine.Run) error { runs.Add(1); return nil })
		start(t, e2)
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)
		if runs.Load() != 2 {
			t.Errorf("%d runs, want 2 (interrupted, then completed)", runs.Load())
		}
	})
}

// TestGracefulShutdownWaits stops an engine while a handler runs that ends
// within the grace period: Run waits for it and records its success.
func TestGracefulShutdownWaits(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		g := newGate()
		cfg := fastConfig(t, "e1")
		cfg.Grace = waitDeadline
		e := taskengine.New(db, cfg)
		e.Register("gate", g.handler())
		stop := start(t, e)

		task := mustCreate(t, db, 0, step("a", "gate"), step("b", "gate", "a"))
		g.waitStarted(t, "a", 1)
		stopped := make(chan struct{})
		go func() { stop(); close(stopped) }()
		// Run must not return while a runs.
		select {
		case <-stopped:
			t.Fatal("Run returned while a handler was running within the grace period")
		case <-time.After(50 * time.Millisecond):
		}
		g.release()
		<-stopped
		got := mustFind(t, db, task.ID)
		wantStatuses(t, got, map[string]dbplane.SubtaskStatus{"a": dbplane.SubtaskSuccessful, "b": dbplane.SubtaskReady})
		if g.starts("b") != 0 {
			t.Error("a stopping engine claimed new work")
		}
	})
}

// TestFinishFencedByRun: an executor that lost its lease and claimed the
// same subtask again cannot record the stale run's outcome for the new
// claim: the run count fences it, not only the executor id.
func TestFinishFencedByRun(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		task := mustCreate(t, db, 0, step("a", "rec"))
		first, err := db.ClaimSubtasks(ctx, "e1", 1, time.Millisecond)
		if err != nil || len(first) != 1 {
			t.Fatalf("ClaimSubtasks = %v, %v", first, err)
		}
		waitFor(t, "the lease expired", func() (bool, error) {
			n, err := db.ExpireLeases(ctx)
			return n == 1, err
		})
		second, err := db.ClaimSubtasks(ctx, "e1", 1, time.Minute)
		if err != nil || len(second) != 1 || second[0].RunCount == first[0].RunCount {
			t.Fatalf("second claim = %v, %v; want a new run of the subtask", second, err)
		}
		_, err = db.FinishSubtask(ctx, "e1", first[0].ID, dbplane.Outcome{Run: first[0].RunCount, Err: errors.New("stale failure")})
		wantKind(t, "FinishSubtask of the stale run", err, dbplane.KindConflict)
		if s := byName(t, mustFind(t, db, task.ID), "a"); s.Status != dbplane.SubtaskRunning {
			t.Fatalf("the stale run's outcome changed the subtask to %s", s.Status)
		}
		if _, err := db.FinishSubtask(ctx, "e1", second[0].ID, dbplane.Outcome{Run: second[0].RunCount}); err != nil {
			t.Fatalf("FinishSubtask of the current run: %v", err)
		}
		if got := mustFind(t, db, task.ID); got.Status != dbplane.TaskSuccessful {
			t.Errorf("task is %s, want SUCCESSFUL", got.Status)
		}
	})
}
