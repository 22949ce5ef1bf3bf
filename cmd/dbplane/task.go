package main

import (
	"context"
	"fmt"
	"io"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/cmd/dbplane/internal/taskview"
	"github.com/spf13/cobra"
)

// taskCmd returns `dbplane task`.
func (c *cli) taskCmd() *cobra.Command {
	return groupCmd("task", "Follow and operate the tasks that change clusters",
		c.taskListCmd(), c.taskShowCmd(), c.taskWatchCmd(), c.taskRetryCmd(), c.taskRollbackCmd(),
		c.taskSkipCmd(), c.taskCancelCmd(), c.taskLogCmd())
}

// taskPage is the JSON form of a page of tasks.
type taskPage struct {
	Tasks  []*dbplane.Task `json:"tasks"`
	Total  int             `json:"total"`
	Offset int             `json:"offset"`
	Limit  int             `json:"limit"`
}

// taskListCmd returns `dbplane task list`.
func (c *cli) taskListCmd() *cobra.Command {
	var cluster int64
	var status, kind, name string
	var offset, limit int
	cmd := newVerb(verb{Use: "list", Short: "List tasks, newest first"},
		c.client, func(ctx context.Context, a api, _ []string) error {
			f := dbplane.TaskFilter{Offset: offset, Limit: limit}
			if cluster != 0 {
				f.ClusterID = &cluster
			}
			if status != "" {
				s := dbplane.TaskStatus(status)
				f.Status = &s
			}
			if kind != "" {
				f.Kind = &kind
			}
			if name != "" {
				f.Name = &name
			}
			tasks, total, err := a.FindTasks(ctx, f)
			if err != nil {
				return err
			}
			return c.print(taskPage{Tasks: nonNil(tasks), Total: total, Offset: offset, Limit: pageLimit(limit)}, func() error {
				tw := newTable(c.stdout)
				row(tw, "ID", "NAME", "KIND", "CLUSTER", "STATUS", "OPERATION", "CREATED", "FINISHED")
				for _, t := range tasks {
					row(tw, itoa(t.ID), t.Name, t.Kind, clusterRef(t.ClusterID), string(t.Status), string(t.Operation),
						fmtTime(t.CreatedAt), fmtTimePtr(t.FinishedAt))
				}
				tw.Flush()
				c.pageNote(offset, len(tasks), total)
				return nil
			})
		})
	cmd.Flags().Int64Var(&cluster, "cluster", 0, "only tasks of this cluster ID")
	cmd.Flags().StringVar(&status, "status", "", "only tasks in this status: RUNNING, FAILED or SUCCESSFUL")
	cmd.Flags().StringVar(&kind, "kind", "", "only tasks of this kind, e.g. cluster.create")
	cmd.Flags().StringVar(&name, "name", "", "only tasks whose name contains this text")
	pageFlags(cmd, &offset, &limit)
	return cmd
}

// clusterRef formats an optional cluster ID.
func clusterRef(id int64) string {
	if id == 0 {
		return "-"
	}
	return itoa(id)
}

// taskShowCmd returns `dbplane task show`.
func (c *cli) taskShowCmd() *cobra.Command {
	return newVerb(verb{Use: "show TASK_ID", Short: "Show a task and its subtasks in DAG order", Args: exactArgs(1), IDs: taskIDs},
		c.client, func(ctx context.Context, a api, args []string) error {
			t, err := a.FindTaskByID(ctx, argID(args[0]))
			if err != nil {
				return err
			}
			return c.print(t, func() error { c.printTask(t); return nil })
		})
}

// printTask prints the details of a task and a table of its subtasks.
func (c *cli) printTask(t *dbplane.Task) {
	tw := newTable(c.stdout)
	row(tw, "ID:", itoa(t.ID))
	row(tw, "Name:", t.Name)
	row(tw, "Kind:", t.Kind)
	row(tw, "Cluster:", clusterRef(t.ClusterID))
	row(tw, "Status:", string(t.Status))
	row(tw, "Operation:", string(t.Operation))
	row(tw, "Rollback:", map[bool]string{false: "allowed", true: "prohibited"}[t.ProhibitRollback])
	row(tw, "Creator:", orDash(t.Creator))
	row(tw, "Created:", fmtTime(t.CreatedAt))
	row(tw, "Started:", fmtTimePtr(t.StartedAt))
	row(tw, "Finished:", fmtTimePtr(t.FinishedAt))
	row(tw, "Elapsed:", elapsed(t.StartedAt, t.FinishedAt, c.now()))
	tw.Flush()
	if len(t.Subtasks) == 0 {
		return
	}
	fmt.Fprintln(c.stdout)
	tw = newTable(c.stdout)
	row(tw, "ID", "NAME", "STATUS", "OPERATION", "ATTEMPTS", "AFTER", "ELAPSED", "ERROR")
	for _, s := range t.Subtasks {
		row(tw, itoa(s.ID), asciiOnly(s.Name), string(s.Status), string(s.Operation),
			fmt.Sprintf("%d/%d", s.Attempts, s.MaxAttempts), joinIDs(s.Upstreams),
			elapsed(s.StartedAt, s.FinishedAt, c.now()), orDash(asciiOnly(s.Error)))
	}
	tw.Flush()
}

// printPlan prints the DAG of a dry run.
func (c *cli) printPlan(t *dbplane.Task) error {
	if c.jsonOut() {
		return writeJSON(c.stdout, t)
	}
	c.infof("dry run: nothing was changed")
	fmt.Fprintf(c.stdout, "task %s (%s) would run %d subtasks:\n", quote(t.Name), t.Kind, len(t.Subtasks))
	tw := newTable(c.stdout)
	row(tw, "ID", "NAME", "HANDLER", "AFTER", "TIMEOUT", "MAX_ATTEMPTS")
	for _, s := range t.Subtasks {
		row(tw, itoa(s.ID), asciiOnly(s.Name), s.Handler, joinIDs(s.Upstreams), itoa(s.TimeoutSec)+"s", itoa(s.MaxAttempts))
	}
	return tw.Flush()
}

// taskLine is the one-line summary of a task.
func taskLine(t *dbplane.Task) string {
	return fmt.Sprintf("task %d %s %s", t.ID, quote(t.Name), withOp(string(t.Status), t.Operation))
}

// taskOutcome is the error a command returns after watching t to its end:
// taskFailedError (exit 3) if it FAILED.
func taskOutcome(t *dbplane.Task) error {
	if t.Status == dbplane.TaskFailed {
		return taskFailedError{t.ID}
	}
	return nil
}

// startedTask reports a task the server has (re)started and, with wait,
// watches it until it ends.
func (c *cli) startedTask(ctx context.Context, a api, t *dbplane.Task, wait bool) error {
	if wait {
		final, err := taskview.New(a, c.stderr, c.now).Watch(ctx, t.ID)
		if err != nil {
			return err
		}
		t = final
	}
	if c.jsonOut() {
		if err := writeJSON(c.stdout, t); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(c.stdout, taskLine(t))
	}
	if !wait {
		c.infof("follow it with 'dbplane task watch %d'", t.ID)
		return nil
	}
	return taskOutcome(t)
}

// taskWatchCmd returns `dbplane task watch`.
func (c *cli) taskWatchCmd() *cobra.Command {
	return newVerb(verb{Use: "watch TASK_ID", Short: "Follow a task until it ends; exit 3 if it FAILED",
		Long: `Follow a task until it ends. On a terminal, one line per subtask in DAG
order is redrawn live; otherwise one line is printed per event. Exits 0 if
the task ends SUCCESSFUL and 3 if it ends FAILED.`,
		Args: exactArgs(1), IDs: taskIDs},
		c.client, func(ctx context.Context, a api, args []string) error {
			t, err := taskview.New(a, c.stderr, c.now).Watch(ctx, argID(args[0]))
			if err != nil {
				return err
			}
			if c.jsonOut() {
				if err := writeJSON(c.stdout, t); err != nil {
					return err
				}
			}
			return taskOutcome(t)
		})
}

// taskIDs names the TASK_ID and SUBTASK_ID arguments of the task verbs.
var taskIDs = []string{"TASK_ID", "SUBTASK_ID"}

// taskRetryCmd returns `dbplane task retry`.
func (c *cli) taskRetryCmd() *cobra.Command {
	var wait bool
	cmd := newVerb(verb{Use: "retry TASK_ID [SUBTASK_ID]", Short: "Re-run the failed subtasks of a failed task, or one failed subtask",
		Args: rangeArgs(1, 2), IDs: taskIDs},
		c.client, func(ctx context.Context, a api, args []string) error {
			ids := argIDs(args)
			if len(ids) == 1 {
				t, err := a.RetryTask(ctx, ids[0])
				if err != nil {
					return err
				}
				return c.startedTask(ctx, a, t, wait)
			}
			s, err := a.RetrySubtask(ctx, ids[0], ids[1])
			if err != nil {
				return err
			}
			return c.subtaskChanged(ctx, a, s, wait)
		})
	cmd.Flags().BoolVar(&wait, "wait", false, "watch the task until it ends")
	return cmd
}

// taskRollbackCmd returns `dbplane task rollback`.
func (c *cli) taskRollbackCmd() *cobra.Command {
	var wait bool
	cmd := newVerb(verb{Use: "rollback TASK_ID", Short: "Undo a failed task, in reverse DAG order", Args: exactArgs(1), IDs: taskIDs},
		c.client, func(ctx context.Context, a api, args []string) error {
			t, err := a.RollbackTask(ctx, argID(args[0]))
			if err != nil {
				return err
			}
			return c.startedTask(ctx, a, t, wait)
		})
	cmd.Flags().BoolVar(&wait, "wait", false, "watch the rollback until it ends")
	return cmd
}

// subtaskVerb returns a verb on one subtask (TASK_ID SUBTASK_ID) that
// changes it with change and reports the subtask, or with *wait its task
// (a nil wait: the verb has no --wait).
func (c *cli) subtaskVerb(use, short string, wait *bool, change func(a api, ctx context.Context, task, sub int64) (*dbplane.Subtask, error)) *cobra.Command {
	return newVerb(verb{Use: use, Short: short, Args: exactArgs(2), IDs: taskIDs},
		c.client, func(ctx context.Context, a api, args []string) error {
			ids := argIDs(args)
			s, err := change(a, ctx, ids[0], ids[1])
			if err != nil {
				return err
			}
			return c.subtaskChanged(ctx, a, s, wait != nil && *wait)
		})
}

// taskSkipCmd returns `dbplane task skip`.
func (c *cli) taskSkipCmd() *cobra.Command {
	var wait bool
	cmd := c.subtaskVerb("skip TASK_ID SUBTASK_ID", "Mark a failed subtask SUCCESSFUL without running it", &wait, api.SkipSubtask)
	cmd.Flags().BoolVar(&wait, "wait", false, "watch the task until it ends")
	return cmd
}

// taskCancelCmd returns `dbplane task cancel`.
func (c *cli) taskCancelCmd() *cobra.Command {
	return c.subtaskVerb("cancel TASK_ID SUBTASK_ID", "Stop a running subtask: it goes CANCELING, then FAILED", nil, api.CancelSubtask)
}

// subtaskChanged reports a subtask an operation changed and, with wait,
// watches its task until it ends.
func (c *cli) subtaskChanged(ctx context.Context, a api, s *dbplane.Subtask, wait bool) error {
	if wait {
		t, err := taskview.New(a, c.stderr, c.now).Watch(ctx, s.TaskID)
		if err != nil {
			return err
		}
		if c.jsonOut() {
			if err := writeJSON(c.stdout, t); err != nil {
				return err
			}
		} else {
			fmt.Fprintln(c.stdout, taskLine(t))
		}
		return taskOutcome(t)
	}
	if c.jsonOut() {
		return writeJSON(c.stdout, s)
	}
	fmt.Fprintf(c.stdout, "subtask %d %s %s\n", s.ID, quote(s.Name), withOp(string(s.Status), s.Operation))
	return nil
}

// taskLogCmd returns `dbplane task log`.
func (c *cli) taskLogCmd() *cobra.Command {
	return newVerb(verb{Use: "log TASK_ID SUBTASK_ID", Short: "Print the log of a subtask", Args: exactArgs(2), IDs: taskIDs},
		c.client, func(ctx context.Context, a api, args []string) error {
			ids := argIDs(args)
			lines, err := a.SubtaskLog(ctx, ids[0], ids[1])
			if err != nil {
				return err
			}
			return c.print(logPage{Lines: nonNil(lines)}, func() error { printLog(c.stdout, lines); return nil })
		})
}

// logPage is the JSON form of a subtask's log, as the API sends it.
type logPage struct {
	Lines []dbplane.LogLine `json:"lines"`
}

// printLog prints log lines, each prefixed with its time.
func printLog(w io.Writer, lines []dbplane.LogLine) {
	for _, l := range lines {
		fmt.Fprintf(w, "%s  %s\n", fmtTime(l.At), asciiOnly(l.Message))
	}
}
