package dbplane

import (
	"fmt"
	"time"
)

// Ordered returns the plan's steps so that each follows its upstreams,
// keeping the plan's order among independent steps. Stores insert subtasks
// in this order, so that reading them back by sequence visits every
// upstream first. A bad plan is a planner bug, so its errors are internal.
func (p TaskPlan) Ordered() ([]PlanStep, error) {
	steps := p.Steps
	index := make(map[string]int, len(steps))
	for i, st := range steps {
		if st.Key == "" || st.Handler == "" {
			return nil, fmt.Errorf("plan step %d has no key or handler", i)
		}
		if _, dup := index[st.Key]; dup {
			return nil, fmt.Errorf("plan step key %q is not unique", st.Key)
		}
		index[st.Key] = i
	}
	indegree := make([]int, len(steps))
	downs := make([][]int, len(steps))
	for i, st := range steps {
		for _, up := range st.After {
			j, ok := index[up]
			if !ok {
				return nil, fmt.Errorf("plan step %q follows unknown step %q", st.Key, up)
			}
			indegree[i]++
			downs[j] = append(downs[j], i)
		}
	}
	var order []PlanStep
	var queue []int
	for i := range steps {
		if indegree[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		order = append(order, steps[i])
		for _, d := range downs[i] {
			if indegree[d]--; indegree[d] == 0 {
				queue = append(queue, d)
			}
		}
	}
	if len(order) != len(steps) {
		return nil, fmt.Errorf("plan has a cycle")
	}
	return order, nil
}

// Task renders the plan as the task it would create, for dry runs: subtasks
// get provisional ids 1..n in topological order and nothing is stored. It
// lives beside the plan, not in a store, so that services can answer a dry
// run without depending on a store adapter.
func (p TaskPlan) Task(now time.Time) (*Task, error) {
	order, err := p.Ordered()
	if err != nil {
		return nil, E("dbplane.TaskPlan.Task", err)
	}
	t := &Task{Name: p.Name, Kind: p.Kind, ClusterID: p.ClusterID, Status: TaskRunning,
		Operation: OpExecute, ProhibitRollback: p.ProhibitRollback, Creator: p.Creator,
		Context: p.Context, CreatedAt: now}
	ids := make(map[string]int64, len(order))
	for i, st := range order {
		ids[st.Key] = int64(i + 1)
	}
	byID := make(map[int64]*Subtask, len(order))
	for i, st := range order {
		s := &Subtask{ID: int64(i + 1), Name: st.Name, Description: st.Description, Handler: st.Handler,
			Undo: st.Undo, Params: st.Params, Status: SubtaskPending, Operation: OpExecute,
			Timeout: st.Timeout, MaxAttempts: st.MaxAttempts, CreatedAt: now, Upstreams: []int64{}, Downstreams: []int64{}}
		if s.Timeout <= 0 {
			s.Timeout = DefaultSubtaskTimeout
		}
		if s.MaxAttempts <= 0 {
			s.MaxAttempts = DefaultMaxAttempts
		}
		s.TimeoutSec = int64(s.Timeout / time.Second)
		if len(st.After) == 0 {
			s.Status = SubtaskReady
		}
		byID[s.ID] = s
		t.Subtasks = append(t.Subtasks, s)
	}
	for _, st := range order {
		for _, up := range st.After {
			byID[ids[st.Key]].Upstreams = append(byID[ids[st.Key]].Upstreams, ids[up])
			byID[ids[up]].Downstreams = append(byID[ids[up]].Downstreams, ids[st.Key])
		}
	}
	return t, nil
}
