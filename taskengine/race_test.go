package taskengine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/internal/testdb"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/dbplane/dbplane/taskengine"
)

// raceSubtasks is how many subtasks the race tests run transitions on at
// the same time; enough for the PostgreSQL interleavings to occur.
const raceSubtasks = 60

// claimAll creates a task of n independent subtasks and leases all of them
// to executor.
func claimAll(tb testing.TB, db *sqlstore.DB, executor string, n int, lease time.Duration) (*dbplane.Task, []*dbplane.Subtask) {
	tb.Helper()
	var steps []dbplane.PlanStep
	for i := range n {
		steps = append(steps, step(fmt.Sprintf("s%d", i), "rec"))
	}
	task := mustCreate(tb, db, 0, steps...)
	claimed, err := db.ClaimSubtasks(context.Background(), executor, n, lease)
	if err != nil || len(claimed) != n {
		tb.Fatalf("ClaimSubtasks = %d subtasks, %v; want %d", len(claimed), err, n)
	}
	return task, claimed
}

// TestCancelRacesFinish cancels subtasks while their executor records their
// success. Whatever the interleaving, each subtask must end SUCCESSFUL or
// FAILED, never CANCELING without an executor to finish the cancel, and a
// cancel that was accepted must be honoured or refused coherently.
func TestCancelRacesFinish(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		task, claimed := claimAll(t, db, "e1", raceSubtasks, time.Minute)
		var wg sync.WaitGroup
		for _, s := range claimed {
			wg.Go(func() {
				if _, err := db.CancelSubtask(ctx, task.ID, s.ID); err != nil && dbplane.ErrorKind(err) != dbplane.KindConflict {
					t.Errorf("CancelSubtask(%d): %v", s.ID, err)
				}
			})
			wg.Go(func() {
				if _, err := db.FinishSubtask(ctx, "e1", s.ID, dbplane.Outcome{Run: s.RunCount}); err != nil {
					t.Errorf("FinishSubtask(%d) by the lease holder: %v", s.ID, err)
				}
			})
		}
		wg.Wait()
		got := mustFind(t, db, task.ID)
		for _, s := range got.Subtasks {
			if s.Status != dbplane.SubtaskSuccessful {
				t.Errorf("subtask %s is %s (executor %q) after its executor recorded success", s.Name, s.Status, s.Executor)
			}
		}
		if got.Status != dbplane.TaskSuccessful {
			t.Errorf("task is %s, want SUCCESSFUL", got.Status)
		}
	})
}

// TestExpiryRacesFinish lets leases expire and other executors claim the
// subtasks while the first executor records their outcome. Exactly one
// executor's outcome may count: a subtask is never recorded by the stale
// executor while another one holds it.
func TestExpiryRacesFinish(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		task, claimed := claimAll(t, db, "stale", raceSubtasks, time.Millisecond)
		time.Sleep(5 * time.Millisecond) // every lease has expired, none is returned yet
		var (
			wg         sync.WaitGroup
			mu         sync.Mutex
			staleWon   = map[int64]bool{}
			freshClaim = map[int64]bool{}
		)
		for _, s := range claimed {
			wg.Go(func() {
				_, err := db.FinishSubtask(ctx, "stale", s.ID, dbplane.Outcome{Run: s.RunCount})
				if err != nil && dbplane.ErrorKind(err) != dbplane.KindConflict {
					t.Errorf("FinishSubtask(%d): %v", s.ID, err)
				}
				mu.Lock()
				staleWon[s.ID] = err == nil
				mu.Unlock()
			})
		}
		wg.Go(func() {
			for range raceSubtasks {
				if _, err := db.ExpireLeases(ctx); err != nil {
					t.Errorf("ExpireLeases: %v", err)
				}
				subs, err := db.ClaimSubtasks(ctx, "fresh", 5, time.Minute)
				if err != nil {
					t.Errorf("ClaimSubtasks: %v", err)
				}
				mu.Lock()
				for _, s := range subs {
					freshClaim[s.ID] = true
				}
				mu.Unlock()
			}
		})
		wg.Wait()

		for _, s := range mustFind(t, db, task.ID).Subtasks {
			switch {
			case staleWon[s.ID] && freshClaim[s.ID]:
				t.Errorf("subtask %s: the stale executor recorded its outcome although fresh had claimed it (now %s)", s.Name, s.Status)
			case staleWon[s.ID] && s.Status != dbplane.SubtaskSuccessful:
				t.Errorf("subtask %s: the stale finish was accepted but the subtask is %s", s.Name, s.Status)
			case freshClaim[s.ID] && (s.Status != dbplane.SubtaskRunning || s.Executor != "fresh"):
				t.Errorf("subtask %s: claimed by fresh but %s leased to %q", s.Name, s.Status, s.Executor)
			}
		}
	})
}

// TestTwoEngines runs a wide DAG on two engines over two connections to one
// database, as two control-plane replicas would: each subtask runs exactly
// once, and a reader that tails the events while they are written, resuming
// after the last id it saw, misses none.
func TestTwoEngines(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db1, db2 := mustOpen(t, dsn), mustOpen(t, dsn)
		var (
			mu   sync.Mutex
			runs = map[string]int{}
		)
		count := func(ctx context.Context, run *taskengine.Run) error {
			mu.Lock()
			runs[run.Subtask.Name]++
			mu.Unlock()
			return nil
		}
		for i, db := range []*sqlstore.DB{db1, db2} {
			cfg := fastConfig(t, fmt.Sprintf("e%d", i+1))
			cfg.Lease = time.Minute // no lease may expire: a second run would be a bug
			e := taskengine.New(db, cfg)
			e.Register("count", count)
			start(t, e)
		}

		steps := fiftyStepDAG()
		for i := range steps {
			steps[i].Handler = "count"
		}
		task := mustCreate(t, db1, 0, steps...)

		var tailed []dbplane.TaskEvent
		var after int64
		waitFor(t, "the terminal event", func() (bool, error) {
			page, err := db2.TaskEvents(ctx, task.ID, after, 7)
			if err != nil || len(page) == 0 {
				return false, err
			}
			tailed = append(tailed, page...)
			after = page[len(page)-1].ID
			return page[len(page)-1].Terminal(), nil
		})
		task = waitTask(t, db1, task.ID, dbplane.TaskSuccessful)

		mu.Lock()
		defer mu.Unlock()
		for _, s := range task.Subtasks {
			if runs[s.Name] != 1 {
				t.Errorf("subtask %s ran %d times, want 1", s.Name, runs[s.Name])
			}
		}
		all := mustEvents(t, db1, task.ID)
		if len(tailed) != len(all) {
			t.Fatalf("the tailing reader saw %d events, the finished stream has %d", len(tailed), len(all))
		}
		for i := range all {
			if tailed[i].ID != all[i].ID {
				t.Fatalf("event %d: the tailing reader saw id %d, the finished stream has %d", i, tailed[i].ID, all[i].ID)
			}
		}
	})
}
