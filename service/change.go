package service

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/taskengine"
)

// ChangeEngine plans the changes a running cluster takes in place: a new
// admin password and new parameters. Engines that cannot make them yet do
// not implement it, and the service refuses the change naming the engine.
type ChangeEngine interface {
	// PlanPassword returns the steps that set the password of the task
	// (Store.TaskPassword) on the cluster's admin account everywhere it
	// is kept. The service commits the password to the store after them.
	PlanPassword(c *dbplane.Cluster) []dbplane.PlanStep
	// PlanParameterCheck returns the steps that check a change of
	// parameters against the running cluster (an empty value removes a
	// parameter) before anything changes; the service then records the
	// change in the cluster's spec.
	PlanParameterCheck(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep
	// PlanParameterApply returns the steps that make the nodes follow the
	// recorded spec: their configuration files, live where the engine
	// allows, else a rolling restart.
	PlanParameterApply(c *dbplane.Cluster, change map[string]string) []dbplane.PlanStep
}

// Handler names of the service's steps of password and parameter changes.
const (
	HandlerCommitPassword   = "cluster.commit_password"
	HandlerRecordParameters = "cluster.record_parameters"
)

// refusedChanges are the statuses a password or parameter change does not
// start from: those other than running, degraded and abnormal.
var refusedChanges = powerOp{from: up}.refused()

// ChangePassword starts the task that sets a new admin password. The
// password is validated like a new cluster's, and kept encrypted as the
// task's secret until the task's last step makes it the cluster's.
func (s *Service) ChangePassword(ctx context.Context, id int64, password string, dryRun bool) (*dbplane.Task, error) {
	c, ce, err := s.changeTarget(ctx, id, "change the admin password")
	if err != nil {
		return nil, err
	}
	if err := dbplane.ValidateClusterPassword("password", password); err != nil {
		return nil, err
	}
	steps := ce.PlanPassword(c)
	steps = append(steps, dbplane.PlanStep{Key: "commit", Name: "Store the new password", Handler: HandlerCommitPassword,
		After: sinks(steps), Description: "Replace the cluster's stored (encrypted) admin password with the new one"})
	plan := changePlan(c, dbplane.TaskKindClusterPassword, "Change the admin password of", steps)
	plan.Creator = creator(ctx)
	if dryRun {
		return s.startClusterTask(ctx, c, plan, dbplane.ClusterUpdating, refusedChanges, true)
	}
	t, err := s.Store.StartPasswordChange(ctx, c.ID, dbplane.ClusterUpdating, refusedChanges, password, plan)
	if err != nil {
		return nil, orNotFound(err, notFound("cluster %d not found", c.ID))
	}
	s.wake()
	return t, nil
}

// UpdateParameters starts the task that changes a cluster's parameters:
// the engine checks them against the running cluster, the service records
// them in the spec, then the engine applies them node by node.
func (s *Service) UpdateParameters(ctx context.Context, id int64, params map[string]string, dryRun bool) (*dbplane.Task, error) {
	c, ce, err := s.changeTarget(ctx, id, "change parameters")
	if err != nil {
		return nil, err
	}
	if err := dbplane.ValidateParameterChange(params); err != nil {
		return nil, err
	}
	if merged := dbplane.MergeParameters(c.Spec.Parameters, params); len(merged) > dbplane.MaxParameters {
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "parameters",
			Message: fmt.Sprintf("the cluster would have %d parameters, more than %d", len(merged), dbplane.MaxParameters)})
	}
	engine, _ := s.engine(c.Engine) // known: changeTarget found it
	if err := engine.CheckParameters(params); err != nil {
		return nil, err
	}
	check := ce.PlanParameterCheck(c, params)
	raw, err := json.Marshal(recordParams{Parameters: params})
	if err != nil {
		return nil, err
	}
	steps := append(check, dbplane.PlanStep{Key: "record", Name: "Record the parameters", Handler: HandlerRecordParameters,
		Params: raw, After: sinks(check), Description: "Record the new parameters in the cluster's spec: " + describe(params)})
	for _, st := range ce.PlanParameterApply(c, params) {
		if len(st.After) == 0 {
			st.After = []string{"record"}
		}
		steps = append(steps, st)
	}
	plan := changePlan(c, dbplane.TaskKindClusterParameters, "Change the parameters of", steps)
	return s.startClusterTask(ctx, c, plan, dbplane.ClusterUpdating, refusedChanges, dryRun)
}

// changeTarget loads a cluster to change, authorized like a restart
// (operate on its project), and checks its status and engine.
func (s *Service) changeTarget(ctx context.Context, id int64, what string) (*dbplane.Cluster, ChangeEngine, error) {
	c, err := s.cluster(ctx, id, dbplane.ActionOperate)
	if err != nil {
		return nil, nil, err
	}
	if !slices.Contains(up, c.Status) {
		return nil, nil, dbplane.Errorf(dbplane.KindConflict, "cluster %d is %s: only a cluster that is %s can %s",
			c.ID, c.Status, statusList(up), what)
	}
	engine, err := s.engine(c.Engine)
	if err != nil {
		return nil, nil, err
	}
	ce, ok := engine.(ChangeEngine)
	if !ok {
		return nil, nil, dbplane.Errorf(dbplane.KindConflict, "clusters of engine %s cannot %s yet", c.Engine, what)
	}
	return c, ce, nil
}

// changePlan is the task plan of a change: it keeps the cluster's data
// and prohibits rollback (its steps are idempotent: retry it instead).
func changePlan(c *dbplane.Cluster, kind, verb string, steps []dbplane.PlanStep) dbplane.TaskPlan {
	return dbplane.TaskPlan{
		Name:             fmt.Sprintf("%s %s cluster %s", verb, c.Engine, c.Name),
		Kind:             kind,
		ClusterID:        c.ID,
		ProhibitRollback: true,
		Context:          clusterContext(c),
		Steps:            steps,
	}
}

// describe lists a change of parameters for a step's description.
func describe(params map[string]string) string {
	out := ""
	for i, k := range slices.Sorted(maps.Keys(params)) {
		if i > 0 {
			out += ", "
		}
		if params[k] == "" {
			out += k + " removed"
		} else {
			out += k + " = " + params[k]
		}
	}
	return out
}

// recordParams are the parameters of the record step.
type recordParams struct {
	Parameters map[string]string `json:"parameters"`
}

// commitPassword makes the task's new password the cluster's.
func (h handlers) commitPassword(ctx context.Context, run *taskengine.Run) error {
	if err := h.store.CommitTaskPassword(ctx, run.Subtask.TaskID); err != nil {
		return err
	}
	run.Logf(ctx, "stored the new admin password")
	return nil
}

// recordParameters merges the step's parameters into the cluster's spec.
func (h handlers) recordParameters(ctx context.Context, run *taskengine.Run) error {
	c, err := h.cluster(ctx, run)
	if err != nil {
		return err
	}
	var p recordParams
	if err := json.Unmarshal(run.Subtask.Params, &p); err != nil {
		return dbplane.Permanent(fmt.Errorf("while decoding the parameters of the step: %w", err))
	}
	if err := h.store.SetClusterParameters(ctx, c.ID, p.Parameters); err != nil {
		return err
	}
	run.Logf(ctx, "cluster %s: %s", c.Name, describe(p.Parameters))
	return nil
}
