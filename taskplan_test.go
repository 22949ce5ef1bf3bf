package dbplane_test

import (
	"testing"
	"time"

	"github.com/dbplane/dbplane"
)

func TestTaskPlanTask(t *testing.T) {
	now := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	plan := dbplane.TaskPlan{Name: "create", Steps: []dbplane.PlanStep{
		{Key: "b", Name: "B", Handler: "h", After: []string{"a"}, Timeout: time.Minute},
		{Key: "a", Name: "A", Handler: "h"},
	}}
	task, err := plan.Task(now)
	if err != nil {
		t.Fatal(err)
	}
	if len(task.Subtasks) != 2 {
		t.Fatalf("got %d subtasks, want 2", len(task.Subtasks))
	}
	a, b := task.Subtasks[0], task.Subtasks[1]
	if a.Name != "A" || a.Status != dbplane.SubtaskReady || a.Timeout != dbplane.DefaultSubtaskTimeout {
		t.Errorf("first subtask = %+v, want A, READY, default timeout", a)
	}
	if b.Name != "B" || b.Status != dbplane.SubtaskPending || b.TimeoutSec != 60 || len(b.Upstreams) != 1 || b.Upstreams[0] != a.ID {
		t.Errorf("second subtask = %+v, want B, PENDING, 60s, after A", b)
	}
}

func TestTaskPlanTaskRefusesBadPlans(t *testing.T) {
	for name, steps := range map[string][]dbplane.PlanStep{
		"cycle":     {{Key: "a", Handler: "h", After: []string{"b"}}, {Key: "b", Handler: "h", After: []string{"a"}}},
		"unknown":   {{Key: "a", Handler: "h", After: []string{"z"}}},
		"duplicate": {{Key: "a", Handler: "h"}, {Key: "a", Handler: "h"}},
		"no key":    {{Handler: "h"}},
	} {
		if _, err := (dbplane.TaskPlan{Steps: steps}).Task(time.Now()); dbplane.ErrorKind(err) != dbplane.KindInternal {
			t.Errorf("%s: err = %v, want an internal error", name, err)
		}
	}
}
