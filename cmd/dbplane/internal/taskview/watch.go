// Package taskview shows a task's progress on a terminal while it runs: a
// frame of one line per subtask, redrawn in place, or, when the output is
// not a terminal, one plain line per event for logs and CI. It is the CLI's
// only terminal code, kept apart from the commands so they stay wiring.
package taskview

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dbplane/dbplane"
	"golang.org/x/term"
)

// Source is what a watcher needs from the control plane.
type Source interface {
	FindTaskByID(ctx context.Context, id int64) (*dbplane.Task, error)
	WatchTask(ctx context.Context, id int64, after int64) (<-chan dbplane.TaskEvent, error)
}

// Watcher follows a task until it ends and shows its progress on out.
// Live, it redraws one line per subtask in DAG order, from the task as the
// server has it (re-fetched on each burst of events and every refresh), so
// the display is exact even if an event is missed. Otherwise it prints one
// plain line per event, which reads well in logs and CI.
type Watcher struct {
	tasks   Source
	out     io.Writer
	live    bool // redraw frames; for terminals
	width   int  // live: terminal columns; lines are cut to fit
	now     func() time.Time
	refresh time.Duration // live: redraw period, so elapsed times advance
	resume  time.Duration // pause before re-subscribing to a lost stream

	after int64         // ID of the last event seen
	task  *dbplane.Task // live: last fetched state
	lines int           // live: lines of the frame on screen
}

// New returns a watcher that renders to w, live if w is a terminal, and
// reads the time from now (a clock the CLI's tests set).
func New(tasks Source, w io.Writer, now func() time.Time) *Watcher {
	live, width := terminalWidth(w)
	return &Watcher{
		tasks: tasks, out: w, live: live, width: width, now: now,
		refresh: time.Second, resume: time.Second,
	}
}

// terminalWidth reports whether w is a terminal, and its width.
func terminalWidth(w io.Writer) (bool, int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		width = 80
	}
	return true, width
}

// Watch follows task id until it is FAILED or SUCCESSFUL and returns its
// final state. It returns ctx.Err() when ctx ends first.
func (w *Watcher) Watch(ctx context.Context, id int64) (*dbplane.Task, error) {
	for {
		events, err := w.tasks.WatchTask(ctx, id, w.after)
		if err != nil {
			return nil, err
		}
		if err := w.follow(ctx, id, events); err != nil {
			return nil, err
		}
		t, err := w.tasks.FindTaskByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if taskEnded(t) {
			w.finish(t)
			return t, nil
		}
		// The stream ended while the task still runs: the connection was
		// lost. Resume after the last event seen, so none shows twice.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(w.resume):
		}
	}
}

// taskEnded reports whether t is in a terminal status.
func taskEnded(t *dbplane.Task) bool {
	return t.Status == dbplane.TaskFailed || t.Status == dbplane.TaskSuccessful
}

// follow renders events until the stream closes.
func (w *Watcher) follow(ctx context.Context, id int64, events <-chan dbplane.TaskEvent) error {
	var tick <-chan time.Time
	if w.live {
		t := time.NewTicker(w.refresh)
		defer t.Stop()
		tick = t.C
		w.redraw(ctx, id)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			if !ok {
				return ctx.Err()
			}
			w.after = ev.ID
			if !w.live {
				fmt.Fprintln(w.out, eventLine(ev))
				continue
			}
			// One fetch for a burst of events: a 50-subtask DAG emits
			// them by the dozen.
			open := w.drain(events)
			w.redraw(ctx, id)
			if !open {
				return ctx.Err()
			}
		case <-tick:
			w.redraw(ctx, id)
		}
	}
}

// drain consumes the events already waiting and reports whether the stream
// is still open.
func (w *Watcher) drain(events <-chan dbplane.TaskEvent) bool {
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return false
			}
			w.after = ev.ID
		default:
			return true
		}
	}
}

// redraw re-fetches the task and draws it. A failed fetch keeps the last
// frame: the stream, or the final fetch in Watch, reports lasting trouble.
func (w *Watcher) redraw(ctx context.Context, id int64) {
	if t, err := w.tasks.FindTaskByID(ctx, id); err == nil {
		w.task = t
	}
	if w.task != nil {
		w.draw(renderFrame(w.task, w.now(), w.width))
	}
}

// draw replaces the frame on screen with lines, in one write so the
// terminal never shows half a frame.
func (w *Watcher) draw(lines []string) {
	var b strings.Builder
	if w.lines > 0 {
		// Cursor up to the frame's first line, then clear to the end.
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", w.lines)
	}
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	io.WriteString(w.out, b.String())
	w.lines = len(lines)
}

// finish shows the final state of t and, if it failed, why and what to do.
func (w *Watcher) finish(t *dbplane.Task) {
	if w.live {
		w.draw(renderFrame(t, w.now(), w.width))
		w.lines = 0 // the summary below stays on screen
	}
	word := "in"
	if t.Status == dbplane.TaskFailed {
		word = "after"
	}
	line := fmt.Sprintf("task %d %s %s", t.ID, quote(t.Name), WithOp(string(t.Status), t.Operation))
	if t.StartedAt != nil && t.FinishedAt != nil {
		line += " " + word + " " + FormatDuration(t.FinishedAt.Sub(*t.StartedAt))
	}
	fmt.Fprintln(w.out, line)
	if t.Status != dbplane.TaskFailed {
		return
	}
	for _, s := range t.Subtasks {
		if s.Status == dbplane.SubtaskFailed {
			fmt.Fprintf(w.out, "  subtask %d %s FAILED: %s\n", s.ID, quote(s.Name), ASCIIOnly(orDash(s.Error)))
		}
	}
	hint := fmt.Sprintf("retry it with 'dbplane task retry %d'", t.ID)
	if !t.ProhibitRollback && t.Operation != dbplane.OpRollback {
		hint += fmt.Sprintf(", or undo it with 'dbplane task rollback %d'", t.ID)
	}
	fmt.Fprintln(w.out, hint)
}

// eventLine is the plain rendering of one event, e.g.
// `2026-11-22T10:00:00Z  subtask 12 "Place nodes" RUNNING`.
func eventLine(ev dbplane.TaskEvent) string {
	var b strings.Builder
	b.WriteString(FormatTime(ev.At))
	b.WriteString("  ")
	if ev.SubtaskID != 0 {
		fmt.Fprintf(&b, "subtask %d %s %s", ev.SubtaskID, quote(ev.Name), ASCIIOnly(ev.Status))
	} else {
		fmt.Fprintf(&b, "task %d %s", ev.TaskID, ASCIIOnly(ev.Status))
	}
	if ev.Operation != "" && ev.Operation != dbplane.OpExecute {
		fmt.Fprintf(&b, " (%s)", ev.Operation)
	}
	if ev.Message != "" {
		b.WriteString(": ")
		b.WriteString(ASCIIOnly(ev.Message))
	}
	return b.String()
}

// renderFrame is the live rendering of t at now: a header with an overall
// bar, then one line per subtask in the server's (topological) order, each
// cut to width columns (no cut when width is 0).
func renderFrame(t *dbplane.Task, now time.Time, width int) []string {
	done := 0
	for _, s := range t.Subtasks {
		if s.Status == dbplane.SubtaskSuccessful {
			done++
		}
	}
	header := fmt.Sprintf("task %d %s %s  %s %d/%d  %s", t.ID, quote(t.Name), WithOp(string(t.Status), t.Operation),
		bar(done, len(t.Subtasks), 20), done, len(t.Subtasks), Elapsed(t.StartedAt, t.FinishedAt, now))
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, s := range t.Subtasks {
		row(tw, "  "+itoa(s.ID), ASCIIOnly(s.Name), WithOp(string(s.Status), s.Operation),
			fmt.Sprintf("%d/%d", s.Attempts, s.MaxAttempts), Elapsed(s.StartedAt, s.FinishedAt, now), ASCIIOnly(s.Error))
	}
	tw.Flush()
	lines := []string{header}
	for l := range strings.Lines(b.String()) {
		lines = append(lines, strings.TrimRight(l, " \n"))
	}
	if width > 0 {
		for i, l := range lines {
			if len(l) >= width {
				lines[i] = l[:width-1]
			}
		}
	}
	return lines
}

// WithOp appends the operation to a status when it is not a plain run.
func WithOp(status string, op dbplane.Operation) string {
	if op == "" || op == dbplane.OpExecute {
		return status
	}
	return status + " (" + string(op) + ")"
}

// bar draws done out of total as an ASCII bar n characters wide.
func bar(done, total, n int) string {
	filled := 0
	if total > 0 {
		filled = done * n / total
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat("-", n-filled) + "]"
}

// ASCIIOnly replaces what a terminal might misrender (control characters,
// line breaks, non-ASCII) so one event stays one line of plain ASCII.
func ASCIIOnly(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r > 0x7e:
			return '?'
		}
		return r
	}, s)
}
