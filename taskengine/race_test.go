package taskengine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
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
				if _, err := db.FinishSubtask(ctx, "e1", s.ID, dbplane.Outcome{}); err != nil {
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
				_, err := db.FinishSubtask(ctx, "stale", s.ID, dbplane.Outcome{})
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
