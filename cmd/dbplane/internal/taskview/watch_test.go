package taskview

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/cmd/dbplane/internal/taskview/tasktest"
	"github.com/google/go-cmp/cmp"
)

// fakeAPI is a Source whose answers the test sets.
type fakeAPI struct {
	FindTaskByIDFn func(id int64) (*dbplane.Task, error)
	WatchTaskFn    func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error)
}

func (f *fakeAPI) FindTaskByID(_ context.Context, id int64) (*dbplane.Task, error) {
	if f.FindTaskByIDFn == nil {
		return nil, errors.New("unexpected call to FindTaskByID")
	}
	return f.FindTaskByIDFn(id)
}

func (f *fakeAPI) WatchTask(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
	if f.WatchTaskFn == nil {
		return nil, errors.New("unexpected call to WatchTask")
	}
	return f.WatchTaskFn(ctx, id, after)
}

// The shared fixtures, under the names the tests were written with.
var (
	eventsOf     = tasktest.EventsOf
	at           = tasktest.At
	createTask   = tasktest.CreateTask
	subtaskEvent = tasktest.SubtaskEvent
	taskEvent    = tasktest.TaskEvent
)

func plainWatcher(tasks Source, out *bytes.Buffer) *Watcher {
	return &Watcher{tasks: tasks, out: out, now: func() time.Time { return at(100) },
		refresh: time.Hour, resume: time.Millisecond}
}

func TestWatchPlain(t *testing.T) {
	final := createTask(dbplane.TaskSuccessful, dbplane.SubtaskSuccessful, dbplane.SubtaskSuccessful, dbplane.SubtaskSuccessful)
	f := &fakeAPI{
		WatchTaskFn: func(_ context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
			if id != 34 || after != 0 {
				t.Errorf("WatchTask(%d, %d), want (34, 0)", id, after)
			}
			return eventsOf(
				taskEvent(1, dbplane.TaskRunning, 0),
				subtaskEvent(2, 0, dbplane.SubtaskRunning, 0),
				subtaskEvent(3, 0, dbplane.SubtaskSuccessful, 5),
				dbplane.TaskEvent{ID: 4, TaskID: 34, SubtaskID: 13, Name: "Install packages", Status: "READY",
					Operation: dbplane.OpRetry, Message: "retrying in 2s: timeout", At: at(6)},
				taskEvent(5, dbplane.TaskSuccessful, 65),
			), nil
		},
		FindTaskByIDFn: func(int64) (*dbplane.Task, error) { return final, nil },
	}
	var out bytes.Buffer
	got, err := plainWatcher(f, &out).Watch(t.Context(), 34)
	if err != nil {
		t.Fatal(err)
	}
	if got != final {
		t.Errorf("watch returned %+v, want the final task", got)
	}
	want := `2026-11-22T10:00:00Z  task 34 RUNNING
2026-11-22T10:00:00Z  subtask 12 "Place nodes" RUNNING
2026-11-22T10:00:05Z  subtask 12 "Place nodes" SUCCESSFUL
2026-11-22T10:00:06Z  subtask 13 "Install packages" READY (RETRY): retrying in 2s: timeout
2026-11-22T10:01:05Z  task 34 SUCCESSFUL
task 34 "create cluster orders" SUCCESSFUL in 1m5s
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestWatchPlainFailed(t *testing.T) {
	final := createTask(dbplane.TaskFailed, dbplane.SubtaskSuccessful, dbplane.SubtaskFailed, dbplane.SubtaskPending)
	f := &fakeAPI{
		WatchTaskFn: func(context.Context, int64, int64) (<-chan dbplane.TaskEvent, error) {
			return eventsOf(taskEvent(9, dbplane.TaskFailed, 65)), nil
		},
		FindTaskByIDFn: func(int64) (*dbplane.Task, error) { return final, nil },
	}
	var out bytes.Buffer
	if _, err := plainWatcher(f, &out).Watch(t.Context(), 34); err != nil {
		t.Fatal(err)
	}
	want := `2026-11-22T10:01:05Z  task 34 FAILED
task 34 "create cluster orders" FAILED after 1m5s
  subtask 13 "Install packages" FAILED: apt-get install failed
retry it with 'dbplane task retry 34', or undo it with 'dbplane task rollback 34'
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// TestWatchResumes checks that a stream that ends while the task runs (a
// lost connection) is resumed after the last event seen.
func TestWatchResumes(t *testing.T) {
	running := createTask(dbplane.TaskRunning, dbplane.SubtaskRunning, dbplane.SubtaskPending, dbplane.SubtaskPending)
	final := createTask(dbplane.TaskSuccessful, dbplane.SubtaskSuccessful, dbplane.SubtaskSuccessful, dbplane.SubtaskSuccessful)
	var afters []int64
	f := &fakeAPI{
		WatchTaskFn: func(_ context.Context, _, after int64) (<-chan dbplane.TaskEvent, error) {
			afters = append(afters, after)
			if len(afters) == 1 {
				return eventsOf(taskEvent(1, dbplane.TaskRunning, 0), subtaskEvent(2, 0, dbplane.SubtaskRunning, 1)), nil
			}
			return eventsOf(subtaskEvent(3, 0, dbplane.SubtaskSuccessful, 5), taskEvent(4, dbplane.TaskSuccessful, 65)), nil
		},
		FindTaskByIDFn: func(int64) (*dbplane.Task, error) {
			if len(afters) == 1 {
				return running, nil
			}
			return final, nil
		},
	}
	var out bytes.Buffer
	got, err := plainWatcher(f, &out).Watch(t.Context(), 34)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{0, 2}, afters); diff != "" {
		t.Errorf("WatchTask after (-want +got):\n%s", diff)
	}
	if got.Status != dbplane.TaskSuccessful {
		t.Errorf("final status %s, want SUCCESSFUL", got.Status)
	}
	if n := strings.Count(out.String(), "\n"); n != 5 {
		t.Errorf("printed %d lines, want 4 events and the summary, each once:\n%s", n, out.String())
	}
}

func TestWatchCanceled(t *testing.T) {
	f := &fakeAPI{
		WatchTaskFn: func(ctx context.Context, _, _ int64) (<-chan dbplane.TaskEvent, error) {
			return make(chan dbplane.TaskEvent), nil // never closes by itself
		},
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(10*time.Millisecond, cancel)
	var out bytes.Buffer
	if _, err := plainWatcher(f, &out).Watch(ctx, 34); !errors.Is(err, context.Canceled) {
		t.Fatalf("watch = %v, want context.Canceled", err)
	}
}

func TestWatchNotFound(t *testing.T) {
	f := &fakeAPI{
		WatchTaskFn: func(context.Context, int64, int64) (<-chan dbplane.TaskEvent, error) {
			return nil, dbplane.Errorf(dbplane.KindNotFound, "task 34 not found")
		},
	}
	var out bytes.Buffer
	if _, err := plainWatcher(f, &out).Watch(t.Context(), 34); dbplane.ErrorKind(err) != dbplane.KindNotFound {
		t.Fatalf("watch = %v, want not found", err)
	}
}

// steppedTasks is a task source whose task moves through states: each
// event is sent after the state it reports is in place, as on a server.
type steppedTasks struct {
	mu      sync.Mutex
	current *dbplane.Task
	steps   []step
	fetches int
}

type step struct {
	task  *dbplane.Task
	event dbplane.TaskEvent
}

func (s *steppedTasks) FindTaskByID(context.Context, int64) (*dbplane.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetches++
	return s.current, nil
}

func (s *steppedTasks) WatchTask(ctx context.Context, _, _ int64) (<-chan dbplane.TaskEvent, error) {
	ch := make(chan dbplane.TaskEvent)
	go func() {
		defer close(ch)
		for _, st := range s.steps {
			s.mu.Lock()
			s.current = st.task
			s.mu.Unlock()
			select {
			case ch <- st.event:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func TestWatchLive(t *testing.T) {
	src := &steppedTasks{
		current: createTask(dbplane.TaskRunning, dbplane.SubtaskReady, dbplane.SubtaskPending, dbplane.SubtaskPending),
		steps: []step{
			{createTask(dbplane.TaskRunning, dbplane.SubtaskRunning, dbplane.SubtaskPending, dbplane.SubtaskPending),
				subtaskEvent(1, 0, dbplane.SubtaskRunning, 0)},
			{createTask(dbplane.TaskRunning, dbplane.SubtaskSuccessful, dbplane.SubtaskRunning, dbplane.SubtaskPending),
				subtaskEvent(2, 1, dbplane.SubtaskRunning, 10)},
			{createTask(dbplane.TaskFailed, dbplane.SubtaskSuccessful, dbplane.SubtaskFailed, dbplane.SubtaskPending),
				taskEvent(3, dbplane.TaskFailed, 65)},
		},
	}
	var out bytes.Buffer
	w := &Watcher{tasks: src, out: &out, live: true, width: 80, now: func() time.Time { return at(100) },
		refresh: time.Hour, resume: time.Millisecond}
	got, err := w.Watch(t.Context(), 34)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != dbplane.TaskFailed {
		t.Fatalf("final status %s, want FAILED", got.Status)
	}
	s := out.String()
	// The first frame is drawn as is; every later one first moves the
	// cursor up over the previous frame (4 lines) and clears it.
	if !strings.Contains(s, "\x1b[4A\r\x1b[J") {
		t.Errorf("no redraw of the 4-line frame in %q", s)
	}
	last := s[strings.LastIndex(s, "\x1b[J")+len("\x1b[J"):]
	want := `task 34 "create cluster orders" FAILED  [######--------------] 1/3  1m5s
  12  Place nodes       SUCCESSFUL  1/3  5s
  13  Install packages  FAILED      1/3  5s  apt-get install failed
  14  Start nodes       PENDING     0/3  -
task 34 "create cluster orders" FAILED after 1m5s
  subtask 13 "Install packages" FAILED: apt-get install failed
retry it with 'dbplane task retry 34', or undo it with 'dbplane task rollback 34'
`
	if diff := cmp.Diff(want, last); diff != "" {
		t.Errorf("final frame (-want +got):\n%s", diff)
	}
	for _, r := range s {
		if r > 0x7e || (r < 0x20 && r != '\n' && r != '\r' && r != 0x1b) {
			t.Fatalf("output has a non-ASCII or control rune %q", r)
		}
	}
}

func TestRenderFrame(t *testing.T) {
	task := createTask(dbplane.TaskRunning, dbplane.SubtaskSuccessful, dbplane.SubtaskRunning, dbplane.SubtaskPending)
	task.Subtasks[1].Operation = dbplane.OpRetry
	task.Subtasks[1].Name = "Install packages \u00e9"
	got := renderFrame(task, at(42), 0)
	want := []string{
		`task 34 "create cluster orders" RUNNING  [######--------------] 1/3  42s`,
		"  12  Place nodes         SUCCESSFUL       1/3  5s",
		"  13  Install packages ?  RUNNING (RETRY)  1/3  32s",
		"  14  Start nodes         PENDING          0/3  -",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("frame (-want +got):\n%s", diff)
	}
	for _, l := range renderFrame(task, at(42), 30) {
		if len(l) > 29 {
			t.Errorf("line %q is wider than 29 columns", l)
		}
	}
}
