package enginekit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/engine/enginekit"
	"github.com/dbplane/dbplane/engine/enginekit/enginetest"
)

func TestPollerWaitsLongerEachTimeUpToTheMost(t *testing.T) {
	ctx := context.Background()
	var p enginekit.Poller
	start := time.Now()
	for range 9 {
		if !p.Wait(ctx) {
			t.Fatal("Wait reported false on a live context")
		}
	}
	// 10, 15, 22, 33, 50, 75, 113, 170 and 250 ms at least.
	if took := time.Since(start); took < 700*time.Millisecond {
		t.Errorf("9 waits took %s, want the intervals to grow to %s", took, enginekit.MaxPollInterval)
	}
}

func TestPollerStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var p enginekit.Poller
	if p.Wait(ctx) {
		t.Error("Wait reported true on an ended context")
	}
}

func TestPollEndsOnceTheCheckPasses(t *testing.T) {
	calls := 0
	err := enginekit.Poll(context.Background(), time.Second, func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("Poll = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestPollReturnsTheLastErrorWhenTimeRunsOut(t *testing.T) {
	last := errors.New("connection refused")
	start := time.Now()
	err := enginekit.Poll(context.Background(), 50*time.Millisecond, func(ctx context.Context) error { return last })
	if !errors.Is(err, last) {
		t.Errorf("err = %v, want the check's", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Poll took %s past its timeout", took)
	}
}

func TestWaitReadySaysWhatTheNodeDidNotDo(t *testing.T) {
	s, _ := stepOnHost(enginetest.NewAgent(1))
	last := dbplane.Errorf(dbplane.KindUnavailable, "no socket")
	err := enginekit.WaitReady(context.Background(), s, 30*time.Millisecond, "accept connections",
		func(context.Context) error { return last })
	if !errors.Is(err, last) || !strings.Contains(err.Error(), "node 0 on host 1 did not accept connections within 30ms") {
		t.Errorf("err = %v", err)
	}
	if err := enginekit.WaitReady(context.Background(), s, time.Second, "answer", func(context.Context) error { return nil }); err != nil {
		t.Errorf("a ready node: %v", err)
	}
}

func TestSucceedsPassesOnExitZero(t *testing.T) {
	a := enginetest.NewAgent(1)
	code := 2
	a.Exec = func(cmd dbplane.Command, res *dbplane.CommandResult) { res.ExitCode, res.Stderr = code, "no server" }
	check := enginekit.Succeeds(a, dbplane.Command{User: "postgres", Argv: []string{"pg_isready"}})
	if err := check(context.Background()); err == nil || !strings.Contains(err.Error(), "pg_isready exited with code 2: no server") {
		t.Errorf("err = %v, want pg_isready's exit", err)
	}
	code = 0
	if err := check(context.Background()); err != nil {
		t.Errorf("err = %v, want nil", err)
	}
}
