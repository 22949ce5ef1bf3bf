package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
)

// Server-Sent Events of GET /v1/tasks/{id}/events. Every state change is an
// event of type "task" whose id is the TaskEvent's id, so a reconnecting
// client resumes with Last-Event-ID. When the task's stream is complete the
// server sends one "end" event: a client can then tell a finished stream from
// a dropped connection, which also ends without error at the TCP level when
// a proxy closes it cleanly.
const (
	sseEventTask = "task"
	sseEventEnd  = "end"
)

// handleTaskEvents handles GET /v1/tasks/{task_id}/events.
func (s *Server) handleTaskEvents(w http.ResponseWriter, r *http.Request) {
	id, after, err := eventsRequest(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	events, err := s.Tasks.WatchTask(ctx, id, after)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	// A server-wide write timeout would cut long watches; the stream's
	// lifetime is bounded by the task and the client instead.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.writeError(w, r, dbplane.E("httpapi.handleTaskEvents", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // tell nginx-like proxies not to buffer
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return
	}

	heartbeat := time.NewTicker(s.Heartbeat)
	defer heartbeat.Stop()
	var (
		buf   bytes.Buffer // encoded event, reused
		frame []byte       // wire form, reused
		// sawTerminal: the last event sent ends the task run.
		sawTerminal bool
	)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				if ctx.Err() == nil && (sawTerminal || s.taskEnded(r, id)) {
					frame = appendSSE(frame[:0], sseEventEnd, "", []byte("{}"))
					writeFlush(w, rc, frame)
				}
				return
			}
			sawTerminal = ev.Terminal()
			buf.Reset()
			if err := json.NewEncoder(&buf).Encode(ev); err != nil {
				frontdoor.LoggerFrom(ctx, s.Logger).LogAttrs(ctx, slog.LevelError, "encoding task event failed",
					slog.Int64("event_id", ev.ID), slog.String("error", err.Error()))
				return // no end event: the client reconnects and retries
			}
			frame = appendSSE(frame[:0], sseEventTask, strconv.FormatInt(ev.ID, 10), bytes.TrimRight(buf.Bytes(), "\n"))
			if !writeFlush(w, rc, frame) {
				return
			}
			heartbeat.Reset(s.Heartbeat)
		case <-heartbeat.C:
			if !writeFlush(w, rc, ssePing) {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// taskEnded double-checks, when a watch ends without a terminal event (a
// resume after the task's last event, or the service giving up on a store
// error), that the task really is over before the end event tells the
// client to stop watching.
func (s *Server) taskEnded(r *http.Request, id int64) bool {
	t, err := s.Tasks.FindTaskByID(r.Context(), id)
	if err == nil && t.Status != dbplane.TaskRunning {
		return true
	}
	ctx := r.Context()
	frontdoor.LoggerFrom(ctx, s.Logger).LogAttrs(ctx, slog.LevelWarn, "task event stream ended before its task",
		slog.Int64("task_id", id), slog.Any("error", err))
	return false
}

var ssePing = []byte(": ping\n\n")

// appendSSE appends one event in wire form to b. data must hold no newline:
// compact JSON never does.
func appendSSE(b []byte, event, id string, data []byte) []byte {
	if id != "" {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, event...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// writeFlush writes p and flushes it; false means the client is gone.
func writeFlush(w http.ResponseWriter, rc *http.ResponseController, p []byte) bool {
	if _, err := w.Write(p); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// eventsRequest reads the task id and the resume point: the larger of the
// after parameter and the Last-Event-ID header, which browsers' EventSource
// and our client send on reconnection.
func eventsRequest(r *http.Request) (id, after int64, err error) {
	if id, err = pathID(r, "task_id"); err != nil {
		return 0, 0, err
	}
	q := parseQuery(r, "after")
	after = q.int64("after", 0)
	if h := r.Header.Get("Last-Event-ID"); h != "" {
		n, perr := strconv.ParseInt(h, 10, 64)
		if perr != nil || n < 0 {
			q.fail("Last-Event-ID", "must be a non-negative integer")
		} else if n > after {
			after = n
		}
	}
	if err := q.err(); err != nil {
		return 0, 0, err
	}
	return id, after, nil
}
