package taskengine_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/sqlstore"
	"github.com/dbplane/dbplane/taskengine"
)

// mustEvents returns all events of a task, reading them in small pages to
// exercise resumption after an id.
func mustEvents(tb testing.TB, db *sqlstore.DB, taskID int64) []dbplane.TaskEvent {
	tb.Helper()
	var all []dbplane.TaskEvent
	var after int64
	for {
		page, err := db.TaskEvents(context.Background(), taskID, after, 3)
		if err != nil {
			tb.Fatalf("TaskEvents: %v", err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
}

func countEvents(events []dbplane.TaskEvent, match func(dbplane.TaskEvent) bool) int {
	n := 0
	for _, e := range events {
		if match(e) {
			n++
		}
	}
	return n
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestTaskEvents checks the event stream of a task run: ids increase, each
// subtask goes READY, RUNNING, SUCCESSFUL in that order and only after its
// upstreams succeeded, and the stream ends with exactly one terminal event.
func TestTaskEvents(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		var rec recorder
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("rec", rec.handler())
		start(t, e)

		task := mustCreate(t, db, 0, step("a", "rec"), step("b", "rec", "a"), step("c", "rec", "a"),
			step("d", "rec", "b", "c"))
		task = waitTask(t, db, task.ID, dbplane.TaskSuccessful)
		events := mustEvents(t, db, task.ID)
		if len(events) == 0 {
			t.Fatal("no events")
		}

		first, last := events[0], events[len(events)-1]
		if first.SubtaskID != 0 || first.Status != string(dbplane.TaskRunning) {
			t.Errorf("first event %+v, want the task created RUNNING", first)
		}
		if !last.Terminal() || last.Status != string(dbplane.TaskSuccessful) {
			t.Errorf("last event %+v, want the terminal SUCCESSFUL task event", last)
		}
		if n := countEvents(events, dbplane.TaskEvent.Terminal); n != 1 {
			t.Errorf("%d terminal events, want 1", n)
		}

		pos := map[string]int{} // "name/STATUS" -> index of its event
		for i, ev := range events {
			if ev.TaskID != task.ID {
				t.Errorf("event %d belongs to task %d", ev.ID, ev.TaskID)
			}
			if i > 0 && ev.ID <= events[i-1].ID {
				t.Errorf("event ids do not increase: %d after %d", ev.ID, events[i-1].ID)
			}
			if ev.SubtaskID != 0 {
				if _, dup := pos[ev.Name+"/"+ev.Status]; dup {
					t.Errorf("subtask %s went %s twice", ev.Name, ev.Status)
				}
				pos[ev.Name+"/"+ev.Status] = i
			}
		}
		before := func(a, b string) {
			ia, oka := pos[a]
			ib, okb := pos[b]
			if !oka || !okb || ia > ib {
				t.Errorf("event %s (at %d, seen %v) should precede %s (at %d, seen %v)", a, ia, oka, b, ib, okb)
			}
		}
		for _, s := range task.Subtasks {
			if s.Name != "a" { // the root is READY from creation on, without an event
				before(s.Name+"/READY", s.Name+"/RUNNING")
			}
			before(s.Name+"/RUNNING", s.Name+"/SUCCESSFUL")
		}
		for _, up := range []string{"b", "c"} {
			before(up+"/SUCCESSFUL", "d/READY")
		}
		before("a/SUCCESSFUL", "b/READY")

		// Resuming after the last event yields nothing new.
		if more, err := db.TaskEvents(context.Background(), task.ID, last.ID, 10); err != nil || len(more) != 0 {
			t.Errorf("TaskEvents after the last = %v, %v; want none", more, err)
		}
	})
}

// TestSubtaskLogAndParams checks that a handler reads its parameters and
// that its log lines are kept in order; undecodable parameters fail the
// subtask permanently.
func TestSubtaskLogAndParams(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		e := taskengine.New(db, fastConfig(t, "e1"))
		e.Register("greet", func(ctx context.Context, run *taskengine.Run) error {
			var p struct{ Who string }
			if err := run.Params(&p); err != nil {
				return err
			}
			run.Logf(ctx, "hello %s", p.Who)
			run.Logf(ctx, "bye %s", p.Who)
			return nil
		})
		start(t, e)

		good := step("good", "greet")
		good.Params = params(t, map[string]string{"who": "world"})
		bad := step("bad", "greet")
		bad.Params = params(t, []int{1})
		bad.MaxAttempts = 5
		task := mustCreate(t, db, 0, good, bad)
		task = waitTask(t, db, task.ID, dbplane.TaskFailed)

		lines, err := db.SubtaskLog(ctx, task.ID, byName(t, task, "good").ID)
		if err != nil {
			t.Fatalf("SubtaskLog: %v", err)
		}
		if len(lines) != 2 || lines[0].Message != "hello world" || lines[1].Message != "bye world" {
			t.Errorf("log = %+v, want [hello world, bye world]", lines)
		}
		if lines[0].At.IsZero() {
			t.Error("log lines carry no time")
		}
		if s := byName(t, task, "bad"); s.Status != dbplane.SubtaskFailed || s.Attempts != 1 {
			t.Errorf("bad parameters: subtask %s after %d attempts, want FAILED after 1", s.Status, s.Attempts)
		}
		if lines, err := db.SubtaskLog(ctx, task.ID, byName(t, task, "bad").ID); err != nil || len(lines) != 0 {
			t.Errorf("log of the failed subtask = %v, %v; want empty", lines, err)
		}
		_, err = db.SubtaskLog(ctx, task.ID+1, byName(t, task, "good").ID)
		wantKind(t, "SubtaskLog of another task's subtask", err, dbplane.KindNotFound)
	})
}
