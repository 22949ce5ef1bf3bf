package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/taskengine"
)

// Handlers of the steps of a host add task.
const (
	HandlerAwaitAgent    = "host.await-agent"
	HandlerForgetNewHost = "host.forget-new"
)

// By default an added host's agent is awaited for AgentWait, checking
// every AgentWaitInterval; then its subtask fails, and a retry waits again.
const (
	DefaultAgentWait         = 30 * time.Minute
	DefaultAgentWaitInterval = 5 * time.Second
	// SuggestedAgentPort is the agent port the instructions suggest.
	SuggestedAgentPort = 7070
)

// awaitParams are the parameters of an await step. The step checks every
// IntervalMS; its MaxAttempts bound the wait.
type awaitParams struct {
	HostID     int64  `json:"host_id"`
	Address    string `json:"address"`
	IntervalMS int64  `json:"interval_ms"`
}

// hostAddPlan is the task of an add: one step per host, in parallel, each
// waiting for its agent; rolling back forgets the hosts still NEW.
func hostAddPlan(hosts []*dbplane.ComputeHost, creator string, wait, interval time.Duration) dbplane.TaskPlan {
	ids := make([]string, len(hosts))
	addrs := make([]string, len(hosts))
	steps := make([]dbplane.PlanStep, len(hosts))
	for i, h := range hosts {
		ids[i], addrs[i] = strconv.FormatInt(h.ID, 10), h.Address
		params, _ := json.Marshal(awaitParams{HostID: h.ID, Address: h.Address, IntervalMS: interval.Milliseconds()})
		steps[i] = dbplane.PlanStep{
			Key:  "await-" + ids[i],
			Name: "Wait for the agent of host " + h.Address,
			Description: fmt.Sprintf("Wait until a dbplane agent joins from %s and answers health checks (up to %s); "+
				"its log says what to run on the host", h.Address, wait),
			Handler:     HandlerAwaitAgent,
			Undo:        HandlerForgetNewHost,
			Params:      params,
			Timeout:     30 * time.Second,
			MaxAttempts: max(int(wait/interval), 1),
		}
	}
	name := "Add host " + addrs[0]
	if len(hosts) > 1 {
		name = fmt.Sprintf("Add %d hosts", len(hosts))
	}
	return dbplane.TaskPlan{
		Name:    name,
		Kind:    dbplane.TaskKindHostAdd,
		Creator: creator,
		Context: map[string]string{"host_ids": strings.Join(ids, ","), "addresses": strings.Join(addrs, ",")},
		Steps:   steps,
	}
}

// HostAddSteps runs the steps of host add tasks.
type HostAddSteps struct {
	Store dbplane.ComputeStore
	// JoinURL is the control plane's URL as agents reach it, and
	// CAFingerprint its CA's SHA-256 fingerprint, which the instructions
	// in a waiting step's log give.
	JoinURL       string
	CAFingerprint string
}

// Register registers the steps' handlers on an engine.
func (s *HostAddSteps) Register(e *taskengine.Engine) {
	e.Register(HandlerAwaitAgent, s.awaitAgent)
	e.Register(HandlerForgetNewHost, s.forgetNewHost)
}

// AgentCommand is the command that runs the agent of the host at address,
// joining the control plane at joinURL pinned to caFingerprint. TOKEN
// stands for a join token, never shown here.
func AgentCommand(joinURL, caFingerprint, address string) string {
	return fmt.Sprintf("dbplane agent --join %s --ca-sha256 %s --token TOKEN --listen %s:%d",
		joinURL, caFingerprint, address, SuggestedAgentPort)
}

// awaitAgent succeeds once an agent joined from the host's address and
// answered a health check; until then it reports NotYet. Its first run
// (after each execute or retry) logs what to run on the host.
func (s *HostAddSteps) awaitAgent(ctx context.Context, run *taskengine.Run) error {
	var p awaitParams
	if err := run.Params(&p); err != nil {
		return err
	}
	interval := time.Duration(p.IntervalMS) * time.Millisecond
	if run.Subtask.Attempts <= 1 {
		run.Logf(ctx, "waiting up to %s for a dbplane agent to join from %s",
			interval*time.Duration(run.Subtask.MaxAttempts), p.Address)
		run.Logf(ctx, "1. create a one-time join token with the dbplane CLI: dbplane host join-token create")
		run.Logf(ctx, "2. on host %s, run: %s", p.Address, AgentCommand(s.JoinURL, s.CAFingerprint, p.Address))
		run.Logf(ctx, "   with TOKEN replaced by the token (or set in DBPLANE_JOIN_TOKEN and --token left out)")
	}
	h, err := s.Store.FindComputeHostByID(ctx, p.HostID)
	if dbplane.ErrorKind(err) == dbplane.KindNotFound {
		return dbplane.Permanent(fmt.Errorf("host %d (%s) was deleted while its agent was awaited", p.HostID, p.Address))
	} else if err != nil {
		return err
	}
	switch {
	case !h.Joined():
		return taskengine.NotYet(fmt.Sprintf("no dbplane agent has joined from %s yet", p.Address), interval)
	case h.Status == dbplane.HostNew:
		return taskengine.NotYet(fmt.Sprintf("the agent of %s joined; waiting for it to answer a health check", p.Address),
			interval)
	}
	run.Logf(ctx, "the agent of host %d (%s, hostname %s) joined and answers; host status %s", h.ID, p.Address, h.Name, h.Status)
	return nil
}

// forgetNewHost undoes the registration of a host that is still NEW.
func (s *HostAddSteps) forgetNewHost(ctx context.Context, run *taskengine.Run) error {
	var p awaitParams
	if err := run.Params(&p); err != nil {
		return err
	}
	gone, err := s.Store.ForgetNewHost(ctx, p.HostID)
	if err != nil {
		return err
	}
	if gone {
		run.Logf(ctx, "removed host %d (%s), whose agent never answered", p.HostID, p.Address)
	} else {
		run.Logf(ctx, "host %d (%s) is kept: it is gone already or its agent answered", p.HostID, p.Address)
	}
	return nil
}
