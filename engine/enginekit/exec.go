package enginekit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// MaxStderr bounds how much of a failed command's output an error carries.
const MaxStderr = 600

// Run runs a command and fails when it exits non-zero, with the end of its
// standard error.
func Run(ctx context.Context, a dbplane.HostAgent, cmd dbplane.Command) (*dbplane.CommandResult, error) {
	res, err := a.Run(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("while running %s: %w", cmd.Argv[0], err)
	}
	if res.ExitCode != 0 {
		return res, fmt.Errorf("%s exited with code %d: %s", cmd.Argv[0], res.ExitCode, Tail(res.Stderr, MaxStderr))
	}
	return res, nil
}

// FileExists reports whether path exists on the host of n, as user sees
// it.
func FileExists(ctx context.Context, a dbplane.HostAgent, user string, n dbplane.Node, path string) (bool, error) {
	cmd := dbplane.Command{User: user, Argv: []string{"test", "-e", path}, Timeout: 10 * time.Second}
	res, err := a.Run(ctx, cmd)
	if err != nil {
		return false, fmt.Errorf("while looking for %s on host %d: %w", path, n.HostID, err)
	}
	switch res.ExitCode {
	case 0:
		return true, nil
	case 1:
		return false, nil
	}
	return false, fmt.Errorf("while looking for %s on host %d: test exited with code %d: %s", path, n.HostID, res.ExitCode, Tail(res.Stderr, MaxStderr))
}

// Tail returns the last n bytes of s, trimmed.
func Tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}
