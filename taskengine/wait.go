package taskengine

import (
	"errors"
	"time"
)

// notYet is a handler's report that what its subtask waits for has not
// happened yet.
type notYet struct {
	reason string
	after  time.Duration
}

func (e *notYet) Error() string { return e.reason }

// NotYet is what a handler returns when what its subtask waits for (an
// agent to join, say) has not happened yet: the subtask goes back to READY
// and runs again after after, instead of after the engine's backoff. Each
// such run counts as an attempt, so the subtask's MaxAttempts times after
// bounds the wait; then the subtask fails with reason, and a retry waits
// again. Waiting this way holds no worker between checks.
func NotYet(reason string, after time.Duration) error {
	return &notYet{reason: reason, after: after}
}

// retryDelay returns the delay a NotYet error asks for.
func retryDelay(err error) (time.Duration, bool) {
	var ny *notYet
	if errors.As(err, &ny) {
		return ny.after, true
	}
	return 0, false
}
