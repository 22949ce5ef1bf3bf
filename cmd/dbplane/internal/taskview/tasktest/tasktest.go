// Package tasktest holds the task fixtures that the renderer's tests and
// the CLI's tests share: a three-subtask cluster creation, its events, and
// the clock they are timed by.
package tasktest

import (
	"time"

	"github.com/dbplane/dbplane"
)

// T0 is the time the fixtures start at.
var T0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// At returns T0 plus sec seconds.
func At(sec int) time.Time { return T0.Add(time.Duration(sec) * time.Second) }

// AtP is At for optional times.
func AtP(sec int) *time.Time { t := At(sec); return &t }

// EventsOf returns a closed channel holding events, as WatchTask returns
// a stream that has ended.
func EventsOf(events ...dbplane.TaskEvent) <-chan dbplane.TaskEvent {
	ch := make(chan dbplane.TaskEvent, len(events))
	for _, ev := range events {
		ch <- ev
	}
	close(ch)
	return ch
}

// CreateTask returns a three-subtask task in the given statuses.
func CreateTask(status dbplane.TaskStatus, sub ...dbplane.SubtaskStatus) *dbplane.Task {
	t := &dbplane.Task{ID: 34, Name: "create cluster orders", Kind: dbplane.TaskKindClusterCreate, ClusterID: 12,
		Status: status, Operation: dbplane.OpExecute, CreatedAt: At(0), StartedAt: AtP(0)}
	names := []string{"Place nodes", "Install packages", "Start nodes"}
	for i, st := range sub {
		s := &dbplane.Subtask{ID: int64(12 + i), TaskID: 34, Name: names[i], Status: st, Operation: dbplane.OpExecute,
			MaxAttempts: 3, Handler: "h", TimeoutSec: 600}
		if i > 0 {
			s.Upstreams = []int64{int64(11 + i)}
		}
		if st != dbplane.SubtaskPending && st != dbplane.SubtaskReady {
			s.Attempts = 1
			s.StartedAt = AtP(10 * i)
		}
		if st == dbplane.SubtaskSuccessful || st == dbplane.SubtaskFailed {
			s.FinishedAt = AtP(10*i + 5)
		}
		if st == dbplane.SubtaskFailed {
			s.Error = "apt-get install\nfailed"
		}
		t.Subtasks = append(t.Subtasks, s)
	}
	if status != dbplane.TaskRunning {
		t.FinishedAt = AtP(65)
	}
	return t
}

// SubtaskEvent returns an event of subtask 12+i.
func SubtaskEvent(id int64, i int, status dbplane.SubtaskStatus, sec int) dbplane.TaskEvent {
	names := []string{"Place nodes", "Install packages", "Start nodes"}
	return dbplane.TaskEvent{ID: id, TaskID: 34, SubtaskID: int64(12 + i), Name: names[i], Status: string(status),
		Operation: dbplane.OpExecute, At: At(sec)}
}

// TaskEvent returns a task-level event.
func TaskEvent(id int64, status dbplane.TaskStatus, sec int) dbplane.TaskEvent {
	return dbplane.TaskEvent{ID: id, TaskID: 34, Status: string(status), Operation: dbplane.OpExecute, At: At(sec)}
}
