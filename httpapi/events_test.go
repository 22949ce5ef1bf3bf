package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/httpapi"
	"github.com/google/go-cmp/cmp"
)

// taskEvent returns event id of task 9; id 99 is the task's terminal event.
func taskEvent(id int64) dbplane.TaskEvent {
	ev := dbplane.TaskEvent{ID: id, TaskID: 9, SubtaskID: 10 + id, Name: "step", Status: string(dbplane.SubtaskSuccessful),
		Operation: dbplane.OpExecute, Message: "ok", At: t0.Add(time.Duration(id) * time.Second)}
	if id == 99 {
		ev.SubtaskID, ev.Name, ev.Status = 0, "", string(dbplane.TaskSuccessful)
	}
	return ev
}

// stream feeds evs to a channel; with hold it then stays open until ctx
// ends, like a task that is still running.
func stream(ctx context.Context, hold bool, ids ...int64) <-chan dbplane.TaskEvent {
	ch := make(chan dbplane.TaskEvent)
	go func() {
		defer close(ch)
		for _, id := range ids {
			select {
			case ch <- taskEvent(id):
			case <-ctx.Done():
				return
			}
		}
		if hold {
			<-ctx.Done()
		}
	}()
	return ch
}

// watchCalls records the after argument of each WatchTask call.
type watchCalls struct {
	mu     sync.Mutex
	afters []int64
}

func (w *watchCalls) add(after int64) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.afters = append(w.afters, after)
	return len(w.afters)
}

func (w *watchCalls) get() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int64(nil), w.afters...)
}

func collect(t *testing.T, ch <-chan dbplane.TaskEvent) []int64 {
	t.Helper()
	var ids []int64
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return ids
			}
			ids = append(ids, ev.ID)
		case <-timeout:
			t.Fatalf("the channel did not close; got %v", ids)
		}
	}
}

func TestTaskEventsWire(t *testing.T) {
	e := newEnv(t)
	var calls watchCalls
	e.tasks.WatchTaskFn = func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
		if id != 9 {
			return nil, dbplane.Errorf(dbplane.KindNotFound, "task %d not found", id)
		}
		calls.add(after)
		return stream(ctx, false, 6, 99), nil
	}
	t.Run("Format", func(t *testing.T) {
		resp, data := e.request(t, "GET", "/v1/tasks/9/events?after=3", "", "Last-Event-ID", "5")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		j6, _ := json.Marshal(taskEvent(6))
		j99, _ := json.Marshal(taskEvent(99))
		want := "id: 6\nevent: task\ndata: " + string(j6) + "\n\n" +
			"id: 99\nevent: task\ndata: " + string(j99) + "\n\n" +
			"event: end\ndata: {}\n\n"
		if string(data) != want {
			t.Errorf("stream:\n%s\nwant:\n%s", data, want)
		}
	})
	t.Run("ResumePoint", func(t *testing.T) {
		e.request(t, "GET", "/v1/tasks/9/events?after=8", "", "Last-Event-ID", "2")
		e.request(t, "GET", "/v1/tasks/9/events", "")
		if diff := cmp.Diff([]int64{5, 8, 0}, calls.get()); diff != "" {
			t.Errorf("after passed to WatchTask (-want +got):\n%s", diff)
		}
	})
	t.Run("ErrBeforeStreaming", func(t *testing.T) {
		resp, data := e.request(t, "GET", "/v1/tasks/10/events", "")
		mustErrorBody(t, resp, data, http.StatusNotFound)
		_, err := e.client.WatchTask(t.Context(), 10, 0)
		mustKind(t, err, dbplane.KindNotFound)
		resp, data = e.request(t, "GET", "/v1/tasks/9/events", "", "Last-Event-ID", "x")
		if ae := mustErrorBody(t, resp, data, http.StatusBadRequest); ae.Error.Details[0].Field != "Last-Event-ID" {
			t.Errorf("details = %+v, want Last-Event-ID", ae.Error.Details)
		}
		resp, data = e.request(t, "GET", "/v1/tasks/9/events?after=-1", "")
		if ae := mustErrorBody(t, resp, data, http.StatusBadRequest); ae.Error.Details[0].Field != "after" {
			t.Errorf("details = %+v, want after", ae.Error.Details)
		}
	})
}

func TestTaskEventsHeartbeat(t *testing.T) {
	e := newEnv(t, func(s *httpapi.Server) { s.Heartbeat = 10 * time.Millisecond })
	e.tasks.WatchTaskFn = func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
		return stream(ctx, true, 1), nil
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.ts.URL+"/v1/tasks/9/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for pings := 0; pings < 2 && sc.Scan(); {
		lines = append(lines, sc.Text())
		if sc.Text() == ": ping" {
			pings++
		}
	}
	if len(lines) < 4 || lines[0] != "id: 1" || lines[len(lines)-1] != ": ping" {
		t.Errorf("lines = %q, want the event then pings", lines)
	}
}

func TestWatchTask(t *testing.T) {
	t.Run("EndsWithTheStream", func(t *testing.T) {
		e := newEnv(t)
		e.tasks.WatchTaskFn = func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
			return stream(ctx, false, 1, 2, 99), nil
		}
		ch, err := e.client.WatchTask(t.Context(), 9, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []dbplane.TaskEvent
		for ev := range ch {
			got = append(got, ev)
		}
		want := []dbplane.TaskEvent{taskEvent(1), taskEvent(2), taskEvent(99)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
	t.Run("ResumesAfterDrop", func(t *testing.T) {
		e := newEnv(t)
		var calls watchCalls
		e.tasks.WatchTaskFn = func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
			if calls.add(after) == 1 {
				return stream(ctx, true, 1, 2), nil // then the connection drops
			}
			return stream(ctx, false, 3, 99), nil
		}
		// Record what the client sends on each connection.
		var mu sync.Mutex
		var lastIDs []string
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
			mu.Unlock()
			e.srv.Handler().ServeHTTP(w, r)
		}))
		defer ts.Close()
		c := httpapi.NewClient(ts.URL)
		c.Token = testToken

		ch, err := c.WatchTask(t.Context(), 9, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for len(ids) < 2 {
			ids = append(ids, (<-ch).ID)
		}
		ts.CloseClientConnections() // cut the stream before the server ends it
		ids = append(ids, collect(t, ch)...)
		if diff := cmp.Diff([]int64{1, 2, 3, 99}, ids); diff != "" {
			t.Errorf("event ids (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int64{0, 2}, calls.get()); diff != "" {
			t.Errorf("WatchTask after (-want +got):\n%s", diff)
		}
		mu.Lock()
		defer mu.Unlock()
		if diff := cmp.Diff([]string{"", "2"}, lastIDs); diff != "" {
			t.Errorf("Last-Event-ID sent (-want +got):\n%s", diff)
		}
	})
	t.Run("ReconnectsWhenSilent", func(t *testing.T) {
		e := newEnv(t, func(s *httpapi.Server) { s.Heartbeat = time.Hour })
		var calls watchCalls
		e.tasks.WatchTaskFn = func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
			if calls.add(after) == 1 {
				return stream(ctx, true, 1), nil // then nothing, not even pings
			}
			return stream(ctx, false, 99), nil
		}
		e.client.WatchIdleTimeout = 100 * time.Millisecond
		ch, err := e.client.WatchTask(t.Context(), 9, 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]int64{1, 99}, collect(t, ch)); diff != "" {
			t.Errorf("event ids (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int64{0, 1}, calls.get()); diff != "" {
			t.Errorf("WatchTask after (-want +got):\n%s", diff)
		}
	})
	t.Run("StopsWhenRefused", func(t *testing.T) {
		e := newEnv(t)
		var calls watchCalls
		e.tasks.WatchTaskFn = func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
			if calls.add(after) == 1 {
				return stream(ctx, true, 1), nil
			}
			return nil, dbplane.Errorf(dbplane.KindNotFound, "task %d not found", id)
		}
		ch, err := e.client.WatchTask(t.Context(), 9, 0)
		if err != nil {
			t.Fatal(err)
		}
		<-ch
		e.ts.CloseClientConnections()
		if ids := collect(t, ch); len(ids) != 0 {
			t.Errorf("events after the refusal: %v", ids)
		}
		if n := len(calls.get()); n != 2 {
			t.Errorf("WatchTask called %d times, want 2 (no retry after 404)", n)
		}
	})
	t.Run("StopsWithContext", func(t *testing.T) {
		e := newEnv(t)
		e.tasks.WatchTaskFn = func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
			return stream(ctx, true, 1), nil
		}
		ctx, cancel := context.WithCancel(t.Context())
		ch, err := e.client.WatchTask(ctx, 9, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ev := <-ch; ev.ID != 1 {
			t.Fatalf("first event = %d, want 1", ev.ID)
		}
		cancel()
		if ids := collect(t, ch); len(ids) != 0 {
			t.Errorf("events after cancel: %v", ids)
		}
	})
	t.Run("ServerCutIsNotTheEnd", func(t *testing.T) {
		// A stream the server cuts because its request context ended (as
		// in a graceful shutdown) carries no end event, although it ends
		// cleanly at the HTTP level, so the client resumes.
		e := newEnv(t)
		var calls watchCalls
		e.tasks.WatchTaskFn = func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
			if calls.add(after) == 1 {
				return stream(ctx, true, 1), nil
			}
			return stream(ctx, false, 99), nil
		}
		var (
			mu    sync.Mutex
			conns int
		)
		cut, stop := context.WithCancel(context.Background())
		defer stop()
		ts := httptest.NewUnstartedServer(e.srv.Handler())
		ts.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
			mu.Lock()
			defer mu.Unlock()
			if conns++; conns == 1 {
				ctx, cancel := context.WithCancel(ctx)
				go func() { <-cut.Done(); cancel() }()
				return ctx
			}
			return ctx
		}
		ts.Config.SetKeepAlivesEnabled(false) // the resumed stream gets a new connection
		ts.Start()
		defer ts.Close()
		c := httpapi.NewClient(ts.URL)
		c.Token = testToken
		ch, err := c.WatchTask(t.Context(), 9, 0)
		if err != nil {
			t.Fatal(err)
		}
		<-ch
		stop()
		if diff := cmp.Diff([]int64{99}, collect(t, ch)); diff != "" {
			t.Errorf("event ids after the cut (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]int64{0, 1}, calls.get()); diff != "" {
			t.Errorf("WatchTask after (-want +got):\n%s", diff)
		}
	})
}

func TestTaskEventsEnd(t *testing.T) {
	e := newEnv(t)
	status := dbplane.TaskRunning
	e.tasks.WatchTaskFn = func(ctx context.Context, id, after int64) (<-chan dbplane.TaskEvent, error) {
		return stream(ctx, false, 1), nil // ends without a terminal event
	}
	e.tasks.FindTaskByIDFn = func(ctx context.Context, id int64) (*dbplane.Task, error) {
		task := sampleTask(id)
		task.Status = status
		return task, nil
	}
	// The task still runs: the stream was cut short, so no end event.
	_, data := e.request(t, "GET", "/v1/tasks/9/events", "")
	if strings.Contains(string(data), "event: end") || !strings.Contains(string(data), "id: 1\n") {
		t.Errorf("stream of a running task:\n%s\nwant the event and no end", data)
	}
	// The task is over (the client resumed after its last event): end.
	status = dbplane.TaskFailed
	_, data = e.request(t, "GET", "/v1/tasks/9/events?after=1", "")
	if !strings.HasSuffix(string(data), "event: end\ndata: {}\n\n") {
		t.Errorf("stream of a finished task:\n%s\nwant an end event", data)
	}
}
