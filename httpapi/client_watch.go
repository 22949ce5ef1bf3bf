package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/dbplane/dbplane"
)

// Reconnection backoff of WatchTask: quick enough to feel live after a
// blip, bounded so a long outage costs one request every few seconds.
const (
	watchMinBackoff = 100 * time.Millisecond
	watchMaxBackoff = 5 * time.Second
)

// maxEventBytes bounds one line of the event stream.
const maxEventBytes = 1 << 20

// WatchTask streams a task's events (GET /v1/tasks/{id}/events) with ID >
// after. An error answer before streaming (e.g. KindNotFound) is returned
// at once. If the connection drops, or stays silent for WatchIdleTimeout,
// the client reconnects with Last-Event-ID after a bounded backoff until
// ctx ends, so no event is lost or repeated. The channel closes when the
// server ends the stream (the task is FAILED or SUCCESSFUL and every event
// was delivered), when ctx ends, or when a reconnection is refused for good
// (e.g. the token expired); callers read the task afterwards to learn its
// final state.
func (c *Client) WatchTask(ctx context.Context, id int64, after int64) (<-chan dbplane.TaskEvent, error) {
	conn, err := c.openEvents(ctx, id, after)
	if err != nil {
		return nil, err
	}
	ch := make(chan dbplane.TaskEvent, 16)
	go c.watch(ctx, id, after, conn, ch)
	return ch, nil
}

// eventConn is one connection of an event stream, with the cancel function
// that aborts it (used by the idle timer).
type eventConn struct {
	resp   *http.Response
	cancel context.CancelFunc
}

// openEvents opens the event stream, resuming after the given event id.
func (c *Client) openEvents(ctx context.Context, id, after int64) (*eventConn, error) {
	cctx, cancel := context.WithCancel(ctx)
	var (
		q   url.Values
		hdr = http.Header{"Accept": {"text/event-stream"}}
	)
	if after > 0 {
		s := strconv.FormatInt(after, 10)
		q = url.Values{"after": {s}}
		hdr.Set("Last-Event-ID", s)
	}
	resp, err := c.send(cctx, http.MethodGet, idPath("/v1/tasks", id, "events"), q, nil, true, hdr)
	if err != nil {
		cancel()
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		cancel()
		return nil, dbplane.Errorf(dbplane.KindInternal, "the events of task %d came as %q, not an event stream", id, mt)
	}
	return &eventConn{resp: resp, cancel: cancel}, nil
}

// watch delivers events from conn and reconnects until the stream ends.
func (c *Client) watch(ctx context.Context, id, last int64, conn *eventConn, ch chan<- dbplane.TaskEvent) {
	defer close(ch)
	delay := watchMinBackoff
	for {
		got, ended := c.readEvents(ctx, conn, &last, ch)
		if ended || ctx.Err() != nil {
			return
		}
		if got {
			delay = watchMinBackoff // the connection was healthy: retry fast
		}
		for conn = nil; conn == nil; {
			if !sleepCtx(ctx, delay) {
				return
			}
			delay = min(delay*2, watchMaxBackoff)
			var err error
			if conn, err = c.openEvents(ctx, id, last); err != nil && !retryable(err) {
				return
			}
		}
	}
}

// retryable reports whether reconnecting may succeed later: the server or
// the network is down, as opposed to a refusal that would repeat.
func retryable(err error) bool {
	switch dbplane.ErrorKind(err) {
	case dbplane.KindUnavailable, dbplane.KindInternal:
		return true
	}
	return false
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// readEvents parses one connection's stream into ch, advancing *last. got
// reports whether any event arrived; ended whether the server ended the
// stream on purpose.
func (c *Client) readEvents(ctx context.Context, conn *eventConn, last *int64, ch chan<- dbplane.TaskEvent) (got, ended bool) {
	defer conn.cancel()
	defer conn.resp.Body.Close()
	idle := c.WatchIdleTimeout
	if idle <= 0 {
		idle = DefaultWatchIdleTimeout
	}
	// Cancelling the request is the reliable way to unblock a Read on a
	// connection that went silent.
	timer := time.AfterFunc(idle, conn.cancel)
	defer timer.Stop()

	sc := bufio.NewScanner(conn.resp.Body)
	sc.Buffer(make([]byte, 0, 4096), maxEventBytes)
	var (
		event string
		data  []byte
	)
	for sc.Scan() {
		timer.Reset(idle)
		line := sc.Bytes()
		if len(line) > 0 {
			if line[0] != ':' { // comment lines are heartbeats
				event, data = sseField(line, event, data)
			}
			continue
		}
		// A blank line dispatches the event gathered so far.
		switch event {
		case sseEventEnd:
			return got, true
		case sseEventTask:
			var ev dbplane.TaskEvent
			if json.Unmarshal(data, &ev) != nil {
				return got, false // corrupted in transit: resume from *last
			}
			if ev.ID > *last {
				select {
				case ch <- ev:
				case <-ctx.Done():
					return got, false
				}
				*last, got = ev.ID, true
			}
		}
		event, data = "", data[:0]
	}
	return got, false
}

// sseField applies one "field: value" line to the event being gathered. The
// id field is not needed: the event's JSON carries the same id.
func sseField(line []byte, event string, data []byte) (string, []byte) {
	name, value, _ := bytes.Cut(line, []byte(":"))
	value = bytes.TrimPrefix(value, []byte(" "))
	switch string(name) {
	case "event":
		event = string(value)
	case "data":
		if len(data) > 0 {
			data = append(data, '\n')
		}
		data = append(data, value...)
	}
	return event, data
}
