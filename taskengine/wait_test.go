package taskengine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/dbplane/dbplane/taskengine"
)

// TestNotYetPollsAfterItsDelay checks that a handler reporting NotYet runs
// again after the delay it asks for, not after the engine's backoff (10ms
// in the tests), and that MaxAttempts bounds the wait, failing the subtask
// with the handler's reason.
func TestNotYetPollsAfterItsDelay(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		const delay = 300 * time.Millisecond
		var (
			mu   sync.Mutex
			runs []time.Time
		)
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("wait", func(ctx context.Context, run *taskengine.Run) error {
			mu.Lock()
			defer mu.Unlock()
			runs = append(runs, time.Now())
			if len(runs) < 3 {
				return taskengine.NotYet("not there yet", delay)
			}
			return nil
		})
		e.Register("forever", func(ctx context.Context, run *taskengine.Run) error {
			return taskengine.NotYet("still waiting for the agent", 10*time.Millisecond)
		})
		start(t, e)

		waits := mustCreate(t, db, 0, dbplane.PlanStep{Key: "w", Name: "w", Handler: "wait", MaxAttempts: 5})
		waitTask(t, db, waits.ID, dbplane.TaskSuccessful)
		mu.Lock()
		defer mu.Unlock()
		if len(runs) != 3 {
			t.Fatalf("%d runs, want 3", len(runs))
		}
		for i := 1; i < len(runs); i++ {
			if gap := runs[i].Sub(runs[i-1]); gap < delay {
				t.Fatalf("run %d came %s after the previous one; NotYet asked for %s", i+1, gap, delay)
			}
		}

		bounded := mustCreate(t, db, 0, dbplane.PlanStep{Key: "f", Name: "f", Handler: "forever", MaxAttempts: 3})
		task := waitTask(t, db, bounded.ID, dbplane.TaskFailed)
		if s := byName(t, task, "f"); s.Attempts != 3 || s.Error != "still waiting for the agent" {
			t.Fatalf("bounded wait ended after %d attempts with %q", s.Attempts, s.Error)
		}
	})
}
